"""Tokenize a corpus once: its training token stream and fitted tokenizer kept on disk and
memory-mapped by later runs, as nanoGPT keeps `train.bin`.

An entry is keyed by the corpus content and everything that shapes the stream (level, lowercase,
min_count, the split's seed and fraction, or the given tokenizer), so a second run on the same
corpus with the same settings skips fitting and encoding and reads its tokens from the page cache
instead of holding a copy in memory. Entries are written to a temporary folder and renamed into
place, so an interrupted run never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .batches import TokenStream
from .tokenizer import Tokenizer, tokenizer_from_dict

CACHE_ENV = "TEXTGEN_TOKEN_CACHE"
FORMAT = 1  # bump when the stream layout or the key changes


def default_cache_dir() -> Path:
    """$TEXTGEN_TOKEN_CACHE, else textgen/tokens under $XDG_CACHE_HOME (~/.cache)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "textgen" / "tokens"


def corpus_key(documents: list[str], settings: dict) -> str:
    """A digest of the documents (length-prefixed, so no two splits of the text collide) and settings."""
    digest = hashlib.sha256(json.dumps({"format": FORMAT, **settings}, sort_keys=True).encode())
    for doc in documents:
        data = doc.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:32]


@dataclass
class CachedStream:
    tokenizer: Tokenizer
    stream: TokenStream
    hit: bool  # read from the cache (True) or encoded by this run and stored (False)


def smallest_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocab_size <= 2**16 else np.dtype(np.uint32)


def read_entry(entry: Path) -> tuple[Tokenizer, TokenStream]:
    tokenizer = tokenizer_from_dict(json.loads((entry / "tokenizer.json").read_text(encoding="utf-8")))
    tokens = np.load(entry / "tokens.npy", mmap_mode="r")
    starts = np.load(entry / "starts.npy")
    return tokenizer, TokenStream(tokens, starts)


def write_entry(entry: Path, tokenizer: Tokenizer, stream: TokenStream) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=entry.name + ".", dir=entry.parent))
    try:
        np.save(staging / "tokens.npy", stream.tokens.astype(smallest_dtype(len(tokenizer)), copy=False))
        np.save(staging / "starts.npy", stream.starts)
        (staging / "tokenizer.json").write_text(
            json.dumps(tokenizer.to_dict(), ensure_ascii=False), encoding="utf-8"
        )
        try:
            staging.rename(entry)
        except OSError:  # another run stored the same entry first: theirs is identical
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def cached_stream(directory: Path, documents: list[str], settings: dict, encode) -> CachedStream:
    """The entry for (documents, settings) from `directory`, or `encode()` -> (tokenizer, stream)
    stored there first. Either way the returned stream's tokens are memory-mapped from disk."""
    entry = Path(directory) / corpus_key(documents, settings)
    if (entry / "tokenizer.json").exists():
        return CachedStream(*read_entry(entry), hit=True)
    tokenizer, stream = encode()
    write_entry(entry, tokenizer, stream)
    del stream  # the in-memory copy goes; training reads the map
    return CachedStream(*read_entry(entry), hit=False)

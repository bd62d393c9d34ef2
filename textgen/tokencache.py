"""Tokenize a corpus once, in streaming passes, into files that training reads by slices, as nanoGPT
keeps `train.bin`; a cache keyed by the corpus and the settings makes the next run start at once.

A corpus is read as a stream of documents (a list, or a `corpus.CorpusStream` that re-reads its
files), never held: one pass counts the documents (which fixes the split for the seed), one fits
the tokenizer on the training documents (skipped when one is given), one encodes every document
into its split's token file, gathering on the way what the rest of a run needs about the training
text (the novelty hashes, the Explore statistics) and about each document (its characters, and at
word level what spelling its `<unk>` words costs), so that bits per character are computed from
the files alone. A store is a folder:

    meta.json                     format, token dtype, counts; written last (marks it complete)
    tokenizer.json
    train.bin, val.bin            <eos> d1 <eos> d2 ... <eos>, uint16 (uint32 past 65,536 tokens)
    train_starts.npy, ...         each document's opening <eos> (and the final one), int64
    train_characters.npy, ...     each document's length + 1, int64
    train_spelling.npy, ...       word level: nats to spell its <unk> words, float64
    novelty.npy                   sorted 8-byte hashes of the training documents
    held_out.npy                  which documents are held out (bits)
    stats.json                    corpus statistics of the training documents

A cache entry is a store under the key; it is written to a temporary folder and renamed into
place, so an interrupted run never leaves a half-written entry. Without a cache the store goes to
a temporary folder that lives as long as the data read from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .batches import TokenFile, TokenStream, held_out_mask
from .checkpoints import document_hash_value
from .errors import TrainingError
from .explore import CorpusStats, StatsCounter
from .metrics import ScoringSet, spelling_per_document
from .tokenizer import Tokenizer, fit_tokenizer, tokenizer_from_dict

CACHE_ENV = "TEXTGEN_TOKEN_CACHE"
FORMAT = 2  # bump when the store's layout, the key or the way documents are read changes
BATCH_CHARACTERS = 4_000_000  # documents are encoded (and counted, hashed) this much text at a time
SPLITS = ("train", "val")


def default_cache_dir() -> Path:
    """$TEXTGEN_TOKEN_CACHE, else textgen/tokens under $XDG_CACHE_HOME (~/.cache)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "textgen" / "tokens"


def corpus_key(documents: Iterable[str], settings: dict) -> str:
    """A digest of the corpus and the settings: of its files' bytes for a stream that has them
    (`fingerprint()`), else of the documents (length-prefixed, so no two splits of a text collide)."""
    digest = hashlib.sha256(json.dumps({"format": FORMAT, **settings}, sort_keys=True).encode())
    fingerprint = getattr(documents, "fingerprint", None)
    if fingerprint is not None:
        digest.update(b"files:" + fingerprint().encode())
        return digest.hexdigest()[:32]
    for doc in documents:
        data = doc.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:32]


def smallest_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocab_size <= 2**16 else np.dtype(np.uint32)


def batches(documents: Iterable[str], characters: int = BATCH_CHARACTERS) -> Iterator[list[str]]:
    """Documents in lists of about `characters` of text."""
    batch, size = [], 0
    for doc in documents:
        batch.append(doc)
        size += len(doc)
        if size >= characters:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class TrainingDocuments:
    """The training documents of a corpus, by the held-out mask: read again at every iteration."""

    def __init__(self, documents: Iterable[str], held_out: np.ndarray):
        self.documents, self.held_out = documents, held_out

    def __iter__(self) -> Iterator[str]:
        return (doc for doc, out in zip(self.documents, self.held_out) if not out)

    def __len__(self) -> int:
        return int((~self.held_out).sum())


@dataclass
class Store:
    """A tokenized corpus: the tokenizer, each split as a ScoringSet whose tokens are read from
    disk, and what the training documents leave for a model folder (novelty hashes, statistics)."""

    directory: Path | None  # None: in memory (`in_memory`)
    tokenizer: Tokenizer
    train: ScoringSet
    val: ScoringSet
    novelty: np.ndarray  # sorted uint64 hashes of the training documents
    stats: CorpusStats
    held_out: np.ndarray | None  # (documents,) bool: which documents of the corpus are held out

    @classmethod
    def in_memory(cls, tokenizer: Tokenizer, train: list[str], val: list[str]) -> Store:
        """A split made elsewhere (a benchmark's), encoded in memory."""
        hashes = np.unique(np.fromiter(map(document_hash_value, train), dtype=np.uint64, count=len(train)))
        stats = StatsCounter()
        stats.add(train)
        return cls(
            None,
            tokenizer,
            ScoringSet.of(tokenizer, train),
            ScoringSet.of(tokenizer, val),
            hashes,
            stats.result(),
            None,
        )


class _SplitWriter:
    """One split's token file and per-document arrays, written a batch of documents at a time."""

    def __init__(self, directory: Path, name: str, tokenizer: Tokenizer):
        self.directory, self.name, self.tokenizer = directory, name, tokenizer
        self.dtype = smallest_dtype(len(tokenizer))
        self.file = open(directory / f"{name}.bin", "wb")  # noqa: SIM115 (closed in close())
        np.array([tokenizer.eos_id], dtype=self.dtype).tofile(self.file)
        self.position = 0
        self.starts: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        self.characters: list[np.ndarray] = []
        self.spelling: list[np.ndarray] = []

    def add(self, documents: list[str]) -> None:
        if not documents:
            return
        stream = TokenStream.from_documents(self.tokenizer, documents)
        stream.tokens[1:].astype(self.dtype).tofile(self.file)  # the opening <eos> is already there
        self.starts.append(stream.starts[1:] + self.position)
        self.position += int(stream.starts[-1])
        self.characters.append(np.fromiter((len(doc) + 1 for doc in documents), np.int64, len(documents)))
        spelling = spelling_per_document(self.tokenizer, documents)
        if spelling is not None:
            self.spelling.append(spelling)

    def close(self) -> int:
        self.file.close()
        np.save(self.directory / f"{self.name}_starts.npy", np.concatenate(self.starts))
        np.save(self.directory / f"{self.name}_characters.npy", _joined(self.characters, np.int64))
        if self.tokenizer.level == "word":
            np.save(self.directory / f"{self.name}_spelling.npy", _joined(self.spelling, np.float64))
        return self.position + 1  # tokens in the file


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def write_store(
    directory: Path,
    documents: Iterable[str],
    fit: Callable[[Iterable[str]], Tokenizer],
    val_fraction: float,
    seed: int,
    progress: bool = False,
) -> None:
    """Tokenize `documents` (re-iterable) into a store in `directory`: see the module docstring.
    `fit` makes the tokenizer from the training documents (it may iterate them more than once)."""
    bar = {"unit": "doc", "unit_scale": True, "disable": not progress, "leave": False, "dynamic_ncols": True}
    count = (
        len(documents) if isinstance(documents, list) else sum(1 for _ in tqdm(documents, desc="reading", **bar))
    )
    if count < 2:
        raise TrainingError("the corpus needs at least 2 documents (one is held out for validation)")
    held_out = held_out_mask(count, val_fraction, seed)
    tokenizer = fit(TrainingDocuments(documents, held_out))
    writers = {name: _SplitWriter(directory, name, tokenizer) for name in SPLITS}
    stats, hashes, index = StatsCounter(), [], 0
    with tqdm(total=count, desc="tokenizing", **bar) as shown:
        for batch in batches(documents):
            out = held_out[index : index + len(batch)]
            index += len(batch)
            train = [doc for doc, o in zip(batch, out) if not o]
            writers["train"].add(train)
            writers["val"].add([doc for doc, o in zip(batch, out) if o])
            stats.add(train)
            hashes.append(np.fromiter(map(document_hash_value, train), dtype=np.uint64, count=len(train)))
            shown.update(len(batch))
    if index != count:  # the corpus changed between two passes over it
        raise TrainingError(
            "the corpus changed while it was being read ({then:,} documents, then {now:,})", then=count, now=index
        )
    lengths = {name: writer.close() for name, writer in writers.items()}
    np.save(directory / "novelty.npy", np.unique(_joined(hashes, np.uint64)))
    np.save(directory / "held_out.npy", np.packbits(held_out))
    (directory / "stats.json").write_text(
        json.dumps(stats.result().to_dict(), ensure_ascii=False), encoding="utf-8"
    )
    (directory / "tokenizer.json").write_text(
        json.dumps(tokenizer.to_dict(), ensure_ascii=False), encoding="utf-8"
    )
    meta = {"format": FORMAT, "dtype": smallest_dtype(len(tokenizer)).name, "tokens": lengths, "documents": count}
    (directory / "meta.json").write_text(json.dumps(meta), encoding="utf-8")  # last: the store is complete


def read_store(directory: Path) -> Store:
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    tokenizer = tokenizer_from_dict(json.loads((directory / "tokenizer.json").read_text(encoding="utf-8")))
    splits = {}
    for name in SPLITS:
        tokens = TokenFile(directory / f"{name}.bin", np.dtype(meta["dtype"]), meta["tokens"][name])
        stream = TokenStream(tokens, np.load(directory / f"{name}_starts.npy"))
        spelling = directory / f"{name}_spelling.npy"
        splits[name] = ScoringSet(
            stream,
            np.load(directory / f"{name}_characters.npy"),
            np.load(spelling) if spelling.exists() else None,
        )
    stats = CorpusStats.from_dict(json.loads((directory / "stats.json").read_text(encoding="utf-8")))
    held_out = np.unpackbits(np.load(directory / "held_out.npy"), count=meta["documents"]).astype(bool)
    novelty = np.load(directory / "novelty.npy")
    return Store(directory, tokenizer, splits["train"], splits["val"], novelty, stats, held_out)


def _staging(parent: Path, name: str) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=name + ".", dir=parent))


def tokenized(
    documents: Iterable[str],
    fit: Callable[[Iterable[str]], Tokenizer],
    val_fraction: float,
    seed: int,
    cache: tuple[Path, dict] | None = None,
    progress: bool = False,
) -> tuple[Store, bool | None]:
    """The corpus as a store, and whether it came from the cache (None: no cache).

    `cache`: (directory, settings): the entry for (documents, settings) is read if it exists, else
    written there first. Without it the store lives in a temporary folder, removed when the store
    (and every array read from it) is gone."""
    if cache is None:
        directory = _staging(Path(tempfile.gettempdir()), "textgen-tokens")
        try:
            write_store(directory, documents, fit, val_fraction, seed, progress)
            store = read_store(directory)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        weakref.finalize(store, shutil.rmtree, directory, True)
        return store, None
    cache_dir, settings = cache
    entry = Path(cache_dir) / corpus_key(documents, settings)
    if (entry / "meta.json").exists():
        return read_store(entry), True
    staging = _staging(entry.parent, entry.name)
    try:
        write_store(staging, documents, fit, val_fraction, seed, progress)
        try:
            staging.rename(entry)
        except OSError:  # another run stored the same entry first: theirs is identical
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return read_store(entry), False


def fitter(level: str, lowercase: bool, min_count: int) -> Callable[[Iterable[str]], Tokenizer]:
    return lambda documents: fit_tokenizer(level, documents, lowercase, min_count)

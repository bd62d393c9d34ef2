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
    train_lengths.npy, ...        each document's targets (its tokens and its end), uint32
    train_characters.npy, ...     each document's length + 1, uint32
    train_spelling.npy, ...       word level: nats to spell its <unk> words, float64
    train_counts.npy, ...         how often each token occurs (the unigram baseline's counts)
    novelty.npy                   sorted 8-byte hashes of the training documents (none past 4 M)
    held_out.npy                  which documents are held out (bits)
    stats.json                    corpus statistics of the training documents

The per-document arrays are written as the documents are encoded (their length is known from the
first pass), never held whole; a run keeps the lengths alone in memory, in their narrowest type, and
reads the rest from disk where it needs them (their sums, a sample's), so that its memory does not
grow with the number of documents beyond about 7 bytes each (the lengths and an epoch's order).

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .batches import DocumentStarts, TokenFile, TokenStream, held_out_mask, smallest_unsigned, token_chunks
from .checkpoints import MAX_NOVELTY_DOCUMENTS, document_hashes
from .errors import TrainingError
from .explore import CorpusStats, StatsCounter
from .metrics import ScoringSet, spelling_per_document
from .tokenizer import (
    SPECIALS,
    CharacterSet,
    CharTokenizer,
    Tokenizer,
    batches,
    fit_tokenizer,
    tokenizer_from_dict,
)

CACHE_ENV = "TEXTGEN_TOKEN_CACHE"
FORMAT = 3  # bump when the store's layout, the key or the way documents are read changes
# A store's statistics count words in this much of the training text (a regular-expression pass, the
# slowest part of tokenizing); 10 M characters is the largest upload the page takes.
STORE_WORD_CHARACTERS = 10_000_000
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


class SplitDocuments:
    """One split's documents of a corpus, by the held-out mask: read again at every iteration."""

    def __init__(self, documents: Iterable[str], held_out: np.ndarray, held: bool = False):
        self.documents, self.held_out, self.held = documents, held_out, held

    def __iter__(self) -> Iterator[str]:
        return (doc for doc, out in zip(self.documents, self.held_out) if out == self.held)


@dataclass
class Store:
    """A tokenized corpus: the tokenizer, each split as a ScoringSet whose tokens are read from
    disk, and what the training documents leave for a model folder (novelty hashes, statistics)."""

    directory: Path | None  # None: in memory (`in_memory`), or a temporary folder already removed
    tokenizer: Tokenizer
    train: ScoringSet
    val: ScoringSet
    novelty: np.ndarray | None  # sorted uint64 hashes of the training documents (None: too many to keep)
    stats: CorpusStats
    held_out_bits: np.ndarray | None = None  # np.packbits of which documents of the corpus are held out
    documents: int = 0  # in the corpus

    def held_out(self) -> np.ndarray | None:
        """(documents,) bool: which documents of the corpus are held out (None: a split made elsewhere)."""
        if self.held_out_bits is None:
            return None
        return np.unpackbits(self.held_out_bits, count=self.documents).astype(bool)

    @classmethod
    def in_memory(cls, tokenizer: Tokenizer, train: list[str], val: list[str]) -> Store:
        """A split made elsewhere (a benchmark's), encoded in memory."""
        hashes = np.unique(document_hashes(train))
        stats = StatsCounter()
        stats.add(train)
        return cls(
            None,
            tokenizer,
            ScoringSet.of(tokenizer, train),
            ScoringSet.of(tokenizer, val),
            hashes,
            stats.result(),
        )


class _ArrayFile:
    """A .npy file of a known length, written a part at a time."""

    def __init__(self, path: Path, dtype: np.dtype, length: int):
        self.dtype, self.length, self.written = np.dtype(dtype), length, 0
        self.file = open(path, "wb")  # noqa: SIM115 (closed in close())
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (length,)}
        np.lib.format.write_array_header_1_0(self.file, header)

    def add(self, values: np.ndarray) -> None:
        if self.dtype.kind == "u" and len(values) and int(values.max()) > np.iinfo(self.dtype).max:
            raise TrainingError("a document is too long to store ({length:,} tokens)", length=int(values.max()))
        values.astype(self.dtype, copy=False).tofile(self.file)
        self.written += len(values)

    def close(self) -> None:
        self.file.close()
        if self.written != self.length:
            raise TrainingError(
                "the corpus changed while it was being read ({then:,} documents, then {now:,})",
                then=self.length,
                now=self.written,
            )


class _SplitWriter:
    """One split's token file and per-document arrays (of a known number of documents), written a
    batch of documents at a time."""

    def __init__(self, directory: Path, name: str, tokenizer: Tokenizer, documents: int):
        self.directory, self.name, self.tokenizer = directory, name, tokenizer
        self.dtype = smallest_unsigned(len(tokenizer) - 1)  # holds every token id
        self.file = open(directory / f"{name}.bin", "wb")  # noqa: SIM115 (closed in close())
        np.array([tokenizer.eos_id], dtype=self.dtype).tofile(self.file)
        self.tokens, self.longest = 1, 0
        self.lengths = _ArrayFile(directory / f"{name}_lengths.npy", np.uint32, documents)
        self.characters = _ArrayFile(directory / f"{name}_characters.npy", np.uint32, documents)
        word = tokenizer.level == "word"
        self.spelling = _ArrayFile(directory / f"{name}_spelling.npy", np.float64, documents) if word else None
        self.counts = np.zeros(len(tokenizer), dtype=np.int64)  # how often each token occurs

    def add(self, documents: list[str]) -> None:
        if not documents:
            return
        stream = TokenStream.from_documents(self.tokenizer, documents, self.dtype)
        stream.tokens[1:].tofile(self.file)  # the opening <eos> is already there
        self.tokens += len(stream.tokens) - 1
        self.counts += np.bincount(stream.tokens[1:], minlength=len(self.counts))
        lengths = stream.lengths
        self.longest = max(self.longest, int(lengths.max()))
        self.lengths.add(lengths)
        self.characters.add(np.fromiter(map(len, documents), np.int64, len(documents)) + 1)
        if self.spelling is not None:
            self.spelling.add(spelling_per_document(self.tokenizer, documents))

    def close(self) -> int:
        self.file.close()
        for array in (self.lengths, self.characters, self.spelling):
            if array is not None:
                array.close()
        np.save(self.directory / f"{self.name}_counts.npy", self.counts)
        return self.tokens


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
    bar = {"unit": "doc", "unit_scale": True, "leave": False, "dynamic_ncols": True}
    if not progress:
        bar["disable"] = True  # else tqdm's own default: off when not a terminal, or by TQDM_DISABLE
    characters = CharacterSet(fit.lowercase) if isinstance(fit, Fit) and fit.level == "char" else None
    count = 0
    for batch in batches(tqdm(documents, desc="reading", **bar)):  # the first pass: count (and characters)
        count += len(batch)
        if characters is not None:
            characters.add(batch)
    if count < 2:
        raise TrainingError("the corpus needs at least 2 documents (one is held out for validation)")
    held_out = held_out_mask(count, val_fraction, seed)
    tokenizer = characters.tokenizer() if characters is not None else fit(SplitDocuments(documents, held_out))
    held_out_count = int(held_out.sum())
    sizes = {"train": count - held_out_count, "val": held_out_count}
    writers = {name: _SplitWriter(directory, name, tokenizer, sizes[name]) for name in SPLITS}
    stats, hashes, index = StatsCounter(STORE_WORD_CHARACTERS), [], 0
    # Past MAX_NOVELTY_DOCUMENTS a model folder keeps no novelty hashes: none are computed.
    hashing = sizes["train"] <= MAX_NOVELTY_DOCUMENTS
    with tqdm(total=count, desc="tokenizing", **bar) as shown:
        for batch in batches(documents):
            out = held_out[index : index + len(batch)]
            index += len(batch)
            train = [doc for doc, o in zip(batch, out) if not o]
            writers["train"].add(train)
            writers["val"].add([doc for doc, o in zip(batch, out) if o])
            stats.add(train)
            if hashing:
                hashes.append(document_hashes(train))
            shown.update(len(batch))
    if index != count:  # the corpus changed between two passes over it
        raise TrainingError(
            "the corpus changed while it was being read ({then:,} documents, then {now:,})", then=count, now=index
        )
    lengths = {name: writer.close() for name, writer in writers.items()}
    if characters is not None:  # characters only held-out documents have are <unk>, as if fitted on training
        tokenizer = _keep_training_characters(
            directory, tokenizer, writers["train"].counts, writers["train"].dtype
        )
    np.save(
        directory / "novelty.npy", np.unique(_joined(hashes, np.uint64)) if hashing else np.zeros(0, np.uint64)
    )
    np.save(directory / "held_out.npy", np.packbits(held_out))
    (directory / "stats.json").write_text(
        json.dumps(stats.result().to_dict(), ensure_ascii=False), encoding="utf-8"
    )
    (directory / "tokenizer.json").write_text(
        json.dumps(tokenizer.to_dict(), ensure_ascii=False), encoding="utf-8"
    )
    meta = {
        "format": FORMAT,
        "dtype": writers["train"].dtype.name,
        "tokens": lengths,
        "longest": {name: writer.longest for name, writer in writers.items()},
        "documents": count,
        "hashed": hashing,
    }
    (directory / "meta.json").write_text(json.dumps(meta), encoding="utf-8")  # last: the store is complete


def _keep_training_characters(
    directory: Path, tokenizer: CharTokenizer, train_counts: np.ndarray, dtype: np.dtype
) -> CharTokenizer:
    """The tokenizer of the training characters alone, both token files renumbered to it."""
    counts = np.pad(train_counts, (0, len(tokenizer) - len(train_counts)))
    keep = counts > 0
    keep[: len(SPECIALS)] = True
    if keep.all():
        return tokenizer
    table = np.full(len(tokenizer), tokenizer.unk_id, dtype=dtype)
    table[keep] = np.arange(int(keep.sum()))
    for name in SPLITS:
        path = directory / f"{name}.bin"
        renumbered = path.with_suffix(".renumbered")
        with open(path, "rb") as source, open(renumbered, "wb") as target:
            while len(block := np.fromfile(source, dtype=dtype, count=2**24)):
                table[block].tofile(target)
        renumbered.replace(path)
        counts_path = directory / f"{name}_counts.npy"
        old_counts = np.load(counts_path)
        np.save(
            counts_path,
            np.bincount(table[: len(old_counts)], weights=old_counts, minlength=int(keep.sum())).astype(np.int64),
        )
    return CharTokenizer([token for token, kept in zip(tokenizer.vocab, keep) if kept], tokenizer.lowercase)


def read_store(directory: Path) -> Store:
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    tokenizer = tokenizer_from_dict(json.loads((directory / "tokenizer.json").read_text(encoding="utf-8")))
    splits = {}
    for name in SPLITS:
        tokens = TokenFile(directory / f"{name}.bin", np.dtype(meta["dtype"]), meta["tokens"][name])
        on_disk = TokenFile.npy(directory / f"{name}_lengths.npy")
        lengths = np.empty(len(on_disk), dtype=smallest_unsigned(meta["longest"][name]))
        for start, chunk in zip(range(0, len(on_disk), 2**20), token_chunks(on_disk, 2**20)):
            lengths[start : start + len(chunk)] = chunk  # into the narrow type a chunk at a time
        spelling = directory / f"{name}_spelling.npy"
        splits[name] = ScoringSet(
            TokenStream(tokens, DocumentStarts(lengths)),
            TokenFile.npy(directory / f"{name}_characters.npy"),
            TokenFile.npy(spelling) if spelling.exists() else None,
            np.load(directory / f"{name}_counts.npy"),
        )
    stats = CorpusStats.from_dict(json.loads((directory / "stats.json").read_text(encoding="utf-8")))
    held_out = np.load(directory / "held_out.npy")
    novelty = np.load(directory / "novelty.npy") if meta["hashed"] else None
    return Store(directory, tokenizer, splits["train"], splits["val"], novelty, stats, held_out, meta["documents"])


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
    written there first. Without it the store is written to a temporary folder, read, and removed at
    once: its token files stay readable through the descriptors the store holds open, and their
    space is freed when it closes them (or the process ends, however it ends)."""
    if cache is None:
        directory = _staging(Path(tempfile.gettempdir()), "textgen-tokens")
        try:
            write_store(directory, documents, fit, val_fraction, seed, progress)
            store = read_store(directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        store.directory = None
        return store, None
    cache_dir, settings = cache
    entry = Path(cache_dir) / corpus_key(documents, settings)
    if (entry / "meta.json").exists():
        try:
            return read_store(entry), True
        except (OSError, ValueError, KeyError, TypeError):  # damaged since it was written: made again
            shutil.rmtree(entry, ignore_errors=True)
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


@dataclass(frozen=True)
class Fit:
    """Fit a new tokenizer on the training documents. A char vocabulary is gathered while counting
    the documents instead, from all of them, and trimmed to the training ones' characters after
    encoding: the same tokenizer and tokens, one pass over the corpus fewer."""

    level: str
    lowercase: bool
    min_count: int

    def __call__(self, documents: Iterable[str]) -> Tokenizer:
        return fit_tokenizer(self.level, documents, self.lowercase, self.min_count)

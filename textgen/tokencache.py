"""Tokenize a corpus once, in streaming passes, into files that training memory-maps, as nanoGPT's
prepare.py writes `train.bin`; a cache keyed by the corpus and the settings makes the next run start
at once.

A corpus is read as a stream of documents (a list, or a `corpus.CorpusStream` that re-reads its
files), never held: one pass counts the documents (which fixes the split for the seed) and gathers
a char vocabulary, one fits a word tokenizer on the training documents (skipped when one is given),
one encodes every document into its split's token file, with each document's characters and, at word
level, what spelling its `<unk>` words costs. What else a run keeps of the training documents (a
model folder's novelty hashes and statistics: corpusfiles.py) is the caller's `ByProducts`, fed the
training documents in the same pass and saved in the store's folder. A store is a folder:

    meta.json                     format, token dtype, counts; written last (marks it complete)
    tokenizer.json
    train.bin, val.bin            <eos> d1 <eos> d2 ... <eos>, uint16 (uint32 past 65,536 tokens)
    train_lengths.npy, ...        each document's targets (its tokens and its end), uint32
    train_characters.npy, ...     each document's length + 1, uint32
    train_spelling.npy, ...       word level: nats to spell its <unk> words, float64
    train_counts.npy, ...         how often each token occurs (the unigram baseline's counts)
    held_out.npy                  which documents are held out (bits)
    (the by-products' own files)

A cache entry is written to a temporary folder and renamed into place, so an interrupted run never
leaves a half-written entry. Without a cache the store goes to a temporary folder that is removed as
soon as it is mapped (the maps keep the files readable until they close).
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
from typing import Protocol

import numpy as np
from numpy.lib.format import open_memmap
from tqdm import tqdm

from .errors import TrainingError
from .tokenizer import (
    SPECIALS,
    CharacterSet,
    CharTokenizer,
    Tokenizer,
    document_batches,
    fit_tokenizer,
    tokenizer_from_dict,
)
from .tokens import ScoringSet, TokenStream, held_out_mask

CACHE_ENV = "TEXTGEN_TOKEN_CACHE"
FORMAT = 5  # bump when the store's layout, the key or the way documents are read changes
SPLITS = ("train", "val")


class ByProducts(Protocol):
    """What a caller gathers from the training documents as the store encodes them: fed each batch
    (in corpus order), saved into the store's folder before it is complete, and loaded back from it
    (a cached store brings them back without another pass over the corpus)."""

    def add(self, documents: list[str]) -> None: ...

    def save(self, directory: Path) -> None: ...

    def load(self, directory: Path) -> object: ...


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
    """A tokenized corpus: its tokenizer, each split as a ScoringSet (tokens memory-mapped from the
    store's files), which documents of the corpus are held out, and how the split was made."""

    tokenizer: Tokenizer
    train: ScoringSet
    val: ScoringSet
    held_out: np.ndarray  # (documents,) bool: which documents of the corpus are held out
    split: str = "documents"  # or "stretches": too few documents, so stretches of their text were split
    stretch: int = 0  # their length in characters
    directory: Path | None = None  # None: a temporary folder already removed


class _SplitWriter:
    """One split's token file and per-document arrays (of a known number of documents), written a
    batch of documents at a time."""

    def __init__(self, directory: Path, name: str, tokenizer: Tokenizer, documents: int):
        self.tokenizer, self.done = tokenizer, 0
        self.dtype = np.dtype(np.uint16 if len(tokenizer) <= 2**16 else np.uint32)  # holds every token id
        self.file = open(directory / f"{name}.bin", "wb")  # noqa: SIM115 (closed in close())
        np.array([tokenizer.eos_id], dtype=self.dtype).tofile(self.file)
        self.tokens, self.counts = 1, np.zeros(len(tokenizer), dtype=np.int64)

        def array(kind: str, dtype) -> np.ndarray:
            return open_memmap(directory / f"{name}_{kind}.npy", mode="w+", dtype=dtype, shape=(documents,))

        self.lengths, self.characters = array("lengths", np.uint32), array("characters", np.uint32)
        self.spelling = array("spelling", np.float64) if tokenizer.level == "word" else None
        self.counts_path = directory / f"{name}_counts.npy"

    def add(self, documents: list[str]) -> None:
        if not documents:
            return
        if self.done + len(documents) > len(self.lengths):
            raise _changed(len(self.lengths), self.done + len(documents))
        stream = TokenStream.from_documents(self.tokenizer, documents, self.dtype)
        stream.tokens[1:].tofile(self.file)  # the opening <eos> is already there
        self.tokens += len(stream.tokens) - 1
        self.counts += np.bincount(stream.tokens[1:], minlength=len(self.counts))
        here = slice(self.done, self.done + len(documents))
        lengths = stream.lengths
        if int(lengths.max()) >= 2**32:
            raise TrainingError("a document is too long to store ({length:,} tokens)", length=int(lengths.max()))
        self.lengths[here] = lengths
        self.characters[here] = np.fromiter(map(len, documents), np.int64, len(documents)) + 1
        if self.spelling is not None:
            self.spelling[here] = self.tokenizer.spelling_costs(documents)
        self.done += len(documents)

    def close(self) -> int:
        self.file.close()
        for array in (self.lengths, self.characters, self.spelling):
            if array is not None:
                array.flush()
        if self.done != len(self.lengths):
            raise _changed(len(self.lengths), self.done)
        np.save(self.counts_path, self.counts)
        return self.tokens


# Fewer documents than this cannot be split by document (one or two would be the whole held-out set):
# the text is cut into about STRETCHES stretches, at least MIN_STRETCH characters each, split instead.
MIN_SPLIT_DOCUMENTS = 20
STRETCHES = 100
MIN_STRETCH = 256


class Stretches:
    """A corpus's documents cut into stretches of about `size` characters, at a line break or a space
    where there is one in the second half of a stretch: read again at every iteration."""

    def __init__(self, documents: Iterable[str], size: int):
        self.documents, self.size = documents, size

    def __iter__(self) -> Iterator[str]:
        for document in self.documents:
            start = 0
            while len(document) - start > self.size:
                end = start + self.size
                cut = max(
                    document.rfind("\n", start + self.size // 2, end),
                    document.rfind(" ", start + self.size // 2, end),
                )
                cut = end if cut < 0 else cut + 1
                yield document[start:cut]
                start = cut
            if start < len(document):
                yield document[start:]


def _changed(then: int, now: int) -> TrainingError:
    return TrainingError(
        "the corpus changed while it was being read ({then:,} documents, then {now:,})", then=then, now=now
    )


def write_store(
    directory: Path,
    documents: Iterable[str],
    fit: Callable[[Iterable[str]], Tokenizer],
    val_fraction: float,
    seed: int,
    by_products: ByProducts,
    progress: bool = False,
) -> None:
    """Tokenize `documents` (re-iterable) into a store in `directory`: see the module docstring.
    `fit` makes the tokenizer from the training documents (it may iterate them more than once);
    `by_products` is fed the training documents and saves itself there."""
    bar = {"unit": "doc", "unit_scale": True, "leave": False, "dynamic_ncols": True}
    if not progress:
        bar["disable"] = True  # else tqdm's own default: off when not a terminal, or by TQDM_DISABLE
    characters = CharacterSet(fit.lowercase) if isinstance(fit, Fit) and fit.level == "char" else None
    count = length = 0
    # The first pass: count the documents (and gather the characters).
    for batch in document_batches(tqdm(documents, desc="reading", **bar)):
        count += len(batch)
        length += sum(map(len, batch))
        if characters is not None:
            characters.add(batch)
    split, stretch = "documents", 0
    if count < MIN_SPLIT_DOCUMENTS:  # a few long documents: hold out stretches of their text instead
        split, stretch = "stretches", max(MIN_STRETCH, -(-length // STRETCHES))
        documents = Stretches(documents, stretch)
        count = sum(1 for _ in documents)
    if count < 2:  # too short even for two stretches: there is nothing to hold out
        raise TrainingError(
            "the corpus is too small to train on: {characters:,} characters, too few to hold some out",
            characters=length,
        )
    held_out = held_out_mask(count, val_fraction, seed)
    tokenizer = characters.tokenizer() if characters is not None else fit(SplitDocuments(documents, held_out))
    sizes = {"train": count - int(held_out.sum()), "val": int(held_out.sum())}
    writers = {name: _SplitWriter(directory, name, tokenizer, sizes[name]) for name in SPLITS}
    index = 0
    with tqdm(total=count, desc="tokenizing", **bar) as shown:
        for batch in document_batches(documents):
            out = held_out[index : index + len(batch)]
            index += len(batch)
            train = [doc for doc, o in zip(batch, out) if not o]
            writers["train"].add(train)
            writers["val"].add([doc for doc, o in zip(batch, out) if o])
            by_products.add(train)
            shown.update(len(batch))
    tokens = {name: writer.close() for name, writer in writers.items()}
    if characters is not None:  # characters only held-out documents have are <unk>, as if fitted on training
        tokenizer = _keep_training_characters(
            directory, tokenizer, writers["train"].counts, writers["train"].dtype
        )
    np.save(directory / "held_out.npy", np.packbits(held_out))
    by_products.save(directory)
    _write_json(directory / "tokenizer.json", tokenizer.to_dict())
    meta = {
        "format": FORMAT,
        "dtype": writers["train"].dtype.name,
        "tokens": tokens,
        "documents": count,
        "split": split,
        "stretch": stretch,
    }
    _write_json(directory / "meta.json", meta)  # last: the store is complete


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _keep_training_characters(
    directory: Path, tokenizer: CharTokenizer, train_counts: np.ndarray, dtype: np.dtype
) -> CharTokenizer:
    """The tokenizer of the training characters alone, both token files renumbered to it."""
    keep = train_counts > 0
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
        old = np.load(counts_path)
        np.save(counts_path, np.bincount(table, weights=old, minlength=int(keep.sum())).astype(np.int64))
    return CharTokenizer([token for token, kept in zip(tokenizer.vocab, keep) if kept], tokenizer.lowercase)


def read_store(directory: Path) -> Store:
    """The store in `directory`: token files and per-document sizes memory-mapped, lengths in memory."""
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    tokenizer = tokenizer_from_dict(json.loads((directory / "tokenizer.json").read_text(encoding="utf-8")))
    splits = {}
    for name in SPLITS:
        tokens = np.memmap(directory / f"{name}.bin", np.dtype(meta["dtype"]), "r", shape=(meta["tokens"][name],))
        lengths = np.load(directory / f"{name}_lengths.npy")
        starts = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        if starts[-1] + 1 != len(tokens):
            raise ValueError(f"{name}.bin does not hold its documents' tokens")
        spelling = directory / f"{name}_spelling.npy"
        splits[name] = ScoringSet(
            TokenStream(tokens, starts),
            np.load(directory / f"{name}_characters.npy", mmap_mode="r"),
            np.load(spelling, mmap_mode="r") if spelling.exists() else None,
            np.load(directory / f"{name}_counts.npy"),
        )
        if len(splits[name].document_characters) != len(lengths):
            raise ValueError(f"{name}_characters.npy does not match its documents")
    held_out = np.unpackbits(np.load(directory / "held_out.npy"), count=meta["documents"]).astype(bool)
    return Store(tokenizer, splits["train"], splits["val"], held_out, meta["split"], meta["stretch"], directory)


def _staging(parent: Path, name: str) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=name + ".", dir=parent))


def tokenized(
    documents: Iterable[str],
    fit: Callable[[Iterable[str]], Tokenizer],
    val_fraction: float,
    seed: int,
    by_products: ByProducts,
    cache: tuple[Path, dict] | None = None,
    progress: bool = False,
) -> tuple[Store, object, bool | None]:
    """The corpus as a store, its by-products (`by_products.load`'s), and whether they came from the
    cache (None: no cache).

    `cache`: (directory, settings): the entry for (documents, settings) is read if it exists, else
    written there first. Without it the store is written to a temporary folder, mapped, and the folder
    removed at once: its files stay readable through the maps, and their space is freed when the maps
    close (or the process ends, however it ends)."""
    if cache is None:
        directory = _staging(Path(tempfile.gettempdir()), "textgen-tokens")
        try:
            write_store(directory, documents, fit, val_fraction, seed, by_products, progress)
            store, extra = read_store(directory), by_products.load(directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        store.directory = None
        return store, extra, None
    cache_dir, settings = cache
    entry = Path(cache_dir) / corpus_key(documents, settings)
    if (entry / "meta.json").exists():
        try:
            return read_store(entry), by_products.load(entry), True
        except (OSError, ValueError, KeyError, TypeError):  # damaged since it was written: made again
            shutil.rmtree(entry, ignore_errors=True)
    staging = _staging(entry.parent, entry.name)
    try:
        write_store(staging, documents, fit, val_fraction, seed, by_products, progress)
        try:
            staging.rename(entry)
        except OSError:  # another run stored the same entry first: theirs is identical
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return read_store(entry), by_products.load(entry), False


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

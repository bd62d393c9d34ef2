"""Documents as one token stream, cut into batches where every row starts a document the way
sampling does; the train/validation split by document.

A document starts from the zero LSTM state with `<eos>` as its first input: that is how the
sampler starts, how every held-out document is scored, and how training starts every row.

    stream  <eos> T r u m p <eos> S e n a t e   P a s s e s <eos> H o w <eos>
            ^starts[0]      ^starts[1]                        ^starts[2] ^starts[3] (the end)

Training and evaluation read pieces of the stream: a piece is a document (or, for a document
longer than `max_piece`, a stretch of it) with its own inputs and targets. Pieces of similar
length are stacked into a group, padded at the end (padding targets are -100 and not scored):

    group of 3 pieces, inputs | targets, seq_len 4
        <eos> T r u | m p <eos> ·     T r u m | p <eos> · ·
        <eos> H o w | <eos> · · ·     H o w <eos> | · · · ·
        <eos> N e w | Y o r k         N e w Y | o r k <eos>

Each group starts from the zero state; its windows of `seq_len` columns are consecutive training
steps with the state carried between them (truncated BPTT), so a piece is trained with all of its
context, and a row never continues into another document.
"""

from __future__ import annotations

import os
import random
import tempfile
import weakref
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

PAD_TARGET = -100  # cross_entropy's ignore_index
PAD_MULTIPLE = 8  # piece lengths round up to this, so a few tensor shapes repeat (oneDNN caches per shape)


def held_out_mask(num_documents: int, val_fraction: float = 0.1, seed: int = 0) -> np.ndarray:
    """Which documents are held out: `val_fraction` of them, chosen by shuffling their order with
    `seed` (Python's shuffle, on an array of 4-byte ints rather than a list, so that millions of
    documents cost megabytes; the shuffle depends on the length alone, so the same split as ever)."""
    wide = num_documents >= 2**31
    order = array("q" if wide else "i", range(num_documents))
    random.Random(seed).shuffle(order)
    num_val = max(1, round(num_documents * val_fraction)) if num_documents > 1 else 0
    held_out = np.zeros(num_documents, dtype=bool)
    held_out[np.frombuffer(order, dtype=np.int64 if wide else np.int32)[:num_val]] = True
    return held_out


def split_documents(documents: list[str], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
    """Shuffle document order with `seed`, hold out `val_fraction` of the documents."""
    held_out = held_out_mask(len(documents), val_fraction, seed)
    train = [doc for doc, out in zip(documents, held_out) if not out]
    val = [doc for doc, out in zip(documents, held_out) if out]
    return train, val


class TokenFile:
    """A 1-D array on disk (tokens, or a per-document array in a .npy file), read by slices
    (`pread`), never mapped: a process's resident memory is what it reads, not the file, however
    large the corpus (a memory map counts every page it has touched, and training touches them all)."""

    def __init__(self, path: str | os.PathLike, dtype: np.dtype, length: int, offset: int = 0):
        self.path, self.dtype, self.length, self.offset = Path(path), np.dtype(dtype), length, offset
        self._fd = os.open(self.path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    @classmethod
    def holding(cls, values: np.ndarray) -> TokenFile:
        """`values` written to a temporary file, read back from it by slices: for a large array that
        is needed a slice at a time. The file has no name once open; its space goes with the reader."""
        handle, name = tempfile.mkstemp(prefix="textgen-", suffix=".bin")
        try:
            with open(handle, "wb") as file:
                values.tofile(file)
            return cls(name, values.dtype, len(values))
        finally:  # written or not (a full disk), the name goes
            os.unlink(name)

    @classmethod
    def npy(cls, path: str | os.PathLike) -> TokenFile:
        """The array of a .npy file, read from disk like a token file."""
        with open(path, "rb") as file:
            version = np.lib.format.read_magic(file)
            format_ = np.lib.format
            header = format_.read_array_header_1_0 if version == (1, 0) else format_.read_array_header_2_0
            shape, fortran_order, dtype = header(file)
            if len(shape) != 1 or fortran_order or dtype.hasobject:
                raise ValueError(f"{Path(path).name} does not hold a plain 1-D array")
            offset = file.tell()
            if os.fstat(file.fileno()).st_size < offset + shape[0] * dtype.itemsize:
                raise ValueError(f"{Path(path).name} is shorter than its header says")  # cut short
            return cls(path, dtype, shape[0], offset)

    def __len__(self) -> int:
        return self.length

    @property
    def shape(self) -> tuple[int]:
        return (self.length,)

    def __getitem__(self, key: int | slice) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(self.length)
            if step != 1:
                raise IndexError("a TokenFile reads contiguous slices only")
            return self.read(start, max(stop - start, 0))
        index = key + self.length if key < 0 else key
        if not 0 <= index < self.length:
            raise IndexError(f"token {key} of {self.length}")
        return self.read(index, 1)[0]

    def read(self, start: int, count: int) -> np.ndarray:
        out = np.empty(count, dtype=self.dtype)
        view, done = memoryview(out).cast("B"), 0
        position = self.offset + start * self.dtype.itemsize
        while done < len(view):
            got = os.preadv(self._fd, [view[done:]], position + done)
            if got == 0:
                raise EOFError(f"{self.path.name} ends before token {start + count}")
            done += got
        return out

    def take(self, index: np.ndarray) -> np.ndarray:
        """The values at `index` (a few thousand: one read each)."""
        out = np.empty(len(index), dtype=self.dtype)
        for at, i in enumerate(index):
            out[at] = self.read(int(i), 1)[0]
        return out

    def sum(self) -> int | float:
        return sum(chunk.sum().item() for chunk in token_chunks(self, 2**20))


def token_chunks(tokens: np.ndarray | TokenFile, size: int = 2**24) -> Iterator[np.ndarray]:
    """A token array in pieces of at most `size` (a TokenFile's slices are read from disk)."""
    for start in range(0, len(tokens), size):
        yield np.asarray(tokens[start : start + size])


def take(values: np.ndarray | TokenFile, index: np.ndarray) -> np.ndarray:
    """values[index], for an array in memory or on disk."""
    return values.take(index) if isinstance(values, TokenFile) else values[index]


def smallest_unsigned(largest: int) -> np.dtype:
    """The narrowest unsigned integer type that holds `largest`."""
    for dtype in (np.uint16, np.uint32):
        if largest <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


COARSE = 32  # DocumentStarts keeps the start of every 32nd document


class DocumentStarts:
    """Where each document opens in a stream, kept as each document's length (in the narrowest type
    that holds them: 2 bytes for most corpora) and the start of every 32nd document, about 2.25
    bytes a document instead of int64 starts' 8; a start is the nearest kept one plus at most 31
    lengths. Indexed like the int64 array `<eos>` positions (documents + 1 of them) it stands for."""

    def __init__(self, lengths: np.ndarray):
        self.lengths = lengths  # (documents,) targets of each document: its tokens and its closing <eos>
        whole = len(lengths) // COARSE * COARSE
        block_sums = lengths[:whole].reshape(-1, COARSE).sum(axis=1, dtype=np.int64)
        self.coarse = np.zeros(len(block_sums) + 1, dtype=np.int64)
        np.cumsum(block_sums, out=self.coarse[1:])

    def __len__(self) -> int:
        return len(self.lengths) + 1

    def __getitem__(self, key: int | np.ndarray) -> int | np.ndarray:
        if np.ndim(key) == 0:
            index = int(key) + len(self) if int(key) < 0 else int(key)
            if not 0 <= index < len(self):
                raise IndexError(f"start {key} of {len(self)}")
            return int(self.at(np.array([index]))[0])
        return self.at(np.asarray(key))

    def at(self, index: np.ndarray) -> np.ndarray:
        """The starts of documents `index` (the number of documents: the stream's end), int64."""
        index = np.asarray(index, dtype=np.int64)
        out = np.empty(index.shape, dtype=np.int64)
        step = 2**16  # a (step, COARSE) table at a time
        for begin in range(0, len(index), step):
            part = index[begin : begin + step]
            block = part // COARSE
            within = np.arange(COARSE)
            columns = block[:, None] * COARSE + within
            before = within < (part - block * COARSE)[:, None]  # the lengths between the kept start and this one
            lengths = self.lengths[np.minimum(columns, max(len(self.lengths) - 1, 0))] if len(self.lengths) else 0
            partial = np.where(before, lengths, 0).sum(axis=1, dtype=np.int64)
            out[begin : begin + step] = self.coarse[block] + partial
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        starts = np.zeros(len(self), dtype=np.int64)
        np.cumsum(self.lengths, dtype=np.int64, out=starts[1:])
        return starts if dtype is None else starts.astype(dtype)

    def tolist(self) -> list[int]:
        return np.asarray(self).tolist()


@dataclass
class TokenStream:
    """`<eos> d1 <eos> d2 ... <eos>` and the index of the `<eos>` that opens each document.

    Document i's inputs are tokens[starts[i] : starts[i + 1]] and its targets are the same
    span shifted by one: its tokens, then the `<eos>` that ends it.
    """

    tokens: np.ndarray | TokenFile  # (num_tokens,) integer token ids, in memory or on disk
    starts: np.ndarray | DocumentStarts  # (num_documents + 1,) int64; the last entry is the final <eos>

    @classmethod
    def from_ids(cls, documents: Iterable[list[int]], eos_id: int) -> TokenStream:
        pieces, starts, position = [np.array([eos_id])], [0], 0
        for ids in documents:
            pieces.append(np.asarray(ids, dtype=np.int64))
            pieces.append(np.array([eos_id]))
            position += len(ids) + 1
            starts.append(position)
        return cls(np.concatenate(pieces), np.array(starts, dtype=np.int64))

    @classmethod
    def from_documents(cls, tokenizer, documents: list[str], dtype: np.dtype = np.int32) -> TokenStream:
        """The documents encoded by `tokenizer` (in one vectorized pass where it has one)."""
        flat, lengths = tokenizer.encode_batch(documents)
        eos = tokenizer.eos_id
        starts = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths + 1, out=starts[1:])
        tokens = np.full(int(starts[-1]) + 1, eos, dtype=dtype)
        content = np.ones(len(tokens), dtype=bool)
        content[starts] = False  # the <eos> that opens each document (and the last one, which ends the stream)
        tokens[content] = flat
        return cls(tokens, starts)

    @property
    def num_documents(self) -> int:
        return len(self.starts) - 1

    @property
    def lengths(self) -> np.ndarray:
        """Each document's targets: its tokens and its closing `<eos>`."""
        return self.starts.lengths if isinstance(self.starts, DocumentStarts) else np.diff(self.starts)

    def subset(self, index: np.ndarray) -> TokenStream:
        """The documents at `index` (in that order) as a stream of their own, in memory."""
        index = np.asarray(index, dtype=np.int64)
        opens, lengths = self.starts[index], self.lengths[index].astype(np.int64)
        pieces = [np.array([self.tokens[0]])]
        for start, length in zip(opens.tolist(), lengths.tolist()):
            pieces.append(np.asarray(self.tokens[start + 1 : start + length + 1]))  # its tokens and closing <eos>
        starts = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        return TokenStream(np.concatenate(pieces), starts)

    @property
    def num_targets(self) -> int:
        return int(self.starts[-1])


@dataclass
class Pieces:
    """Stretches of a stream, each trained or scored from the zero state: a group's."""

    offsets: np.ndarray  # (num_pieces,) index of each piece's first input token
    lengths: np.ndarray  # (num_pieces,) number of targets in each piece


def _by_part(index: np.ndarray, documents: int, first, extra: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Values of pieces `index`: `first(i)` for pieces that are documents (i < documents), `extra`'s
    for the further stretches of long documents that follow them."""
    index = np.asarray(index, dtype=np.int64)
    out = np.empty(len(index), dtype=dtype)
    is_document = index < documents
    out[is_document] = first(index[is_document])
    out[~is_document] = extra[index[~is_document] - documents]
    return out


class PieceLengths:
    """Each piece's targets, without a copy of the documents' lengths: piece i < documents is
    document i capped at `cap`; the further stretches of long documents follow, kept as they are.
    Indexed like the array it stands for (a slice, an index array or one index)."""

    def __init__(self, documents: np.ndarray, cap: int, extra: np.ndarray):
        self.documents, self.cap, self.dtype = documents, cap, smallest_unsigned(cap)
        self.extra = extra.astype(self.dtype)

    def __len__(self) -> int:
        return len(self.documents) + len(self.extra)

    def __getitem__(self, key: int | slice | np.ndarray) -> int | np.ndarray:
        n = len(self.documents)
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise IndexError("piece lengths are read in contiguous slices only")
            first = np.minimum(self.documents[start : min(stop, n)], self.cap).astype(self.dtype)
            return np.concatenate([first, self.extra[max(start - n, 0) : max(stop - n, 0)]])
        if np.ndim(key) == 0:
            index = int(key) + len(self) if int(key) < 0 else int(key)
            return min(int(self.documents[index]), self.cap) if index < n else int(self.extra[index - n])
        return _by_part(key, n, lambda i: np.minimum(self.documents[i], self.cap), self.extra, self.dtype)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[0 : len(self)]
        return whole if dtype is None else whole.astype(dtype)

    def max(self) -> int:
        return max(min(int(self.documents.max(initial=0)), self.cap), int(self.extra.max(initial=0)))

    def sum(self) -> int:
        return int(np.minimum(self.documents, self.cap).sum(dtype=np.int64)) + int(self.extra.sum(dtype=np.int64))

    def tolist(self) -> list[int]:
        return np.asarray(self).tolist()


@dataclass
class PieceTable:
    """Every piece of a stream, compactly: piece i < documents is document i (its first `max_piece`
    targets, or all of it), and the further stretches of the longer documents follow, in stream order,
    with their offsets kept. A corpus of millions of short documents costs no more than its lengths."""

    stream: TokenStream
    lengths: np.ndarray | PieceLengths  # (num_pieces,) number of targets in each piece
    extra_offsets: np.ndarray  # (num_pieces - documents,) int64: where the further stretches start

    def offsets(self, index: np.ndarray) -> np.ndarray:
        """The first input token of each piece at `index`, int64."""
        if not len(self.extra_offsets):
            return self.stream.starts[np.asarray(index, dtype=np.int64)]
        starts = self.stream.starts
        return _by_part(index, self.stream.num_documents, lambda i: starts[i], self.extra_offsets, np.int64)


def pieces(stream: TokenStream, max_piece: int | None = None) -> PieceTable:
    """Each document as one piece, or cut into pieces of at most `max_piece` targets."""
    lengths = stream.lengths
    longest = int(lengths.max()) if len(lengths) else 0
    if max_piece is None or longest <= max_piece:
        return PieceTable(stream, lengths, np.zeros(0, dtype=np.int64))
    long = np.flatnonzero(lengths > max_piece)
    long_lengths = lengths[long].astype(np.int64)
    counts = -(-long_lengths // max_piece) - 1  # further pieces of each long document
    # Each further piece's number within its document (1, 2, ...), its length left, and its offset.
    cut = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    rest = np.repeat(long_lengths, counts) - cut * max_piece
    extra_offsets = np.repeat(stream.starts[long], counts) + cut * max_piece
    return PieceTable(stream, PieceLengths(lengths, max_piece, np.minimum(rest, max_piece)), extra_offsets)


def round_up(n: int | np.ndarray, multiple: int = PAD_MULTIPLE) -> int | np.ndarray:
    return -(-n // multiple) * multiple


@dataclass
class GroupPlan:
    """An epoch's (or an evaluation's) groups of pieces: group g is order[bounds[g] : bounds[g + 1]],
    taken in the order of `sequence`. A sequence of index arrays, compactly: the piece order (4 bytes
    a piece, on disk past ORDER_IN_MEMORY pieces) and three numbers a group, however many millions of
    pieces there are."""

    order: np.ndarray | TokenFile  # piece indices, longest first
    bounds: np.ndarray  # (groups + 1,) int64
    sequence: np.ndarray  # group numbers, in the order they are taken
    columns: np.ndarray  # (groups,) each group's width: its first (longest) piece's, rounded up

    def __len__(self) -> int:
        return len(self.sequence)

    def __getitem__(self, position: int) -> np.ndarray:
        group = int(self.sequence[position])
        return self.order[int(self.bounds[group]) : int(self.bounds[group + 1])]

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[position] for position in range(len(self)))

    def share(self, rank: int, world: int) -> GroupPlan:
        """Every `world`-th group from `rank`'s: one process's part of the plan under torchrun."""
        return GroupPlan(self.order, self.bounds, self.sequence[rank::world], self.columns)

    def num_windows(self, seq_len: int) -> int:
        """Training steps the groups make: windows of `seq_len` across each group's width."""
        return int((-(-self.columns[self.sequence].astype(np.int64) // seq_len)).sum())


# An epoch's piece order past this many pieces (4 MB) is kept in a temporary file and read a group at
# a time: 18 MB less resident for the 4.5 million pieces of 1 GB of text (BENCHMARKS.md 8a).
ORDER_IN_MEMORY = 2**20


def plan_groups(
    lengths: np.ndarray, tokens_per_step: int, seq_len: int, rng: np.random.Generator | None = None
) -> GroupPlan:
    """The pieces in groups: similar lengths together, longest groups first.

    A group of pieces up to `seq_len` long has as many rows as `tokens_per_step` allows at its
    length, so every step costs about the same; longer pieces get `tokens_per_step // seq_len`
    rows. With `rng`, pieces of equal length are shuffled and the group order is random.
    """
    order = longest_first(lengths, rng)
    bounds, columns, start = array("q", [0]), array("q"), 0
    while start < len(order):
        width = round_up(int(lengths[order[start]]))
        start = min(start + max(1, tokens_per_step // min(width, seq_len)), len(order))
        bounds.append(start)
        columns.append(width)
    count = len(columns)
    sequence = np.arange(count) if rng is None else rng.permutation(count)
    narrow = np.frombuffer(columns, dtype=np.int64).astype(smallest_unsigned(max(columns, default=0)))
    kept = TokenFile.holding(order) if len(order) > ORDER_IN_MEMORY else order
    return GroupPlan(kept, np.frombuffer(bounds, dtype=np.int64), sequence, narrow)


SORT_CHUNK = 2**18  # pieces sorted at a time by longest_first


def longest_first(lengths: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Piece indices, longest first: equal lengths in index order (`np.argsort(-lengths, kind="stable")`),
    or with `rng` in a random order. A counting sort a chunk at a time into 4-byte indices: its
    temporaries are a chunk's, where argsort's would be several 8-byte arrays of the corpus's size."""
    n = len(lengths)
    order = np.empty(n, dtype=np.int32 if n < 2**31 else np.int64)
    if n == 0:
        return order
    # The distinct lengths, longest first, and where each one's pieces go in the order.
    chunks = range(0, n, SORT_CHUNK)
    distinct = np.unique(np.concatenate([np.unique(lengths[a : a + SORT_CHUNK]) for a in chunks]))
    descending = -distinct[::-1].astype(np.int64)  # minus the distinct lengths, longest first: ascending

    def key(chunk: np.ndarray) -> np.ndarray:  # each piece's bucket: its length's place in that order
        return np.searchsorted(descending, -chunk.astype(np.int64))

    counts = np.zeros(len(descending), dtype=np.int64)
    for a in chunks:
        counts += np.bincount(key(lengths[a : a + SORT_CHUNK]), minlength=len(counts))
    bucket_start = np.concatenate([[0], np.cumsum(counts)])
    filled = bucket_start[:-1].copy()
    for a in chunks:
        buckets = key(lengths[a : a + SORT_CHUNK])
        sorting = np.argsort(buckets, kind="stable")
        sorted_buckets = buckets[sorting]
        rank = np.arange(len(sorting)) - np.searchsorted(sorted_buckets, sorted_buckets)  # within its bucket
        order[filled[sorted_buckets] + rank] = sorting + a
        filled += np.bincount(buckets, minlength=len(counts))
    if rng is not None:
        for begin, end in zip(bucket_start[:-1].tolist(), bucket_start[1:].tolist()):
            if end - begin > 1:
                rng.shuffle(order[begin:end])
    return order


@dataclass
class Window:
    inputs: torch.Tensor  # (rows, time)
    targets: torch.Tensor  # (rows, time); PAD_TARGET where there is nothing to predict
    fresh: bool  # the first window of a group: start from the zero state


def group_windows(stream: TokenStream, group_pieces: Pieces, seq_len: int, pad_id: int) -> Iterator[Window]:
    """Windows of `seq_len` columns over one group, padded at the end; the caller carries the state
    between them. Each window reads only its own stretch of each piece: a piece as long as a book
    costs one window of memory, not the whole piece."""
    columns = round_up(int(group_pieces.lengths.max()))
    rows = len(group_pieces.lengths)
    for start in range(0, columns, seq_len):
        width = min(seq_len, columns - start)
        inputs = np.full((rows, width), pad_id, dtype=np.int64)
        targets = np.full_like(inputs, PAD_TARGET)
        for row, (offset, length) in enumerate(zip(group_pieces.offsets.tolist(), group_pieces.lengths.tolist())):
            count = min(width, length - start)
            if count > 0:
                span = stream.tokens[offset + start : offset + start + count + 1]  # inputs, shifted: targets
                inputs[row, :count] = span[:count]
                targets[row, :count] = span[1:]
        yield Window(torch.from_numpy(inputs), torch.from_numpy(targets), start == 0)


def select(table: PieceTable, index: np.ndarray) -> Pieces:
    return Pieces(table.offsets(index), table.lengths[index])

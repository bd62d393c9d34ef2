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
    `seed` (Python's shuffle, on an array of 8-byte ints rather than a list, so that millions of
    documents cost megabytes; the same order, so the same split as ever for a seed)."""
    order = array("q", range(num_documents))
    random.Random(seed).shuffle(order)
    num_val = max(1, round(num_documents * val_fraction)) if num_documents > 1 else 0
    held_out = np.zeros(num_documents, dtype=bool)
    held_out[np.frombuffer(order, dtype=np.int64)[:num_val]] = True
    return held_out


def split_documents(documents: list[str], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
    """Shuffle document order with `seed`, hold out `val_fraction` of the documents."""
    held_out = held_out_mask(len(documents), val_fraction, seed)
    train = [doc for doc, out in zip(documents, held_out) if not out]
    val = [doc for doc, out in zip(documents, held_out) if out]
    return train, val


class TokenFile:
    """A token array on disk, read by slices (`pread`), never mapped: a process's resident memory
    is what it reads, not the file, however large the corpus (a memory map counts every page it
    has touched, and training touches them all)."""

    def __init__(self, path: str | os.PathLike, dtype: np.dtype, length: int, offset: int = 0):
        self.path, self.dtype, self.length, self.offset = Path(path), np.dtype(dtype), length, offset
        self._fd = os.open(self.path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

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


def token_chunks(tokens: np.ndarray | TokenFile, size: int = 2**24) -> Iterator[np.ndarray]:
    """A token array in pieces of at most `size` (a TokenFile's slices are read from disk)."""
    for start in range(0, len(tokens), size):
        yield np.asarray(tokens[start : start + size])


@dataclass
class TokenStream:
    """`<eos> d1 <eos> d2 ... <eos>` and the index of the `<eos>` that opens each document.

    Document i's inputs are tokens[starts[i] : starts[i + 1]] and its targets are the same
    span shifted by one: its tokens, then the `<eos>` that ends it.
    """

    tokens: np.ndarray | TokenFile  # (num_tokens,) integer token ids, in memory or on disk
    starts: np.ndarray  # (num_documents + 1,) int64; the last entry is the final <eos>

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

    def subset(self, index: np.ndarray) -> TokenStream:
        """The documents at `index` (in that order) as a stream of their own, in memory."""
        pieces, starts, position = [np.array([self.tokens[0]])], [0], 0
        for i in index:
            start, end = int(self.starts[i]), int(self.starts[i + 1])
            pieces.append(np.asarray(self.tokens[start + 1 : end + 1]))  # its tokens and closing <eos>
            position += end - start
            starts.append(position)
        return TokenStream(np.concatenate(pieces), np.array(starts, dtype=np.int64))

    @property
    def num_targets(self) -> int:
        return int(self.starts[-1])


@dataclass
class Pieces:
    """Stretches of a stream, each trained or scored from the zero state."""

    offsets: np.ndarray  # (num_pieces,) index of each piece's first input token
    lengths: np.ndarray  # (num_pieces,) number of targets in each piece


def pieces(stream: TokenStream, max_piece: int | None = None) -> Pieces:
    """Each document as one piece, or cut into pieces of at most `max_piece` targets.

    Only the documents longer than `max_piece` are cut, and the arrays made for cutting them are
    as large as their pieces: a corpus of millions of short documents costs its two output arrays
    (its offsets are a view of the stream's starts when nothing is cut), not five more of its size."""
    starts, lengths = stream.starts[:-1], np.diff(stream.starts)
    long = np.flatnonzero(lengths > max_piece) if max_piece is not None else np.zeros(0, dtype=np.int64)
    if not len(long):
        return Pieces(starts, lengths)
    counts = np.ones(len(lengths), dtype=np.int64)
    counts[long] = -(-lengths[long] // max_piece)  # pieces per long document (ceil)
    offsets, piece_lengths = np.repeat(starts, counts), np.repeat(lengths, counts)
    # The pieces of the long documents: where each stands in the output, and its index in its document.
    long_counts = counts[long]
    first = np.repeat(np.cumsum(counts)[long] - long_counts, long_counts)
    index_in_doc = np.arange(long_counts.sum()) - np.repeat(np.cumsum(long_counts) - long_counts, long_counts)
    at = first + index_in_doc
    offsets[at] += index_in_doc * max_piece
    piece_lengths[at] = np.minimum(piece_lengths[at] - index_in_doc * max_piece, max_piece)
    return Pieces(offsets, piece_lengths)


def round_up(n: int, multiple: int = PAD_MULTIPLE) -> int:
    return -(-n // multiple) * multiple


def plan_groups(
    lengths: np.ndarray, tokens_per_step: int, seq_len: int, rng: np.random.Generator | None = None
) -> list[np.ndarray]:
    """Indices of the pieces in each group: similar lengths together, longest groups first.

    A group of pieces up to `seq_len` long has as many rows as `tokens_per_step` allows at its
    length, so every step costs about the same; longer pieces get `tokens_per_step // seq_len`
    rows. With `rng`, pieces of equal length are shuffled and the group order is random.
    """
    order = np.argsort(-lengths, kind="stable") if rng is None else _shuffled_longest_first(lengths, rng)
    groups, start = [], 0
    while start < len(order):
        width = min(round_up(int(lengths[order[start]])), seq_len)
        rows = max(1, tokens_per_step // width)
        groups.append(order[start : start + rows])
        start += rows
    if rng is not None:
        rng.shuffle(groups)
    return groups


def _shuffled_longest_first(lengths: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Longest first, equal lengths in a random order: the order `np.lexsort((tiebreak, -lengths))`
    gives, sorted on one key made in place (lexsort's temporaries cost several arrays of this size)."""
    tiebreak = rng.permutation(len(lengths))
    longest = int(lengths.max()) if len(lengths) else 0
    if (longest + 1) * len(lengths) >= 2**62:  # the one key would overflow: lexsort it
        return np.lexsort((tiebreak, -lengths))
    tiebreak += (longest - lengths) * len(lengths)  # now the key: shorter pieces later, ties by the draw
    return np.argsort(tiebreak)


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
        for row, (offset, length) in enumerate(zip(group_pieces.offsets, group_pieces.lengths)):
            count = min(width, int(length) - start)
            if count > 0:
                span = stream.tokens[offset + start : offset + start + count + 1]  # inputs, shifted: targets
                inputs[row, :count] = span[:count]
                targets[row, :count] = span[1:]
        yield Window(torch.from_numpy(inputs), torch.from_numpy(targets), start == 0)


def num_group_windows(lengths: np.ndarray, groups: list[np.ndarray], seq_len: int) -> int:
    return sum(-(-round_up(int(lengths[g].max())) // seq_len) for g in groups)


def select(all_pieces: Pieces, index: np.ndarray) -> Pieces:
    return Pieces(all_pieces.offsets[index], all_pieces.lengths[index])

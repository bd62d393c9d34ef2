"""Training and scoring windows: a split's documents cut into pieces, stacked into groups of similar
length, and read `seq_len` columns at a time (truncated BPTT); an epoch's plan of groups.

A piece is a document (or, for a document longer than `max_piece`, a stretch of it) with its own
inputs and targets (tokens.py draws the stream they come from). Pieces of similar length are
stacked into a group, padded at the end (padding targets are -100 and not scored):

    group of 3 pieces, inputs | targets, seq_len 4
        <eos> T r u | m p <eos> ·     T r u m | p <eos> · ·
        <eos> H o w | <eos> · · ·     H o w <eos> | · · · ·
        <eos> N e w | Y o r k         N e w Y | o r k <eos>

Each group starts from the zero state; its windows of `seq_len` columns are consecutive training
steps with the state carried between them, so a piece is trained with all of its context, and a
row never continues into another document. Everything here is a plain array of a few bytes per
document or piece.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch

from .tokens import TokenStream

PAD_TARGET = -100  # cross_entropy's ignore_index
PAD_MULTIPLE = 8  # piece lengths round up to this, so a few tensor shapes repeat (oneDNN caches per shape)


@dataclass
class Pieces:
    """Stretches of a stream, each trained or scored from the zero state."""

    offsets: np.ndarray  # (num_pieces,) int64: index of each piece's first input token
    lengths: np.ndarray  # (num_pieces,) number of targets in each piece

    def __getitem__(self, index: np.ndarray) -> Pieces:
        return Pieces(self.offsets[index], self.lengths[index])


def pieces(stream: TokenStream, max_piece: int | None = None) -> Pieces:
    """Each document as one piece, or cut into pieces of at most `max_piece` targets: piece i is
    document i's first stretch, and the further stretches of the long documents follow, in stream order."""
    lengths = stream.lengths
    longest = int(lengths.max()) if len(lengths) else 0
    narrow = np.int32 if min(longest, max_piece or longest) < 2**31 else np.int64  # 4 bytes a piece
    if max_piece is None or longest <= max_piece:
        return Pieces(stream.starts[:-1], lengths.astype(narrow))
    long = np.flatnonzero(lengths > max_piece)
    counts = -(-lengths[long] // max_piece) - 1  # further pieces of each long document
    cut = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts) + 1  # 1, 2, ... within it
    rest = np.repeat(lengths[long], counts) - cut * max_piece
    offsets = np.concatenate([stream.starts[:-1], np.repeat(stream.starts[long], counts) + cut * max_piece])
    firsts = np.minimum(lengths, max_piece, out=lengths).astype(narrow)  # lengths is a fresh array: reused
    return Pieces(offsets, np.concatenate([firsts, np.minimum(rest, max_piece).astype(narrow)]))


def round_up(n: int | np.ndarray, multiple: int = PAD_MULTIPLE) -> int | np.ndarray:
    return -(-n // multiple) * multiple


@dataclass
class Plan:
    """Groups of pieces for an epoch (or an evaluation): group g is order[bounds[g] : bounds[g + 1]],
    taken in the order of `sequence`; `columns[g]` is its width (its longest piece, rounded up)."""

    order: np.ndarray  # piece indices, longest first
    bounds: np.ndarray  # (groups + 1,) int64
    columns: np.ndarray  # (groups,) int64
    sequence: np.ndarray  # group numbers, in the order they are taken

    def __len__(self) -> int:
        return len(self.sequence)

    def __iter__(self) -> Iterator[np.ndarray]:
        for group in self.sequence.tolist():
            yield self.order[self.bounds[group] : self.bounds[group + 1]]

    def share(self, rank: int, world: int) -> Plan:
        """Every `world`-th group from `rank`'s: one process's part of the plan under torchrun."""
        return replace(self, sequence=self.sequence[rank::world])

    def num_windows(self, seq_len: int) -> int:
        """Training steps the groups make: windows of `seq_len` across each group's width."""
        return int((-(-self.columns[self.sequence] // seq_len)).sum())


def plan_groups(
    lengths: np.ndarray, tokens_per_step: int, seq_len: int, rng: np.random.Generator | None = None
) -> Plan:
    """The pieces in groups: similar lengths together, longest groups first.

    A group of pieces up to `seq_len` long has as many rows as `tokens_per_step` allows at its
    length, so every step costs about the same; longer pieces get `tokens_per_step // seq_len`
    rows. With `rng`, pieces of equal length are shuffled and the group order is random.
    """
    order = np.argsort(-lengths, kind="stable")
    order = order.astype(np.int32) if len(order) < 2**31 else order  # 4 bytes a piece, for the epoch
    if rng is not None:  # shuffle each run of equal lengths, longest first
        edges = np.flatnonzero(np.diff(lengths[order])) + 1
        for begin, end in itertools.pairwise([0, *edges.tolist(), len(order)]):
            if end - begin > 1:
                rng.shuffle(order[begin:end])
    bounds, columns, start = [0], [], 0
    while start < len(order):
        width = round_up(int(lengths[int(order[start])]))
        start = min(start + max(1, tokens_per_step // min(width, seq_len)), len(order))
        bounds.append(start)
        columns.append(width)
    sequence = np.arange(len(columns)) if rng is None else rng.permutation(len(columns))
    return Plan(order, np.array(bounds, dtype=np.int64), np.array(columns, dtype=np.int64), sequence)


def epoch_plan(
    lengths: np.ndarray, tokens_per_step: int, seq_len: int, seed: int, epoch: int, rank: int = 0, world: int = 1
) -> tuple[Plan, int]:
    """This process's groups of an epoch and the windows it takes of them. The plan is fixed by
    (seed, epoch), so a resumed run sees the same; under torchrun the groups are dealt round and every
    rank takes the same number of windows, so that they step together (DDP averages at each step)."""
    plan = plan_groups(lengths, tokens_per_step, seq_len, np.random.default_rng([seed, epoch]))
    windows = min(plan.share(r, world).num_windows(seq_len) for r in range(world))
    return plan.share(rank, world), windows


@dataclass
class Window:
    inputs: torch.Tensor  # (rows, time)
    targets: torch.Tensor  # (rows, time); PAD_TARGET where there is nothing to predict
    fresh: bool  # the first window of a group: start from the zero state


def group_windows(stream: TokenStream, group: Pieces, seq_len: int, pad_id: int) -> Iterator[Window]:
    """Windows of `seq_len` columns over one group, padded at the end; the caller carries the state
    between them. Each window reads only its own stretch of each piece: a piece as long as a book
    costs one window of memory, not the whole piece."""
    columns = round_up(int(group.lengths.max()))
    rows = len(group.lengths)
    tokens = np.asarray(stream.tokens)  # a plain view of the map: slicing an np.memmap costs microseconds
    for start in range(0, columns, seq_len):
        width = min(seq_len, columns - start)
        inputs = np.full((rows, width), pad_id, dtype=np.int64)
        targets = np.full_like(inputs, PAD_TARGET)
        for row, (offset, length) in enumerate(zip(group.offsets.tolist(), group.lengths.tolist())):
            count = min(width, length - start)
            if count > 0:
                span = tokens[offset + start : offset + start + count + 1]  # inputs, shifted: targets
                inputs[row, :count] = span[:count]
                targets[row, :count] = span[1:]
        yield Window(torch.from_numpy(inputs), torch.from_numpy(targets), start == 0)


def plan_windows(stream: TokenStream, table: Pieces, plan: Plan, seq_len: int, pad_id: int) -> Iterator[Window]:
    """Every window of a plan's groups, in its order. Each group maps the token file afresh (nanoGPT
    does so per batch): a group reads a few rows from all over the file, and a map kept open would
    hold every page it ever touched, up to the whole file, in the process's resident memory."""
    for group in plan:
        yield from group_windows(stream.reopened(), table[group], seq_len, pad_id)

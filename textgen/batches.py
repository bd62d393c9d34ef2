"""Token streams and truncated-BPTT batches; the train/validation split by document."""

from __future__ import annotations

import random
from collections.abc import Iterator

import torch


def split_documents(documents: list[str], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
    """Shuffle document order with `seed`, hold out `val_fraction` of the documents."""
    if not documents:
        return [], []
    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)
    num_val = max(1, round(len(documents) * val_fraction)) if len(documents) > 1 else 0
    val_ids = set(order[:num_val])
    train = [doc for i, doc in enumerate(documents) if i not in val_ids]
    val = [doc for i, doc in enumerate(documents) if i in val_ids]
    return train, val


def batchify(stream: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut one token stream into `batch_size` parallel rows, dropping the ragged tail.

    For the stream a b c d e f g h i j k l m n o p q r s t u v w x and batch_size 4:

        ┌ a b c d e f ┐
        │ g h i j k l │   row r continues where it stopped in the previous batch, so the hidden
        │ m n o p q r │   state of row r can be carried from one batch to the next (truncated BPTT).
        └ s t u v w x ┘
    """
    num_columns = stream.numel() // batch_size
    return stream[: num_columns * batch_size].view(batch_size, num_columns)  # (batch, columns)


def min_stream_tokens(batch_size: int, seq_len: int) -> int:
    """Fewest tokens that give one full (input, target) window in every row."""
    return batch_size * (seq_len + 1)


def bptt_windows(rows: torch.Tensor, seq_len: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(input, target) windows left to right; the target is the input shifted by one token.

    With seq_len 2 the rows above give (a b | b c), then (c d | d e), ...: every position is
    predicted once, and a window starts where the previous one ended.
    """
    num_columns = rows.size(1)
    for start in range(0, num_columns - 1, seq_len):
        length = min(seq_len, num_columns - 1 - start)
        yield rows[:, start : start + length], rows[:, start + 1 : start + 1 + length]


def num_windows(rows: torch.Tensor, seq_len: int) -> int:
    return max(0, (rows.size(1) - 1 + seq_len - 1) // seq_len)

"""Documents as tokens: one stream per split (`<eos> d1 <eos> d2 ... <eos>`), the split by document,
and a split ready to be scored with what each document adds to bits per character.

A document starts from the zero LSTM state with `<eos>` as its first input: that is how the
sampler starts, how every held-out document is scored, and how training starts every row.

    stream  <eos> T r u m p <eos> S e n a t e   P a s s e s <eos> H o w <eos>
            ^starts[0]      ^starts[1]                        ^starts[2] ^starts[3] (the end)

The tokens are a NumPy array, in memory or memory-mapped from a token file (nanoGPT's `train.bin`);
everything else is a plain array of a few bytes per document.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace

import numpy as np

from .tokenizer import Tokenizer


def held_out_mask(num_documents: int, val_fraction: float = 0.1, seed: int = 0) -> np.ndarray:
    """Which documents are held out: `val_fraction` of them, the first of their order shuffled by
    Python's `random.Random(seed)` (on 4-byte ints: millions of documents cost megabytes)."""
    order = np.arange(num_documents, dtype=np.int64 if num_documents >= 2**31 else np.int32)
    random.Random(seed).shuffle(memoryview(order))  # the same order shuffle() gives a list
    num_val = max(1, round(num_documents * val_fraction)) if num_documents > 1 else 0
    held_out = np.zeros(num_documents, dtype=bool)
    held_out[order[:num_val]] = True
    return held_out


def split_documents(documents: list[str], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
    """Shuffle document order with `seed`, hold out `val_fraction` of the documents."""
    held_out = held_out_mask(len(documents), val_fraction, seed)
    train = [doc for doc, out in zip(documents, held_out) if not out]
    val = [doc for doc, out in zip(documents, held_out) if out]
    return train, val


@dataclass
class TokenStream:
    """`<eos> d1 <eos> d2 ... <eos>` and the index of the `<eos>` that opens each document.

    Document i's inputs are tokens[starts[i] : starts[i + 1]] and its targets are the same
    span shifted by one: its tokens, then the `<eos>` that ends it.
    """

    tokens: np.ndarray  # (num_tokens,) token ids, in memory or an np.memmap of a token file
    starts: np.ndarray  # (num_documents + 1,) int64; the last entry is the final <eos>

    @classmethod
    def from_documents(cls, tokenizer, documents: list[str], dtype: np.dtype = np.int32) -> TokenStream:
        """The documents encoded by `tokenizer` (in one vectorized pass where it has one)."""
        flat, lengths = tokenizer.encode_batch(documents)
        starts = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths + 1, out=starts[1:])
        tokens = np.full(int(starts[-1]) + 1, tokenizer.eos_id, dtype=dtype)
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
        return np.diff(self.starts)

    @property
    def num_targets(self) -> int:
        return int(self.starts[-1])

    def subset(self, index: np.ndarray) -> TokenStream:
        """The documents at `index` (in that order) as a stream of their own, in memory."""
        index = np.asarray(index, dtype=np.int64)
        opens, ends = self.starts[index], self.starts[index + 1]
        tokens = np.asarray(self.reopened().tokens)  # a map of its own, released when this returns
        parts = [tokens[:1]] + [tokens[a + 1 : b + 1] for a, b in zip(opens.tolist(), ends.tolist())]
        starts = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(ends - opens, out=starts[1:])
        return TokenStream(np.concatenate(parts), starts)

    def reopened(self) -> TokenStream:
        """The same stream with its token file mapped afresh, the pages the old map touched released;
        an array in memory, or a file already removed (a store without a cache), stays as it is."""
        if not isinstance(self.tokens, np.memmap) or not os.path.exists(self.tokens.filename):
            return self
        tokens = np.memmap(self.tokens.filename, self.tokens.dtype, "r", self.tokens.offset, self.tokens.shape)
        return replace(self, tokens=tokens)


@dataclass
class ScoringSet:
    """Documents ready to be scored, as tokens (encoded once, in memory or on disk), with what each
    adds to the bits per character: its characters (and its end) and, at word level, the cost of
    spelling its `<unk>` words. A training run scores the same samples at every evaluation."""

    stream: TokenStream
    # (documents,): each document's length + 1, and at word level what spelling its <unk> words costs
    # (nats; None at char level); a store's are memory-mapped.
    document_characters: np.ndarray
    document_spelling: np.ndarray | None = None
    token_counts: np.ndarray | None = None  # how often each token is a target, when counted already

    @classmethod
    def of(cls, tokenizer: Tokenizer, documents: list[str]) -> ScoringSet:
        documents = list(documents)
        return cls(
            TokenStream.from_documents(tokenizer, documents),
            np.array([len(doc) + 1 for doc in documents], dtype=np.int64),
            tokenizer.spelling_costs(documents),
        )

    @property
    def num_documents(self) -> int:
        return self.stream.num_documents

    @property
    def characters(self) -> int:
        return int(self.document_characters.sum())

    @property
    def spelling_nats(self) -> float:
        return 0.0 if self.document_spelling is None else float(self.document_spelling.sum())

    def sizes(self) -> np.ndarray:
        """Each document's tokens, its closing `<eos>` included."""
        return self.stream.lengths

    def subset(self, index: np.ndarray) -> ScoringSet:
        """The documents at `index` as a set of their own (their tokens read into memory)."""
        spelling = None if self.document_spelling is None else self.document_spelling[index]
        return ScoringSet(self.stream.subset(index), self.document_characters[index], spelling)  # counts: none

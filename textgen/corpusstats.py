"""Corpus statistics for the Explore tab: sizes, a document-length histogram, frequent tokens.

They are plain data, saved with a trained model as `corpus_stats.json`, so that the page can show
a shipped model's training corpus without the corpus itself.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from .labelled import text_of
from .tokenizer import WORD_PATTERN

TOP = 20
BINS = 20
# Words are counted in at most this much of a corpus (a Python pass over its text); characters,
# lengths and documents in all of it. 20 M characters is twice the largest upload the page takes.
WORD_STATS_CHARACTERS = 20_000_000


@dataclass
class CorpusStats:
    documents: int
    characters: int
    distinct_chars: int
    distinct_words: int
    length_bins: list[tuple[str, int]]  # (" 40–59", documents), from 0 up, every bin the same width
    top_chars: list[tuple[str, int]]
    top_words: list[tuple[str, int]]
    words_from_characters: int = 0  # distinct and top words counted in this many characters (0: all)

    def vocabulary(self, level: str) -> int:
        return self.distinct_words if level == "word" else self.distinct_chars

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CorpusStats | None:
        """Statistics from JSON anyone may have written, or None if they do not have this shape."""
        try:
            return cls(
                documents=int(data["documents"]),
                characters=int(data["characters"]),
                distinct_chars=int(data["distinct_chars"]),
                distinct_words=int(data["distinct_words"]),
                words_from_characters=int(data.get("words_from_characters", 0)),
                **{
                    name: [(str(label), int(count)) for label, count in data[name]][: BINS + TOP]
                    for name in ("length_bins", "top_chars", "top_words")
                },
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            return None


def bin_width(longest: int, bins: int = BINS) -> int:
    """A round width (1, 2, 5, 10, 20, 50, ...) that covers 0..longest in about `bins` bins."""
    raw = max(1, math.ceil((longest + 1) / bins))
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= raw)


class StatsCounter:
    """Corpus statistics gathered a batch of documents at a time (a corpus need not fit in memory):
    characters counted in bulk, words in the first WORD_STATS_CHARACTERS characters."""

    def __init__(self, word_characters: int = WORD_STATS_CHARACTERS):
        self.char_counts = np.zeros(0, dtype=np.int64)  # by code point
        self.words: Counter[str] = Counter()
        self.lengths: list[np.ndarray] = []
        self.word_budget, self.words_read, self.words_cut = word_characters, 0, False

    def add(self, documents: list[str]) -> None:
        if not documents:
            return
        documents = [text_of(doc) for doc in documents]  # a label's control token is not text
        lengths = np.fromiter(map(len, documents), dtype=np.int64, count=len(documents))
        self.lengths.append(lengths)
        codes = np.frombuffer("".join(documents).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        counts = np.bincount(codes)
        if len(counts) > len(self.char_counts):
            self.char_counts = np.pad(self.char_counts, (0, len(counts) - len(self.char_counts)))
        self.char_counts[: len(counts)] += counts
        taken = 0
        for doc in documents:
            if self.words_read + len(doc) > self.word_budget:
                self.words_cut = True
                break
            self.words_read += len(doc)
            taken += 1
        # One search over the documents joined by line breaks finds the same words as one per document
        # (no word spans a line break), and Counter counts a list in C.
        for word, count in Counter(WORD_PATTERN.findall("\n".join(documents[:taken]))).items():
            word = word.strip()
            if word:
                self.words[word] += count

    def result(self) -> CorpusStats:
        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, dtype=np.int64)
        width = bin_width(int(lengths.max()) if len(lengths) else 0)
        counts = np.bincount(lengths // width) if len(lengths) else np.zeros(0, dtype=np.int64)
        labels = [f"{i * width}–{(i + 1) * width - 1}" for i in range(max(len(counts), 1))]
        # Padded with leading spaces to one width, so that sorting them as text ("  0–9" < " 10–19" <
        # "100–109") keeps the bins in order: a plot sorts its bar labels alphabetically.
        longest = max(map(len, labels))
        bins = [(label.rjust(longest), int(counts[i]) if i < len(counts) else 0) for i, label in enumerate(labels)]
        seen = np.flatnonzero(self.char_counts)
        top = seen[np.argsort(-self.char_counts[seen], kind="stable")[:TOP]]  # ties: the lower code point first
        return CorpusStats(
            documents=len(lengths),
            characters=int(lengths.sum()),
            distinct_chars=len(seen),
            distinct_words=len(self.words),
            length_bins=bins,
            top_chars=[(chr(code), int(self.char_counts[code])) for code in top],
            top_words=self.words.most_common(TOP),
            words_from_characters=self.words_read if self.words_cut else 0,
        )


def corpus_stats(documents: Iterable[str]) -> CorpusStats:
    counter = StatsCounter()
    counter.add(list(documents))
    return counter.result()

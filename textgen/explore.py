"""Corpus statistics for the Explore tab: sizes, a document-length histogram, frequent tokens.

They are plain data, saved with a trained model as `corpus_stats.json`, so that the page can show
a shipped model's training corpus without the corpus itself.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass

from .tokenizer import WORD_PATTERN

TOP = 20
BINS = 20


@dataclass
class CorpusStats:
    documents: int
    characters: int
    distinct_chars: int
    distinct_words: int
    length_bins: list[tuple[str, int]]  # (" 40–59", documents), from 0 up, every bin the same width
    top_chars: list[tuple[str, int]]
    top_words: list[tuple[str, int]]

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


def corpus_stats(documents: list[str]) -> CorpusStats:
    chars = Counter(ch for doc in documents for ch in doc)
    words = Counter(w.strip() for doc in documents for w in WORD_PATTERN.findall(doc) if w.strip())
    lengths = [len(doc) for doc in documents]
    width = bin_width(max(lengths, default=0))
    counts = Counter(length // width for length in lengths)
    labels = [f"{i * width}–{(i + 1) * width - 1}" for i in range(max(counts, default=0) + 1)]
    # Padded with leading spaces to one width, so that sorting them as text ("  0–9" < " 10–19" <
    # "100–109") keeps the bins in order: a plot sorts its bar labels alphabetically.
    longest = max(map(len, labels), default=0)
    bins = [(label.rjust(longest), counts.get(i, 0)) for i, label in enumerate(labels)]
    return CorpusStats(
        documents=len(documents),
        characters=sum(lengths),
        distinct_chars=len(chars),
        distinct_words=len(words),
        length_bins=bins,
        top_chars=chars.most_common(TOP),
        top_words=words.most_common(TOP),
    )

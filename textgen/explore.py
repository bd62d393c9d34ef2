"""Corpus statistics for the Explore tab: sizes, a document-length histogram, frequent tokens."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pandas as pd

from .tokenizer import WORD_PATTERN


@dataclass
class CorpusStats:
    documents: int
    characters: int
    vocabulary: int  # distinct tokens at the chosen level
    length_histogram: pd.DataFrame  # columns: length (bin start, characters), documents
    top_tokens: pd.DataFrame  # columns: token, count


def corpus_stats(documents: list[str], level: str = "char", top: int = 20, bins: int = 20) -> CorpusStats:
    if level == "word":
        words = (piece.strip() for doc in documents for piece in WORD_PATTERN.findall(doc))
        counts = Counter(word for word in words if word)  # "the" and " the" are one word here
    else:
        counts = Counter(ch for doc in documents for ch in doc)
    lengths = pd.Series([len(doc) for doc in documents], dtype="int64")
    width = max(1, -(-int(lengths.max() or 1) // bins))
    histogram = (
        (lengths // width * width).value_counts().sort_index().rename_axis("length").reset_index(name="documents")
    )
    shown = [(repr(t)[1:-1] if t.isspace() else t, n) for t, n in counts.most_common(top)]
    return CorpusStats(
        documents=len(documents),
        characters=int(lengths.sum()),
        vocabulary=len(counts),
        length_histogram=histogram,
        top_tokens=pd.DataFrame(shown, columns=["token", "count"]),
    )

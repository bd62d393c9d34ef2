"""What a model folder keeps about its training documents: their hashes (novelty.txt, so that the
page can mark a generated document that copies one) and their statistics (corpus_stats.json, for the
Explore tab). Both are gathered in the pass that tokenizes the corpus and kept beside its tokens, so
a run reads its corpus no more for them.

Past MAX_NOVELTY_DOCUMENTS training documents (about 4 million) a folder keeps no hashes: the page
then says that copies cannot be checked, instead of loading hundreds of MB of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .corpusstats import CorpusStats, StatsCounter, corpus_stats
from .hashes import document_hashes

MAX_NOVELTY_BYTES = 64 * 2**20  # 17 bytes a training document: 16 hex digits and a line break
MAX_NOVELTY_DOCUMENTS = MAX_NOVELTY_BYTES // 17
# The statistics count words in this much of the training text (a regular-expression pass, the
# slowest part of tokenizing); 10 M characters is the largest upload the page takes.
WORD_CHARACTERS = 10_000_000
HASHES_FILE, STATS_FILE = "novelty.npy", "stats.json"


@dataclass(frozen=True)
class CorpusFiles:
    """novelty.txt's and corpus_stats.json's bytes (no novelty: too many documents to keep)."""

    novelty: bytes | None
    stats: bytes

    @classmethod
    def of(cls, documents: list[str]) -> CorpusFiles:
        return cls.from_hashes(np.unique(document_hashes(documents)), corpus_stats(documents))

    @classmethod
    def from_hashes(cls, hashes: np.ndarray | None, stats: CorpusStats) -> CorpusFiles:
        """From the sorted unique hashes of the training documents (None: too many to keep) and their
        statistics."""
        novelty = None
        if hashes is not None and len(hashes) <= MAX_NOVELTY_DOCUMENTS:
            novelty = "".join(f"{value:016x}\n" for value in hashes.tolist()).encode()
        return cls(novelty, json.dumps(stats.to_dict(), ensure_ascii=False).encode())


class CorpusFilesGatherer:
    """Gathers a corpus's files from its training documents a batch at a time, as the token store
    encodes them (its `ByProducts`): saved into the store's folder, read back from a cached one."""

    def __init__(self, word_characters: int = WORD_CHARACTERS):
        self.stats = StatsCounter(word_characters)
        self.hashes: list[np.ndarray] | None = []  # None: past MAX_NOVELTY_DOCUMENTS
        self.documents = 0

    def add(self, documents: list[str]) -> None:
        self.stats.add(documents)
        self.documents += len(documents)
        if self.hashes is not None and self.documents > MAX_NOVELTY_DOCUMENTS:
            self.hashes = None
        if self.hashes is not None:
            self.hashes.append(document_hashes(documents))

    def save(self, directory: Path) -> None:
        if self.hashes is not None:
            hashes = np.unique(np.concatenate(self.hashes)) if self.hashes else np.zeros(0, np.uint64)
            np.save(directory / HASHES_FILE, hashes)
        stats = json.dumps(self.stats.result().to_dict(), ensure_ascii=False)
        (directory / STATS_FILE).write_text(stats, encoding="utf-8")

    def load(self, directory: Path) -> CorpusFiles:
        hashes = np.load(directory / HASHES_FILE) if (directory / HASHES_FILE).exists() else None
        stats = CorpusStats.from_dict(json.loads((directory / STATS_FILE).read_text(encoding="utf-8")))
        if stats is None:
            raise ValueError(f"{STATS_FILE} is not corpus statistics")
        return CorpusFiles.from_hashes(hashes, stats)

"""From documents to what training reads: the split by document (fixed by the seed), the tokenizer
fitted on the training part, each split's tokens on disk (tokencache), what a model folder keeps of
the training documents (corpusfiles), and fixed samples of documents for evaluation."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .corpus import Reading
from .corpusfiles import CorpusFiles, CorpusFilesGatherer
from .distributed import barrier, rank_and_world
from .errors import TrainingError
from .tokencache import Fit, SplitDocuments, Store, Stretches, tokenized
from .tokenizer import Tokenizer
from .tokens import ScoringSet


@dataclass
class TrainingData:
    """A tokenized corpus ready to train on: its tokenizer, each split as a ScoringSet, what a model
    folder keeps of its training documents, and how it was split and stored."""

    tokenizer: Tokenizer
    train: ScoringSet
    val: ScoringSet
    corpus_files: CorpusFiles
    held_out: np.ndarray | None = None  # (documents,) bool: which documents of the corpus are held out
    split: str = "documents"  # or "stretches": too few documents, so stretches of their text were split
    stretch: int = 0  # their length in characters
    cache_hit: bool | None = None  # with a token cache: read from it (True) or stored by this run (False)
    documents: Iterable[str] | None = field(default=None, repr=False)  # the corpus, to read again
    reading: Reading | None = None  # how a corpus read from files was read, all of it (a cached one's too)

    @classmethod
    def from_split(cls, tokenizer: Tokenizer, train: list[str], val: list[str]) -> TrainingData:
        """Training data on a split made elsewhere (a benchmark's), encoded in memory."""
        return cls(
            tokenizer, ScoringSet.of(tokenizer, train), ScoringSet.of(tokenizer, val), CorpusFiles.of(train)
        )

    @classmethod
    def stored(
        cls, store: Store, kept: RunFiles, cache_hit: bool | None, documents: Iterable[str]
    ) -> TrainingData:
        files, reading = kept
        return cls(
            store.tokenizer,
            store.train,
            store.val,
            files,
            store.held_out,
            store.split,
            store.stretch,
            cache_hit,
            documents,
            reading,
        )

    @property
    def train_documents(self) -> list[str]:
        """The training documents as text, read from the corpus again (for tests and small corpora)."""
        return self._documents(held_out=False)

    @property
    def val_documents(self) -> list[str]:
        """The held-out documents as text, read from the corpus again (for tests and small corpora)."""
        return self._documents(held_out=True)

    def _documents(self, held_out: bool) -> list[str]:
        if self.documents is None or self.held_out is None:
            raise ValueError("these training data keep no corpus to read the documents from")
        documents = Stretches(self.documents, self.stretch) if self.split == "stretches" else self.documents
        return list(SplitDocuments(documents, self.held_out, held_out))


RunFiles = tuple[CorpusFiles, "Reading | None"]


class RunGatherer:
    """What a run keeps from the pass that tokenizes its corpus (the store's by-products): what its
    model folder keeps of the training documents, and how a corpus read from files was read, counted
    over all of it (a cached corpus is not read again, so its store keeps that too)."""

    def __init__(self, documents: Iterable[str]):
        self.files, self.documents = CorpusFilesGatherer(), documents

    def add(self, documents: list[str]) -> None:
        self.files.add(documents)

    def save(self, directory: Path) -> None:
        self.files.save(directory)
        reading = getattr(self.documents, "reading", None)  # a CorpusStream's, after the last pass
        if reading is not None:
            (directory / READING_FILE).write_text(
                json.dumps(reading.to_dict(), ensure_ascii=False), encoding="utf-8"
            )

    def load(self, directory: Path) -> RunFiles:
        path = directory / READING_FILE
        reading = Reading.from_dict(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None
        return self.files.load(directory), reading


def prepare_data(
    documents: Iterable[str],
    config: TrainConfig,
    tokenizer: Tokenizer | Callable[[Iterable[str]], Tokenizer] | None = None,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> TrainingData:
    """Split by document (fixed by the seed), fit the tokenizer on the training part, tokenize.

    `documents`: a list, or a corpus that can be read more than once (`stream_corpus`), which is
    then never held in memory. `tokenizer`: one to use as it is (a resumed run's), or a function that
    makes one from the training documents (a base model's, grown for a new corpus); None fits a new
    one. `cache_dir`: keep the tokenized corpus there (see tokencache), so a second run on the same
    corpus and settings starts at once. `progress`: show tqdm bars while tokenizing."""
    if tokenizer is None:
        fit = Fit(config.level, config.lowercase, config.min_count)
    elif isinstance(tokenizer, Tokenizer):
        fit = lambda _documents: tokenizer  # noqa: E731 (the given one, without a pass over the corpus)
    else:
        fit = tokenizer
    cache = None
    if cache_dir is not None and (tokenizer is None or isinstance(tokenizer, Tokenizer)):
        settings = {
            "level": config.level,
            "lowercase": config.lowercase,
            "min_count": config.min_count,
            "seed": config.seed,
            "val_fraction": config.val_fraction,
            "tokenizer": tokenizer.to_dict() if tokenizer is not None else None,
        }
        cache = (Path(cache_dir), settings)
    rank, world = rank_and_world()
    if cache is not None and world > 1 and rank > 0:
        barrier()  # rank 0 tokenizes into the cache; the others then read its entry
    store, corpus_files, cache_hit = tokenized(
        documents, fit, config.val_fraction, config.seed, RunGatherer(documents), cache, progress and rank == 0
    )
    if cache is not None and world > 1 and rank == 0:
        barrier()
    num_tokens = store.train.stream.num_targets + 1
    needed = config.batch_size * (config.seq_len + 1)
    if num_tokens < needed:
        raise TrainingError(
            "the corpus is too small: {tokens} training tokens, but batch size {batch} × sequence length "
            "{seq_len} needs at least {needed} characters (lower them, or add text)"
            if config.level == "char"
            else "the corpus is too small: {tokens} training tokens, but batch size {batch} × sequence length "
            "{seq_len} needs at least {needed} words (lower them, or add text)",
            tokens=num_tokens,
            batch=config.batch_size,
            seq_len=config.seq_len,
            needed=needed,
        )
    return TrainingData.stored(store, corpus_files, cache_hit, documents)


READING_FILE = "reading.json"

# Up to this many documents a sample comes from a permutation of them all; past it, documents are
# drawn until the budget is reached, so that no arrays of the corpus's size are made (90 MB at 1 GB).
PERMUTED_SAMPLE_DOCUMENTS = 2**20


def sample_indices(sizes: np.ndarray, budget: float, seed: int) -> np.ndarray:
    """A fixed random sample of documents whose sizes add up to about `budget` (all, if they fit),
    as sorted indices: the same documents at every evaluation, so the curve is comparable."""
    if sizes.sum() <= budget:
        return np.arange(len(sizes))
    rng = np.random.default_rng(seed)
    if len(sizes) <= PERMUTED_SAMPLE_DOCUMENTS:
        order = rng.permutation(len(sizes))
        taken = int(np.searchsorted(np.cumsum(sizes[order]), budget)) + 1  # up to the first that reaches it
        return np.sort(order[:taken])
    chosen: dict[int, None] = {}  # in the order drawn, each once
    total = 0
    while total < budget:
        for index in rng.integers(len(sizes), size=1024).tolist():
            if index not in chosen:
                chosen[index] = None
                total += int(sizes[index])
                if total >= budget:
                    break
    return np.sort(np.fromiter(chosen, dtype=np.int64, count=len(chosen)))

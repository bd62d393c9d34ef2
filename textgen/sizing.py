"""Settings that fit the corpus and the time budget: the width, dropout and evaluation interval
that a run leaves to "auto" (None in TrainConfig).

How many times a run can pass over its text decides most of it: a 40 KB upload is read hundreds of
times in a minute and overfits at once unless it is small, regularized and evaluated often; a
corpus of megabytes is read a few times and wants width. The rule below was measured on the
corpora in ../shared (BENCHMARKS.md, "Sizes that fit the corpus"); tokens per second are a
conservative figure for a 2-core CPU, used only to estimate the number of passes.
"""

from __future__ import annotations

from dataclasses import replace

# Passes over the training text a run is expected to make -> (hidden_size, dropout).
SIZES = (
    (200.0, 128, 0.5),  # a few tens of KB: hundreds of passes
    (40.0, 256, 0.3),
    (10.0, 256, 0.1),
    (0.0, 512, 0.1),  # megabytes, or a long budget over a medium corpus: a few passes
)
TOKENS_PER_SECOND = 40_000  # a 1 x 256 LSTM's training speed on a 2-core CPU without bf16
EVALUATIONS_PER_BUDGET = 20
MIN_EVAL_STEPS, MAX_EVAL_STEPS = 10, 500


def expected_passes(train_tokens: int, max_minutes: float | None, epochs: int) -> float:
    if max_minutes is None:
        return float(epochs)
    return min(epochs, TOKENS_PER_SECOND * 60 * max_minutes / max(train_tokens, 1))


def size_for(passes: float) -> tuple[int, float]:
    """(hidden_size, dropout) for a run that will pass over its text this many times."""
    return next((hidden, dropout) for least, hidden, dropout in SIZES if passes >= least)


def eval_interval(steps_per_epoch: int) -> int:
    """Steps between evaluations when left to auto: at most once per pass over the text (a small
    corpus is read many times a second, and overfits between rarer evaluations)."""
    return max(MIN_EVAL_STEPS, min(MAX_EVAL_STEPS, steps_per_epoch))


def fit_to_corpus(config, train_tokens: int, steps_per_epoch: int):
    """`config` (a TrainConfig) with every auto setting (None) filled in for this corpus and budget."""
    hidden, dropout = size_for(expected_passes(train_tokens, config.max_minutes, config.epochs))
    return replace(
        config,
        hidden_size=hidden if config.hidden_size is None else config.hidden_size,
        dropout=dropout if config.dropout is None else config.dropout,
        eval_every=eval_interval(steps_per_epoch) if config.eval_every is None else config.eval_every,
    )

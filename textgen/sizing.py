"""Settings that fit the corpus and the time budget: the width, dropout, regularisers and evaluation
interval a run leaves to "auto" (None in TrainConfig).

Two quantities decide them, both estimated before training from the corpus size and the budget:
the tokens a run can read (its compute) and how many times that passes over the training text.

- Width follows compute: a short run learns more with a narrow model's extra steps, a long one with
  the 512 (BENCHMARKS.md, section 4).
- Dropout and the small-data regularisers (AWD-LSTM's: DropConnect, embedding dropout, locked
  dropout, AR/TAR, weight decay, a moving average of the weights) follow passes: they pay where a
  run reads its text PACK_FROM_PASSES times or more and cost below, where only weight decay paid
  (sections 3b and 4b).
- A corpus large enough for the wide model is the exception: there the whole pack held the 512
  back, while the moving average and DropConnect alone paid, so it gets those and dropout 0.1 at
  most (section 4c).
"""

from __future__ import annotations

import math
from dataclasses import replace

from .config import LR, PACK_OFF
from .schedule import EVALUATIONS_PER_BUDGET

TOKENS_PER_SECOND = 40_000  # a 1 x 256 LSTM's training speed on a 2-core CPU without bf16 (conservative)
WIDE_COMPUTE = 8_000_000  # tokens a run reads: from here on, a 512 learns more than a 256 ...
WIDE_CORPUS = 200_000  # ... if there are enough distinct training tokens for it
PACK_FROM_PASSES = 15.0
DROPOUT_BY_PASSES = ((80.0, 0.5), (PACK_FROM_PASSES, 0.1), (0.0, 0.0))
PACK_ON = {
    "weight_drop": 0.3,
    "embedding_dropout": 0.1,
    "locked_dropout": True,
    "activation_reg": 2.0,
    "temporal_reg": 1.0,
    "ema": 0.99,
    "weight_decay": 0.1,
}
FEW_PASSES = {**PACK_OFF, "weight_decay": 0.1}  # below PACK_FROM_PASSES only the weight decay paid
WIDE_PACK = {**PACK_OFF, "weight_drop": 0.2, "ema": 0.99, "weight_decay": 0.1}  # a corpus of WIDE_CORPUS and more
WIDE_MAX_DROPOUT = 0.1
# A short run's periodic evaluations score a smaller sample, so that the first comes within seconds
# and all of them together stay near this share of its budget (scoring runs at about this many tokens
# a second on a 2-core CPU, held-out and training samples together: measured in BENCHMARKS.md).
EVALUATION_SHARE = 0.05
SCORING_TOKENS_PER_SECOND = 100_000
MIN_EVAL_TOKENS = 5_000
MIN_EVAL_STEPS, MAX_EVAL_STEPS = 10, 500


def tokens_read(train_tokens: int, max_minutes: float | None, epochs: int) -> float:
    """How many tokens a run will read: its time budget at TOKENS_PER_SECOND, or its epochs."""
    by_epochs = float(epochs) * train_tokens
    if max_minutes is None:
        return by_epochs
    return min(by_epochs, TOKENS_PER_SECOND * 60 * max_minutes)


def size_for(train_tokens: int, max_minutes: float | None, epochs: int) -> tuple[int, float]:
    """(hidden_size, dropout) for a corpus of `train_tokens` and this budget."""
    compute = tokens_read(train_tokens, max_minutes, epochs)
    passes = compute / max(train_tokens, 1)
    hidden = 512 if compute >= WIDE_COMPUTE and train_tokens >= WIDE_CORPUS else 256
    dropout = next(value for least, value in DROPOUT_BY_PASSES if passes >= least)
    if train_tokens >= WIDE_CORPUS:
        dropout = min(dropout, WIDE_MAX_DROPOUT)
    return hidden, dropout


def eval_interval(steps_per_epoch: int) -> int:
    """Steps between evaluations when left to auto: at most once per pass over the text (a small
    corpus is read many times a second, and overfits between rarer evaluations)."""
    return max(MIN_EVAL_STEPS, min(MAX_EVAL_STEPS, steps_per_epoch))


def fit_to_corpus(config, train_tokens: int, steps_per_epoch: int):
    """`config` (a TrainConfig) with every auto setting (None) filled in for this corpus and budget."""
    hidden, dropout = size_for(train_tokens, config.max_minutes, config.epochs)
    regularization = regularization_for(train_tokens, config.max_minutes, config.epochs)
    chosen = {name: value for name, value in regularization.items() if getattr(config, name) is None}
    return replace(
        config,
        lr=LR if config.lr is None else config.lr,
        hidden_size=hidden if config.hidden_size is None else config.hidden_size,
        dropout=dropout if config.dropout is None else config.dropout,
        eval_every=eval_interval(steps_per_epoch) if config.eval_every is None else config.eval_every,
        **chosen,
    )


def regularization_for(train_tokens: int, max_minutes: float | None, epochs: int) -> dict:
    """The small-data regularisers for this corpus and budget (their TrainConfig fields): all of them
    where a run reads its text PACK_FROM_PASSES times or more (a corpus of WIDE_CORPUS tokens and more:
    the moving average and DropConnect 0.2); below, only weight decay 0.1."""
    passes = tokens_read(train_tokens, max_minutes, epochs) / max(train_tokens, 1)
    if passes < PACK_FROM_PASSES:
        return FEW_PASSES
    return WIDE_PACK if train_tokens >= WIDE_CORPUS else PACK_ON


def evaluation_tokens(config) -> float:
    """Held-out tokens each periodic evaluation scores: `config.eval_tokens` (None: all), fewer when a
    time budget is too short to score that many EVALUATIONS_PER_BUDGET times within EVALUATION_SHARE."""
    if config.eval_tokens is None:
        return math.inf
    if config.max_minutes is None:
        return config.eval_tokens
    seconds = EVALUATION_SHARE * 60 * config.max_minutes / EVALUATIONS_PER_BUDGET
    affordable = seconds * SCORING_TOKENS_PER_SECOND / 2  # a held-out and a training sample
    return min(config.eval_tokens, max(MIN_EVAL_TOKENS, affordable))

"""What a training run reports as it goes: `Trainer.run()` yields these, and every face (the CLI's
bars, the page's plot and samples, a ZeroGPU worker pickling them back to the page) reads nothing
else. Progress and Evaluation carry how far the run is and the time it has left, and Finished what
the run came to, so no face asks the trainer."""

from __future__ import annotations

from dataclasses import dataclass

from .checkpoints import TrainedModel
from .metrics import Metrics

STOP_REASONS = (None, "stopped", "time budget", "step limit", "early stop")


@dataclass
class Progress:
    step: int
    total_steps: int
    epoch: int
    train_loss: float  # this step's, nats per token
    train_bits_per_char: float  # the same, spread over the characters the tokens stand for
    lr: float
    elapsed: float  # training seconds
    fraction: float  # of the run done: by steps, or by the time budget
    remaining: float | None  # training seconds left, by the budget or the pace so far


@dataclass
class Evaluation:
    step: int
    total_steps: int
    epoch: int
    train_loss: float
    val: Metrics  # on the held-out sample
    train: Metrics  # on a fixed sample of training documents, scored the same way (overfitting: a gap)
    best_val_loss: float
    best_step: int
    is_best: bool
    bad_evaluations: int  # since the best, clearly worse than it; the run stops early at `patience`
    unigram: Metrics  # a model that ignores context, on the same split (the plot's reference line)
    samples: dict[float, str]  # temperature -> text
    elapsed: float
    fraction: float
    remaining: float | None


@dataclass
class Finished:
    step: int
    reason: str  # "epochs", or one of STOP_REASONS
    best: Metrics | None  # the kept model on every held-out document (None: stopped before its first evaluation)
    best_step: int
    unigram: Metrics  # a model that ignores context, on the same split
    elapsed: float
    model: TrainedModel | None  # the kept weights (CPU) and everything its folder holds; None off rank 0
    evaluations: int  # how many the run made
    first_evaluation_step: int  # when it made the first
    passes: float  # how many times it read its training text
    vocabulary: int  # tokens the model knows
    train_characters: int  # in its training text
    ranks_agree: bool = True  # under torchrun: every process ended with the same weights

"""When a run evaluates, and its learning rate: the two clocks of a training loop, kept apart from it
so that they can be tested on their own."""

from __future__ import annotations

import math
from dataclasses import dataclass

# With the spacing left to auto, a run evaluates every 1/20 of its time budget, but trains at least
# this many times as long as the last evaluation took before the next one: evaluations then take at
# most a twelfth of the training time (the card promises a tenth, with room for the last one).
EVALUATIONS_PER_BUDGET = 20
TRAINING_PER_EVALUATION = 12


@dataclass
class EvaluationClock:
    """Says when an evaluation is due: every `every_steps` steps, and with `budget_seconds` (auto
    spacing) also every 1/EVALUATIONS_PER_BUDGET of the budget, never sooner than
    TRAINING_PER_EVALUATION times the last evaluation's cost after it. The first comes at the first
    tick of the budget (5%), so that a one-minute run shows its held-out loss within seconds."""

    every_steps: int
    budget_seconds: float | None = None  # None: steps alone decide
    last_end: float = 0.0  # training seconds when the last evaluation ended
    last_took: float = 0.0  # how long it took (wall seconds)

    @property
    def interval(self) -> float | None:
        return None if self.budget_seconds is None else self.budget_seconds / EVALUATIONS_PER_BUDGET

    def due(self, step: int, elapsed: float) -> bool:
        by_steps = step % self.every_steps == 0
        if self.interval is None:
            return by_steps
        next_tick = (self.last_end // self.interval + 1) * self.interval
        spaced = elapsed >= self.last_end + TRAINING_PER_EVALUATION * self.last_took
        return (by_steps or elapsed >= next_tick) and spaced

    def evaluated(self, elapsed: float, took: float) -> None:
        """An evaluation ended at `elapsed` training seconds, after `took` seconds."""
        self.last_end, self.last_took = elapsed, took


def learning_rate(peak: float, step: int, warmup_steps: int, fraction: float) -> float:
    """Linear warm-up over `warmup_steps`, then cosine decay to a tenth of `peak` as the run's
    `fraction` (of its steps or its time budget) goes from 0 to 1."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, fraction))))


@dataclass(frozen=True)
class RunLength:
    """How long a run is (its steps and, with a time budget, its seconds), so that every event can
    say how far it is and what is left without a face asking the trainer."""

    total_steps: int
    budget_seconds: float | None = None

    def fraction(self, step: int, elapsed: float) -> float:
        """Of the run done: by steps, or by the time budget where that is further along."""
        by_steps = step / max(self.total_steps, 1)
        if self.budget_seconds:
            by_steps = max(by_steps, elapsed / self.budget_seconds)
        return min(1.0, by_steps)

    def remaining(self, step: int, elapsed: float) -> float:
        """Training seconds left: by the time budget, or by the steps left at the pace so far."""
        by_steps = (self.total_steps - step) * elapsed / max(step, 1)
        if self.budget_seconds:
            return max(0.0, min(self.budget_seconds - elapsed, by_steps))
        return by_steps

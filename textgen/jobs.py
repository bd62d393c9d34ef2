"""A training run started from the page: a job that pickles, its run on the device, and the page's
side that follows its events.

On a ZeroGPU Space only a decorated call holds a GPU, and it runs in a worker process: the job goes
there pickled, every event comes back pickled, and the last one carries the trained weights as CPU
tensors. Elsewhere the same call runs in the server's own thread. Either way the page reads nothing
but the events, and Stop reaches the run through a file both processes see.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from .checkpoints import LoadedModel
from .config import TrainConfig
from .errors import TrainingError
from .events import Evaluation, Finished, Progress
from .runinfo import RunInfo
from .training import Trainer, prepare_run
from .views import TrainingView

PROGRESS_SECONDS = 0.5  # a run sends its step progress at most this often (each event crosses processes)
# Seconds a run spends beyond its training budget: tokenizing the upload, building the model, the first
# steps, the periodic evaluations (the training clock stands still for them), samples, and scoring every
# held-out document at the end. bench/zerogpu_overhead.py measured at most 23.5 s on a 2-core CPU, for
# an upload at the page's 10 MB limit fine-tuning the 512-wide English base (3 to 10 s from scratch);
# on a GPU the scoring is faster.
OVERHEAD_SECONDS = 25

# ZeroGPU's admission of a call, as spaces 0.51.3 does it (zero/client.py `schedule`): the declared
# duration times the GPU's duration_factor (zero/configs.json: 1.5 for the RTX Pro 6000 behind the
# default `large` size) is requested, and refused when it exceeds what the visitor's daily quota has
# left. The quotas, per hub-docs spaces-zerogpu.md (e7d53f5a, 2026-05-13; read at 34ee0f00): 2 minutes
# a day for a visitor who is not signed in, 5 for a free account. The page's budgets follow: the default
# run is admitted for anyone and three of them fit a free account's day; the longest fits it once.
ZEROGPU_FACTOR = 1.5
ANONYMOUS_QUOTA_SECONDS = 120
FREE_QUOTA_SECONDS = 300
BUDGET_STEP_MINUTES = 0.1  # the page's slider step


# spaces' refusal when the quota left is smaller than the request: "You have exceeded your free ZeroGPU
# quota (135s requested vs. 120s left). Try again in 23:41:05." (zero/client.py), raised as a gr.Error
# titled "ZeroGPU quota exceeded"; its other refusals (the queue, the runs limit) are titled "ZeroGPU ...".
QUOTA_NUMBERS = re.compile(r"\((\d+)s requested vs\. (\d+)s left\)")


def zerogpu_refusal(err: Exception) -> TrainingError | None:
    """ZeroGPU's refusal of a training call as one line the page can translate; None for other errors."""
    if not str(getattr(err, "title", "") or "").startswith("ZeroGPU"):
        return None
    numbers = QUOTA_NUMBERS.search(str(getattr(err, "message", "") or err))
    if numbers:
        return TrainingError(
            "ZeroGPU refused the run: it asks for {requested} s of GPU time and your daily quota has {left} s "
            "left. Choose a shorter time budget, sign in with Hugging Face for more, or try again after the "
            "daily reset.",
            requested=int(numbers[1]),
            left=int(numbers[2]),
        )
    return TrainingError(
        "ZeroGPU could not give this run a GPU now. Choose a shorter time budget, sign in with Hugging Face "
        "for more, or try again later."
    )


def refusals_as_errors(events: Iterable) -> Iterator:
    """`events`, ZeroGPU's refusal of the call (raised when they are first asked for) as one clear line."""
    try:
        yield from events
    except Exception as err:
        refusal = zerogpu_refusal(err)
        if refusal is None:
            raise
        raise refusal from None


def zerogpu_requested(declared_seconds: float) -> int:
    """The seconds ZeroGPU takes from a visitor's quota for a call that declares `declared_seconds`."""
    return round(declared_seconds * ZEROGPU_FACTOR)


def longest_budget(quota_seconds: float, runs: int = 1) -> float:
    """The longest time budget (minutes, in the slider's steps) of which `runs` runs fit `quota_seconds`."""
    seconds = quota_seconds / runs / ZEROGPU_FACTOR - OVERHEAD_SECONDS
    return math.floor(seconds / (60 * BUDGET_STEP_MINUTES)) * BUDGET_STEP_MINUTES


ZEROGPU_DEFAULT_MINUTES = round(
    min(longest_budget(ANONYMOUS_QUOTA_SECONDS), longest_budget(FREE_QUOTA_SECONDS, 3)), 1
)
ZEROGPU_MAX_MINUTES = round(longest_budget(FREE_QUOTA_SECONDS), 1)


@dataclass
class TrainingJob:
    """Everything a run needs, as plain data: it pickles into ZeroGPU's worker process."""

    documents: list[str]
    config: TrainConfig
    info: RunInfo
    stop_file: Path  # Stop on the page creates it; the run looks for it after every step
    base: LoadedModel | None = None  # start from this model (its vocabulary, grown, and its weights)
    locale: str = "en"  # the page's language, for what the run says

    def stop_requested(self) -> bool:
        return self.stop_file.exists()

    def gpu_seconds(self) -> int:
        """How long the run may hold a GPU: its budget and the work around it."""
        return math.ceil(60 * (self.config.max_minutes or 0) + OVERHEAD_SECONDS)


def run_job(job: TrainingJob) -> Iterator[Progress | Evaluation | Finished]:
    """Tokenize and train on the device this process has (CUDA inside a ZeroGPU call, else as
    `resolve_device` finds), yielding the run's events: step progress at most every PROGRESS_SECONDS
    (its training loss the mean of the steps since the last), every evaluation, and the end."""
    config, data, model = prepare_run(job.documents, replace(job.config, device="auto"), job.base)
    trainer = Trainer(config, data, info=job.info, model=model)
    losses: list[float] = []
    sent = -math.inf
    for event in trainer.run(job.stop_requested):
        if isinstance(event, Progress):
            losses.append(event.train_bits_per_char)
            if time.monotonic() - sent < PROGRESS_SECONDS:
                continue
            event = replace(event, train_bits_per_char=sum(losses) / len(losses))
            losses, sent = [], time.monotonic()
        yield event


@dataclass
class PageUpdate:
    """What one training update changes in the Train tab (None: unchanged)."""

    plot: pd.DataFrame | None = None
    status: str | None = None
    samples: str | None = None
    finished: Finished | None = None


def follow(
    events: Iterable[Progress | Evaluation | Finished], view: TrainingView, seconds: float
) -> Iterator[PageUpdate]:
    """The page's updates from a run's events: the plot and the status line at most every `seconds`
    while it steps, at once for every evaluation (samples too), and the end."""
    shown = -math.inf
    for event in refusals_as_errors(events):
        if isinstance(event, Progress):
            view.progress(event)
            if time.monotonic() - shown >= seconds:
                shown = time.monotonic()
                yield PageUpdate(plot=view.plot(), status=view.status(event))
        elif isinstance(event, Evaluation):
            view.add(event)
            shown = time.monotonic()
            yield PageUpdate(plot=view.plot(), status=view.status(event), samples=view.samples)
        elif isinstance(event, Finished):
            yield PageUpdate(finished=event)

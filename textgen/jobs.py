"""A training run started from the page: a job that pickles, its run on the device, and the page's
side that follows its events.

On a ZeroGPU Space only a decorated call holds a GPU, and it runs in a worker process: the job goes
there pickled, every event comes back pickled, and the last one carries the trained weights as CPU
tensors. Elsewhere the same call runs in the server's own thread. Either way the page reads nothing
but the events, and Stop reaches the run through a file both processes see.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from .checkpoints import LoadedModel
from .config import TrainConfig
from .events import Evaluation, Finished, Progress
from .runinfo import RunInfo
from .training import Trainer, prepare_run
from .views import TrainingView

PROGRESS_SECONDS = 0.5  # a run sends its step progress at most this often (each event crosses processes)
# Seconds a run spends beyond its training budget: tokenizing the upload, the first steps' warm-up,
# periodic evaluations (at most a tenth) and scoring every held-out document at the end.
OVERHEAD_SECONDS = 30


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
    for event in events:
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

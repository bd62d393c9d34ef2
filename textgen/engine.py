"""Serving a crowd: one decoding engine per loaded model steps every active request together.

Requests join the running batch between steps and leave it when they finish or their reader goes
away: continuous batching, as LLM servers do it. On a CPU one step of the 1 x 512 LSTM costs about
the same for 50 rows as for one (reading the weights dominates), so the work of many users becomes
one sequence of batched steps instead of a queue of separate ones.

Each request keeps its own settings and random stream (a `Sampler`) and is primed with its seed
text by the same call the direct path uses, so a seeded request writes the same text alone, through
`generate_steps`, or in a crowd.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .model import LSTMLanguageModel, State
from .sampling import Sampler, Step, prime
from .tokenizer import Tokenizer

DEFAULT_MAX_ROWS = 64  # samples stepped together; more requests wait their turn
IDLE_SECONDS = 30.0  # an engine's thread ends after this long without work, and restarts on demand
_DONE = object()


class Job:
    """One request in an engine. Iterate it for its steps; stopping early (or `cancel`) leaves the batch."""

    def __init__(self, sampler: Sampler):
        self.sampler = sampler
        self.started = threading.Event()
        self.cancelled = threading.Event()
        self._steps: queue.SimpleQueue = queue.SimpleQueue()

    def cancel(self) -> None:
        self.cancelled.set()

    def _put(self, item) -> None:
        self._steps.put(item)

    def __iter__(self) -> Iterator[Step]:
        try:
            while True:
                item = self._steps.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.cancel()  # a reader that stops reading (Stop pressed, page closed) frees its rows


@dataclass
class _Running:
    job: Job
    logits: torch.Tensor  # (rows, vocab): the next tokens' logits

    @property
    def rows(self) -> int:
        return self.job.sampler.num_samples


class DecodingEngine:
    def __init__(self, model: LSTMLanguageModel, tokenizer: Tokenizer, max_rows: int = DEFAULT_MAX_ROWS):
        self.model, self.tokenizer, self.max_rows = model.eval(), tokenizer, max_rows
        self._waiting: deque[Job] = deque()
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, prompt: str = "", **settings) -> Job:
        """Queue a request (settings as `generate_steps`'); bad settings are refused here, at once."""
        job = Job(Sampler(self.tokenizer, prompt, device=self.model.device, **settings))
        with self._condition:
            self._waiting.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="textgen-engine", daemon=True)
                self._thread.start()
            self._condition.notify()
        return job

    def ahead_of(self, job: Job) -> int:
        """How many requests wait before `job` (0 once it runs)."""
        with self._condition:
            return next((i for i, waiting in enumerate(self._waiting) if waiting is job), 0)

    # ------------------------------------------------------------------ the engine's thread
    def _serve(self) -> None:
        try:
            with torch.inference_mode():
                self._loop()
        except Exception as err:  # a bug: every request still waiting hears of it instead of hanging
            with self._condition:
                jobs, self._thread = list(self._waiting), None
                self._waiting.clear()
            for job in jobs:
                job._put(err)
            raise

    def _loop(self) -> None:
        running: list[_Running] = []
        state: State | None = None
        while True:
            joining = self._admit(sum(r.rows for r in running))
            if joining is None:
                return  # idle for IDLE_SECONDS: the thread ends; submit() starts another
            for job in joining:
                logits, (h, c) = prime(self.model, job.sampler)
                running.append(_Running(job, logits))
                state = (h, c) if state is None else (torch.cat([state[0], h], 1), torch.cat([state[1], c], 1))
                job.started.set()
            chosen: list[torch.Tensor | None] = []  # each request's next tokens; None: it leaves
            for run in running:
                if run.job.cancelled.is_set():
                    chosen.append(None)
                    continue
                tokens, step = run.job.sampler.choose(run.logits)
                run.job._put(step)
                if run.job.sampler.done:
                    run.job._put(_DONE)
                chosen.append(None if run.job.sampler.done else tokens)
            if None in chosen:  # leave: keep only the rows of requests still writing
                keep = torch.cat([torch.full((r.rows,), t is not None) for r, t in zip(running, chosen)])
                index = keep.nonzero().squeeze(1).to(self.model.device)
                running = [r for r, t in zip(running, chosen) if t is not None]
                chosen = [t for t in chosen if t is not None]
                state = (state[0][:, index], state[1][:, index]) if running else None
            if not running:
                continue
            logits, state = self.model.step(torch.cat(chosen), state)  # one batched step for everyone
            logits, offset = logits.float(), 0
            for run in running:  # each request's rows, a view it may mask in place
                run.logits, offset = logits[offset : offset + run.rows], offset + run.rows

    def _admit(self, rows: int) -> list[Job] | None:
        """Waiting requests that fit in the batch now; blocks while there is nothing to do."""
        with self._condition:
            while rows == 0 and not self._waiting:
                if not self._condition.wait(timeout=IDLE_SECONDS) and not self._waiting:
                    self._thread = None
                    return None
            joining = []
            while self._waiting and (rows == 0 or rows + self._waiting[0].sampler.num_samples <= self.max_rows):
                job = self._waiting.popleft()
                if not job.cancelled.is_set():
                    joining.append(job)
                    rows += job.sampler.num_samples
            return joining

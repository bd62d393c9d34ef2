"""Serving a crowd: one decoding engine per loaded model steps every active request together.

Requests join the running batch between steps and leave it when they finish or their reader goes
away: continuous batching, as LLM servers do it. Each step is one batched LSTM step and one
batched choice of the next tokens (`choose_tokens`) for every request's rows; the per-request work
left is drawing its random numbers from its own stream and turning its tokens into text.

Each request keeps its own settings and random stream (a `Sampler`) and is primed with its seed
text by the same call the direct path uses, so a seeded request writes the same text alone, through
`generate_steps`, or in a crowd.

Readers are not woken for every token: a request's steps pile up and its reader takes them in
batches, the first as soon as it is written, then one batch per `pace()` seconds, which grows with
the number of requests being served so that the streamed updates of a crowd stay affordable.
"""

from __future__ import annotations

import atexit
import functools
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .model import LSTMLanguageModel, State
from .sampling import RowSettings, Sampler, SamplingSettings, Step, choose_tokens, prime, restart_documents
from .tokenizer import Tokenizer

DEFAULT_MAX_ROWS = 64  # samples stepped together; more requests wait their turn
IDLE_SECONDS = 30.0  # an engine's thread ends after this long without work, and restarts on demand
STREAM_INTERVAL = 0.05  # seconds between a reader's batches when few requests run: ~20 updates a second
UPDATES_PER_SECOND = 200  # batches all readers take together, at most, before each waits longer
_LIVE: weakref.WeakSet[DecodingEngine] = weakref.WeakSet()  # engines whose thread runs, closed at exit


class Job:
    """One request in an engine. Iterate it (or its `batches`) for its steps; stopping early, or
    `cancel`, makes it leave the batch at the next step."""

    def __init__(self, sampler: Sampler, pace=lambda: STREAM_INTERVAL):
        self.sampler = sampler
        self.pace = pace  # seconds a reader waits between batches
        self.started = threading.Event()
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._pending: list[Step] = []
        self._arrived = threading.Event()  # something to take: steps, the end or an error
        self._ended = threading.Event()
        self._error: BaseException | None = None

    def cancel(self) -> None:
        self.cancelled.set()

    def _put(self, step: Step) -> None:
        with self._lock:
            self._pending.append(step)
            self._arrived.set()

    def _end(self, error: BaseException | None = None) -> None:
        with self._lock:
            self._error = self._error or error
            self._ended.set()
            self._arrived.set()

    def batches(self) -> Iterator[list[Step]]:
        """The steps written so far, in batches: the first as soon as there is one, then one batch
        per `pace()` seconds (or sooner, when the request ends)."""
        try:
            while True:
                self._arrived.wait()
                with self._lock:
                    taken, self._pending = self._pending, []
                    ended, error = self._ended.is_set(), self._error
                    if not ended:
                        self._arrived.clear()
                if taken:
                    yield taken
                if error is not None:
                    raise error
                if ended:
                    return
                self._ended.wait(self.pace())
        finally:
            self.cancel()  # a reader that stops reading (Stop pressed, page closed) frees its rows

    def __iter__(self) -> Iterator[Step]:
        for batch in self.batches():
            yield from batch


@dataclass
class _Batch:
    """The requests being stepped, their rows side by side: each request's rows are contiguous."""

    jobs: list[Job]
    logits: torch.Tensor  # (rows, vocab): the next tokens' logits
    state: State
    settings: RowSettings  # each row's

    @property
    def rows(self) -> int:
        return self.logits.size(0)

    @classmethod
    def of(cls, jobs: list[Job], logits: list[torch.Tensor], states: list[State]) -> _Batch:
        return cls(
            jobs,
            torch.cat(logits),
            (torch.cat([h for h, _ in states], 1), torch.cat([c for _, c in states], 1)),
            RowSettings.cat([job.sampler.rows for job in jobs]),
        )

    def split(self) -> tuple[list[torch.Tensor], list[State]]:
        """Each request's logits and state, to rebuild the batch when requests join or leave."""
        sizes = [job.sampler.num_samples for job in self.jobs]
        logits = self.logits.split(sizes)
        hs, cs = self.state[0].split(sizes, 1), self.state[1].split(sizes, 1)
        return list(logits), list(zip(hs, cs))


class DecodingEngine:
    def __init__(
        self,
        model: LSTMLanguageModel,
        tokenizer: Tokenizer,
        max_rows: int = DEFAULT_MAX_ROWS,
        dtype: torch.dtype = torch.float32,
    ):
        """`model` is stepped with its weights in `dtype` (a copy unless float32: see
        `device.decoding_dtype`); `source` keeps the model it was given."""
        self.source, self.model = model, model.for_decoding(dtype)
        self.tokenizer, self.max_rows = tokenizer, max_rows
        self._waiting: deque[Job] = deque()
        self._running: list[Job] = []
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False

    def submit(self, prompt: str = "", settings: SamplingSettings | None = None) -> Job:
        """Queue a request; a seed text the model cannot read is refused here, at once."""
        job = Job(Sampler(self.tokenizer, prompt, settings, device=self.model.device), self.pace)
        with self._condition:
            self._waiting.append(job)
            if self._closing:
                raise RuntimeError("this decoding engine is closed")
            if self._thread is None:
                _close_engines_at_exit()
                _LIVE.add(self)
                self._thread = threading.Thread(target=self._serve, name="textgen-engine", daemon=True)
                self._thread.start()
            self._condition.notify()
        return job

    def close(self, timeout: float = 5.0) -> None:
        """End the engine's thread (requests still here end too) and wait for it. At exit, every live
        engine is closed this way: a daemon thread frozen inside a torch op aborts the process."""
        with self._condition:
            self._closing, thread = True, self._thread
            self._condition.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def ahead_of(self, job: Job) -> int:
        """How many requests wait before `job` (0 once it runs)."""
        with self._condition:
            return next((i for i, waiting in enumerate(self._waiting) if waiting is job), 0)

    def pace(self) -> float:
        """Seconds between a reader's batches: STREAM_INTERVAL, longer once the requests being served
        would take more than UPDATES_PER_SECOND batches in all (each update costs the server as much
        as many tokens do)."""
        return max(STREAM_INTERVAL, (len(self._running) + len(self._waiting)) / UPDATES_PER_SECOND)

    # ------------------------------------------------------------------ the engine's thread
    def _serve(self) -> None:
        try:
            with torch.inference_mode():
                self._loop()
        except Exception as err:  # a bug: every request still here hears of it instead of hanging
            with self._condition:
                jobs, self._thread = [*self._running, *self._waiting], None
                self._waiting.clear()
                self._running = []
            for job in jobs:
                job._end(err)
            raise

    def _loop(self) -> None:
        batch: _Batch | None = None
        while True:
            joining = self._admit(batch.rows if batch else 0)
            if joining is None:  # idle for IDLE_SECONDS (submit() starts another thread), or closed
                for job in batch.jobs if batch else []:
                    job._end()
                return
            leaving = [job for job in (batch.jobs if batch else []) if job.cancelled.is_set()]
            if joining or leaving:
                batch = self._regroup(batch, joining, leaving)
            if batch is None:
                continue
            uniforms = [u for job in batch.jobs for u in job.sampler.uniforms()]
            uniforms = torch.tensor(uniforms, dtype=torch.float64, device=self.model.device)
            chosen, probs = choose_tokens(batch.logits, batch.settings, uniforms, self.tokenizer.unk_id)
            ids, probabilities, offset, finished = chosen.tolist(), probs.tolist(), 0, []
            for job in batch.jobs:
                rows = job.sampler.num_samples
                job._put(job.sampler.record(ids[offset : offset + rows], probabilities[offset : offset + rows]))
                offset += rows
                if job.sampler.done:
                    job._end()
                    finished.append(job)
            if finished:
                batch = self._regroup(batch, [], finished)
                if batch is None:
                    continue
                chosen = torch.tensor(
                    [i for job in batch.jobs for i in job.sampler.previous], device=self.model.device
                )
            state = restart_documents(chosen, batch.state, self.tokenizer.eos_id)
            logits, state = self.model.step(chosen, state)  # one batched step for everyone
            batch.logits, batch.state = logits.float(), state

    def _regroup(self, batch: _Batch | None, joining: list[Job], leaving: list[Job]) -> _Batch | None:
        """The batch with `leaving` taken out and `joining` primed and added (None if it is empty)."""
        kept = list(zip(batch.jobs, *batch.split())) if batch is not None else []
        gone = {id(job) for job in leaving}
        members = [(job, logits, state) for job, logits, state in kept if id(job) not in gone]
        for job in leaving:
            job._end()  # finished already, or cancelled: nobody is reading any more
        for job in joining:
            members.append((job, *prime(self.model, job.sampler)))
            job.started.set()
        jobs = [job for job, _, _ in members]
        with self._condition:
            self._running = jobs
        return _Batch.of(jobs, [m[1] for m in members], [m[2] for m in members]) if jobs else None

    def _admit(self, rows: int) -> list[Job] | None:
        """Waiting requests that fit in the batch now; blocks while there is nothing to do."""
        with self._condition:
            while rows == 0 and not self._waiting and not self._closing:
                if not self._condition.wait(timeout=IDLE_SECONDS) and not self._waiting:
                    self._thread = None
                    _LIVE.discard(self)
                    return None
            if self._closing:
                self._thread = None
                _LIVE.discard(self)
                for job in self._waiting:
                    job._end()
                self._waiting.clear()
                return None
            joining = []
            while self._waiting and (rows == 0 or rows + self._waiting[0].sampler.num_samples <= self.max_rows):
                job = self._waiting.popleft()
                if job.cancelled.is_set():
                    job._end()
                else:
                    joining.append(job)
                    rows += job.sampler.num_samples
            return joining


def _close_live_engines() -> None:
    for engine in list(_LIVE):
        engine.close()


@functools.cache
def _close_engines_at_exit() -> None:
    atexit.register(_close_live_engines)

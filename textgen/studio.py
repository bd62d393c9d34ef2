"""What the web app needs beyond training and sampling: a model registry with per-session
models, size presets, confidence and novelty annotations, and model zips."""

from __future__ import annotations

import html
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from .checkpoints import CONFIG_FILE, MODEL_FILES, CheckpointError, LoadedModel, document_hash, load_folder
from .hub import is_repo_ref, load_hub_model
from .sampling import Step
from .training import Evaluation, Finished, TrainConfig, TrainingError

SIZE_PRESETS = {
    "tiny": {"hidden_size": 128, "batch_size": 32, "seq_len": 64},
    "small": {"hidden_size": 256, "batch_size": 32, "seq_len": 64},
    "medium": {"hidden_size": 512, "batch_size": 32, "seq_len": 64},
}
HUB_CACHE_SIZE = 4


def app_train_config(level: str, preset: str, minutes: float, sample_prompt: str = "") -> TrainConfig:
    if preset not in SIZE_PRESETS:
        raise TrainingError(f"size must be one of {', '.join(SIZE_PRESETS)}")
    if level not in ("char", "word"):
        raise TrainingError("level must be char or word")
    return TrainConfig(
        level=level,
        epochs=1000,  # the time budget and early stopping end app runs
        max_minutes=minutes,
        eval_every=50,
        patience=4,
        sample_length=80,
        sample_prompt=sample_prompt,
        **SIZE_PRESETS[preset],
    )


@dataclass
class Session:
    directory: Path
    models: dict[str, LoadedModel] = field(default_factory=dict)
    stop_requested: bool = False
    last_used: float = field(default_factory=time.monotonic)

    def touch(self) -> None:
        self.last_used = time.monotonic()


class ModelRegistry:
    """Shipped models for everyone, trained models private to one browser session, Hub models cached."""

    def __init__(
        self, checkpoint_dir: str | Path, device: torch.device | str = "cpu", session_ttl: float = 3600.0
    ):
        self.device = device
        self.session_ttl = session_ttl  # seconds a session may sit unused before its models are removed
        root = Path(checkpoint_dir)
        self.shipped = (
            {p.name: p for p in sorted(root.iterdir()) if (p / CONFIG_FILE).is_file()} if root.is_dir() else {}
        )
        self._loaded: dict[str, LoadedModel] = {}
        self._hub: OrderedDict[str, LoadedModel] = OrderedDict()
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    # sessions ----------------------------------------------------------------
    def session(self, session_id: str) -> Session:
        self.drop_expired()
        with self._lock:
            if session_id not in self._sessions:
                self._sessions[session_id] = Session(Path(tempfile.mkdtemp(prefix="textgen-session-")))
            session = self._sessions[session_id]
            session.touch()
            return session

    def drop_session(self, session_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            shutil.rmtree(session.directory, ignore_errors=True)

    def drop_expired(self) -> None:
        """Remove sessions unused for `session_ttl` seconds: API clients never send the page's unload."""
        now = time.monotonic()
        with self._lock:
            expired = [sid for sid, s in self._sessions.items() if now - s.last_used > self.session_ttl]
        for session_id in expired:
            self.drop_session(session_id)

    def add(self, session_id: str, name: str, loaded: LoadedModel) -> None:
        self.session(session_id).models[name] = loaded

    def choices(self, session_id: str | None) -> list[str]:
        own = list(self._sessions[session_id].models) if session_id in self._sessions else []
        return list(self.shipped) + own

    # lookup --------------------------------------------------------------------
    def get(self, name: str, session_id: str | None = None) -> LoadedModel:
        name = (name or "").strip()
        session = self._sessions.get(session_id) if session_id else None
        if session is not None and name in session.models:
            session.touch()
            return session.models[name]
        if name in self.shipped:
            with self._lock:
                if name not in self._loaded:
                    self._loaded[name] = load_folder(self.shipped[name], self.device)
                return self._loaded[name]
        if is_repo_ref(name):
            return self._get_hub(name)
        raise CheckpointError(f"no model named {name!r}: pick one from the list or type a Hub repo id user/name")

    def _get_hub(self, ref: str) -> LoadedModel:
        with self._lock:
            if ref in self._hub:
                self._hub.move_to_end(ref)
                return self._hub[ref]
        loaded = load_hub_model(ref, self.device)
        with self._lock:
            self._hub[ref] = loaded
            while len(self._hub) > HUB_CACHE_SIZE:
                self._hub.popitem(last=False)
        return loaded


def confidence_spans(steps: list[Step], sample: int = 0) -> list[tuple[str, float]]:
    """(piece, probability) for one sample, for shading each token by the model's confidence."""
    return [(s.pieces[sample], round(s.probabilities[sample], 3)) for s in steps if s.pieces[sample]]


def novelty_marks(loaded: LoadedModel, text: str) -> list[tuple[str, bool]]:
    """Each generated document (line) and whether it copies a training document verbatim."""
    documents = [line for line in text.split("\n") if line.strip()]
    return [(doc, document_hash(doc) in loaded.novelty) for doc in documents]


def zip_model(directory: str | Path, destination: str | Path) -> Path:
    """A zip of the model folder's shareable files (no resume state)."""
    directory, destination = Path(directory), Path(destination)
    staging = Path(tempfile.mkdtemp(prefix="textgen-zip-")) / directory.name
    staging.mkdir(parents=True)
    for name in MODEL_FILES:
        if (directory / name).is_file():
            shutil.copy2(directory / name, staging / name)
    archive = shutil.make_archive(str(destination / directory.name), "zip", staging.parent, directory.name)
    shutil.rmtree(staging.parent, ignore_errors=True)
    return Path(archive)


def clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


@dataclass
class TrainingView:
    """What the Train tab shows while a run goes: the loss plot (bits per character: train,
    validation and the unigram reference), a status line with its own progress bar, the samples."""

    unigram_bits: float
    patience: int
    points: list[dict] = field(default_factory=list)
    best: Evaluation | None = None
    bad_evaluations: int = 0
    samples: str = ""

    def add(self, event: Evaluation) -> None:
        for split, metrics in (("train", event.train), ("validation", event.val)):
            self.points.append({"step": event.step, "bits_per_char": metrics["bits_per_char"], "split": split})
        if event.is_best:
            self.best, self.bad_evaluations = event, 0
        else:
            self.bad_evaluations += 1
        self.samples = "\n".join(f"T={t}: {text}" for t, text in event.samples.items())

    def plot(self) -> pd.DataFrame:
        last = self.points[-1]["step"] if self.points else 1
        unigram = [{"step": step, "bits_per_char": self.unigram_bits, "split": "unigram"} for step in (0, last)]
        return pd.DataFrame(self.points + unigram, columns=["step", "bits_per_char", "split"])

    def status(self, fraction: float, step: int, elapsed: float, remaining: float | None) -> str:
        """One line: a progress bar, the step, elapsed and remaining time, the best so far."""
        parts = [f"step {step}", f"{clock(elapsed)} elapsed"]
        if remaining is not None:
            parts.append(f"about {clock(remaining)} left")
        if self.best is not None:
            best = self.best.val["bits_per_char"]
            parts.append(f"best {best:.3f} bits/char at step {self.best.step} (unigram {self.unigram_bits:.3f})")
        if self.bad_evaluations:
            parts.append(
                f"no improvement in the last {self.bad_evaluations} evaluation(s); "
                f"it stops early after {self.patience}"
            )
        percent = min(max(fraction, 0.0), 1.0)
        return (
            f'<div class="train-status"><progress value="{percent:.3f}" max="1"></progress> '
            f"{percent:.0%} · {html.escape(' · '.join(parts))}</div>"
        )

    def finished(self, event: Finished, name: str) -> str:
        """The end: what was kept and why it stopped, and a plain warning when it learned little."""
        best, unigram = event.best["bits_per_char"], event.unigram["bits_per_char"]
        why = {
            "time budget": "the time budget ran out",
            "epochs": "it finished its passes over the text",
            "early stop": f"the held-out loss did not improve for {self.patience} evaluations (early stop)",
            "stopped": "you stopped it",
        }.get(event.reason, event.reason)
        kept = f" at step {self.best.step}" if self.best is not None else ""
        text = (
            f"**{name}** is ready: {best:.3f} bits/char on held-out text (unigram baseline {unigram:.3f}). "
            f"It stopped because {why}; the best model{kept} was kept. Pick it in Generate."
        )
        if best > LEARNED_LITTLE * unigram:
            text += (
                f"\n\n**It learned little:** {best:.3f} bits/char is barely better than a model that "
                f"ignores context ({unigram:.3f}). Try a longer time budget, a smaller size, the char "
                "level instead of word, or more text."
            )
        return text


LEARNED_LITTLE = 0.9  # a best model within 10% of the unigram baseline has learned little context

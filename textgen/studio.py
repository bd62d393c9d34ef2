"""What the web app needs beyond training and sampling: a model registry with per-session
models, size presets, confidence and novelty annotations, and model zips."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .checkpoints import CONFIG_FILE, MODEL_FILES, CheckpointError, LoadedModel, document_hash, load_folder
from .hub import is_repo_ref, load_model
from .sampling import Step
from .training import TrainConfig

SIZE_PRESETS = {
    "tiny": {"hidden_size": 128, "batch_size": 32, "seq_len": 64},
    "small": {"hidden_size": 256, "batch_size": 32, "seq_len": 64},
    "medium": {"hidden_size": 512, "batch_size": 32, "seq_len": 64},
}
HUB_CACHE_SIZE = 4


def app_train_config(level: str, preset: str, minutes: float, sample_prompt: str = "") -> TrainConfig:
    if preset not in SIZE_PRESETS:
        raise ValueError(f"size must be one of {', '.join(SIZE_PRESETS)}")
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


class ModelRegistry:
    """Shipped models for everyone, trained models private to one browser session, Hub models cached."""

    def __init__(self, checkpoint_dir: str | Path, device: torch.device | str = "cpu"):
        self.device = device
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
        with self._lock:
            if session_id not in self._sessions:
                self._sessions[session_id] = Session(Path(tempfile.mkdtemp(prefix="textgen-session-")))
            return self._sessions[session_id]

    def drop_session(self, session_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            shutil.rmtree(session.directory, ignore_errors=True)

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
        loaded = load_model(ref, self.device)
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

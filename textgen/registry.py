"""The models a server serves: shipped models for everyone, Hub models cached, and per-session models
(trained or loaded from a zip) that expire with their session; each model's decoding engine; the
page's training presets."""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .checkpoints import CONFIG_FILE, TRAINING_FILE, LoadedModel, TrainedModel, load_folder, read_json, save_run
from .config import TrainConfig
from .device import DECODING_PRECISIONS, decoding_dtype
from .engine import DEFAULT_MAX_ROWS, DecodingEngine
from .errors import CheckpointError, TrainingError
from .hub import DEFAULT_HUB_CACHE_BYTES, load_hub_model, trim_hub_cache
from .hubref import is_repo_ref
from .modelzip import unpack_model_zip
from .runinfo import RunInfo

# "auto" leaves the width to the corpus size and the time budget (sizing.py); the others fix it.
# Dropout and the evaluation interval follow the corpus in every preset.
SIZE_PRESETS = {
    "auto": {},
    "tiny": {"hidden_size": 128},
    "small": {"hidden_size": 256},
    "medium": {"hidden_size": 512},
}
HUB_CACHE_SIZE = 4
OWNER_ID = re.compile(r"[0-9a-f]{32}")
# What visitors' models (trained, loaded from a zip, or named by Hub id) may hold in memory together:
# the least recently used go first. 2 GB: a 16 GB Space keeps the rest for the runtime, the shipped
# models, a training run's peak and the decoding copies.
DEFAULT_VISITOR_MODELS_BYTES = 2 * 2**30


def weights_bytes(loaded: LoadedModel) -> int:
    return sum(p.numel() * p.element_size() for p in loaded.model.parameters())


def app_train_config(level: str, preset: str, minutes: float, sample_prompt: str = "") -> TrainConfig:
    if preset not in SIZE_PRESETS:
        raise TrainingError("size must be one of {sizes}", sizes=", ".join(SIZE_PRESETS))
    if level not in ("char", "word"):
        raise TrainingError("level must be char or word")
    return TrainConfig(
        level=level,
        epochs=1000,  # the time budget and early stopping end app runs
        max_minutes=minutes,
        patience=4,
        sample_length=80,
        sample_prompt=sample_prompt,
        **SIZE_PRESETS[preset],
    )


@dataclass
class Session:
    directory: Path
    models: dict[str, LoadedModel] = field(default_factory=dict)
    last_used: float = field(default_factory=time.monotonic)
    unloaded: set[str] = field(default_factory=set)  # its models let go to make room for others

    def touch(self) -> None:
        self.last_used = time.monotonic()

    @property
    def stop_file(self) -> Path:
        """Stop creates it; a run (in this process or in ZeroGPU's worker) looks for it after every step."""
        return self.directory / "stop-training"

    def start_run(self) -> Path:
        """A run begins: an earlier Stop no longer counts. Its stop file."""
        self.stop_file.unlink(missing_ok=True)
        return self.stop_file


class ModelRegistry:
    """Shipped models for everyone, trained models private to one browser session, Hub models cached."""

    def __init__(
        self,
        checkpoint_dir: str | Path,
        device: torch.device | str = "cpu",
        session_ttl: float = 3600.0,
        max_batch_rows: int = DEFAULT_MAX_ROWS,
        decoding_precision: str = "fp32",
        visitor_models_bytes: int = DEFAULT_VISITOR_MODELS_BYTES,
        hub_cache_bytes: int = DEFAULT_HUB_CACHE_BYTES,
    ):
        if decoding_precision not in DECODING_PRECISIONS:
            raise ValueError(f"decoding precision {decoding_precision!r} is not one of {DECODING_PRECISIONS}")
        self.device = device
        self.max_batch_rows, self.decoding_precision = max_batch_rows, decoding_precision
        self.session_ttl = session_ttl  # seconds a session may sit unused before its models are removed
        root = Path(checkpoint_dir)
        self.shipped = (
            {p.name: p for p in sorted(root.iterdir()) if (p / CONFIG_FILE).is_file()} if root.is_dir() else {}
        )
        self.corpora = shipped_corpora(self.shipped)
        self.conversational = {name for name, folder in self.shipped.items() if run_info(folder).conversations}
        self._loaded: dict[str, LoadedModel] = {}
        self._hub: OrderedDict[str, LoadedModel] = OrderedDict()
        self._sessions: dict[str, Session] = {}  # by owner: a page's browser id, or an API client's session
        self._owners: dict[str, str] = {}  # a page's Gradio session -> its browser's owner id
        self._engines: dict[int, DecodingEngine] = {}  # by id() of a LoadedModel
        self._lock = threading.Lock()
        self._names = itertools.count(1)  # trained models are numbered per server: names never repeat
        self.visitor_models_bytes = visitor_models_bytes
        # Visitors' models by last use, with their weights' bytes: (session, name), or (None, Hub ref).
        self._held: OrderedDict[tuple[str | None, str], int] = OrderedDict()
        self._hub_loading: dict[str, threading.Lock] = {}  # one load at a time per Hub model
        self.hub_cache_bytes = hub_cache_bytes

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
            for name, loaded in session.models.items() if session is not None else ():
                self._engines.pop(id(loaded), None)
                self._held.pop((session_id, name), None)
        if session is not None:
            shutil.rmtree(session.directory, ignore_errors=True)

    def close(self) -> None:
        """The server stops: every session's folder (trained models, unpacked zips) is removed."""
        for session_id in list(self._sessions):
            self.drop_session(session_id)

    # memory --------------------------------------------------------------------
    def _admit(self, key: tuple[str | None, str], loaded: LoadedModel) -> None:
        """A visitor's model is held: the least recently used others are let go until all fit the budget
        (their owners are told when they next ask for them). Called with the lock held."""
        self._held[key] = weights_bytes(loaded)
        self._held.move_to_end(key)
        while sum(self._held.values()) > self.visitor_models_bytes and len(self._held) > 1:
            (session_id, name), _ = next(iter(self._held.items()))
            self._let_go(session_id, name)

    def _let_go(self, session_id: str | None, name: str) -> None:
        self._held.pop((session_id, name), None)
        if session_id is None:
            evicted = self._hub.pop(name, None)
        else:
            session = self._sessions.get(session_id)
            evicted = session.models.pop(name, None) if session is not None else None
            if session is not None:
                session.unloaded.add(name)
                folder = Path(evicted.source) if evicted is not None and evicted.source else None
                if folder is not None and folder.parent == session.directory:  # its unpacked zip, its run
                    shutil.rmtree(folder, ignore_errors=True)
        if evicted is not None:
            self._engines.pop(id(evicted), None)

    def held_bytes(self) -> int:
        """The weights of visitors' models held now."""
        return sum(self._held.values())

    def expire_every(self, seconds: float) -> threading.Thread:
        """Drop expired sessions on a timer too, not only when a request comes: a server nobody calls
        any more gives their files back."""

        def sweep() -> None:
            while True:
                time.sleep(seconds)
                self.drop_expired()

        thread = threading.Thread(target=sweep, name="textgen-session-expiry", daemon=True)
        thread.start()
        return thread

    def drop_expired(self) -> None:
        """Remove sessions unused for `session_ttl` seconds: API clients never send the page's unload."""
        now = time.monotonic()
        with self._lock:
            expired = [sid for sid, s in self._sessions.items() if now - s.last_used > self.session_ttl]
        for session_id in expired:
            self.drop_session(session_id)

    def existing(self, session_id: str) -> Session | None:
        """The session if it has been made (by a call that stores something), else None."""
        self.drop_expired()
        return self._sessions.get(session_id)

    def add(self, session_id: str, name: str, loaded: LoadedModel) -> None:
        session = self.session(session_id)
        with self._lock:
            session.models[name] = loaded
            session.unloaded.discard(name)
            self._admit((session_id, name), loaded)

    def new_name(self, stem: str, level: str, size: str) -> str:
        """A name for a model about to be trained, unique on this server (so are its zip's name)."""
        return f"{stem[:40]}-{level}-{size}-{next(self._names)}"

    def keep_trained(self, session_id: str, name: str, trained: TrainedModel) -> Path:
        """A trained model (from the run's last event) saved in the session's folder and added to it."""
        folder = self.session(session_id).directory / name
        save_run(folder, trained)
        self.add(session_id, name, load_folder(folder, self.device))
        return folder

    def link(self, gradio_session: str, owner: str | None) -> str:
        """Tie a page's Gradio session to its browser's owner id (kept in the browser, so it is the
        same after a reload), making a new id for a browser that has none. Returns the owner id."""
        owner = owner if isinstance(owner, str) and OWNER_ID.fullmatch(owner) else uuid.uuid4().hex
        with self._lock:
            self._owners[gradio_session] = owner
        return owner

    def unlink(self, gradio_session: str) -> None:
        """A page closed or reloaded: its models stay with the owner until they expire."""
        with self._lock:
            self._owners.pop(gradio_session, None)

    def owner(self, gradio_session: str) -> str:
        """Whose models a request may use: the page's browser, or the API client's own session."""
        return self._owners.get(gradio_session, gradio_session)

    def add_zip(self, session_id: str, archive: str | Path) -> str:
        """Load a downloaded model zip into this session (with every check a Hub model gets); its name."""
        session = self.session(session_id)
        folder = unpack_model_zip(archive, session.directory)
        try:
            loaded = load_folder(folder, self.device)
        except CheckpointError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        name = f"{Path(archive).stem[:40]} (zip {len(session.models) + 1})"
        self.add(session_id, name, loaded)
        return name

    def own(self, session_id: str | None) -> list[str]:
        """The models this session trained or loaded, which only it can see."""
        return list(self._sessions[session_id].models) if session_id in self._sessions else []

    def choices(self, session_id: str | None) -> list[str]:
        return list(self.shipped) + self.own(session_id)

    def is_conversational(self, name: str, session_id: str | None = None) -> bool:
        """Whether a model was trained on conversations (one can chat with it)."""
        if name in self.shipped:
            return name in self.conversational
        session = self._sessions.get(session_id) if session_id else None
        loaded = session.models.get(name) if session is not None else None
        return loaded is not None and loaded.info.conversations is not None

    def corpus_of(self, name: str) -> tuple[str | None, str | None]:
        """The (corpus, level) a shipped model was trained on and at; (None, None) for any other model."""
        for corpus, levels in self.corpora.items():
            for level, model in levels.items():
                if model == name:
                    return corpus, level
        return None, None

    # lookup --------------------------------------------------------------------
    def get(self, name: str, session_id: str | None = None) -> LoadedModel:
        if not isinstance(name, str):  # an API call can send any JSON
            raise CheckpointError("pick a model by its name")
        name = name.strip()
        session = self._sessions.get(session_id) if session_id else None
        if session is not None and name in session.models:
            session.touch()
            with self._lock:
                if (session_id, name) in self._held:
                    self._held.move_to_end((session_id, name))
            return session.models[name]
        if session is not None and name in session.unloaded:
            raise CheckpointError(
                "{name} was let go to make room: the server holds {budget:,} MB of visitors' models at "
                "most, the least recently used going first; load its zip again, or train it again",
                name=name[:80],
                budget=self.visitor_models_bytes // 2**20,
            )
        if name in self.shipped:
            with self._lock:
                if name not in self._loaded:
                    self._loaded[name] = load_folder(self.shipped[name], self.device)
                return self._loaded[name]
        if is_repo_ref(name):
            return self._get_hub(name)
        raise CheckpointError(
            "no model named {name!r}: pick one from the list or type a Hub repo id user/name", name=name[:80]
        )

    def engine(self, name: str, session_id: str | None = None) -> DecodingEngine:
        """The model's decoding engine, which steps every request for it together."""
        loaded = self.get(name, session_id)
        with self._lock:
            engine = self._engines.get(id(loaded))
            if engine is None or engine.source is not loaded.model:
                dtype = decoding_dtype(torch.device(self.device), self.decoding_precision)
                engine = DecodingEngine(loaded.model, loaded.tokenizer, self.max_batch_rows, dtype)
                self._engines[id(loaded)] = engine
            return engine

    def _get_hub(self, ref: str) -> LoadedModel:
        with self._lock:
            loading = self._hub_loading.setdefault(ref, threading.Lock())
        try:
            with loading:  # the first request loads it; the others wait and find it loaded
                with self._lock:
                    if ref in self._hub:
                        self._hub.move_to_end(ref)
                        self._held.move_to_end((None, ref))
                        return self._hub[ref]
                # Anonymously: a visitor names a repo, and the server's own token (a Space's HF_TOKEN
                # secret, there to push with) must not open its owner's private repos to them.
                loaded = load_hub_model(ref, self.device, token=False)
                trim_hub_cache(self.hub_cache_bytes, keep=ref)
                with self._lock:
                    self._hub[ref] = loaded
                    self._admit((None, ref), loaded)
                    while len(self._hub) > HUB_CACHE_SIZE:
                        self._let_go(None, next(iter(self._hub)))
                return loaded
        finally:
            # Nobody waiting: the lock goes, so that every name a visitor ever tried does not keep one.
            with self._lock:
                if self._hub_loading.get(ref) is loading and not loading.locked():
                    del self._hub_loading[ref]


def shipped_corpora(shipped: dict[str, Path]) -> dict[str, dict[str, str]]:
    """The shipped models by the corpus they learned and their level, {corpus: {level: model}}, from
    each model's training.json (the first model of a corpus and level wins, by folder name)."""
    corpora: dict[str, dict[str, str]] = {}
    for name, folder in shipped.items():
        info = run_info(folder) if (folder / TRAINING_FILE).is_file() else None
        corpus = info.corpus if info is not None else name
        corpora.setdefault(corpus, {}).setdefault(info.level if info is not None else "char", name)
    return corpora


def run_info(folder: Path) -> RunInfo:
    """A shipped model's training.json (an empty record where it has none)."""
    return (
        RunInfo.from_dict(read_json(folder / TRAINING_FILE)) if (folder / TRAINING_FILE).is_file() else RunInfo()
    )

"""What the web app needs beyond training and sampling: a model registry with per-session models
that expire, size presets, and model zips (made for download, and loaded back from one)."""

from __future__ import annotations

import itertools
import math
import re
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import torch

from .card import RunInfo
from .checkpoints import (
    CONFIG_FILE,
    MODEL_FILES,
    REQUIRED_FILES,
    TRAINING_FILE,
    LoadedModel,
    TrainedModel,
    file_limits,
    load_folder,
    read_config,
    read_json,
    save_run,
)
from .config import TrainConfig
from .device import DECODING_PRECISIONS, decoding_dtype
from .engine import DEFAULT_MAX_ROWS, DecodingEngine
from .errors import CheckpointError, TrainingError
from .hub import is_repo_ref, load_hub_model

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
MAX_ZIP_MEMBERS = 50
UNPACK_SECONDS = 60  # one upload's unpacking, at most


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
        self._loaded: dict[str, LoadedModel] = {}
        self._hub: OrderedDict[str, LoadedModel] = OrderedDict()
        self._sessions: dict[str, Session] = {}  # by owner: a page's browser id, or an API client's session
        self._owners: dict[str, str] = {}  # a page's Gradio session -> its browser's owner id
        self._engines: dict[int, DecodingEngine] = {}  # by id() of a LoadedModel
        self._lock = threading.Lock()
        self._names = itertools.count(1)  # trained models are numbered per server: names never repeat

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
            for loaded in session.models.values() if session is not None else ():
                self._engines.pop(id(loaded), None)
        if session is not None:
            shutil.rmtree(session.directory, ignore_errors=True)

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
        self.session(session_id).models[name] = loaded

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
            return session.models[name]
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
            if ref in self._hub:
                self._hub.move_to_end(ref)
                return self._hub[ref]
        loaded = load_hub_model(ref, self.device)
        with self._lock:
            self._hub[ref] = loaded
            while len(self._hub) > HUB_CACHE_SIZE:
                _, evicted = self._hub.popitem(last=False)
                self._engines.pop(id(evicted), None)
        return loaded


def shipped_corpora(shipped: dict[str, Path]) -> dict[str, dict[str, str]]:
    """The shipped models by the corpus they learned and their level, {corpus: {level: model}}, from
    each model's training.json (the first model of a corpus and level wins, by folder name)."""
    corpora: dict[str, dict[str, str]] = {}
    for name, folder in shipped.items():
        info = RunInfo.from_dict(read_json(folder / TRAINING_FILE)) if (folder / TRAINING_FILE).is_file() else None
        corpus = info.corpus if info is not None else name
        corpora.setdefault(corpus, {}).setdefault(info.level if info is not None else "char", name)
    return corpora


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


def unpack_model_zip(archive: str | Path, destination: str | Path) -> Path:
    """A downloaded model zip into a new folder under `destination`: only the model files (from the
    zip's root or one folder), each refused before anything is written when the size the zip declares
    for it is more than a valid file can hold (file_limits: config.json first, then the rest by what
    it describes), and cut off at that size while inflating whatever the zip declares; at most
    UNPACK_SECONDS. Names that would climb out of the folder are never used: files are written under
    their known names. On any failure the folder goes."""
    archive, destination = Path(archive), Path(destination)
    folder = None
    try:
        with zipfile.ZipFile(archive) as zipped:
            found = _model_members(zipped)
            limits = file_limits()
            _refuse_declared(found, limits)
            destination.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=f"{archive.stem[:40]}-", dir=destination))
            deadline = time.monotonic() + UNPACK_SECONDS
            _extract(zipped, found[CONFIG_FILE], folder / CONFIG_FILE, limits[CONFIG_FILE], deadline)
            limits = file_limits(read_config(folder / CONFIG_FILE))  # the rest, by the model it describes
            _refuse_declared(found, limits)
            for name, member in found.items():
                if name != CONFIG_FILE:
                    _extract(zipped, member, folder / name, limits[name], deadline)
    except BaseException as err:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(err, (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError)):
            raise CheckpointError("not a readable zip file ({reason})", reason=err).within(archive.name) from None
        if isinstance(err, CheckpointError):
            raise err.within(archive.name) from None
        raise
    return folder


def _model_members(zipped: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members = [m for m in zipped.infolist() if not m.is_dir()]
    if len(members) > MAX_ZIP_MEMBERS:
        raise CheckpointError(
            "the zip holds {count} files; a model zip holds at most {max}", count=len(members), max=MAX_ZIP_MEMBERS
        )
    found = {PurePosixPath(m.filename).name: m for m in members if PurePosixPath(m.filename).name in MODEL_FILES}
    missing = [name for name in REQUIRED_FILES if name not in found]
    if missing:
        raise CheckpointError("the zip is not a textgen model: it has no {files}", files=", ".join(missing))
    return found


def _refuse_declared(found: dict[str, zipfile.ZipInfo], limits: dict[str, int]) -> None:
    for name, member in found.items():
        if member.file_size > limits[name]:
            raise _too_big(name, limits[name])


def _too_big(name: str, limit: int) -> CheckpointError:
    return CheckpointError(
        "{name} in the zip is larger than a valid one can be ({limit:,.1f} MB at most)",
        name=name,
        limit=limit / 2**20,
    )


def _extract(zipped: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, limit: int, deadline: float) -> None:
    with zipped.open(member) as source, open(target, "wb") as out:
        if _copy_limited(source, out, limit, deadline) > limit:
            raise _too_big(target.name, limit)


def _copy_limited(source, target, limit: int, deadline: float = math.inf, chunk: int = 2**20) -> int:
    """Copy at most limit + 1 bytes (a zip can claim a small size and unpack to a huge one), until
    `deadline` (time.monotonic())."""
    copied = 0
    while copied <= limit:
        if time.monotonic() > deadline:
            raise CheckpointError("the zip took too long to unpack")
        block = source.read(min(chunk, limit + 1 - copied))
        if not block:
            break
        target.write(block)
        copied += len(block)
    return copied

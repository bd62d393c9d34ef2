"""Model folders: save and load, never unpickling.

A folder holds `config.json` (the LSTMConfig), `model.safetensors`, `tokenizer.json`,
`training.json` (corpus, metrics, samples, the command), `novelty.txt` (hashes of the training
documents, to mark generated text that copies one) and `README.md` (the model card). The same
folder is a Hugging Face model repo.

Writes are atomic file by file (temp file, then rename) and `config.json` is written last, so a
run killed mid-save leaves either the previous complete folder or one without `config.json`,
which the loader refuses as incomplete.

A training run's folder also holds `training_state.safetensors` (the latest weights, the optimizer
and where the run stands, for --resume): `save_run` and `load_run` write and read a run whole, as
nanochat's checkpoint manager does, so that the training loop itself never touches a file.
"""

from __future__ import annotations

import glob
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file, save_model

from .card import render_card
from .corpusfiles import MAX_NOVELTY_BYTES, CorpusFiles
from .corpusstats import CorpusStats
from .errors import CheckpointError
from .model import BYTES_PER_PARAMETER, LSTMConfig, LSTMLanguageModel, max_model_bytes
from .runinfo import RunInfo
from .tokenizer import MAX_TOKEN_CHARS, Tokenizer, tokenizer_from_dict

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
TRAINING_FILE = "training.json"
NOVELTY_FILE = "novelty.txt"
STATS_FILE = "corpus_stats.json"  # the training corpus's statistics, for the Explore tab
CARD_FILE = "README.md"
STATE_FILE = "training_state.safetensors"  # for --resume: latest weights, optimizer, progress; one file
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE)
MODEL_FILES = (*REQUIRED_FILES, TRAINING_FILE, NOVELTY_FILE, STATS_FILE, CARD_FILE)


@dataclass
class LoadedModel:
    model: LSTMLanguageModel
    tokenizer: Tokenizer
    info: RunInfo = field(default_factory=RunInfo)  # training.json
    novelty: frozenset[str] = frozenset()
    stats: CorpusStats | None = None  # of the training corpus
    source: str = ""

    def __post_init__(self) -> None:
        if self.info.conversations is not None and self.info.labels is not None:  # a turn shows whose it is
            self.tokenizer.show_labels({char: f"\n{name}: " for name, char in self.info.labels.characters.items()})


# What a save killed mid-write leaves beside its file: ours (`.NAME.XXXXXXXX.tmp`), and the one
# safetensors writes before renaming it to ours (Python's tempfile: `.tmpXXXXXXXX`, letters, digits, _).
SAFETENSORS_TEMP = re.compile(r"\.tmp[A-Za-z0-9_]{6,8}")


def remove_stale_temporaries(directory: Path, name: str | None = None) -> None:
    """Remove what killed saves left in `directory`: the temporaries of `name`'s writes (all files'
    if None), and safetensors' own. Only one process writes a run's folder, so none is in use."""
    pattern = f".{glob.escape(name)}.*.tmp" if name else ".*.tmp"
    stale = [*directory.glob(pattern), *(p for p in directory.glob(".tmp*") if SAFETENSORS_TEMP.fullmatch(p.name))]
    for path in stale:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed over it when the block ends; removed if the block fails.

    A process killed mid-write leaves its temporary file (and safetensors' own); the next write in the
    folder removes them, and so does resuming the run.
    """
    remove_stale_temporaries(path.parent, path.name)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temp)
        os.chmod(temp, 0o644)  # mkstemp makes 0600; checkpoints are meant to be shared
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes) -> None:
    with atomic_path(path) as temp:
        temp.write_bytes(data)


def atomic_save_model(model: torch.nn.Module, path: Path) -> None:
    with atomic_path(path) as temp:
        save_model(model, str(temp))  # stores the tied embedding/head tensor once


def save_checkpoint(
    directory: str | os.PathLike,
    model: LSTMLanguageModel,
    tokenizer: Tokenizer,
    info: RunInfo | None = None,
    training_documents: list[str] | CorpusFiles | None = None,
    card: str | None = None,
) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write(directory / TOKENIZER_FILE, json.dumps(tokenizer.to_dict(), ensure_ascii=False).encode())
    if training_documents is not None:
        files = training_documents
        if not isinstance(files, CorpusFiles):
            files = CorpusFiles.of(files)
        if files.novelty is not None:
            atomic_write(directory / NOVELTY_FILE, files.novelty)
        else:
            (directory / NOVELTY_FILE).unlink(missing_ok=True)
        atomic_write(directory / STATS_FILE, files.stats)
    write_info(directory, info or RunInfo())
    atomic_save_model(model, directory / WEIGHTS_FILE)
    if card is not None:
        atomic_write(directory / CARD_FILE, card.encode("utf-8"))
    config = json.dumps(model.config.to_dict(), indent=2, sort_keys=True)
    atomic_write(directory / CONFIG_FILE, config.encode())  # last: marks the folder complete
    return directory


# Sizes a file may have before it is read or fetched: what a valid one can hold, far above ours.
MAX_JSON_BYTES = {
    CONFIG_FILE: 64 * 2**10,
    TOKENIZER_FILE: 64 * 2**20,  # before the config says how many tokens there are: see file_limits
    TRAINING_FILE: 16 * 2**20,
    STATS_FILE: 2**20,
}
DEFAULT_MAX_JSON_BYTES = 64 * 2**20
MAX_CARD_BYTES = 2**20
# A token is at most MAX_TOKEN_CHARS characters (tokenizer.py), of at most 4 bytes in UTF-8, and JSON
# adds a few around it; the word tokenizer's character counts add at most this much.
TOKEN_JSON_BYTES = 4 * MAX_TOKEN_CHARS + 8
CHAR_COUNTS_BYTES = 4 * 2**20


def file_limits(config: LSTMConfig | None = None) -> dict[str, int]:
    """The most bytes each file of a model folder may have, checked before it is read or fetched;
    with `config`, the tokenizer's and the weights' follow from its vocabulary and its size."""
    limits = {**MAX_JSON_BYTES, NOVELTY_FILE: MAX_NOVELTY_BYTES, CARD_FILE: MAX_CARD_BYTES}
    limits[WEIGHTS_FILE] = max_model_bytes() + 2**20
    if config is not None:
        limits[TOKENIZER_FILE] = config.vocab_size * TOKEN_JSON_BYTES + CHAR_COUNTS_BYTES
        limits[WEIGHTS_FILE] = config.num_parameters() * BYTES_PER_PARAMETER + 2**20  # float32, and a header
    return limits


def check_size(path: Path, limit: int) -> None:
    try:
        size = path.stat().st_size
    except OSError as err:
        raise CheckpointError("cannot read it ({reason})", reason=err.strerror).within(path.name) from None
    if size > limit:
        raise CheckpointError(
            "{name} is {size:,.1f} MB, over the {limit:,.1f} MB limit",
            name=path.name,
            size=size / 2**20,
            limit=limit / 2**20,
        )


def write_info(directory: Path, info: RunInfo) -> None:
    atomic_write(directory / TRAINING_FILE, json.dumps(info.to_dict(), ensure_ascii=False, indent=2).encode())


def read_json(path: Path, limit: int | None = None) -> dict:
    check_size(path, limit or MAX_JSON_BYTES.get(path.name, DEFAULT_MAX_JSON_BYTES))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError("{name} is not readable JSON ({reason})", name=path.name, reason=err) from None
    except RecursionError:
        raise CheckpointError("{name} is nested too deeply to be a textgen file", name=path.name) from None
    if not isinstance(data, dict):
        raise CheckpointError("{name} is not a JSON object", name=path.name)
    return data


def read_config(path: Path) -> LSTMConfig:
    """Validate config.json before anything is allocated."""
    try:
        return LSTMConfig.from_dict(read_json(path))
    except (TypeError, ValueError) as err:
        raise CheckpointError("not a textgen LSTM config: {reason}", reason=err) from None


def load_weights(model: LSTMLanguageModel, path: Path) -> None:
    """Weights that match the config's shapes and are finite floating-point numbers, or refused."""
    described = model.config.num_parameters() * BYTES_PER_PARAMETER  # float32 at most; a header besides
    size = path.stat().st_size if path.is_file() else 0
    if size > file_limits(model.config)[WEIGHTS_FILE]:
        raise CheckpointError(
            "{name} is {size:,.1f} MB, far more than the {described:,.1f} MB of weights its config.json "
            "describes: they do not match",
            name=path.name,
            size=size / 2**20,
            described=described / 2**20,
        )
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(
            "{name} is not a readable safetensors file ({reason})", name=path.name, reason=err
        ) from None
    for name, tensor in tensors.items():
        if not tensor.is_floating_point():
            raise CheckpointError(
                "weight {name} holds {dtype} values; weights must be floating point",
                name=name[:60],
                dtype=tensor.dtype,
            )
        if not torch.isfinite(tensor).all():
            raise CheckpointError("weight {name} holds NaN or infinite values", name=name[:60])
    expected = model.state_dict()
    if model.config.tied:
        # safetensors stores a shared tensor once, under one of its names.
        tensors.setdefault("head.weight", tensors.get("embedding.weight"))
        tensors.setdefault("embedding.weight", tensors.get("head.weight"))
    missing = sorted(set(expected) - {k for k, v in tensors.items() if v is not None})
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        extra = [name[:60] for name in extra[:3]]
        raise CheckpointError(
            "weights do not match the config (missing {missing}, unexpected {extra})",
            missing=missing[:3],
            extra=extra,
        )
    for name, tensor in expected.items():
        found, needed = tuple(tensors[name].shape), tuple(tensor.shape)
        if found != needed:
            raise CheckpointError(
                "weight {name} has shape {found}, the config needs {needed}", name=name, found=found, needed=needed
            )
    model.load_state_dict(tensors, strict=True)


def load_folder(directory: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedModel:
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError("no such model folder").within(str(directory))
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    if missing:
        raise CheckpointError("not a complete model folder: missing {files}", files=", ".join(missing)).within(
            str(directory)
        )
    config = read_config(directory / CONFIG_FILE)
    limits = file_limits(config)
    try:
        tokenizer = tokenizer_from_dict(read_json(directory / TOKENIZER_FILE, limits[TOKENIZER_FILE]))
    except ValueError as err:
        raise CheckpointError("not a textgen tokenizer: {reason}", reason=err).within(TOKENIZER_FILE) from None
    if len(tokenizer) != config.vocab_size:
        raise CheckpointError(
            "the tokenizer has {tokens} tokens but the config says vocab_size={size}",
            tokens=len(tokenizer),
            size=config.vocab_size,
        )
    model = LSTMLanguageModel(config)
    load_weights(model, directory / WEIGHTS_FILE)
    info = (
        RunInfo.from_dict(read_json(directory / TRAINING_FILE))
        if (directory / TRAINING_FILE).is_file()
        else RunInfo()
    )
    novelty_path, stats_path = directory / NOVELTY_FILE, directory / STATS_FILE
    novelty = frozenset()
    if novelty_path.is_file():
        check_size(novelty_path, limits[NOVELTY_FILE])
        novelty = frozenset(novelty_path.read_text(encoding="utf-8", errors="replace").split())
    stats = CorpusStats.from_dict(read_json(stats_path)) if stats_path.is_file() else None
    return LoadedModel(model.to(device).eval(), tokenizer, info, novelty, stats, str(directory))


# ------------------------------------------------------------------ training state (for --resume)


def save_training_state(directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, progress: dict):
    """The latest weights, the optimizer and `progress` (JSON) in one file, written atomically: a run
    killed at any moment leaves either the previous state or this one, never a mix of the two."""
    tensors = {f"model.{name}": t for name, t in cpu_weights(model.state_dict()).items()}
    optimizer_tensors, param_groups = flatten_optimizer(optimizer)
    tensors.update({f"optimizer.{name}": t for name, t in optimizer_tensors.items()})
    metadata = {"progress": json.dumps(progress, ensure_ascii=False), "param_groups": json.dumps(param_groups)}
    with atomic_path(directory / STATE_FILE) as temp:
        save_file(tensors, str(temp), metadata=metadata)


def read_training_progress(directory: Path) -> dict:
    """The progress JSON of a saved training state, without reading its tensors."""
    path = directory / STATE_FILE
    if not path.is_file():
        if (directory / "training_state").is_dir():  # the three-file layout of earlier versions
            raise CheckpointError(
                "an earlier textgen saved this run: it loads as a model but cannot be resumed"
            ).within(str(directory))
        raise CheckpointError("no {name} to resume from", name=STATE_FILE).within(str(directory))
    try:
        with safe_open(str(path), "pt") as handle:
            return json.loads(handle.metadata()["progress"])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as err:
        raise CheckpointError("not a readable training state ({reason})", reason=err).within(STATE_FILE) from None


def load_training_state(directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Restore the latest weights and the optimizer saved by `save_training_state`; return the progress."""
    progress = read_training_progress(directory)
    path = directory / STATE_FILE
    with safe_open(str(path), "pt") as handle:
        param_groups = json.loads(handle.metadata()["param_groups"])
    tensors = load_file(str(path))
    weights = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    model.load_state_dict({**weights, **tied_aliases(model, weights)}, strict=True)
    optimizer_tensors = {k.removeprefix("optimizer."): v for k, v in tensors.items() if k.startswith("optimizer.")}
    load_optimizer(optimizer, optimizer_tensors, param_groups)
    return progress


def tied_aliases(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The names `cpu_weights` dropped, pointing at the tensor they share."""
    state = model.state_dict()
    by_pointer = {state[name].data_ptr(): tensor for name, tensor in tensors.items()}
    return {name: by_pointer[t.data_ptr()] for name, t in state.items() if name not in tensors}


def flatten_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list]:
    """The optimizer's state as flat tensors (for safetensors) plus its param groups (JSON): no pickle."""
    state_dict = optimizer.state_dict()
    tensors = {}
    for param_id, param_state in state_dict["state"].items():
        for key, value in param_state.items():
            tensors[f"{param_id}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    return tensors, state_dict["param_groups"]


def load_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], param_groups: list) -> None:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        param_id, key = name.split(".", 1)
        state.setdefault(int(param_id), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": param_groups})


# ------------------------------------------------------------------ runs: the checkpoint manager


def cpu_weights(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict's tensors copied to the CPU, each shared tensor once (the tied head goes)."""
    seen: set[int] = set()
    weights = {}
    for name, tensor in state.items():
        if tensor.data_ptr() not in seen:
            seen.add(tensor.data_ptr())
            weights[name] = tensor.detach().cpu().clone()
    return weights


@dataclass
class TrainedModel:
    """A trained model as plain data, its weights CPU tensors: what a training run hands back (from
    another process too: it pickles) and what `save_run` writes as a model folder."""

    config: LSTMConfig
    weights: dict[str, torch.Tensor]  # as `cpu_weights` gives them
    tokenizer: Tokenizer
    info: RunInfo
    corpus: CorpusFiles | None = None

    def model(self, device: str | torch.device = "cpu") -> LSTMLanguageModel:
        model = LSTMLanguageModel(self.config)
        weights = dict(self.weights)
        if self.config.tied:
            weights.setdefault("head.weight", weights["embedding.weight"])
        model.load_state_dict(weights, strict=True)
        return model.to(device).eval()

    def loaded(self, source: str = "") -> LoadedModel:
        """As `load_folder` would give it back once saved."""
        corpus = self.corpus
        novelty = frozenset(corpus.novelty.decode().split()) if corpus and corpus.novelty else frozenset()
        stats = CorpusStats.from_dict(json.loads(corpus.stats)) if corpus else None
        return LoadedModel(self.model(), self.tokenizer, self.info, novelty, stats, source)


@dataclass
class ResumePoint:
    """Where a run stands: its latest weights and optimizer, and `progress` (JSON: state, config, info)."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    progress: dict


def save_run(
    directory: str | os.PathLike, best: TrainedModel | None = None, latest: ResumePoint | None = None
) -> None:
    """Write a run: `best` as its model folder (weights, tokenizer, record, card, corpus files), and
    `latest` as the state --resume continues from. Either may be left out (the best did not change;
    a run that will not be resumed)."""
    directory = Path(directory)
    if best is not None:
        card = render_card(best.info, best.config, model_ref=str(directory))
        save_checkpoint(directory, best.model(), best.tokenizer, best.info, best.corpus, card=card)
    if latest is not None:
        save_training_state(directory, latest.model, latest.optimizer, latest.progress)


@dataclass
class SavedRun:
    """A run as `save_run` left it: the best model, and the progress of its latest state."""

    directory: Path
    best: LoadedModel
    progress: dict

    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Put the latest weights and the optimizer's state into `model` and `optimizer`."""
        load_training_state(self.directory, model, optimizer)


def load_run(directory: Path) -> SavedRun:
    """A run saved by `save_run`, to continue it: refused clearly when it cannot be resumed. What a
    save killed mid-write left in the folder goes."""
    progress = read_training_progress(directory)
    remove_stale_temporaries(Path(directory))
    return SavedRun(directory, load_folder(directory), progress)

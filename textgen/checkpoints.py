"""Model folders: save and load, never unpickling.

A folder holds `config.json` (the LSTMConfig), `model.safetensors`, `tokenizer.json`,
`training.json` (corpus, metrics, samples, the command), `novelty.txt` (hashes of the training
documents, to mark generated text that copies one) and `README.md` (the model card). The same
folder is a Hugging Face model repo.

Writes are atomic file by file (temp file, then rename) and `config.json` is written last, so a
run killed mid-save leaves either the previous complete folder or one without `config.json`,
which the loader refuses as incomplete.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file, save_model

from .errors import CheckpointError
from .model import LSTMConfig, LSTMLanguageModel
from .tokenizer import Tokenizer, tokenizer_from_dict

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
TRAINING_FILE = "training.json"
NOVELTY_FILE = "novelty.txt"
CARD_FILE = "README.md"
STATE_FILE = "training_state.safetensors"  # for --resume: latest weights, optimizer, progress; one file
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE)
MODEL_FILES = (*REQUIRED_FILES, TRAINING_FILE, NOVELTY_FILE, CARD_FILE)


@dataclass
class LoadedModel:
    model: LSTMLanguageModel
    tokenizer: Tokenizer
    info: dict = field(default_factory=dict)  # training.json: corpus, metrics, samples, command
    novelty: frozenset[str] = frozenset()
    source: str = ""


def document_hash(text: str) -> str:
    return hashlib.blake2b(text.strip().encode("utf-8"), digest_size=8).hexdigest()


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed over it when the block ends; removed if the block fails.

    A process killed mid-write leaves its temporary file; the next write of the same file removes it.
    """
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
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
    info: dict | None = None,
    training_documents: list[str] | None = None,
    card: str | None = None,
) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write(directory / TOKENIZER_FILE, json.dumps(tokenizer.to_dict(), ensure_ascii=False).encode())
    if training_documents is not None:
        hashes = sorted({document_hash(doc) for doc in training_documents})
        atomic_write(directory / NOVELTY_FILE, ("\n".join(hashes) + "\n").encode())
    atomic_write(directory / TRAINING_FILE, json.dumps(info or {}, ensure_ascii=False, indent=2).encode())
    atomic_save_model(model, directory / WEIGHTS_FILE)
    if card is not None:
        atomic_write(directory / CARD_FILE, card.encode("utf-8"))
    config = json.dumps(model.config.to_dict(), indent=2, sort_keys=True)
    atomic_write(directory / CONFIG_FILE, config.encode())  # last: marks the folder complete
    return directory


# Sizes a file may have before it is read: far above ours (a 500,000-word tokenizer is ~15 MB).
MAX_JSON_BYTES = {CONFIG_FILE: 64 * 2**10, TOKENIZER_FILE: 64 * 2**20, TRAINING_FILE: 16 * 2**20}
DEFAULT_MAX_JSON_BYTES = 64 * 2**20


def check_size(path: Path, limit: int) -> None:
    try:
        size = path.stat().st_size
    except OSError as err:
        raise CheckpointError(f"{path.name}: cannot read it ({err.strerror})") from None
    if size > limit:
        raise CheckpointError(f"{path.name} is {size / 2**20:,.1f} MB, over the {limit / 2**20:,.1f} MB limit")


def read_json(path: Path) -> dict:
    check_size(path, MAX_JSON_BYTES.get(path.name, DEFAULT_MAX_JSON_BYTES))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path.name} is not readable JSON ({err})") from None
    except RecursionError:
        raise CheckpointError(f"{path.name} is nested too deeply to be a textgen file") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path.name} is not a JSON object")
    return data


def read_config(path: Path) -> LSTMConfig:
    """Validate config.json before anything is allocated."""
    try:
        return LSTMConfig.from_dict(read_json(path))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"not a textgen LSTM config: {err}") from None


def load_weights(model: LSTMLanguageModel, path: Path) -> None:
    """Weights that match the config's shapes and are finite floating-point numbers, or refused."""
    described = model.config.num_parameters() * 4  # float32 at most; a header of a few KB besides
    size = path.stat().st_size if path.is_file() else 0
    if size > described + 2**20:
        raise CheckpointError(
            f"{path.name} is {size / 2**20:,.1f} MB, far more than the {described / 2**20:,.1f} MB of weights "
            "its config.json describes: they do not match"
        )
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path.name} is not a readable safetensors file ({err})") from None
    for name, tensor in tensors.items():
        if not tensor.is_floating_point():
            raise CheckpointError(
                f"weight {name[:60]} holds {tensor.dtype} values; weights must be floating point"
            )
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"weight {name[:60]} holds NaN or infinite values")
    expected = model.state_dict()
    if model.config.tied:
        # safetensors stores a shared tensor once, under one of its names.
        tensors.setdefault("head.weight", tensors.get("embedding.weight"))
        tensors.setdefault("embedding.weight", tensors.get("head.weight"))
    missing = sorted(set(expected) - {k for k, v in tensors.items() if v is not None})
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        extra = [name[:60] for name in extra[:3]]
        raise CheckpointError(f"weights do not match the config (missing {missing[:3]}, unexpected {extra})")
    for name, tensor in expected.items():
        found, needed = tuple(tensors[name].shape), tuple(tensor.shape)
        if found != needed:
            raise CheckpointError(f"weight {name} has shape {found}, the config needs {needed}")
    model.load_state_dict(tensors, strict=True)


def load_folder(directory: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedModel:
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: no such model folder")
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    if missing:
        raise CheckpointError(f"{directory} is not a complete model folder: missing {', '.join(missing)}")
    config = read_config(directory / CONFIG_FILE)
    try:
        tokenizer = tokenizer_from_dict(read_json(directory / TOKENIZER_FILE))
    except ValueError as err:
        raise CheckpointError(f"tokenizer.json: {err}") from None
    if len(tokenizer) != config.vocab_size:
        raise CheckpointError(
            f"tokenizer has {len(tokenizer)} tokens but the config says vocab_size={config.vocab_size}"
        )
    model = LSTMLanguageModel(config)
    load_weights(model, directory / WEIGHTS_FILE)
    info = read_json(directory / TRAINING_FILE) if (directory / TRAINING_FILE).is_file() else {}
    novelty_path = directory / NOVELTY_FILE
    novelty = frozenset(novelty_path.read_text().split()) if novelty_path.is_file() else frozenset()
    return LoadedModel(model.to(device).eval(), tokenizer, info, novelty, str(directory))


# ------------------------------------------------------------------ training state (for --resume)


def save_training_state(directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, progress: dict):
    """The latest weights, the optimizer and `progress` (JSON) in one file, written atomically: a run
    killed at any moment leaves either the previous state or this one, never a mix of the two."""
    tensors = {f"model.{name}": t.detach().cpu().contiguous() for name, t in unique_tensors(model).items()}
    optimizer_tensors, param_groups = flatten_optimizer(optimizer)
    tensors.update({f"optimizer.{name}": t for name, t in optimizer_tensors.items()})
    metadata = {"progress": json.dumps(progress, ensure_ascii=False), "param_groups": json.dumps(param_groups)}
    with atomic_path(directory / STATE_FILE) as temp:
        save_file(tensors, str(temp), metadata=metadata)


def read_training_progress(directory: Path) -> dict:
    """The progress JSON of a saved training state, without reading its tensors."""
    path = directory / STATE_FILE
    if not path.is_file():
        earlier = (directory / "training_state").is_dir()  # the three-file layout of earlier versions
        why = " (an earlier textgen saved it: it loads as a model but cannot be resumed)" if earlier else ""
        raise CheckpointError(f"{directory} has no {STATE_FILE} to resume from{why}")
    try:
        with safe_open(str(path), "pt") as handle:
            return json.loads(handle.metadata()["progress"])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{STATE_FILE} is not a readable training state ({err})") from None


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


def unique_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict with each shared tensor once (safetensors refuses aliases): the tied head goes."""
    seen: set[int] = set()
    unique = {}
    for name, tensor in model.state_dict().items():
        if tensor.data_ptr() not in seen:
            seen.add(tensor.data_ptr())
            unique[name] = tensor
    return unique


def tied_aliases(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The names `unique_tensors` dropped, pointing at the tensor they share."""
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

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

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_model

from .model import LSTMConfig, LSTMLanguageModel
from .tokenizer import Tokenizer, tokenizer_from_dict

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
TRAINING_FILE = "training.json"
NOVELTY_FILE = "novelty.txt"
CARD_FILE = "README.md"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE)
MODEL_FILES = (*REQUIRED_FILES, TRAINING_FILE, NOVELTY_FILE, CARD_FILE)


class CheckpointError(ValueError):
    """A model folder or repo that cannot be loaded; the message is for the user."""


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
    """A temporary path beside `path`, renamed over it when the block ends; removed if the block fails."""
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


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path.name} is not readable JSON ({err})") from None
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
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path.name} is not a readable safetensors file ({err})") from None
    expected = model.state_dict()
    if model.config.tied:
        # safetensors stores a shared tensor once, under one of its names.
        tensors.setdefault("head.weight", tensors.get("embedding.weight"))
        tensors.setdefault("embedding.weight", tensors.get("head.weight"))
    missing = sorted(set(expected) - {k for k, v in tensors.items() if v is not None})
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise CheckpointError(f"weights do not match the config (missing {missing[:3]}, unexpected {extra[:3]})")
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

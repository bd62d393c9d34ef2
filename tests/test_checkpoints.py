import json
import subprocess

import pytest
import torch
from conftest import ROOT

from textgen import (
    CharTokenizer,
    CheckpointError,
    LSTMConfig,
    LSTMLanguageModel,
    RunInfo,
    SamplingSettings,
    generate,
    load_folder,
)
from textgen import checkpoints as checkpoints_module
from textgen.checkpoints import CONFIG_FILE, STATE_FILE, WEIGHTS_FILE, save_checkpoint
from textgen.hub import load_model


def make_model(tied=True, hidden=32):
    tokenizer = CharTokenizer.fit(["hello world", "안녕하세요"])
    config = LSTMConfig(vocab_size=len(tokenizer), embedding_dim=32, hidden_size=hidden, num_layers=2, dropout=0.1)
    config.tie_weights = tied
    torch.manual_seed(0)
    return LSTMLanguageModel(config).eval(), tokenizer


@pytest.mark.parametrize("tied", [True, False])
def test_save_load_gives_identical_logits(tmp_path, tied):
    model, tokenizer = make_model(tied)
    save_checkpoint(tmp_path / "m", model, tokenizer, RunInfo(corpus="test"), ["hello world"])
    loaded = load_folder(tmp_path / "m")
    tokens = torch.tensor([tokenizer.encode("hello 안녕")])
    assert torch.equal(model(tokens)[0], loaded.model(tokens)[0])
    assert loaded.tokenizer.vocab == tokenizer.vocab
    assert loaded.info.corpus == "test" and len(loaded.novelty) == 1
    if tied:
        assert loaded.model.head.weight.data_ptr() == loaded.model.embedding.weight.data_ptr()


def test_folder_holds_no_pickle(tmp_path):
    model, tokenizer = make_model()
    folder = save_checkpoint(tmp_path / "m", model, tokenizer, None, ["hello"])
    for path in folder.iterdir():
        head = path.read_bytes()[:2]
        assert head != b"\x80\x02" and head[:1] != b"\x80", f"{path.name} looks like a pickle"
        assert path.suffix in (".json", ".safetensors", ".txt", ".md")


def test_no_pickle_loading_anywhere_in_the_code():
    sources = [p for p in ROOT.rglob("*.py") if ".venv" not in p.parts and "tests" not in p.parts]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        unpickling = ("import pickle", "torch." + "load(")  # split so this file does not match itself
        assert not any(call in text for call in unpickling), path


def test_missing_files_and_bad_configs_are_refused(tmp_path):
    model, tokenizer = make_model()
    folder = save_checkpoint(tmp_path / "m", model, tokenizer)
    (folder / WEIGHTS_FILE).unlink()
    with pytest.raises(CheckpointError, match="missing model.safetensors"):
        load_folder(folder)
    with pytest.raises(CheckpointError, match="no such model folder"):
        load_folder(tmp_path / "absent")

    folder = save_checkpoint(tmp_path / "n", model, tokenizer)
    config = json.loads((folder / CONFIG_FILE).read_text())
    (folder / CONFIG_FILE).write_text(json.dumps({**config, "hidden_size": 10**9}))
    with pytest.raises(CheckpointError, match="hidden_size=1000000000 is outside"):
        load_folder(folder)
    (folder / CONFIG_FILE).write_text(json.dumps({**config, "hidden_size": 48, "embedding_dim": 48}))
    with pytest.raises(CheckpointError, match="has shape"):
        load_folder(folder)
    (folder / CONFIG_FILE).write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(CheckpointError, match="unknown keys"):
        load_folder(folder)


def test_a_killed_save_leaves_the_previous_model_loadable(tmp_path, monkeypatch):
    model, tokenizer = make_model()
    folder = save_checkpoint(tmp_path / "m", model, tokenizer, RunInfo(title="version 1"))

    def die(*args, **kwargs):
        raise KeyboardInterrupt  # the process killed halfway through writing the weights

    monkeypatch.setattr(checkpoints_module, "save_model", die)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    with torch.no_grad():
        model.head.bias.add_(1.0)  # version 2 differs
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(folder, model, tokenizer, RunInfo(title="version 2"))
    kept = load_folder(folder)
    assert all(torch.equal(kept.model.state_dict()[name], tensor) for name, tensor in before.items())
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]

    fresh = tmp_path / "fresh"
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(fresh, model, tokenizer)
    with pytest.raises(CheckpointError, match="missing config.json"):  # never looks complete
        load_folder(fresh)


def test_shipped_models_load_and_generate():
    shipped = sorted(p for p in (ROOT / "checkpoints").iterdir() if (p / CONFIG_FILE).exists())
    assert {p.name for p in shipped} >= {"nyt-char", "nyt-word"}
    for folder in shipped:
        loaded = load_model(str(folder))
        assert loaded.info.metrics.bits_per_char < loaded.info.unigram.bits_per_char
        (text,) = generate(
            loaded.model, loaded.tokenizer, "", SamplingSettings.of(temperature=0.5, length=40, seed=0)
        )
        assert len(text) >= 10 and "\ufffd" not in text  # it writes, and never prints <unk>
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name != STATE_FILE)
        assert size < 20 * 2**20
    tracked = subprocess.run(["git", "ls-files", "checkpoints"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "training_state" not in tracked  # resume state stays out of shipped models

"""Hostile and careless inputs, each once a crash, a traceback, a memory blow-up or silent garbage:
now refused with one clear line before any work, or handled."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import pytest
import torch
from conftest import ROOT
from safetensors.torch import save_file

from textgen import (
    CheckpointError,
    CorpusError,
    GenerationError,
    LSTMConfig,
    LSTMLanguageModel,
    SamplingSettings,
    generate,
)
from textgen import checkpoints as checkpoints_module
from textgen.checkpoints import CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE, load_folder, save_checkpoint
from textgen.corpus import csv_columns, read_documents
from textgen.registry import ModelRegistry
from textgen.tokenizer import CharTokenizer

SHIPPED_CHAR = ROOT / "checkpoints" / "nyt-char"


def small_model(tmp_path, name="m", tied=True):
    tokenizer = CharTokenizer.fit(["hello world"])
    config = LSTMConfig(vocab_size=len(tokenizer), embedding_dim=16, hidden_size=16 if tied else 24)
    torch.manual_seed(0)
    model = LSTMLanguageModel(config).eval()
    return save_checkpoint(tmp_path / name, model, tokenizer, None, ["hello world"]), model, tokenizer


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "textgen", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )


def assert_one_line(result, expected):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


# ------------------------------------------------------------------ memory before allocation


@pytest.mark.slow
@pytest.mark.parametrize("tied", [True, False])
def test_the_parameter_count_is_every_tensor_allocated(tied):
    config = LSTMConfig(vocab_size=300, embedding_dim=64, hidden_size=64 if tied else 48, num_layers=2)
    model = LSTMLanguageModel(config)
    allocated = {p.data_ptr(): p.numel() for p in model.parameters()}  # a tied weight counts once
    assert sum(allocated.values()) == config.num_parameters()


def test_a_huge_config_is_refused_from_config_json_alone(monkeypatch):
    """vocab 170,000 x width 8,192 untied was 1.93e9 parameters, under the old cap: 5.8 GB of RSS."""
    with pytest.raises(ValueError, match=r"over this server's limit of 1,024 MB \(TEXTGEN_MAX_MODEL_MB\)"):
        LSTMConfig(vocab_size=170_000, embedding_dim=8192, hidden_size=8192, tie_weights=False)
    monkeypatch.setenv("TEXTGEN_MAX_MODEL_MB", "1")
    with pytest.raises(ValueError, match="limit of 1 MB"):
        LSTMConfig(vocab_size=1000, embedding_dim=512, hidden_size=512)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dropout": "0.2"}, "dropout='0.2' is not a number"),
        ({"tie_weights": "no"}, "tie_weights='no' is not true or false"),
        ({"hidden_size": 2.5}, "hidden_size=2.5 is outside"),
        ({"num_layers": True}, "num_layers=True is outside"),
    ],
)
def test_config_values_of_the_wrong_type_are_refused(tmp_path, change, message):
    folder, _, _ = small_model(tmp_path)
    config = json.loads((folder / CONFIG_FILE).read_text())
    (folder / CONFIG_FILE).write_text(json.dumps({**config, **change}))
    with pytest.raises(CheckpointError, match=message):
        load_folder(folder)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("name", [CONFIG_FILE, TOKENIZER_FILE])
def test_json_nested_deep_and_oversized_json_are_refused_before_parsing(tmp_path, monkeypatch, name):
    folder, _, _ = small_model(tmp_path)
    (folder / name).write_text('{"a": ' + nested(100_000) + "}")
    with pytest.raises(CheckpointError, match="nested too deeply|over the"):  # config.json is over its 64 KB
        load_folder(folder)
    folder, _, _ = small_model(tmp_path, "again")
    real_limits = checkpoints_module.file_limits
    monkeypatch.setitem(checkpoints_module.MAX_JSON_BYTES, name, 100)
    monkeypatch.setattr(checkpoints_module, "file_limits", lambda config=None: {**real_limits(config), name: 100})
    parsed = []
    real_loads = json.loads
    monkeypatch.setattr(
        checkpoints_module.json, "loads", lambda text, **kw: parsed.append(1) or real_loads(text, **kw)
    )
    with pytest.raises(CheckpointError, match=rf"{name} is 0.0 MB, over the 0.0 MB limit"):
        load_folder(folder)
    assert parsed == [] or (name == TOKENIZER_FILE and len(parsed) == 1)  # refused from its size: unparsed


# ------------------------------------------------------------------ weights and vocabularies


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda t: t.fill_(float("nan")), "NaN or infinite"),
        (lambda t: t.fill_(float("inf")), "NaN or infinite"),
        (lambda t: t.to(torch.int64), "holds torch.int64 values"),
        (lambda t: t > 0, "holds torch.bool values"),
    ],
)
def test_weights_must_be_finite_floating_point(tmp_path, spoil, message):
    folder, model, _ = small_model(tmp_path)
    tensors = {k: v.clone() for k, v in model.state_dict().items() if k != "head.weight"}
    tensors["lstm.bias_ih_l0"] = spoil(tensors["lstm.bias_ih_l0"])
    save_file(tensors, str(folder / WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match=message):
        load_folder(folder)


def test_an_oversized_weights_file_is_refused_before_reading(tmp_path):
    folder, model, _ = small_model(tmp_path)
    with open(folder / WEIGHTS_FILE, "ab") as handle:
        handle.write(b"\0" * (2 * 2**20))
    with pytest.raises(CheckpointError, match="model.safetensors is .* MB, far more than the .* MB of weights"):
        load_folder(folder)


@pytest.mark.parametrize(
    ("vocab", "message"),
    [
        (["<eos>", "<unk>", "a", "a", "b"], "repeats entries"),
        (["<eos>", "<unk>", "ab", "c", "d"], "single characters"),
        (["<eos>", "<unk>", "", "c", "d"], "non-empty string"),
        (["<eos>", "<unk>", 7, "c", "d"], "non-empty string"),
    ],
)
def test_char_vocabularies_must_be_unique_single_characters(tmp_path, vocab, message):
    folder, _, tokenizer = small_model(tmp_path)
    data = tokenizer.to_dict()
    data["vocab"] = vocab + [f"{i}" for i in range(len(tokenizer) - len(vocab))]
    (folder / TOKENIZER_FILE).write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=message):
        load_folder(folder)


# ------------------------------------------------------------------ generation inputs


@pytest.fixture(scope="module")
def shipped():
    return load_folder(SHIPPED_CHAR)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"temperature": math.nan}, "temperature must be a number"),
        ({"temperature": math.inf}, "temperature must be a number"),
        ({"top_p": math.nan}, "top-p must be in"),
        ({"top_k": 2.5}, "top-k must be a whole number"),
        ({"seed": 10**30}, "seed must be a whole number from 0"),
        ({"seed": -1}, "seed must be a whole number from 0"),
        ({"length": 5000, "num_samples": 64}, "one request may write at most 20,000"),
    ],
)
def test_generation_settings_are_checked_before_any_work(shipped, settings, message):
    with pytest.raises(GenerationError, match=message):
        generate(shipped.model, shipped.tokenizer, "A", SamplingSettings.of(**settings))


def test_a_long_seed_text_is_refused_and_priming_needs_only_the_last_logits(shipped):
    with pytest.raises(GenerationError, match="the seed text is 1,000,000 characters; at most 10,000"):
        generate(shipped.model, shipped.tokenizer, "a" * 1_000_000, SamplingSettings.of(length=5))
    prompt = "Senate Passes a Bill " * 400  # 8,400 characters, read in chunks
    ids = torch.tensor([[shipped.tokenizer.eos_id, *shipped.tokenizer.encode(prompt)]])
    logits, (h, c) = shipped.model.prime(ids)
    full_logits, (full_h, _) = shipped.model(ids)
    assert logits.shape == (1, len(shipped.tokenizer))
    assert torch.allclose(logits, full_logits[:, -1], atol=1e-4) and torch.allclose(h, full_h, atol=1e-5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--temperature", "nan"], "temperature must be a number"),
        (["--seed", str(10**30)], "seed must be a whole number from 0"),
        (["--length", "5000", "--num-samples", "64"], "at most 20,000"),
        (["--prompt", "a" * 20_000], "at most 10,000"),
    ],
)
def test_cli_generation_inputs_are_one_line(args, message):
    assert_one_line(run_cli("generate", "--model", str(SHIPPED_CHAR), *args), message)


@pytest.mark.slow
def test_cli_refuses_a_path_that_is_not_a_model_or_a_reference(tmp_path):
    assert_one_line(
        run_cli("generate", "--model", str(tmp_path / "nothing here")),
        "no such model folder or shipped model, and not a Hub model reference",
    )


# ------------------------------------------------------------------ corpora


def test_json_uploads_nested_deep_are_one_clear_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text(nested(100_000))
    with pytest.raises(CorpusError, match="nested too deeply"):
        read_documents(path)


def test_a_csv_cell_longer_than_131072_characters_is_one_document(tmp_path):
    path = tmp_path / "long.csv"
    chapter = "word " * 60_000  # 300,000 characters in one cell: the csv module's default limit is 131,072
    path.write_text(f"id,text\n1,{chapter}\n2,short one\n", encoding="utf-8")
    assert [len(d) for d in read_documents(path)] == [len(chapter.strip()), len("short one")]


def test_a_csv_with_100000_columns_gets_a_short_message(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(100_000)) + "\n" + ",".join("1" * 100_000) + "\n")
    with pytest.raises(CorpusError) as err:
        read_documents(path)
    assert len(str(err.value)) < 300 and "100,000 columns" in str(err.value)
    with pytest.raises(CorpusError, match="100,000 columns"):
        csv_columns(path)
    path.write_text(",".join(f"c{i}" for i in range(900)) + "\n" + ",".join("1" * 900) + "\n")
    with pytest.raises(CorpusError) as err:
        read_documents(path)
    assert "pick a text column" in str(err.value) and "(900 in all)" in str(err.value)
    assert len(str(err.value)) < 300


def test_empty_corpus_message_names_the_file_not_its_folder(tmp_path):
    from textgen import load_corpus

    path = tmp_path / "deep" / "inside" / "empty.txt"
    path.parent.mkdir(parents=True)
    path.write_text("\n\n")
    with pytest.raises(CorpusError) as err:
        load_corpus(str(path))
    assert str(tmp_path) not in str(err.value) and "empty.txt" in str(err.value)


# ------------------------------------------------------------------ sessions


def test_idle_sessions_expire_with_their_files(tmp_path):
    """API clients never send the page's unload; their sessions must still go."""
    registry = ModelRegistry(ROOT / "checkpoints", session_ttl=0.2)
    old = registry.session("rest-client")
    (old.directory / "model.zip").write_bytes(b"x" * 1000)
    kept = registry.session("active")
    time.sleep(0.3)
    kept.touch()  # a session in use (a training run touches its own) stays
    registry.session("someone-new")  # any use of the registry sweeps
    assert not old.directory.exists() and "rest-client" not in registry._sessions
    assert kept.directory.exists()


def test_the_app_cleans_gradios_cache_and_expires_sessions_at_one_stated_age():
    """Gradio keeps every upload and returned zip in its cache; without delete_cache they piled up."""
    import app

    every, age = app.demo.delete_cache
    assert age == 60 * app.SESSION_TTL_MINUTES and every <= age  # files live as long as a session
    assert app.REGISTRY.session_ttl == age


# ------------------------------------------------------------------ zips that would fill the disk


def model_zip_files(tmp_path) -> dict[str, bytes]:
    tokenizer = CharTokenizer.fit(["hello world"])
    model = LSTMLanguageModel(LSTMConfig(vocab_size=len(tokenizer), embedding_dim=8, hidden_size=8))
    folder = save_checkpoint(tmp_path / "model", model, tokenizer, None, ["hello world"])
    return {name: (folder / name).read_bytes() for name in ("config.json", "tokenizer.json", "model.safetensors")}


def written(folder) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_a_zip_whose_members_declare_huge_sizes_is_refused_before_anything_is_written(tmp_path):
    """The probe's shape: members that inflate to about a GB of zeros each, under model file names."""
    import zipfile

    from textgen.modelzip import unpack_model_zip

    files = model_zip_files(tmp_path)
    zeros = b"\0" * (64 * 2**20)
    for bloated in ("config.json", "tokenizer.json", "training.json", "README.md"):
        archive = tmp_path / f"bomb-{bloated}.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
            for name, data in files.items():
                zipped.writestr(name, data)
            zipped.writestr(bloated, zeros)  # 64 MB of zeros: 64 KB compressed
        assert archive.stat().st_size < 2**20
        into = tmp_path / f"into-{bloated}"
        with pytest.raises(CheckpointError, match=f"{bloated} in the zip is larger than a valid one can be"):
            unpack_model_zip(archive, into)
        assert written(into) == 0 if into.exists() else True  # nothing written, no folder left


def test_a_zip_that_fails_its_crc_leaves_nothing_behind(tmp_path):
    import zipfile

    from textgen.modelzip import unpack_model_zip

    files = model_zip_files(tmp_path)
    archive = tmp_path / "broken.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zipped:
        for name, data in files.items():
            zipped.writestr(name, data)
    data = bytearray(archive.read_bytes())
    where = data.find(files["model.safetensors"][-64:])
    data[where : where + 64] = bytes(64)  # the weights' last bytes zeroed: their CRC no longer matches
    archive.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="broken.zip: not a readable zip file"):
        unpack_model_zip(archive, tmp_path / "into")
    assert list((tmp_path / "into").iterdir()) == []


def test_inflating_stops_at_the_limit_whatever_the_zip_says():
    import io

    from textgen.modelzip import _copy_limited

    class Endless(io.RawIOBase):
        def readinto(self, buffer):
            buffer[: len(buffer)] = bytes(len(buffer))
            return len(buffer)

    target = io.BytesIO()
    assert _copy_limited(Endless(), target, limit=3 * 2**20) == 3 * 2**20 + 1  # one byte past: refused
    assert len(target.getvalue()) == 3 * 2**20 + 1


def test_a_killed_save_leaves_safetensors_temporaries_that_the_next_save_removes(tmp_path):
    model_zip_files(tmp_path)  # a model folder in tmp_path/model
    folder = tmp_path / "model"
    leftovers = [folder / ".tmpAbC123", folder / ".tmpx_y7Qz9k", folder / ".model.safetensors.k3j4h5.tmp"]
    for path in leftovers:
        path.write_bytes(b"x" * 1000)  # what a kill -9 mid-save leaves (safetensors' and ours)
    tokenizer = CharTokenizer.fit(["hello world"])
    model = LSTMLanguageModel(LSTMConfig(vocab_size=len(tokenizer), embedding_dim=8, hidden_size=8))
    save_checkpoint(folder, model, tokenizer)
    assert not any(path.exists() for path in leftovers)


@pytest.mark.slow
def test_a_run_killed_while_saving_leaves_no_temporaries_after_its_resume(tmp_path):
    """kill -9 while a save is being written (a 1 x 1024 model: its training state is ~100 MB, so a
    save takes a while), then --resume: no temporary file of any save is left."""
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    corpus = tmp_path / "lines.txt"
    corpus.write_text("\n".join(f"line {i} of a corpus to train on" for i in range(3000)), encoding="utf-8")
    run = tmp_path / "run"
    common = ["--token-cache", "off", "--batch-size", "8", "--seq-len", "16"]
    command = [
        sys.executable,
        "train.py",
        "--corpus",
        str(corpus),
        "--out",
        str(run),
        "--hidden-size",
        "1024",
        "--eval-every",
        "3",
        "--max-steps",
        "300",
        *common,
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def temporaries() -> list[str]:
        return [p.name for p in run.iterdir() if p.name.startswith(".") and "tmp" in p.name]

    caught, deadline = [], time.monotonic() + 240
    while not caught and process.poll() is None and time.monotonic() < deadline:
        if run.is_dir() and (run / "training_state.safetensors").exists() and temporaries():
            # Frozen first: what is on disk then is what the kill leaves (a save seen a moment ago
            # may have finished and renamed its file since).
            process.send_signal(signal.SIGSTOP)
            caught = temporaries()
            if not caught:
                process.send_signal(signal.SIGCONT)
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert caught, "the run ended before a save could be caught mid-write"
    assert [p.name for p in run.iterdir() if p.name.startswith(".")], "the kill left no temporary file"
    resumed = subprocess.run(
        [sys.executable, "train.py", "--resume", str(run), "--max-steps", "310", *common],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []

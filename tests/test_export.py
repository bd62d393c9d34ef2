"""`textgen export`: the one-step function as ONNX reproduces the model's own greedy text."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT

from textgen import SamplingSettings, generate, load_folder

pytestmark = pytest.mark.slow
SHIPPED_CHAR = ROOT / "checkpoints" / "nyt-char"


def test_onnxruntime_writes_what_the_model_writes(tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is in requirements-dev.txt")
    pytest.importorskip("onnxscript", reason="onnxscript is in requirements-dev.txt")
    out = tmp_path / "nyt-char-onnx"
    result = subprocess.run(
        [sys.executable, "-m", "textgen", "export", "--model", str(SHIPPED_CHAR), str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} >= {"model.onnx", "tokenizer.json", "config.json", "README.md"}

    loaded = load_folder(SHIPPED_CHAR)
    tokenizer = loaded.tokenizer
    assert json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))["vocab"] == tokenizer.vocab
    session = ort.InferenceSession(str(out / "model.onnx"))
    config = loaded.model.config
    prompt = "Senate"
    for batch in (1, 3):  # the batch is dynamic
        h = np.zeros((config.num_layers, batch, config.hidden_size), np.float32)
        c = h.copy()
        feed = [tokenizer.eos_id, *tokenizer.encode(prompt)]
        state = None
        for token in feed:  # the seed text, one step at a time, as a browser would
            logits, h, c = session.run(None, {"tokens": np.full(batch, token, np.int64), "h": h, "c": c})
            with torch.no_grad():
                reference, state = loaded.model.step(
                    torch.full((batch,), token), state or loaded.model.initial_state(batch)
                )
            assert np.allclose(logits, reference.numpy(), atol=1e-4)
        written = []
        for _ in range(60):
            logits[:, tokenizer.unk_id] = -np.inf  # as the sampler does
            token = int(logits[0].argmax())
            written.append(token)
            if token == tokenizer.eos_id:  # a new document starts from the zero state, as the usage says
                h, c = np.zeros_like(h), np.zeros_like(c)
            logits, h, c = session.run(None, {"tokens": np.full(batch, token, np.int64), "h": h, "c": c})
        expected = generate(loaded.model, tokenizer, prompt, SamplingSettings.of(temperature=0, length=60))[0]
        assert tokenizer.decode(written) == expected


def test_export_never_overwrites_a_folder_unless_told_and_never_writes_through_a_link(tmp_path):
    """Into the model's own folder it would replace the model card: refused, the card as it was;
    --force writes; an output folder that is a link is refused whatever the flags."""
    model = tmp_path / "model"
    model.mkdir()
    for file in SHIPPED_CHAR.iterdir():
        (model / file.name).write_bytes(file.read_bytes())
    card = (model / "README.md").read_bytes()

    def export(*args):
        return subprocess.run(
            [sys.executable, "-m", "textgen", "export", "--model", str(model), *args],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    refused = export(str(model))
    assert refused.returncode == 2 and "holds files already" in refused.stderr and "--force" in refused.stderr
    assert (model / "README.md").read_bytes() == card and len(refused.stderr.strip().splitlines()) == 1
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").symlink_to(elsewhere)
    linked = export(str(tmp_path / "out"), "--force")
    assert linked.returncode == 2 and "is a link" in linked.stderr and not any(elsewhere.iterdir())
    forced = export(str(model), "--force")
    assert forced.returncode == 0 and (model / "model.onnx").is_file()
    assert (model / "README.md").read_bytes() != card  # told to: the export's README replaced it

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

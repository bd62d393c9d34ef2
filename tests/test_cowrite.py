"""Writing with the model: the next-token view's numbers against a direct computation from the
model's logits, and the co-writer's carried state against reading the text again."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys

import pytest
import torch
from conftest import ROOT

from textgen import CoWriter, GenerationError, SamplingSettings, load_folder, next_tokens
from textgen.cowrite import prime_text

SHIPPED = ROOT / "checkpoints"


@pytest.fixture(scope="module", params=["nyt-char", "nyt-word"])
def loaded(request):
    return load_folder(SHIPPED / request.param)


def direct(loaded, text: str, temperature: float):
    """The tempered distribution straight from the model: read <eos> and the text, softmax(logits / T)
    without <unk>, as the sampler draws."""
    tokenizer = loaded.tokenizer
    ids = torch.tensor([[tokenizer.eos_id, *tokenizer.encode(text)]])
    with torch.inference_mode():
        logits, _ = loaded.model(ids)
    last = logits[0, -1].double()
    last[tokenizer.unk_id] = -math.inf
    return (last / temperature).softmax(-1)


@pytest.mark.parametrize("temperature", [0.3, 1.0, 1.7])
def test_the_next_tokens_and_entropy_are_the_models_own_numbers(loaded, temperature):
    text = "Trump Says" if loaded.tokenizer.level == "char" else "The"
    logits, _ = prime_text(loaded.model, loaded.tokenizer, text)
    view = next_tokens(logits, loaded.tokenizer, temperature, top_k=10)
    expected = direct(loaded, text, temperature)
    values, ids = expected.topk(10)
    assert view.ids == ids.tolist()
    assert [p for _, p in view.tokens] == pytest.approx(values.tolist(), abs=1e-5)
    assert all(a >= b for (_, a), (_, b) in zip(view.tokens, view.tokens[1:]))  # descending
    entropy = float(-(expected[expected > 0] * expected[expected > 0].log2()).sum())
    assert view.entropy_bits == pytest.approx(entropy, abs=1e-4)
    at_one = direct(loaded, text, 1.0)
    assert view.entropy_bits_at_1 == pytest.approx(
        float(-(at_one[at_one > 0] * at_one[at_one > 0].log2()).sum()), abs=1e-4
    )
    assert view.to_dict()["tokens"][0] == {"token": view.tokens[0][0], "probability": view.tokens[0][1]}


def test_lower_temperature_sharpens_and_zero_is_certain(loaded):
    logits, _ = prime_text(loaded.model, loaded.tokenizer, "")
    entropies = [next_tokens(logits, loaded.tokenizer, t).entropy_bits for t in (2.0, 1.0, 0.5, 0.2)]
    assert entropies == sorted(entropies, reverse=True)
    certain = next_tokens(logits, loaded.tokenizer, 0)
    assert certain.entropy_bits == 0 and certain.tokens[0][1] == 1.0 and len(certain.tokens) == 1


def test_choosing_carries_the_state_and_undo_steps_back(loaded):
    writer = CoWriter.start("m", "s", loaded, "")
    texts = [writer.text]
    for _ in range(3):
        view = writer.view(loaded, 0.8)
        writer.choose(loaded, view.ids[1])  # the second likeliest, as a user might
        texts.append(writer.text)
    assert len(set(texts)) == 4 and all(b.startswith(a) for a, b in itertools.pairwise(texts))
    again, _ = prime_text(loaded.model, loaded.tokenizer, writer.text)  # reading it all again
    torch.testing.assert_close(writer.drafts[-1].logits, again, rtol=1e-4, atol=1e-4)
    writer.write(loaded, SamplingSettings.of(temperature=0.8, length=20, seed=1))
    assert len(writer.text) > len(texts[-1])
    writer.undo()
    assert writer.text == texts[-1]
    writer.undo(), writer.undo(), writer.undo(), writer.undo()
    assert writer.text == "" and len(writer.drafts) == 1  # never past the start
    with pytest.raises(GenerationError, match="pick one of the listed tokens"):
        writer.choose(loaded, loaded.tokenizer.unk_id)


def test_the_command_line_prints_the_same_numbers():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "textgen",
            "next",
            "--model",
            str(SHIPPED / "nyt-char"),
            "--text",
            "Senate",
            "--temperature",
            "0.7",
            "--top-k",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    loaded = load_folder(SHIPPED / "nyt-char")
    logits, _ = prime_text(loaded.model, loaded.tokenizer, "Senate")
    assert printed == json.loads(json.dumps(next_tokens(logits, loaded.tokenizer, 0.7, 5).to_dict()))
    bad = subprocess.run(
        [sys.executable, "-m", "textgen", "next", "--model", str(SHIPPED / "nyt-char"), "--temperature", "-1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert bad.returncode == 2 and "temperature must be a number from 0 to 2" in bad.stderr

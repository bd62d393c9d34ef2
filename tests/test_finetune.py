"""Start from a trained model: its vocabulary and weights kept, grown for what a new corpus adds."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import ROOT

import train
from textgen import CharTokenizer, LSTMConfig, LSTMLanguageModel, TrainConfig, load_folder
from textgen.finetune import FINE_TUNE_LR, fine_tune_setup, grown_model, new_tokens

SHIPPED_CHAR = ROOT / "checkpoints" / "nyt-char"
SAYINGS = ROOT / "examples" / "sayings_cp949.txt"


def test_a_grown_model_keeps_every_old_weight_and_its_tie():
    torch.manual_seed(0)
    base = LSTMLanguageModel(LSTMConfig(vocab_size=20, embedding_dim=16, hidden_size=16))
    before = {k: v.clone() for k, v in base.state_dict().items()}
    grown = grown_model(base, added=5)
    assert grown.config.vocab_size == 25 and grown.head.weight is grown.embedding.weight
    for name, tensor in grown.state_dict().items():
        old = before[name]
        assert torch.equal(tensor[: old.shape[0]], old), name  # the old rows, unchanged
    new_rows = grown.embedding.weight[20:]
    assert torch.allclose(new_rows.mean(0), before["embedding.weight"].mean(0), atol=0.02)  # near the mean
    assert not torch.equal(new_rows[0], new_rows[1])  # but not identical
    assert torch.all(grown.head.bias[20:] == before["head.bias"].min())  # new tokens start rare
    for name, tensor in base.state_dict().items():
        assert torch.equal(tensor, before[name])  # the base is a different model, untouched


def test_new_tokens_are_what_the_training_text_adds():
    base = CharTokenizer.fit(["hello"])
    assert new_tokens(base, ["hello, 세상", "세상아"]) == ["상", "세", " ", ",", "아"]  # most frequent first


@pytest.mark.slow
def test_fine_tuning_a_shipped_model_on_korean_grows_it_and_trains(tmp_path, capsys):
    base = load_folder(SHIPPED_CHAR)
    documents = [line for line in SAYINGS.read_bytes().decode("cp949").splitlines() if line]
    config, data, model = fine_tune_setup(
        base, documents * 3, TrainConfig(batch_size=8, max_steps=5, eval_every=5)
    )
    assert config.hidden_size == base.model.config.hidden_size and config.level == "char"
    assert data.tokenizer.vocab[: len(base.tokenizer)] == base.tokenizer.vocab  # old ids keep their meaning
    assert "사" in data.tokenizer.index and model.config.vocab_size == len(data.tokenizer)

    out = tmp_path / "sayings-from-nyt"
    argv = ["--init-from", str(SHIPPED_CHAR), "--corpus", str(SAYINGS), "--out", str(out)]
    train.main([*argv, "--batch-size", "4", "--max-steps", "10", "--eval-every", "5"])
    assert "done (" in capsys.readouterr().out
    info = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert info["parent"] == str(SHIPPED_CHAR) and info["train_config"]["lr"] == pytest.approx(FINE_TUNE_LR)
    assert f"started from | {SHIPPED_CHAR}" in (out / "README.md").read_text(encoding="utf-8")
    assert load_folder(out).model.config.hidden_size == base.model.config.hidden_size


def test_init_from_with_a_level_or_size_is_one_clear_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(
            [
                "--init-from",
                str(SHIPPED_CHAR),
                "--corpus",
                str(SAYINGS),
                "--out",
                str(tmp_path / "x"),
                "--level",
                "word",
            ]
        )
    assert exit_info.value.code == 2
    assert "takes the base model's level and size; leave out --level" in capsys.readouterr().err

import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import ROOT

from textgen import Evaluation, Finished, RunInfo, TrainConfig, Trainer, load_folder, prepare_data, run_and_save
from textgen.device import bf16_works, native_bf16
from textgen.metrics import evaluate, score, unigram_metrics
from textgen.tokens import ScoringSet


def run_to_end(trainer, folder=None):
    events = list(trainer.run() if folder is None else run_and_save(trainer, folder))
    assert isinstance(events[-1], Finished)
    return events


def small_config(**overrides):
    settings = dict(hidden_size=96, batch_size=16, seq_len=48, epochs=2, eval_every=80, sample_length=30, lr=6e-3)
    return TrainConfig(**{**settings, **overrides})


@pytest.mark.slow
def test_short_training_beats_unigram_on_held_out_headlines(tmp_path, nyt_documents):
    config = small_config()
    data = prepare_data(nyt_documents[:3000], config)
    trainer = Trainer(config, data, info=RunInfo(corpus="NYT"))
    events = run_to_end(trainer, tmp_path / "m")
    finished = events[-1]
    unigram = unigram_metrics(data.tokenizer, data.train_documents, data.val_documents)
    assert finished.best.bits_per_char < unigram.bits_per_char - 0.5
    evaluations = [e for e in events if isinstance(e, Evaluation)]
    assert evaluations[-1].val.loss < evaluations[0].val.loss
    assert set(evaluations[0].samples) == {0.2, 0.5, 1.0, 1.2}
    # The saved folder is the best model, and re-evaluating it in the run's arithmetic (bf16 where
    # the CPU has it natively) gives the logged number; fp32 gives it within 0.001 bits per char.
    loaded = load_folder(tmp_path / "m")
    held_out = ScoringSet.of(loaded.tokenizer, data.val_documents)
    again = score(loaded.model, held_out, bf16=trainer.bf16)
    assert again.loss == pytest.approx(finished.best.loss, rel=1e-5)
    assert again.bits_per_char == pytest.approx(again.loss / math.log(2))  # char level
    fp32 = evaluate(loaded.model, loaded.tokenizer, data.val_documents)
    assert abs(fp32.bits_per_char - again.bits_per_char) < 1e-3
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert "model-index" in card and "unigram" in card


@pytest.mark.slow
def test_word_level_bits_per_char_use_the_same_characters(nyt_documents):
    config = small_config(level="word", epochs=1, eval_every=1000, seq_len=16)
    data = prepare_data(nyt_documents[:1500], config)
    trainer = Trainer(config, data)
    finished = run_to_end(trainer)[-1]
    chars = sum(len(d) + 1 for d in data.val_documents)
    assert finished.best.characters == chars
    assert finished.best.tokens < chars / 3  # words are several characters long
    # Bits per char spread the same total over the same characters, plus the spelling of each <unk>.
    without_spelling = finished.best.loss * finished.best.tokens / math.log(2) / chars
    assert data.tokenizer.unknown_tokens(" ".join(data.val_documents))
    assert finished.best.bits_per_char > without_spelling


@pytest.mark.slow
def test_seeded_cpu_runs_are_reproducible(nyt_documents):
    results = []
    for _ in range(2):
        config = small_config(epochs=1, eval_every=30, max_minutes=None)
        trainer = Trainer(config, prepare_data(nyt_documents[:600], config))
        events = list(trainer.run())
        results.append([e.val.loss for e in events if isinstance(e, Evaluation)])
    assert results[0] == results[1]


@pytest.mark.slow
def test_bf16_autocast_learns_as_well_as_fp32_and_saves_fp32_weights(tmp_path, nyt_documents):
    if not bf16_works("cpu"):
        pytest.skip("this CPU's oneDNN cannot run a bf16 LSTM (needs AVX-512 or AMX); see the AVX2 test below")
    assert Trainer(small_config(), prepare_data(nyt_documents[:300], small_config())).bf16 == native_bf16(
        torch.device("cpu")
    )  # the default follows the hardware
    losses = {}
    for bf16 in (False, True):
        config = small_config(epochs=1, eval_every=1000, bf16=bf16)
        trainer = Trainer(config, prepare_data(nyt_documents[:800], config))
        assert trainer.bf16 is bf16 and trainer.optimizer.defaults["fused"]
        events = run_to_end(trainer, tmp_path / str(bf16))
        evaluations = [e for e in events if isinstance(e, Evaluation)]
        losses[bf16] = evaluations[-1].val.loss
        assert evaluations[-1].train_loss < events[0].train_loss - 0.5  # it learned
        loaded = load_folder(tmp_path / str(bf16))
        assert {p.dtype for p in loaded.model.parameters()} == {torch.float32}
    assert losses[True] == pytest.approx(losses[False], abs=0.1)


@pytest.mark.slow
def test_killed_run_resumes_from_its_saved_step(tmp_path, nyt_documents):
    documents = nyt_documents[:1200]
    config = small_config(epochs=3, eval_every=20)
    trainer = Trainer(config, prepare_data(documents, config))
    for event in run_and_save(trainer, tmp_path / "run"):
        if isinstance(event, Evaluation) and event.step == 40:
            break  # killed right after the second evaluation was saved
    saved_weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    resumed = Trainer.resume(tmp_path / "run", documents)
    assert resumed.state.step == 40 and resumed.state.window == trainer.state.window
    for name, tensor in resumed.model.state_dict().items():
        assert torch.equal(tensor, saved_weights[name])
    assert resumed.optimizer.state_dict()["state"][0]["step"] == 40
    events = run_to_end(resumed)
    steps = [e.step for e in events if not isinstance(e, Finished)]
    assert steps[0] == 41  # continues, does not start over
    assert events[-1].step == resumed.total_steps


def test_unknown_words_pay_for_their_spelling(nyt_documents):
    """A word model whose every word is <unk> must not look better than spelling the text out."""
    from textgen.tokenizer import CharTokenizer, WordTokenizer

    train_docs, val_docs = nyt_documents[:2000], nyt_documents[2000:2300]
    all_unknown = WordTokenizer.fit(train_docs, min_count=10**9)  # vocabulary: specials and punctuation-free
    assert all_unknown.unknown_tokens("Senate Passes") == ["Senate", " Passes"]
    char_unigram = unigram_metrics(CharTokenizer.fit(train_docs), train_docs, val_docs).bits_per_char
    word_unigram = unigram_metrics(all_unknown, train_docs, val_docs).bits_per_char
    assert word_unigram > 0.8 * char_unigram  # without the spelling charge it was a fraction of a bit


@pytest.mark.slow
def test_without_bf16_kernels_auto_trains_fp32_and_a_forced_bf16_is_one_clear_line(tmp_path):
    """A CPU whose oneDNN has no bf16 LSTM (AVX2 only, like an AMD EPYC without AVX-512): reproduced
    on any x86 CPU by capping oneDNN at AVX2, in a fresh process so the cap takes effect."""
    corpus = tmp_path / "lines.txt"
    corpus.write_text("\n".join(f"line number {i} of a small corpus" for i in range(400)), encoding="utf-8")
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    common = ["--corpus", str(corpus), "--hidden-size", "32", "--epochs", "1", "--eval-every", "1000"]
    auto = subprocess.run(
        [sys.executable, "train.py", *common, "--out", str(tmp_path / "auto")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert auto.returncode == 0, auto.stderr
    assert "(bf16)" not in auto.stdout and "done (" in auto.stdout
    forced = subprocess.run(
        [sys.executable, "train.py", *common, "--out", str(tmp_path / "forced"), "--bf16"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert forced.returncode == 2 and "Traceback" not in forced.stderr
    assert "cannot run bf16" in forced.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_the_resume_state_is_one_unit_a_kill_mid_save_leaves_the_previous_one(
    tmp_path, nyt_documents, monkeypatch
):
    """Weights, optimizer and step are written as one file: a kill while saving step 60 leaves the
    complete state of step 40, never step-60 weights beside a step-40 step count."""
    from textgen import checkpoints

    documents = nyt_documents[:1200]
    config = small_config(epochs=3, eval_every=20)
    trainer = Trainer(config, prepare_data(documents, config))
    real_save = checkpoints.save_file

    def killed_at_step_60(tensors, path, metadata=None):
        if trainer.state.step == 60:
            Path(path).write_bytes(b"half a file")  # what a kill mid-write leaves in the temporary file
            raise KeyboardInterrupt
        real_save(tensors, path, metadata=metadata)

    monkeypatch.setattr(checkpoints, "save_file", killed_at_step_60)
    weights_at_40 = None
    with pytest.raises(KeyboardInterrupt):
        for event in run_and_save(trainer, tmp_path / "run"):
            if isinstance(event, Evaluation) and event.step == 40:
                weights_at_40 = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    monkeypatch.setattr(checkpoints, "save_file", real_save)
    run_dir = tmp_path / "run"
    assert not list(run_dir.glob(".*.tmp"))  # the failed write cleaned up after itself
    resumed = Trainer.resume(run_dir, documents)
    assert resumed.state.step == 40 and resumed.optimizer.state_dict()["state"][0]["step"] == 40
    for name, tensor in resumed.model.state_dict().items():
        assert torch.equal(tensor, weights_at_40[name])

    stale = run_dir / f".{checkpoints.STATE_FILE}.abc123.tmp"  # what a SIGKILL leaves behind
    stale.write_bytes(b"x" * 1000)
    for event in run_and_save(resumed, run_dir):
        if isinstance(event, Evaluation):
            break
    assert not stale.exists()  # the next save of that file removes it


def test_evaluations_score_a_fixed_sample_and_the_end_scores_every_held_out_document(tmp_path, nyt_documents):
    config = small_config(epochs=1, eval_every=20, eval_tokens=2000)
    data = prepare_data(nyt_documents[:1500], config)
    trainer = Trainer(config, data)
    events = run_to_end(trainer, tmp_path / "m")
    evaluations = [e for e in events if isinstance(e, Evaluation)]
    sampled = {e.val.tokens for e in evaluations}
    assert len(sampled) == 1 and 2000 <= sampled.pop() < 2200  # the same documents each time, ~2,000 tokens
    loaded = load_folder(tmp_path / "m")
    everything = score(loaded.model, ScoringSet.of(loaded.tokenizer, data.val_documents), bf16=trainer.bf16)
    finished = events[-1]
    assert finished.best.tokens == everything.tokens > evaluations[0].val.tokens
    assert finished.best.loss == pytest.approx(everything.loss, rel=1e-5)  # the saved model, on all of them
    assert loaded.info.metrics.loss == pytest.approx(everything.loss, rel=1e-5)
    assert "evaluations scored a fixed sample of" in (tmp_path / "m" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("held_out", "stops_after"),
    [
        # A plateau that wanders within 1% of its best, however long: the run goes on.
        ([2.0, 2.01, 1.99, 2.005, 2.009, 1.998, 2.01, 2.0, 2.004, 2.0], None),
        # One unlucky evaluation after another improvement does not add to the count.
        ([2.0, 2.05, 2.06, 2.07, 1.98, 2.05, 2.04, 1.97, 1.99, 1.98], None),
        # Clearly above the best four times (not all in a row): it has run out of things to learn.
        ([2.0, 1.9, 1.95, 1.91, 1.96, 1.93, 1.97, 1.8, 1.8, 1.8], 7),
    ],
)
def test_early_stopping_counts_only_evaluations_clearly_worse_than_the_best(held_out, stops_after, monkeypatch):
    config = small_config(epochs=1000, eval_every=2, max_steps=2 * len(held_out), hidden_size=16, patience=4)
    trainer = Trainer(config, prepare_data([f"name {i} " + "ab" * (i % 7) for i in range(200)], config))
    real_score, losses = trainer.score, iter(held_out)

    def scripted(documents):
        metrics = real_score(documents)
        if documents is trainer.val_sample_set:  # the held-out sample's score, as the script says
            metrics = replace(metrics, loss=next(losses))
        return metrics

    monkeypatch.setattr(trainer, "score", scripted)
    events = list(trainer.run())
    evaluations = [e for e in events if isinstance(e, Evaluation)]
    if stops_after is None:
        assert events[-1].reason == "step limit" and len(evaluations) == len(held_out)
    else:
        assert events[-1].reason == "early stop" and len(evaluations) == stops_after
        assert [e.bad_evaluations for e in evaluations] == [0, 0, 1, 1, 2, 3, 4]

"""The CUDA path: training precision, the one-step decoding path, sampling, checkpoints, the decoding
engine and torchrun with nccl, on a real GPU. Every test skips with a reason where CUDA is absent (CI,
and the CPU machines we develop on); bench/gpu_check.sh runs them when a GPU is lent."""

from __future__ import annotations

import os
import subprocess

import pytest
import torch
from conftest import ROOT

from textgen import (
    CharTokenizer,
    LSTMConfig,
    LSTMLanguageModel,
    SamplingSettings,
    TrainConfig,
    Trainer,
    generate,
    load_folder,
    prepare_data,
)
from textgen.checkpoints import LoadedModel, save_checkpoint
from textgen.device import native_bf16
from textgen.distributed import launch_command
from textgen.engine import DecodingEngine
from textgen.labelled import Labels
from textgen.runinfo import RunInfo
from textgen.sampling import generate_steps
from textgen.write_as import label_random, prompt_as

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(), reason="no CUDA GPU here (bench/gpu_check.sh runs these on one)"
    ),
]

DOCUMENTS = [f"line {i}: the quick brown fox jumps over the lazy dog {i % 7}" for i in range(600)]


def small_model(vocab_size: int, layers: int = 2) -> LSTMLanguageModel:
    torch.manual_seed(0)
    return LSTMLanguageModel(
        LSTMConfig(vocab_size=vocab_size, embedding_dim=64, hidden_size=64, num_layers=layers)
    )


def test_autocast_alone_would_run_cudnns_lstm_in_fp16_and_the_model_keeps_it_in_fp32():
    """The reason for the guard in LSTMLanguageModel.forward: under bf16 autocast a bare cuDNN LSTM
    comes out in another dtype than bf16 (fp16, by AutocastRNN.cpp); the model's LSTM stays fp32."""
    lstm = torch.nn.LSTM(16, 16, batch_first=True).cuda()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        bare, _ = lstm(torch.randn(2, 5, 16, device="cuda"))
    print(f"a bare cuDNN LSTM under bf16 autocast returns {bare.dtype}")
    model = small_model(30).cuda()
    seen = {}
    model.lstm.register_forward_hook(lambda module, inputs, output: seen.update(dtype=output[0].dtype))
    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits, _ = model(torch.randint(0, 30, (2, 5), device="cuda"))
    assert seen["dtype"] == torch.float32
    assert logits.dtype == torch.bfloat16  # the head stays in the precision autocast asked for


def test_training_on_cuda_learns_in_the_chosen_precision():
    config = TrainConfig(hidden_size=128, batch_size=16, seq_len=32, epochs=3, eval_every=50, device="cuda")
    data = prepare_data(DOCUMENTS, config)
    trainer = Trainer(config, data)
    assert trainer.device.type == "cuda" and trainer.bf16 == native_bf16(trainer.device)
    losses = [event.train_loss for event in trainer.run() if hasattr(event, "train_loss")]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10 - 1.0  # it learned
    assert {p.dtype for p in trainer.model.parameters()} == {torch.float32}


def test_the_one_step_path_equals_forward_on_cuda():
    model = small_model(40).cuda().eval()
    tokens = torch.randint(0, 40, (3, 12), device="cuda")
    with torch.inference_mode():
        logits, _ = model(tokens)
        state = model.initial_state(3)
        for t in range(tokens.size(1)):
            step_logits, state = model.step(tokens[:, t], state)
            torch.testing.assert_close(step_logits, logits[:, t], rtol=1e-4, atol=1e-4)


def test_seeded_sampling_on_cuda_reproduces_and_greedy_matches_the_cpu():
    tokenizer = CharTokenizer.fit(DOCUMENTS)
    model = small_model(len(tokenizer))
    cpu_greedy = generate(model.eval(), tokenizer, "line", SamplingSettings.of(temperature=0, length=40))
    model = model.cuda()
    first = generate(
        model, tokenizer, "line", SamplingSettings.of(temperature=0.8, length=60, num_samples=3, seed=5)
    )
    assert first == generate(
        model, tokenizer, "line", SamplingSettings.of(temperature=0.8, length=60, num_samples=3, seed=5)
    )
    assert generate(model, tokenizer, "line", SamplingSettings.of(temperature=0, length=40)) == cpu_greedy


def test_any_label_is_drawn_on_cuda_as_on_the_cpu():
    labelled = [chr(0x100000 + i % 3) + doc for i, doc in enumerate(DOCUMENTS)]
    tokenizer = CharTokenizer.fit(labelled)
    info = RunInfo(labels=Labels("part", {"a": 200, "b": 200, "c": 200}))
    model = small_model(len(tokenizer)).eval()
    on_cpu = [prompt_as(LoadedModel(model, tokenizer, info), "", "line", label_random(s)) for s in range(8)]
    on_gpu = LoadedModel(model.cuda(), tokenizer, info)
    assert [prompt_as(on_gpu, "", "line", label_random(s)) for s in range(8)] == on_cpu


def test_a_checkpoint_loads_onto_cuda_and_back(tmp_path):
    tokenizer = CharTokenizer.fit(DOCUMENTS)
    model = small_model(len(tokenizer)).cuda()
    save_checkpoint(tmp_path / "m", model, tokenizer)
    on_gpu = load_folder(tmp_path / "m", "cuda")
    assert on_gpu.model.device.type == "cuda"
    back = load_folder(tmp_path / "m", "cpu")
    for name, tensor in on_gpu.model.state_dict().items():
        assert torch.equal(tensor.cpu(), back.model.state_dict()[name])


def test_the_decoding_engine_on_cuda_writes_what_the_direct_path_writes():
    tokenizer = CharTokenizer.fit(DOCUMENTS)
    model = small_model(len(tokenizer)).cuda().eval()
    engine = DecodingEngine(model, tokenizer, max_rows=16)
    try:
        jobs = [
            engine.submit("line", SamplingSettings.of(temperature=0.7, length=50, seed=seed)) for seed in range(4)
        ]
        crowd = ["".join(step.pieces[0] for step in job) for job in jobs]
    finally:
        engine.close()
    alone = [
        "".join(
            s.pieces[0]
            for s in generate_steps(
                model, tokenizer, "line", SamplingSettings.of(temperature=0.7, length=50, seed=seed)
            )
        )
        for seed in range(4)
    ]
    assert crowd == alone


def test_torchrun_starts_nccl_and_trains_on_one_gpu(tmp_path):
    corpus = tmp_path / "lines.txt"
    corpus.write_text("\n".join(DOCUMENTS), encoding="utf-8")
    command = launch_command(
        1,
        [
            "train.py",
            "--corpus",
            str(corpus),
            "--out",
            str(tmp_path / "m"),
            "--hidden-size",
            "64",
            "--max-steps",
            "30",
            "--eval-every",
            "10",
        ],
    )
    result = subprocess.run(
        command, cwd=ROOT, env={**os.environ, "TQDM_DISABLE": "1"}, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "on cuda" in result.stdout and "backend nccl" in result.stdout
    assert load_folder(tmp_path / "m").info.step == 30

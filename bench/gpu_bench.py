"""textgen on a GPU: training throughput, per-token decoding latency, and tiny Shakespeare in 3 minutes.

    python bench/gpu_bench.py [--device cuda] [--minutes 3] [--smoke]

- Training: characters a second through the Trainer's own step (cuDNN nn.LSTM, fused AdamW) for
  1 x 512 and 2 x 1024 at batch 64 and 256 (sequences of 128), in fp32 and in the mixed precision the
  Trainer chooses (bf16 autocast, the LSTM itself in fp32: see LSTMLanguageModel.forward).
- Decoding: milliseconds per token for 1 and 64 streams through the one-step function, eager and
  replayed from a CUDA graph (the step, the greedy choice and the state copy captured together).
- Quality: held-out nats per character on tiny Shakespeare (nanoGPT's split) after `--minutes` of
  training; nanoGPT's char transformer reports 1.4697 on an A100.

`--smoke` shrinks everything to seconds, to check the script on a CPU before a GPU run.
"""

from __future__ import annotations

import argparse
import time

import torch
from common import SHAKESPEARE, report, shakespeare_data

from textgen import CharTokenizer, LSTMConfig, LSTMLanguageModel, TrainConfig, Trainer
from textgen.data import TrainingData
from textgen.windows import Window

SHAKESPEARE_GPU = {
    "hidden_size": 1024,
    "num_layers": 2,
    "dropout": 0.25,
    "lr": 2e-3,
    "batch_size": 64,
    "seq_len": 256,
}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def throughput(device: torch.device, layers: int, hidden: int, batch: int, bf16: bool, steps: int) -> float:
    """Characters a second through Trainer.train_step on random 65-character text."""
    seq_len, vocab = 128, 65
    tokenizer = CharTokenizer(["<eos>", "<unk>", *[chr(33 + i) for i in range(vocab - 2)]])
    text = ["".join(chr(33 + (i * 7 + j) % (vocab - 2)) for j in range(200)) for i in range(20)]
    data = TrainingData.from_split(tokenizer, text, text[:2])
    config = TrainConfig(
        hidden_size=hidden,
        num_layers=layers,
        dropout=0.0,
        batch_size=batch,
        seq_len=seq_len,
        device=str(device),
        bf16=bf16,
        eval_every=10**9,
    )
    trainer = Trainer(config, data)
    window = Window(torch.randint(0, vocab, (batch, seq_len)), torch.randint(0, vocab, (batch, seq_len)), True)
    state = None
    for _ in range(3):  # warm-up: cuDNN plans, allocator
        _, state = trainer.train_step(window, state)
    synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        _, state = trainer.train_step(Window(window.inputs, window.targets, False), state)
    synchronize(device)
    return batch * seq_len * steps / (time.perf_counter() - started)


def decode_latency(device: torch.device, streams: int, graph: bool, tokens: int) -> float:
    """Milliseconds per greedy token for `streams` streams of a 1 x 512 model."""
    torch.manual_seed(0)
    model = LSTMLanguageModel(LSTMConfig(vocab_size=100, embedding_dim=512, hidden_size=512)).to(device).eval()
    with torch.inference_mode():
        chosen = torch.zeros(streams, dtype=torch.long, device=device)
        h, c = model.initial_state(streams)

        def step():
            logits, (new_h, new_c) = model.step(chosen, (h, c))
            chosen.copy_(logits.argmax(-1))
            h.copy_(new_h)
            c.copy_(new_c)

        if graph:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    step()
            torch.cuda.current_stream().wait_stream(side)
            captured = torch.cuda.CUDAGraph()
            with torch.cuda.graph(captured):
                step()
            run = captured.replay
        else:
            run = step
        for _ in range(5):
            run()
        synchronize(device)
        started = time.perf_counter()
        for _ in range(tokens):
            run()
        synchronize(device)
        return 1000 * (time.perf_counter() - started) / tokens


def shakespeare(device: torch.device, minutes: float, smoke: bool) -> dict:
    """Held-out nats per character after `minutes` of training on nanoGPT's split."""
    data = shakespeare_data()
    settings = {"hidden_size": 64, "batch_size": 8, "seq_len": 32} if smoke else SHAKESPEARE_GPU
    config = TrainConfig(
        max_minutes=minutes, epochs=1000, patience=1000, sample_length=40, device=str(device), **settings
    )
    trainer = Trainer(config, data)
    for event in trainer.run():
        if hasattr(event, "val"):
            print(
                f"  step {event.step}, {event.elapsed:.0f} s: held-out {event.val.loss:.4f} nats/char", flush=True
            )
        if hasattr(event, "reason"):
            finished = event
    return {
        "config": {**settings, "dropout": trainer.config.dropout},
        "precision": "mixed (bf16, LSTM fp32)"
        if trainer.bf16 and device.type == "cuda"
        else ("bf16" if trainer.bf16 else "fp32"),
        "steps": finished.step,
        "training_seconds": round(finished.elapsed, 1),
        "held_out_nats_per_char": round(finished.best.loss, 4),
        "nanogpt_char_transformer_a100": 1.4697,
        "sample": (finished.model.info.samples or {}).get("0.5", "")[:200],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--smoke", action="store_true", help="seconds, not minutes: check the script on a CPU")
    parser.add_argument("--name", default="gpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = True  # fp32 matmuls on tensor cores (cuDNN's RNNs allow TF32 already)
    sizes = [(1, 32), (1, 64)] if args.smoke else [(1, 512), (2, 1024)]
    batches = [4] if args.smoke else [64, 256]
    steps = 2 if args.smoke else 30
    training = []
    for layers, hidden in sizes:
        for batch in batches:
            for bf16 in (False, True):
                if bf16 and device.type == "cpu" and not args.smoke:
                    continue
                chars = throughput(device, layers, hidden, batch, bf16, steps)
                row = {
                    "size": f"{layers} x {hidden}",
                    "batch": batch,
                    "precision": "mixed" if bf16 else "fp32",
                    "chars_per_second": round(chars),
                }
                print(row, flush=True)
                training.append(row)
    decoding = []
    for streams in (1, 64):
        for graph in (False, True) if device.type == "cuda" else (False,):
            ms = decode_latency(device, streams, graph, 20 if args.smoke else 500)
            row = {"streams": streams, "cuda_graph": graph, "ms_per_token": round(ms, 4)}
            print(row, flush=True)
            decoding.append(row)
    quality = (
        shakespeare(device, 0.05 if args.smoke else args.minutes, args.smoke) if SHAKESPEARE.exists() else None
    )
    print(quality, flush=True)
    report(
        args.name,
        {
            "command": "python bench/gpu_bench.py",
            "device": str(device),
            "training": training,
            "decoding": decoding,
            "tiny_shakespeare": quality,
        },
    )


if __name__ == "__main__":
    main()

"""Generation speed: the tutorial's window re-run vs textgen's stateful sampler, in one process.

    python bench/generation_speed.py [--model checkpoints/nyt-char] [--device cpu] [--repeats 3] [--threads N]

Task: 400 characters at each of the temperatures 0.2, 0.5, 1.0 and 1.2. The baseline writes them
one after another, re-running its 40-character window for every character; textgen writes all
four in one batched call, with fp32 weights and with the bf16 weights the app uses where the CPU
does bf16 natively. Also: per-token latency of one stream (1,000 tokens), and tokens per second for
64 streams of 300. Times are medians over --repeats runs.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time

import torch
from common import ROOT, report
from tutorial_baseline import TutorialLSTM, generate

from textgen import generate as textgen_generate
from textgen.hub import load_model

TEMPERATURES = [0.2, 0.5, 1.0, 1.2]
MANY, MANY_LENGTH = 64, 300  # 19,200 tokens: within one request's budget (MAX_TOKENS_PER_REQUEST)


_BUFFERS: dict[int, torch.Tensor] = {}


def read_once(size: int) -> None:
    """Read `size` bytes of memory once (a float32 sum), as a step reads the weights: the bound."""
    if size not in _BUFFERS:
        _BUFFERS[size] = torch.ones(size // 4)
    _BUFFERS[size].sum()


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "checkpoints" / "nyt-char"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--length", type=int, default=400)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (the app uses 1)")
    parser.add_argument("--name", default="generation_speed", help="results file name (bench/results/NAME.json)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    loaded = load_model(args.model, args.device)
    model, tokenizer = loaded.model, loaded.tokenizer
    seed_text = "the "
    # The baseline's speed does not depend on its weights: an untrained LSTM(128) of the same vocabulary.
    baseline = TutorialLSTM(len(tokenizer)).eval()
    seed_ids = [1] * 36 + tokenizer.encode(seed_text)
    generator = torch.Generator().manual_seed(0)

    def baseline_task():
        for temperature in TEMPERATURES:
            generate(baseline, seed_ids, args.length, temperature, generator)

    def textgen_task(decoding):
        textgen_generate(decoding, tokenizer, seed_text, temperature=TEMPERATURES, length=args.length, seed=0)

    def one_stream(decoding):
        textgen_generate(decoding, tokenizer, seed_text, temperature=1.0, length=1000, seed=0)

    def many_streams(decoding):
        textgen_generate(
            decoding, tokenizer, seed_text, temperature=1.0, length=MANY_LENGTH, num_samples=MANY, seed=0
        )

    baseline_seconds = median_seconds(baseline_task, max(1, args.repeats // 2))
    config = model.config
    results = {
        "command": "python bench/generation_speed.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "model": f"{config.num_layers} x LSTM({config.hidden_size}), vocab {config.vocab_size}",
        "threads": torch.get_num_threads(),
        "task": f"4 x {args.length} characters at temperatures {TEMPERATURES}",
        "baseline_seconds": round(baseline_seconds, 3),
    }
    # fp32, and the bf16 weights the app decodes with on a CPU with native bf16, in one process
    for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        decoding = model.for_decoding(dtype)
        weight_bytes = sum(p.numel() * p.element_size() for p in decoding.parameters())
        read_seconds = median_seconds(functools.partial(read_once, weight_bytes), 5 * args.repeats)
        textgen_task(decoding)  # warm-up: first-call allocations
        seconds = median_seconds(functools.partial(textgen_task, decoding), args.repeats)
        results[precision] = {
            "textgen_seconds": round(seconds, 4),
            "speedup": round(baseline_seconds / seconds, 1),
            # one_stream writes 1,000 tokens: its seconds are milliseconds per token
            "one_stream_ms_per_token": round(
                median_seconds(functools.partial(one_stream, decoding), args.repeats), 4
            ),
            f"{MANY}_streams_tokens_per_second": round(
                MANY * MANY_LENGTH / median_seconds(functools.partial(many_streams, decoding), args.repeats)
            ),
            # What bounds one stream: every weight is read once per token.
            "weight_mb_per_token": round(weight_bytes / 2**20, 2),
            "read_gb_per_s": round(weight_bytes / read_seconds / 1e9, 1),
            "read_bound_ms_per_token": round(1000 * read_seconds, 4),
        }
        print(precision, results[precision], flush=True)
    report(args.name, results)


if __name__ == "__main__":
    main()

"""Generation speed: the tutorial's window re-run vs textgen's stateful sampler, in one process.

    python bench/generation_speed.py [--model checkpoints/nyt-char] [--device cpu] [--repeats 3]

Task: 400 characters at each of the temperatures 0.2, 0.5, 1.0 and 1.2. The baseline writes them
one after another, re-running its 40-character window for every character; textgen writes all
four in one batched call. Also: per-token latency of one stream, and tokens per second for 64.
Times are medians over --repeats runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from common import ROOT, report
from tutorial_baseline import TutorialLSTM, generate

from textgen import generate as textgen_generate
from textgen.hub import load_model

TEMPERATURES = [0.2, 0.5, 1.0, 1.2]


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
    args = parser.parse_args(argv)

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

    def textgen_task():
        textgen_generate(model, tokenizer, seed_text, temperature=TEMPERATURES, length=args.length, seed=0)

    def one_stream():
        textgen_generate(model, tokenizer, seed_text, temperature=1.0, length=1000, seed=0)

    def many_streams():
        textgen_generate(model, tokenizer, seed_text, temperature=1.0, length=args.length, num_samples=64, seed=0)

    textgen_task()  # warm-up: first-call allocations
    baseline_seconds = median_seconds(baseline_task, max(1, args.repeats // 2))
    textgen_seconds = median_seconds(textgen_task, args.repeats)
    stream_seconds = median_seconds(one_stream, args.repeats)
    many_seconds = median_seconds(many_streams, args.repeats)
    config = model.config
    report(
        "generation_speed",
        {
            "command": f"python bench/generation_speed.py --model {args.model} --device {args.device}",
            "model": f"{config.num_layers} x LSTM({config.hidden_size}), vocab {config.vocab_size}",
            "task": f"4 x {args.length} characters at temperatures {TEMPERATURES}",
            "baseline_seconds": round(baseline_seconds, 3),
            "textgen_seconds": round(textgen_seconds, 4),
            "speedup": round(baseline_seconds / textgen_seconds, 1),
            "one_stream_ms_per_token": round(1000 * stream_seconds / 1000, 4),
            "64_streams_tokens_per_second": round(64 * args.length / many_seconds),
        },
    )


if __name__ == "__main__":
    main()

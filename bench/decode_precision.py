"""Cheaper weights for decoding: bf16 weights, or an int8 head (dynamic quantization), against fp32.

    python bench/decode_precision.py [--model checkpoints/nyt-char]

Decoding reads every weight once per step, so fewer weight bytes might mean faster steps. For each
variant, in one process: per-token latency of one stream (1,000 steps), tokens per second for 64
streams (400 steps), and the held-out bits per character on the NYT split (the change is the
cost). The LSTM cell itself cannot run int8 here (the one-step path calls torch.lstm_cell with
float weights), so the int8 variant quantizes the output head only.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from common import ROOT, nyt_split, report

from textgen import evaluate, load_folder


def variants(model: torch.nn.Module) -> dict[str, torch.nn.Module]:
    bf16 = copy.deepcopy(model).to(torch.bfloat16)
    int8_head = copy.deepcopy(model)
    int8_head.head = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(model.head), {torch.nn.Linear})[0]
    return {"fp32": model, "bf16 weights": bf16, "int8 head": int8_head}


@torch.inference_mode()
def steps_per_second(model, rows: int, steps: int) -> float:
    tokens = torch.zeros(rows, dtype=torch.long)
    dtype = model.embedding.weight.dtype
    state = tuple(s.to(dtype) for s in model.initial_state(rows))
    for _ in range(20):  # warm up
        logits, state = model.step(tokens, state)
    started = time.perf_counter()
    for _ in range(steps):
        logits, state = model.step(tokens, state)
        tokens = logits.float().argmax(-1)
    return steps / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "checkpoints" / "nyt-char"))
    args = parser.parse_args(argv)
    loaded = load_folder(args.model)
    _, val_docs = nyt_split()
    results = {}
    for name, model in variants(loaded.model.eval()).items():
        single = steps_per_second(model, 1, 1000)
        batch = steps_per_second(model, 64, 400)
        try:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=name == "bf16 weights"):
                bits = evaluate(model, loaded.tokenizer, val_docs).bits_per_char
        except RuntimeError as err:  # a CPU whose kernels cannot run it
            bits = f"not measured: {str(err).splitlines()[0][:80]}"
        results[name] = {
            "ms_per_token_one_stream": round(1000 / single, 3),
            "tokens_per_s_64_streams": round(64 * batch),
            "held_out_bits_per_char": bits if isinstance(bits, str) else round(bits, 4),
        }
        print(name, results[name], flush=True)
    report("decode_precision", {"command": "python bench/decode_precision.py", "model": args.model, **results})


if __name__ == "__main__":
    main()

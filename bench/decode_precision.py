"""Cheaper weights for decoding: bf16 weights, or int8 (dynamic quantization), against fp32.

    python bench/decode_precision.py [--model checkpoints/nyt-char] [--threads 1]

Decoding reads every weight once per step, so fewer weight bytes might mean faster steps. For each
variant, in one process: per-token latency of one stream (1,000 steps), tokens per second for 64
streams (400 steps), and the held-out bits per character on the NYT split scored through the same
one-token steps that sampling takes (teacher-forced, every document from the zero state), so the
cost is measured on the path users get. fp32 and bf16 step through `model.step` (torch.lstm_cell);
int8 is `quantize_dynamic` over nn.LSTM and the head, stepped through nn.LSTM one token at a time
(the quantized LSTM has no fused one-step cell). `--threads 1` is what the app uses. Also: whether
a stream's logits stay the same when it is stepped among 63 others (the engine's promise that a
seeded request writes the same text alone or in a crowd).
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from common import ROOT, nyt_split, report

from textgen import load_folder
from textgen.device import native_bf16
from textgen.metrics import count_characters


class Int8Stepper:
    """The model with int8 dynamic quantization, offering `step` like LSTMLanguageModel."""

    def __init__(self, model):
        with warnings.catch_warnings():  # torch.ao.quantization is deprecated, still the one int8 LSTM
            warnings.simplefilter("ignore")
            self.net = torch.ao.quantization.quantize_dynamic(
                copy.deepcopy(model), {torch.nn.LSTM, torch.nn.Linear}, dtype=torch.qint8
            )
        self.config = model.config

    def initial_state(self, rows: int):
        shape = (self.config.num_layers, rows, self.config.hidden_size)
        return torch.zeros(shape), torch.zeros(shape)

    def step(self, tokens, state):
        output, state = self.net.lstm(self.net.embedding(tokens).unsqueeze(1), state)
        return self.net.head(output[:, 0]), state


def variants(model) -> dict:
    return {"fp32": model, "bf16 weights": model.for_decoding(torch.bfloat16), "int8 dynamic": Int8Stepper(model)}


def start_state(model, rows: int):
    dtype = getattr(model, "embedding", None)
    dtype = dtype.weight.dtype if dtype is not None else torch.float32
    return tuple(s.to(dtype) for s in model.initial_state(rows))


@torch.inference_mode()
def seconds_per_step(model, rows: int, steps: int) -> float:
    tokens = torch.zeros(rows, dtype=torch.long)
    state = start_state(model, rows)
    for _ in range(20):  # warm up
        logits, state = model.step(tokens, state)
    started = time.perf_counter()
    for _ in range(steps):
        logits, state = model.step(tokens, state)
        tokens = logits.float().argmax(-1)
    return (time.perf_counter() - started) / steps


@torch.inference_mode()
def batch_dependence(model, rows: int = 64, steps: int = 50) -> float:
    """How far one stream's logits move when it is stepped among `rows - 1` others instead of alone
    (the largest difference over `steps` steps): 0 means a seeded request writes the same text
    in a crowd. Dynamic int8 quantization scales the activations of the whole batch at once."""
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, model.config.vocab_size, (steps, rows), generator=generator)
    alone, crowd = start_state(model, 1), start_state(model, rows)
    largest = 0.0
    for t in range(steps):
        logits_alone, alone = model.step(tokens[t, :1], alone)
        logits_crowd, crowd = model.step(tokens[t], crowd)
        largest = max(largest, (logits_alone.float() - logits_crowd[:1].float()).abs().max().item())
    return largest


@torch.inference_mode()
def stepped_bits_per_char(model, tokenizer, documents: list[str], rows: int = 64) -> float:
    """Held-out bits per character, one token step at a time as sampling reads (char models)."""
    total = 0.0
    for start in range(0, len(documents), rows):
        ids = [
            [tokenizer.eos_id, *tokenizer.encode(doc), tokenizer.eos_id] for doc in documents[start : start + rows]
        ]
        targets = torch.full((len(ids), max(map(len, ids))), -100)
        for row, doc_ids in enumerate(ids):
            targets[row, : len(doc_ids)] = torch.tensor(doc_ids)
        state = start_state(model, len(ids))
        for t in range(targets.size(1) - 1):
            logits, state = model.step(targets[:, t].clamp(min=0), state)
            total += F.cross_entropy(logits.float(), targets[:, t + 1], reduction="sum").item()
    return total / math.log(2) / count_characters(documents)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "checkpoints" / "nyt-char"))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the app uses 1)")
    parser.add_argument("--name", default="decode_precision", help="results file name (bench/results/NAME.json)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    loaded = load_folder(args.model)
    if loaded.tokenizer.level != "char":
        parser.error("the held-out scoring here steps a char model; pass a char model")
    _, val_docs = nyt_split()
    results = {}
    for name, model in variants(loaded.model.eval()).items():
        results[name] = {
            "ms_per_token_one_stream": round(1000 * seconds_per_step(model, 1, 1000), 3),
            "tokens_per_s_64_streams": round(64 / seconds_per_step(model, 64, 400)),
            "held_out_bits_per_char": round(stepped_bits_per_char(model, loaded.tokenizer, val_docs), 5),
            "largest_logit_change_in_a_batch_of_64": batch_dependence(model),
        }
        print(name, results[name], flush=True)
    fp32 = results["fp32"]
    for row in results.values():  # ratio > 1: faster than fp32; the bits are the cost
        row["one_stream_speedup"] = round(fp32["ms_per_token_one_stream"] / row["ms_per_token_one_stream"], 2)
        row["64_streams_speedup"] = round(row["tokens_per_s_64_streams"] / fp32["tokens_per_s_64_streams"], 2)
        row["bits_per_char_change"] = round(row["held_out_bits_per_char"] - fp32["held_out_bits_per_char"], 5)
    report(
        args.name,
        {
            "command": "python bench/decode_precision.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "model": Path(args.model).name,
            "threads": args.threads,
            "isa_caps": {
                k: os.environ[k] for k in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY") if k in os.environ
            },
            "native_bf16": native_bf16(torch.device("cpu")),
            **results,
        },
    )


if __name__ == "__main__":
    main()

"""What the heap keeps while scoring held-out documents of many lengths, and what it costs to keep less.

    python bench/heap.py [--megabytes 10] [--documents 20000] [--folder DIR] [--name heap]

Scores a fixed sample of held-out documents of a corpus built as bench/scale.py builds them (a
randomly initialised 1 x 256 model: memory and time do not depend on the weights), each way in a
fresh process: as textgen does (windows of 32 rows x 64 columns, a run's own shapes at the
defaults; freed memory given back once, before scoring), also every 64 groups (this script wraps
the scoring loop's per-group `select`), with a fixed mmap threshold (`MALLOC_MMAP_THRESHOLD_`, the
other way to keep the heap from holding freed memory), and in windows of 16 x 256 (scoring's shapes
before: of its own, not training's). Reports the growth of peak RSS while scoring and the time,
against the first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, report
from scale import build_corpus

TEXTGEN = "textgen: freed memory given back before scoring"
EVERY_64 = "and every 64 groups"
WIDE = "in 16 x 256 windows (scoring's shapes before)"
VARIANTS = {  # the environment of each variant's process
    TEXTGEN: {},
    EVERY_64: {},
    "a fixed mmap threshold (128 KB) instead": {"MALLOC_MMAP_THRESHOLD_": "131072"},
    WIDE: {},
}


def peak_and_rss() -> tuple[int, int]:
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmHWM", "VmRSS")):
                key, value = line.split(":")
                values[key] = int(value.split()[0]) // 1024
    return values["VmHWM"], values["VmRSS"]


def score_once(corpus: Path, cache: Path, documents: int, variant: str) -> dict:
    """In this process: prepare the corpus, score the sample, report memory and time."""
    import numpy as np
    import torch

    import textgen.metrics
    from textgen import TrainConfig, prepare_data, stream_corpus
    from textgen.device import native_bf16, resolve_device
    from textgen.memory import release_free_memory
    from textgen.training import build_model

    config = TrainConfig(hidden_size=256, dropout=0.0)
    data = prepare_data(stream_corpus(str(corpus)), config, cache_dir=cache)
    torch.manual_seed(0)  # the same weights in every process
    model = build_model(config, len(data.tokenizer))
    index = np.sort(np.random.default_rng(0).choice(data.val.num_documents, documents, replace=False))
    sample = data.val.subset(index)
    if variant == EVERY_64:  # give memory back every 64 groups too: document_nats selects each group once
        select, calls = textgen.metrics.select, [0]

        def select_and_release(*args):
            calls[0] += 1
            if calls[0] % 64 == 0:
                release_free_memory()
            return select(*args)

        textgen.metrics.select = select_and_release
    rows, columns = (16, 256) if variant == WIDE else (config.batch_size, config.seq_len)
    release_free_memory()
    _, before = peak_and_rss()
    started = time.perf_counter()
    bf16 = native_bf16(resolve_device("cpu"))
    metrics = textgen.metrics.score(model, sample, batch_size=rows, bf16=bf16, seq_len=columns)
    seconds = time.perf_counter() - started
    peak, after = peak_and_rss()
    return {
        "seconds": round(seconds, 2),
        "peak_growth_mb": peak - before,
        "rss_growth_mb": after - before,
        "rows_x_columns": f"{rows} x {columns}",
        "bits_per_char": metrics.bits_per_char,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=10)
    parser.add_argument("--documents", type=int, default=20_000, help="held-out documents scored")
    parser.add_argument("--folder", type=Path, help="where the corpus is built (default: a temporary folder)")
    parser.add_argument("--name", default="heap", help="results file name (bench/results/NAME.json)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one variant in this process
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        corpus, cache = build_corpus(args.megabytes, folder), folder / f"tokens-{args.megabytes:g}"
        if args.one is not None:
            print(json.dumps(score_once(corpus, cache, args.documents, args.one)))
            return
        results = []
        for variant, env in VARIANTS.items():
            command = [
                sys.executable,
                __file__,
                "--megabytes",
                str(args.megabytes),
                "--documents",
                str(args.documents),
                "--folder",
                str(folder),
                "--one",
                variant,
            ]
            output = subprocess.run(
                command, env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
            results.append({"variant": variant, **json.loads(output.strip().splitlines()[-1])})
            base = results[0]
            results[-1]["time_ratio"] = round(results[-1]["seconds"] / base["seconds"], 2)
            print(json.dumps(results[-1]), flush=True)
    command = "python bench/heap.py " + " ".join(argv if argv is not None else sys.argv[1:])
    report(args.name, {"command": command, "runs": results})


if __name__ == "__main__":
    main()

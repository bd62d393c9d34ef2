"""Starting from a base model against starting from nothing: one minute on a small upload.

    python bench/start_from.py --base checkpoints/english-char [OTHER_BASE ...] \\
        --upload ../shared/corpora/quotes_cp1252.json --sample-bytes 40000 [--lrs 0.002 0.005 0.01] [--minutes 1]

The upload is text the base never saw. Every run uses the app's settings for a one-minute run
("auto" size, early stopping) on the same split of the upload; the base runs use its architecture
and vocabulary (grown for the upload) at each fine-tuning learning rate. Reports held-out bits per
character, the unigram baseline, steps and one sample.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import replace

from common import report

from textgen import Finished, SamplingSettings, Trainer, generate, load_corpus, load_folder, prepare_data
from textgen.finetune import fine_tune_setup
from textgen.registry import app_train_config


def one_run(documents, minutes: float, base=None, lr: float | None = None, name: str = "base") -> dict:
    config = app_train_config("char", "auto", minutes)
    model = None
    if base is not None:
        config, data, model = fine_tune_setup(base, documents, replace(config, lr=lr))
    else:
        data = prepare_data(documents, config)
    trainer = Trainer(config, data, model=model)
    finished = next(e for e in trainer.run() if isinstance(e, Finished))
    sample = generate(
        trainer.model,
        data.tokenizer,
        "",
        SamplingSettings.of(temperature=0.5, length=120, stop_at_eos=True, seed=1),
    )[0]
    return {
        "start": "scratch" if base is None else f"{name}, lr {lr:g}",
        "size": f"1 x {trainer.model.config.hidden_size}, dropout {trainer.model.config.dropout:g}",
        "steps": finished.step,
        "stopped": finished.reason,
        "held_out_bits_per_char": round(finished.best.bits_per_char, 4),
        "unigram_bits_per_char": round(finished.unigram.bits_per_char, 4),
        "sample": sample.strip(),
    }


def sample_bytes(documents: list[str], wanted: int) -> list[str]:
    """Documents in a seed-0 shuffled order until they reach `wanted` bytes (one per line in a file)."""
    shuffled = list(documents)
    random.Random(0).shuffle(shuffled)
    chosen, size = [], 0
    for doc in shuffled:
        chosen.append(doc)
        size += len(doc.encode("utf-8")) + 1
        if size >= wanted:
            break
    return chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, nargs="+", help="one base model folder, or several to compare")
    parser.add_argument("--upload", required=True, help="a corpus file the base never saw")
    parser.add_argument("--lrs", type=float, nargs="+", default=[0.002, 0.005, 0.01])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument(
        "--sample-bytes",
        type=int,
        help="use a sample of the upload: its documents shuffled with seed 0, taken until this many UTF-8 bytes",
    )
    parser.add_argument("--name", default="start_from")
    args = parser.parse_args(argv)
    documents = load_corpus(args.upload).documents
    if args.sample_bytes:
        documents = sample_bytes(documents, args.sample_bytes)
    runs = [one_run(documents, args.minutes)]
    print(json.dumps(runs[-1], ensure_ascii=False), flush=True)
    for folder in args.base:
        base = load_folder(folder)
        for lr in args.lrs:
            name = "base" if len(args.base) == 1 else folder
            runs.append(one_run(documents, args.minutes, base, lr, name))
            print(json.dumps(runs[-1], ensure_ascii=False), flush=True)
    report(
        args.name,
        {
            "command": "python bench/start_from.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "base": args.base,
            "upload": args.upload,
            "documents": len(documents),
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()

"""The tuning sweep behind textgen's defaults: seconds of training to a target held-out loss.

    python bench/sweep.py '{"lr": 0.01}' '{"lr": 0.02, "dropout": 0.0, "warmup_steps": 20}' --budget 15
    python bench/sweep.py --corpus shakespeare '{"grad_clip": 1.0}' '{}' --budget 90 --target 1.7
    python bench/sweep.py --corpus ../shared/corpora/saying_cp949.txt '{"hidden_size": 128}' --budget 60

Each JSON object overrides TrainConfig fields: over textgen's defaults on the lowercased NYT
headlines (as the tutorials train), over bench/quality.py's 2 x 512 model on tiny Shakespeare
(nanoGPT's split), or over textgen's defaults on any corpus file as train.py reads it (split by
document, seed 0; `--level word` for words).
Prints, per configuration: steps, the best held-out loss and when the target was first reached.
Run one sweep at a time: two torch processes on 2 cores distort each other's times badly.
"""

from __future__ import annotations

import argparse
import json

from common import SHAKESPEARE_CONFIG, nyt_training_data, shakespeare_data

from textgen import Evaluation, TrainConfig, Trainer, load_corpus, prepare_data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="+", help="JSON objects of TrainConfig overrides")
    parser.add_argument("--corpus", default="nyt", help="nyt, shakespeare, or a corpus file")
    parser.add_argument("--level", choices=("char", "word"), default="char", help="for a corpus file")
    parser.add_argument("--budget", type=float, default=15, help="training seconds per configuration")
    parser.add_argument("--target", type=float, default=1.88, help="held-out nats/char to reach")
    args = parser.parse_args(argv)
    nyt = args.corpus == "nyt"
    shakespeare = shakespeare_data() if args.corpus == "shakespeare" else None  # the same for every run
    documents = None if nyt or shakespeare else load_corpus(args.corpus).documents
    base = {"lowercase": True} if nyt else SHAKESPEARE_CONFIG if shakespeare else {"level": args.level}
    for overrides in map(json.loads, args.configs):
        config = TrainConfig(
            **{
                **base,
                "epochs": 1000,
                "eval_every": 25,
                "patience": 1000,
                "sample_length": 1,
                "max_minutes": args.budget / 60,
                **overrides,
            }
        )
        if documents is not None:
            data = prepare_data(documents, config)
        else:
            data = nyt_training_data(config) if nyt else shakespeare
        trainer = Trainer(config, data)
        best, best_bits, reached = float("inf"), float("inf"), None
        for event in trainer.run():
            if isinstance(event, Evaluation):
                if event.val.loss < best:
                    best, best_bits = event.val.loss, event.val.bits_per_char
                if reached is None and event.val.loss <= args.target:
                    reached = round(event.elapsed, 1)
        print(
            json.dumps(
                {
                    "overrides": overrides,
                    "steps": trainer.state.step,
                    "best": round(best, 4),
                    "best_bits_per_char": round(best_bits, 4),
                    "unigram_bits_per_char": round(trainer.unigram.bits_per_char, 4),
                    "seconds_to_target": reached,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

"""The small-data regularisers, each on its own and all together, at the page's settings.

    python bench/regularize.py [--settings quotes-1 shakespeare-2 nyt-word-2] [--variants base all ...]

Every run is the app's run ("auto" size and dropout, early stopping) on a corpus and a time budget.
"base" has every regulariser off; each variant adds one piece of AWD-LSTM's pack (Merity et al.
2017) to it: DropConnect on the recurrent weights, embedding dropout, locked (variational) dropout,
activation regularisation (AR/TAR), more weight decay, and evaluating and keeping an exponential
moving average of the weights; "all" adds every one; "defaults" is what textgen/sizing.py chooses.
Reports held-out bits per character on the whole held-out split, the steps and the stop reason, per
(setting, variant), variants in one process one after another.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import replace
from pathlib import Path

from common import SHAKESPEARE, report

from textgen import Finished, Trainer, load_corpus, prepare_data
from textgen.config import PACK_OFF
from textgen.corpus import nyt_headlines
from textgen.registry import app_train_config

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
VARIANTS = {
    "defaults": None,  # what sizing.py chooses for this corpus and budget
    "base": {},
    "weight drop 0.3": {"weight_drop": 0.3},
    "embedding dropout 0.1": {"embedding_dropout": 0.1},
    "locked dropout": {"locked_dropout": True},
    "AR 2, TAR 1": {"activation_reg": 2.0, "temporal_reg": 1.0},
    "weight decay 0.1": {"weight_decay": 0.1},
    "EMA 0.99": {"ema": 0.99},
    "all": {
        "weight_drop": 0.3,
        "embedding_dropout": 0.1,
        "locked_dropout": True,
        "activation_reg": 2.0,
        "temporal_reg": 1.0,
        "weight_decay": 0.1,
        "ema": 0.99,
    },
}


def corpus(name: str) -> tuple[list[str], str]:
    """(documents, level) of a named setting's corpus."""
    if name == "quotes":  # 40 KB of English quotes (cp1252 JSON), shuffled with seed 0
        documents = load_corpus(str(CORPORA / "quotes_cp1252.json")).documents
        random.Random(0).shuffle(documents)
        chosen, size = [], 0
        for doc in documents:
            chosen.append(doc)
            size += len(doc.encode("utf-8")) + 1
            if size >= 40_000:
                break
        return chosen, "char"
    if name == "sayings":
        return load_corpus(str(CORPORA / "saying_cp949.txt")).documents, "char"
    if name == "shakespeare":
        return load_corpus(str(SHAKESPEARE)).documents, "char"
    if name == "nyt-word":
        return nyt_headlines(CORPORA / "nyt"), "word"
    if name == "nyt":
        return nyt_headlines(CORPORA / "nyt"), "char"
    raise ValueError(name)


def one_run(documents: list[str], level: str, minutes: float, settings: dict | None, seed: int = 0) -> dict:
    """One page run; `settings` on top of the regularisers switched off, or None for sizing's choice."""
    config = replace(app_train_config(level, "auto", minutes), seed=seed, **({} if settings is None else PACK_OFF))
    config = replace(config, **(settings or {}))
    trainer = Trainer(config, prepare_data(documents, config))
    finished = next(e for e in trainer.run() if isinstance(e, Finished))
    chosen = trainer.config
    return {
        "held_out_bits_per_char": round(finished.best.bits_per_char, 4),
        "steps": finished.step,
        "best_step": finished.best_step,
        "stopped": finished.reason,
        "size": f"{chosen.num_layers} x {chosen.hidden_size}, dropout {chosen.dropout:g}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="+", default=["quotes-1", "sayings-1", "shakespeare-2", "nyt-word-2"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="each run once per seed")
    parser.add_argument("--name", default="regularize")
    args = parser.parse_args()
    results = []
    for setting in args.settings:
        name, minutes = setting.rsplit("-", 1)
        documents, level = corpus(name)
        for seed in args.seeds:
            for variant in args.variants:
                row = {"corpus": name, "level": level, "minutes": float(minutes), "variant": variant, "seed": seed}
                row.update(one_run(documents, level, float(minutes), VARIANTS[variant], seed))
                print(row, flush=True)
                results.append(row)
    report(args.name, {"command": "python bench/regularize.py " + " ".join(sys.argv[1:]), "runs": results})


if __name__ == "__main__":
    main()

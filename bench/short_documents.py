"""Short documents: does a longer budget give a better model, and does a run stop for a reason?

    python bench/short_documents.py --names PATH/dist.all.last [--first-names PATH]
        [--words /usr/share/dict/american-english]
        [--minutes 2 5 5] [--seeds 0] [--baseline DIR ...] [--name short_documents]

Corpora a user would bring as they come, none written by us:
- names: the first 32,000 US census surnames, lowercased, one per line (median 6 characters), from
  the `names` package on PyPI (`pip download --no-deps names`, MIT; its `names/dist.all.last` holds
  the name in the first column of each line);
- first names: the same package's female and male first names (`dist.female.first`,
  `dist.male.first`: 5,163 distinct names, median 6 characters), lowercased, one per line: a small
  corpus that a run reads many times over;
- words: a Debian word list (`apt-get install wamerican`: /usr/share/dict/american-english, 104,334
  words, median 8 characters), as it is.

Each run is the command a user types, `python train.py --corpus FILE --level char --max-minutes M
--seed S`, in its own process, for every checkout (each `--baseline` first, then this one) and
every budget in `--minutes` (a budget given twice runs twice: the same command on a quiet machine).
Reports per run: why it stopped, training seconds, steps, best step, held-out nats/char on the whole
held-out split (about 3,200 names / 10,400 words) and the evaluations' held-out losses.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, report, root_label

NAMES = 32_000
EVALUATION = re.compile(r"^step (\d+): val loss ([0-9.]+),")


def names_corpus(census: Path, out: Path) -> Path:
    """The census surnames' first column, lowercased, one per line (as makemore's names.txt is)."""
    names = [line.split()[0].lower() for line in census.read_text().splitlines() if line.strip()][:NAMES]
    out.write_text("\n".join(names) + "\n", encoding="utf-8")
    return out


def first_names_corpus(folder: Path, out: Path) -> Path:
    """The census first names (female, then male), lowercased, each once, one per line."""
    lines = [
        *(folder / "dist.female.first").read_text().splitlines(),
        *(folder / "dist.male.first").read_text().splitlines(),
    ]
    names = list(dict.fromkeys(line.split()[0].lower() for line in lines if line.strip()))
    out.write_text("\n".join(names) + "\n", encoding="utf-8")
    return out


def one_run(root: Path, corpus: Path, minutes: float, seed: int, scratch: Path, extra: list[str]) -> dict:
    out = scratch / f"run-{root.name}-{corpus.stem}-{minutes}-{seed}"
    command = [
        sys.executable, "train.py", "--corpus", str(corpus), "--level", "char", "--max-minutes", str(minutes),
        "--seed", str(seed), "--out", str(out), "--overwrite", *extra,
    ]  # fmt: skip
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=60 * minutes + 600)
    if done.returncode:
        raise RuntimeError(f"train.py failed: {done.stderr[-2000:]}")
    info = json.loads((out / "training.json").read_text())
    curve = [(int(m[1]), float(m[2])) for m in map(EVALUATION.match, done.stdout.splitlines()) if m]
    nats_per_char = info["metrics"]["bits_per_char"] * math.log(2)
    return {
        "minutes": minutes,
        "seed": seed,
        "hidden_size": info["train_config"]["hidden_size"],
        "dropout": info["train_config"]["dropout"],
        "stopped_because": info["stopped_because"],
        "training_seconds": info["training_seconds"],
        "steps": info["step"],
        "best_step": info["best_step"],
        "held_out_nats_per_char": round(nats_per_char, 4),
        "held_out_bits_per_char": round(info["metrics"]["bits_per_char"], 4),
        "evaluations": curve,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=Path, help="the names package's dist.all.last")
    parser.add_argument("--first-names", type=Path, help="the names package's folder (its dist.*.first)")
    parser.add_argument("--words", type=Path, help="a word list, one word per line")
    parser.add_argument("--minutes", type=float, nargs="+", default=[2, 5, 5])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--train-args", default="", help="more train.py flags for every run, e.g. '--hidden-size 256'"
    )
    parser.add_argument("--baseline", type=Path, nargs="*", default=[], help="other checkouts, run first")
    parser.add_argument("--name", default="short_documents", help="results file name (bench/results/NAME.json)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        corpora = []
        if args.names:
            corpora.append(names_corpus(args.names, scratch / "names.txt"))
        if args.first_names:
            corpora.append(first_names_corpus(args.first_names, scratch / "first-names.txt"))
        if args.words:
            corpora.append(args.words)
        if not corpora:
            parser.error("give --names, --first-names or --words")
        results = []
        for root in [*args.baseline, ROOT]:
            for corpus in corpora:
                for minutes in args.minutes:
                    for seed in args.seeds:
                        run = one_run(root, corpus, minutes, seed, scratch, args.train_args.split())
                        run |= {"checkout": root_label(root), "corpus": corpus.stem}
                        print(json.dumps({k: v for k, v in run.items() if k != "evaluations"}), flush=True)
                        results.append(run)
    command = "python bench/short_documents.py " + " ".join(argv or sys.argv[1:])
    report(args.name, {"command": command, "runs": results, "minutes": args.minutes, "seeds": args.seeds})


if __name__ == "__main__":
    main()

"""The data path against another checkout's: the same split, tokens, pieces, seeded plans and windows.

    python bench/data_path_check.py --baseline ../baseline     # a git worktree of the older code

Runs this script once per checkout (each in its own process, with that checkout's textgen first on
the path), on random corpora of short and long documents at three piece sizes, and compares a digest
of everything the data path hands to training: which documents are held out, each split's tokens
and document starts, the pieces, two epochs' seeded group plans, the first epoch's windows, and the
evaluation samples. Prints one line per corpus and exits 1 on the first difference.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PIECE_SIZES = (None, 7, 64)


def corpus(seed: int) -> list[str]:
    """Random documents: mostly short, some far longer than a piece, over a small alphabet."""
    rng = np.random.default_rng(seed)
    alphabet = list("abcdefgh ijklmn,.서울\n")
    count = int(rng.integers(20, 400))  # fewer are split by stretches of text, on purpose not as before
    lengths = rng.integers(1, [20, 200, 3000][seed % 3], count)
    return ["".join(rng.choice(alphabet, int(n))).strip() or "x" for n in lengths]


def digest(*arrays) -> str:
    h = hashlib.sha256()
    for array in arrays:
        h.update(np.ascontiguousarray(np.asarray(array, dtype=np.int64)).tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


def groups_of(plan) -> list[list[int]]:
    return [np.asarray(group).tolist() for group in plan]


def describe(seed: int) -> dict:
    """Everything the data path gives training for corpus `seed`, as digests (this checkout's code)."""
    import importlib
    import types

    from textgen import TextgenError, TrainConfig, prepare_data
    from textgen.data import sample_indices

    try:  # the data path's modules (batches.py in checkouts up to cb4ccfc)
        parts = [importlib.import_module("textgen.tokens"), importlib.import_module("textgen.windows")]
    except ModuleNotFoundError:
        parts = [importlib.import_module("textgen.batches")]
    batches = types.SimpleNamespace(
        **{k: v for part in parts for k, v in vars(part).items() if not k.startswith("_")}
    )
    documents = corpus(seed)
    config = TrainConfig(level="char", batch_size=4, seq_len=16, seed=seed % 5)
    try:
        data = prepare_data(documents, config)
    except TextgenError as err:  # both must refuse it the same way
        return {"refused": str(err)}
    out = {"held_out": digest(batches.held_out_mask(len(documents), 0.1, config.seed))}
    for name in ("train", "val"):
        stream = getattr(data, name).stream
        out[name] = digest(np.asarray(stream.tokens[: len(stream.tokens)]), np.asarray(stream.starts))
    out["samples"] = digest(sample_indices(data.val.sizes(), 300, config.seed))
    stream = data.train.stream
    for max_piece in PIECE_SIZES:
        table = batches.pieces(stream, max_piece)
        count = len(table.lengths)
        offsets = table.offsets(np.arange(count)) if callable(table.offsets) else table.offsets
        lengths = np.asarray(table.lengths[np.arange(count)])
        plans = [
            batches.plan_groups(lengths, 64, config.seq_len, np.random.default_rng([config.seed, epoch]))
            for epoch in range(2)
        ]
        windows = []
        for group in plans[0]:
            chosen = batches.Pieces(offsets[group], lengths[group])
            for window in batches.group_windows(stream, chosen, config.seq_len, 0):
                windows.append(digest(window.inputs.numpy(), window.targets.numpy(), [window.fresh]))
        out[f"pieces {max_piece}"] = digest(offsets, lengths)
        out[f"plans {max_piece}"] = [
            digest(list(itertools.chain(*groups_of(plan))), [len(g) for g in plan]) for plan in plans
        ]
        out[f"windows {max_piece}"] = digest([int(w, 16) % 2**62 for w in windows])
        out[f"steps {max_piece}"] = plans[0].num_windows(config.seq_len)
    return out


def run(checkout: Path, corpora: int) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    command = [sys.executable, __file__, "--describe", str(corpora)]
    output = subprocess.run(command, env=env, cwd=checkout, capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in output.splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="the other checkout")
    parser.add_argument("--corpora", type=int, default=60)
    parser.add_argument("--describe", type=int, help=argparse.SUPPRESS)  # inside one checkout's process
    args = parser.parse_args()
    if args.describe is not None:
        for seed in range(args.describe):
            print(json.dumps(describe(seed)), flush=True)
        return
    theirs, ours = run(args.baseline.resolve(), args.corpora), run(ROOT, args.corpora)
    for seed, (a, b) in enumerate(zip(theirs, ours)):
        differ = sorted(key for key in a if a[key] != b.get(key))
        print(f"corpus {seed}: {len(corpus(seed))} documents, " + ("same" if not differ else f"DIFFER: {differ}"))
        if differ:
            sys.exit(1)
    print(f"{len(ours)} corpora x {len(PIECE_SIZES)} piece sizes: identical")


if __name__ == "__main__":
    main()

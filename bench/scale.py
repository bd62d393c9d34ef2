"""Cost against corpus size: tokenization, memory, step time, evaluation time, whole-process time.

    python bench/scale.py [--sizes 1 10 100 1024] [--budget 30] [--processes 1 2] [--folder DIR]
                          [--baseline CHECKOUT [--pairs N]]

Builds corpora of the given sizes in MB (tiny Shakespeare and Nietzsche, repeated to size), then
for each runs `train.py --corpus FILE --max-minutes BUDGET/60` as a fresh process: once with an
empty token cache (cold), then with the cache that run filled (warm), alone and as 2 processes
under torchrun. Reports: whole-process wall time, peak resident memory (the largest single
process; and, sampled from /proc, its private part and the token files' mapped pages apart),
tokenizing speed (MB/s; for a warm run, the time to find the entry by the files' digest), the
median training step, the time periodic evaluations took against training time, and the final
whole-held-out evaluation. `--folder` keeps the corpora (and their caches) between runs.
The timings inside a run come from train.py's own per-step and per-evaluation log (TEXTGEN_TIMINGS).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, report, root_label

from textgen.distributed import launch_command

SHARED = ROOT.parent / "shared" / "corpora"


def build_corpus(megabytes: float, folder: Path) -> Path:
    """Shared text repeated to `megabytes` MB, cut at a paragraph boundary."""
    path = folder / f"corpus-{megabytes:g}mb.txt"
    if path.exists():
        return path
    pieces = [(SHARED / name).read_text(encoding="utf-8") for name in ("tinyshakespeare.txt", "nietzsche.txt")]
    unit = "\n\n".join(pieces).encode("utf-8")
    wanted = int(megabytes * 2**20)
    with open(path, "wb") as out:
        written = 0
        while written < wanted:
            chunk = unit[: wanted - written]
            out.write(chunk + b"\n\n")
            written += len(chunk) + 2
    return path


def train_run(root: Path, corpus: Path, budget: float, out: Path, cache: Path) -> tuple[list[str], dict]:
    """train.py's arguments and environment for a run of `budget` seconds that logs its timings."""
    train = [str(root / "train.py"), "--corpus", str(corpus), "--out", str(out), "--overwrite"]
    train += ["--max-minutes", f"{budget / 60:g}", "--hidden-size", "256", "--dropout", "0"]
    return train, {**os.environ, "TEXTGEN_TIMINGS": "1", "TQDM_DISABLE": "1", "TEXTGEN_TOKEN_CACHE": str(cache)}


def run(corpus: Path, budget: float, processes: int, out: Path, cache: Path, root: Path = ROOT) -> dict:
    train, env = train_run(root, corpus, budget, out, cache)
    if processes > 1:
        command = launch_command(processes, train)
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 2) // processes))
    else:
        command = [sys.executable, *train]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=stdout, stderr=stderr, text=True)
        peaks = {"RssAnon": 0, "RssFile": 0}
        sampling = threading.Thread(target=sample_peaks, args=(process.pid, peaks), daemon=True)
        sampling.start()
        # wait4 gives this run's own peak (RUSAGE_CHILDREN would keep the largest of all runs so far);
        # it covers the process and the descendants it waited for (torchrun's workers).
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0), stderr.seek(0)
        output, errors = stdout.read(), stderr.read()
    wall = time.perf_counter() - started
    peak = usage.ru_maxrss / 1024  # MB (Linux reports KB)
    if process.returncode != 0:
        return {"error": errors[-500:], "wall_s": round(wall, 1)}
    timings = [json.loads(line[len("timing ") :]) for line in output.splitlines() if line.startswith("timing ")]
    steps = [t["seconds"] for t in timings if t["kind"] == "step"]
    evaluations = [t["seconds"] for t in timings if t["kind"] == "evaluation"]
    final = [t["seconds"] for t in timings if t["kind"] == "final evaluation"]
    prepared = next(t for t in timings if t["kind"] == "prepare")
    tokenized = next((t for t in timings if t["kind"] == "tokenize"), prepared)  # older train.py: prepare only
    mb = corpus.stat().st_size / 2**20
    return {
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(peak),
        # of which: private memory, and clean pages of the memory-mapped token files (page cache)
        "peak_anonymous_mb": round(peaks["RssAnon"] / 1024),
        "peak_file_backed_mb": round(peaks["RssFile"] / 1024),
        # reading and tokenizing (cold), or finding the cache entry by the files' digest (warm)
        "tokenize_s": round(tokenized["seconds"], 1),
        "tokenize_mb_per_s": round(mb / tokenized["seconds"], 1),
        "prepare_s": round(prepared["seconds"], 1),  # tokenizing and setting up the run
        "median_step_ms": round(1000 * statistics.median(steps), 1) if steps else None,
        "steps": len(steps),
        "evaluation_s": round(sum(evaluations), 1),
        "evaluation_share_of_training": round(sum(evaluations) / max(sum(steps), 1e-9), 3),
        "final_evaluation_s": round(sum(final), 1),
        "last_line": re.sub(r"\s+", " ", output.strip().splitlines()[-1])[:160],
    }


def tokenize_and_train(corpus: Path, root: Path, cache: Path, budget: float) -> dict:
    """train.py's own tokenizing time (from an empty cache) and median step over `budget` seconds of
    training; the run is stopped before its final evaluation (minutes at 1 GB)."""
    shutil.rmtree(cache, ignore_errors=True)
    train, env = train_run(root, corpus, budget, cache / "m", cache)
    command, tokenize, steps = [sys.executable, *train], None, []
    with subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, text=True) as process:
        for line in process.stdout:
            timing = json.loads(line[len("timing ") :]) if line.startswith("timing ") else {}
            if timing.get("kind") == "tokenize":
                tokenize = timing["seconds"]
            elif timing.get("kind") == "step":
                steps.append(timing["seconds"])
                if sum(steps) >= 0.9 * budget:  # well before the budget ends, whatever the evaluations took
                    process.kill()
                    break
    if tokenize is None or not steps:
        raise RuntimeError(f"{root / 'train.py'} ended before it had tokenized {corpus} and trained")
    return {"tokenize_s": round(tokenize, 1), "median_step_ms": round(1000 * statistics.median(steps), 1)}


def sample_peaks(pid: int, peaks: dict, seconds: float = 0.05) -> None:
    """The largest anonymous and file-backed resident memory (kB) of `pid` and its children (torchrun's
    workers), read from /proc every `seconds` until it ends."""
    while True:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return
        for one in [str(pid), *children]:
            try:
                status = Path(f"/proc/{one}/status").read_text()
            except OSError:
                continue
            for key in peaks:
                found = re.search(rf"^{key}:\s+(\d+) kB", status, re.MULTILINE)
                if found:
                    peaks[key] = max(peaks[key], int(found.group(1)))
        time.sleep(seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 10, 100, 1024])
    parser.add_argument("--budget", type=float, default=30, help="training seconds per run")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--folder", type=Path, help="where the corpora are built (default: a temporary folder)")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout (a git worktree) whose train.py runs first"
    )
    parser.add_argument(
        "--baseline-sizes", type=float, nargs="+", help="sizes for the baseline (default: --sizes)"
    )
    parser.add_argument("--cold-only", action="store_true", help="only the cold run of each size")
    parser.add_argument(
        "--pairs",
        type=int,
        default=0,
        help="instead of whole runs, tokenize the largest size and train on it this many times, the baseline "
        "and this checkout in turn, without the final evaluation (on a shared machine one pair of whole runs "
        "differs by as much as the same code does between runs)",
    )
    parser.add_argument("--name", default="scale", help="results file name (bench/results/NAME.json)")
    args = parser.parse_args(argv)
    results, pairs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        roots = [(args.baseline, args.baseline_sizes or args.sizes)] if args.baseline else []
        for _ in range(args.pairs):
            corpus, cache = build_corpus(max(args.sizes), folder), folder / "tokens-pair"
            checkouts = [root for root, _ in roots] + [ROOT]
            pair = {root_label(root): tokenize_and_train(corpus, root, cache, args.budget) for root in checkouts}
            print(json.dumps(pair), flush=True)
            pairs.append(pair)
        for root, sizes in [*roots, (ROOT, args.sizes)] if not args.pairs else []:
            for size in sizes:
                corpus = build_corpus(size, folder)
                cache = folder / f"tokens-{size:g}"  # emptied for the first (cold) run, filled by it for the rest
                shutil.rmtree(cache, ignore_errors=True)
                warm = [] if args.cold_only else [(p, "warm") for p in args.processes]
                for processes, cache_state in [(1, "cold"), *warm]:
                    result = {
                        "checkout": root_label(root),
                        "megabytes": size,
                        "processes": processes,
                        "token_cache": cache_state,
                        **run(corpus, args.budget, processes, folder / "m", cache, root),
                    }
                    print(json.dumps(result), flush=True)
                    results.append(result)
                shutil.rmtree(cache, ignore_errors=True)
    command = "python bench/scale.py " + " ".join(argv or sys.argv[1:])
    report(args.name, {"command": command, "runs": results, "pairs": pairs})


if __name__ == "__main__":
    main()

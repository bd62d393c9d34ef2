"""Load on the real app, over loopback: many gradio_client users generating at once.

    python bench/load.py [--users 1 20 50 --calls 3 --training-users 20 --length 200] [--root DIR]

Starts `python app.py` (of this checkout, or of `--root`: another checkout, to compare versions in
one sitting) on a free 127.0.0.1 port, then
1. for each number in `--users`, that many clients, each making `--calls` /generate calls
   (nyt-char, `--length` characters, its own seed) at the same moment;
2. a training run in another session (tiny Shakespeare's first 40 KB, char, tiny, 1 minute)
   and, while it trains, `--training-users` clients doing the same.
Reports errors, latency p50/p95 (whole call), time to the first streamed text p50/p95, tokens per
second over the phase, and the server's resident memory before and after. Bounded: every call has a
timeout, and the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import ROOT, report

CALL_TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(env: dict[str, str], root: Path = ROOT) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    full_env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_OFFLINE": "1",
        **env,
    }
    process = subprocess.Popen([sys.executable, "app.py"], cwd=root, env=full_env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("app.py did not start within 120 s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_user(url: str, calls: int, length: int, user: int) -> list[dict]:
    """A user's calls in a row: latency, time to the first streamed text, characters, or the error."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    results = []
    for call in range(calls):
        started = time.perf_counter()
        first = None
        try:
            job = client.submit(
                model="nyt-char", prompt="The", temperature=0.8, length=length,
                seed=1000 * user + call, api_name="/generate",
            )  # fmt: skip
            for partial in job:
                if first is None and len(partial) > len("The"):
                    first = time.perf_counter() - started
            text = job.result(timeout=CALL_TIMEOUT)
            results.append(
                {"latency": time.perf_counter() - started, "first": first, "chars": len(text) - len("The")}
            )
        except Exception as err:  # a benchmark counts failures instead of stopping at the first
            results.append({"error": f"{type(err).__name__}: {str(err)[:120]}"})
    return results


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least q% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)], 3)


def phase(url: str, users: int, calls: int, length: int) -> dict:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=users) as pool:
        runs = list(pool.map(lambda u: one_user(url, calls, length, u), range(users)))
    wall = time.perf_counter() - started
    results = [r for run in runs for r in run]
    ok = [r for r in results if "error" not in r]
    latencies = [r["latency"] for r in ok]
    firsts = [r["first"] for r in ok if r["first"] is not None]
    errors = [r["error"] for r in results if "error" in r]
    return {
        "users": users,
        "calls": len(results),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:3],
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
        "first_text_p50_s": percentile(firsts, 50),
        "first_text_p95_s": percentile(firsts, 95),
        "tokens_per_s": round(sum(r["chars"] for r in ok) / wall),
        "wall_s": round(wall, 1),
    }


def root_label(root: Path) -> str:
    """The served checkout as its commit, not as a path on this machine."""
    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return f"commit {commit.stdout.strip()}" if commit.returncode == 0 else root.name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[1, 20, 50])
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--training-users", type=int, default=20)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--label", default="", help="a name for this run in the results (e.g. before/after)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app.py to serve")
    args = parser.parse_args(argv)
    from gradio_client import Client, handle_file

    process, url = start_app({"TEXTGEN_CHECKPOINTS": str(ROOT / "checkpoints")}, args.root)  # the same models
    try:
        Client(url, verbose=False).predict(model="nyt-char", prompt="A", length=5, api_name="/generate")  # warm
        rss_before = rss_mb(process.pid)
        crowds = []
        for users in args.users:
            crowds.append(phase(url, users, args.calls, args.length))
            print("crowd:", crowds[-1], flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "shakespeare-40k.txt"
            text = (ROOT.parent / "shared" / "corpora" / "tinyshakespeare.txt").read_text(encoding="utf-8")
            corpus.write_text(text[:40_000], encoding="utf-8")
            trainer = Client(url, verbose=False)
            training = trainer.submit(
                path=handle_file(str(corpus)), column=None, level="char", size="tiny",
                minutes=1.0, prompt="", api_name="/train",
            )  # fmt: skip
            while not training.outputs() and not training.done():
                time.sleep(0.1)
            during = phase(url, args.training_users, args.calls, args.length)
            print("during training:", during, flush=True)
            trained = "ready" in str(training.result(timeout=CALL_TIMEOUT)[2])
        rss_after = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    report(
        "load" + (f"_{args.label}" if args.label else ""),
        {
            "command": "python bench/load.py " + " ".join(argv or sys.argv[1:]),
            "length": args.length,
            "root": root_label(args.root),
            "crowds": crowds,
            "during_training": during,
            "training_finished": trained,
            "server_rss_mb": {"before": round(rss_before), "after": round(rss_after)},
        },
    )


if __name__ == "__main__":
    main()

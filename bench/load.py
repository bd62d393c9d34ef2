"""Load on the real app, over loopback: many gradio_client users generating at once.

    python bench/load.py [--users 1 20 50 --calls 3 --training-users 20 --length 200] [--rest] [--baseline DIR ...]
        [--server-env 'NAME=VALUE ...' ...]

Starts `python app.py` on a free 127.0.0.1 port (first of each `--baseline` checkout, then of this
one, one after the other in one run, so that versions compare on the same machine state), then
1. for each number in `--users`, that many clients, each making `--calls` /generate calls
   (nyt-char, `--length` characters, its own seed) at the same moment;
2. a training run in another session (tiny Shakespeare's first 40 KB, char, tiny, 1 minute)
   and, while it trains, `--training-users` clients doing the same.
With `--rest` each user is a plain REST client (urllib, a thread blocked on its event stream) instead
of gradio_client, whose polling takes CPU from a server on the same 2 cores.
Reports errors, latency p50/p95 (whole call), time to the first streamed text p50/p95, tokens per
second over the phase, and the server's resident memory before and after. Bounded: every call has a
timeout, and the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import ROOT, report, root_label

CALL_TIMEOUT = 300
POLL_SECONDS = 0.02  # how often a simulated user looks for new text
PROMPT = "The"


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


def timed_calls(calls: int, make_call: Callable[[int, Callable[[str], None]], str]) -> list[dict]:
    """`calls` calls in a row, each `make_call(index, seen)`, which hands every partial text it gets
    to `seen` and returns the final one: latency, time to the first new text, characters, or the error."""
    results = []
    for index in range(calls):
        started, firsts = time.perf_counter(), []

        def seen(text: str, started: float = started, firsts: list = firsts) -> None:
            if not firsts and len(text) > len(PROMPT):
                firsts.append(time.perf_counter() - started)

        try:
            text = make_call(index, seen)
            latency = time.perf_counter() - started
            results.append(
                {"latency": latency, "first": (firsts or [latency])[0], "chars": len(text) - len(PROMPT)}
            )
        except Exception as err:  # a benchmark counts failures instead of stopping at the first
            results.append({"error": f"{type(err).__name__}: {str(err)[:120]}"})
    return results


def one_user(client, calls: int, length: int, user: int) -> list[dict]:
    """A user's calls in a row (see `timed_calls`).

    The partial results are polled every POLL_SECONDS instead of iterated: gradio_client's iterator
    waits by spinning (a 1 ms sleep under a lock), and 50 of them spinning took more CPU than the
    server on this 2-core machine, and never returns if the job ends without a FINISHED status."""

    def make_call(index: int, seen: Callable[[str], None]) -> str:
        started = time.perf_counter()
        job = client.submit(
            model="nyt-char", prompt=PROMPT, temperature=0.8, length=length,
            seed=1000 * user + index, api_name="/generate",
        )  # fmt: skip
        while not job.done():
            for partial in job.outputs()[-1:]:
                seen(partial)
            if time.perf_counter() - started > CALL_TIMEOUT:
                raise TimeoutError(f"no result within {CALL_TIMEOUT} s")
            time.sleep(POLL_SECONDS)
        return job.result(timeout=CALL_TIMEOUT)

    return timed_calls(calls, make_call)


def one_rest_user(url: str, calls: int, length: int, user: int, session: str | None = None) -> list[dict]:
    """As `one_user`, through the plain REST API (POST the call, read its event stream line by line),
    as curl or a small script would: a thread blocked on a socket costs the shared CPU almost nothing,
    where each gradio_client user polls and parses in Python. `session`: the calls' Gradio session,
    as a page's are (None: each call a session of its own, whose state Gradio builds first)."""

    def make_call(index: int, seen: Callable[[str], None]) -> str:
        data = ["nyt-char", PROMPT, 0.8, length, 0, 1.0, 1, 1000 * user + index, False, ""]
        request = urllib.request.Request(
            f"{url}gradio_api/call/generate",
            data=json.dumps({"data": data, "session_hash": session}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=CALL_TIMEOUT) as response:
            event_id = json.loads(response.read())["event_id"]
        text, event = None, None
        with urllib.request.urlopen(f"{url}gradio_api/call/generate/{event_id}", timeout=CALL_TIMEOUT) as stream:
            for raw in stream:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[len("event: ") :]
                elif line.startswith("data: ") and event == "error":
                    raise RuntimeError(line[len("data: ") :][:120])
                elif line.startswith("data: ") and event in ("generating", "complete"):
                    text = json.loads(line[len("data: ") :])[0]
                    seen(text)
                    if event == "complete":
                        return text
        raise RuntimeError(f"the stream ended at {event!r}")

    return timed_calls(calls, make_call)


def lighter_clients() -> None:
    """Make each simulated user cost the shared CPU less. gradio_client opens a new httpx client for
    most requests, and each builds an SSL context (reading the CA bundle) even for http:// URLs: that
    was half the load generator's CPU, taken from the server on the same 2 cores. The clients here
    share one context instead (they only ever talk to http://127.0.0.1)."""
    import httpx._transports.default as transports

    transports.create_ssl_context = functools.cache(transports.create_ssl_context)


def connected_client(url: str):
    from gradio_client import Client

    client = Client(url, verbose=False)
    client.predict(model="nyt-char", prompt="A", length=1, api_name="/generate")
    return client


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least q% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)], 3)


def phase(url: str, users: int, calls: int, length: int, server_pid: int, rest: bool = False) -> dict:
    """`users` clients connect first and make one 1-character call each (as people open the page,
    whose load event starts their session, before they press Generate), then all make their calls at
    the same moment; only those calls are measured. With `rest`, plain REST users, each in a session
    of its own opened the same way."""
    with ThreadPoolExecutor(max_workers=users) as pool:
        if rest:
            sessions = [f"load-{os.getpid()}-{users}-{u}" for u in range(users)]
            list(pool.map(lambda u: one_rest_user(url, 1, 1, u, sessions[u]), range(users)))
            user = lambda u: one_rest_user(url, calls, length, u, sessions[u])  # noqa: E731
        else:
            clients = list(pool.map(lambda _: connected_client(url), range(users)))
            user = lambda u: one_user(clients[u], calls, length, u)  # noqa: E731
        started, server_cpu, client_cpu = time.perf_counter(), cpu_seconds(server_pid), time.process_time()
        runs = list(pool.map(user, range(users)))
    wall = time.perf_counter() - started
    results = [r for run in runs for r in run]
    ok = [r for r in results if "error" not in r]
    latencies = [r["latency"] for r in ok]
    firsts = [r["first"] for r in ok]
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
        # Both share the machine's cores: what the load generator itself costs is shown, not hidden.
        "server_cpu_s": round(cpu_seconds(server_pid) - server_cpu, 1),
        "client_cpu_s": round(time.process_time() - client_cpu, 1),
    }


def serve_and_load(root: Path, args: argparse.Namespace, server_env: dict[str, str] | None = None) -> dict:
    """One checkout's app.py (with `server_env` set) under every crowd, then under a crowd during a
    training run."""
    from gradio_client import Client, handle_file

    env = {"TEXTGEN_CHECKPOINTS": str(ROOT / "checkpoints"), **(server_env or {})}  # the same models
    process, url = start_app(env, root)
    try:
        Client(url, verbose=False).predict(model="nyt-char", prompt="A", length=5, api_name="/generate")  # warm
        rss_before = rss_mb(process.pid)
        crowds = []
        for users in args.users:
            crowds.append(phase(url, users, args.calls, args.length, process.pid, args.rest))
            print(root_label(root), "crowd:", crowds[-1], flush=True)
        during, trained = None, None
        if args.training_users:
            with tempfile.TemporaryDirectory() as tmp:
                corpus = Path(tmp) / "shakespeare-40k.txt"
                text = (ROOT.parent / "shared" / "corpora" / "tinyshakespeare.txt").read_text(encoding="utf-8")
                corpus.write_text(text[:40_000], encoding="utf-8")
                training = Client(url, verbose=False).submit(
                    path=handle_file(str(corpus)), column=None, level="char", size="tiny",
                    minutes=1.0, prompt="", api_name="/train",
                )  # fmt: skip
                while not training.outputs() and not training.done():
                    time.sleep(0.1)
                during = phase(url, args.training_users, args.calls, args.length, process.pid, args.rest)
                print(root_label(root), "during training:", during, flush=True)
                trained = "ready" in str(training.result(timeout=CALL_TIMEOUT)[2])
        rss_after = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "root": root_label(root),
        "server_env": server_env or {},
        "crowds": crowds,
        "during_training": during,
        "training_finished": trained,
        "server_rss_mb": {"before": round(rss_before), "after": round(rss_after)},
    }


def ratios(baseline: dict, run: dict) -> list[dict]:
    """Per crowd: baseline p95 latency / this p95 latency, and this throughput / the baseline's."""
    rows = []
    for base, this in zip(baseline["crowds"], run["crowds"]):
        rows.append(
            {
                "users": this["users"],
                "latency_p95": round(base["latency_p95_s"] / this["latency_p95_s"], 2),
                "first_text_p95": round(base["first_text_p95_s"] / this["first_text_p95_s"], 2),
                "tokens_per_s": round(this["tokens_per_s"] / base["tokens_per_s"], 2),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[1, 20, 50])
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--training-users", type=int, default=20, help="0: skip the phase during training")
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument(
        "--baseline", type=Path, nargs="*", default=[],
        help="other checkouts (git worktrees) served first, one after the other, with the same load",
    )  # fmt: skip
    parser.add_argument(
        "--rest", action="store_true", help="plain REST users (urllib) instead of gradio_client ones"
    )
    parser.add_argument(
        "--server-env", nargs="+", default=[""], metavar="'NAME=VALUE ...'",
        help="serve this checkout once with each of these environments (after the baselines)",
    )  # fmt: skip
    parser.add_argument("--name", default="load", help="results file name (bench/results/NAME.json)")
    args = parser.parse_args(argv)
    lighter_clients()
    runs = [serve_and_load(root, args) for root in args.baseline]
    for variables in args.server_env:
        runs.append(serve_and_load(ROOT, args, dict(item.split("=", 1) for item in variables.split())))
    report(
        args.name,
        {
            "command": "python bench/load.py " + " ".join(argv or sys.argv[1:]),
            "length": args.length,
            "runs": runs,
            # ratio > 1: this checkout is better (shorter latency, more tokens per second)
            "against_first_baseline": ratios(runs[0], runs[-1]) if len(runs) > 1 else None,
        },
    )


if __name__ == "__main__":
    main()

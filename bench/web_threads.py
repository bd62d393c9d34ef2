"""Would WebAssembly threads make the exported page write faster? onnxruntime-web on 1 thread against
2 and 4, in headless Chromium, on a page served with the cross-origin isolation headers that threads
need (a static Space can send them with `custom_headers`).

    python bench/web_threads.py [--models nyt-char nyt-word] [--tokens 300]

Exports each model as a web page, serves it with COOP/COEP headers, and times the page writing
`--tokens` tokens greedily (temperature 0, the same text every time) with the worker's thread count
set through the address; each setting is timed three times, alternating, and the median kept.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import statistics
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, report

from textgen.checkpoints import load_folder
from textgen.webpage import export_web

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Isolated(http.server.SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 (the base class's own attribute, extended)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
    }

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, *args):
        pass


def with_threads_from_the_address(folder: Path) -> None:
    """The worker's thread count from `?threads=N` (the page passes its address to the worker)."""
    worker = folder / "worker.js"
    text = worker.read_text(encoding="utf-8")
    text = text.replace(
        "ort.env.wasm.numThreads = 1;",
        "ort.env.wasm.numThreads = Number(new URL(self.location.href).searchParams.get('threads') || 1);",
    )
    worker.write_text(text, encoding="utf-8")
    page = folder / "index.html"
    html = page.read_text(encoding="utf-8")
    page.write_text(html.replace('new Worker("worker.js")', 'new Worker("worker.js" + location.search)'))


def time_page(browser, url: str, tokens: int, threads: int) -> float:
    page = browser.new_page()
    page.goto(f"{url}/?seed=The&temperature=0&length={tokens}&threads={threads}")
    page.wait_for_function("() => document.querySelector('#status').textContent === 'ready'", timeout=120_000)
    started = time.perf_counter()
    page.click("#write")
    page.wait_for_function("() => document.querySelector('#output').dataset.done === '1'", timeout=300_000)
    seconds = time.perf_counter() - started
    isolated = page.evaluate("() => self.crossOriginIsolated")
    page.close()
    if not isolated:
        raise RuntimeError("the page is not cross-origin isolated: threads cannot run")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["nyt-char", "nyt-word"])
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        for name in args.models:
            folder = Path(scratch) / name
            export_web(load_folder(ROOT / "checkpoints" / name), folder, name=name)
            with_threads_from_the_address(folder)
            handler = functools.partial(Isolated, directory=str(folder))
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            url = f"http://127.0.0.1:{server.server_port}"
            times = {threads: [] for threads in args.threads}
            for _ in range(3):
                for threads in args.threads:
                    times[threads].append(time_page(browser, url, args.tokens, threads))
            server.shutdown()
            for threads, seconds in times.items():
                median = statistics.median(seconds)
                rows.append(
                    {"model": name, "threads": threads, "ms_per_token": round(1000 * median / args.tokens, 2)}
                )
                print(rows[-1], flush=True)
        browser.close()
    one = {row["model"]: row["ms_per_token"] for row in rows if row["threads"] == 1}
    for row in rows:
        row["speedup_over_1_thread"] = round(one[row["model"]] / row["ms_per_token"], 2)
    report("web_threads", {"command": "python bench/web_threads.py", "tokens": args.tokens, "runs": rows})


if __name__ == "__main__":
    main()

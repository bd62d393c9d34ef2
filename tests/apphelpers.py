"""Start `python app.py` as a real server on a free loopback port, and stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from gradio_client import handle_file

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(env: dict[str, str] | None = None, timeout: float = 120, root: Path = ROOT):
    """`python app.py` from `root` (this checkout, or a copy of a deployed Space) on a free port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    full_env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    log = open(os.environ.get("TEXTGEN_APP_LOG", os.devnull), "ab")  # noqa: SIM115
    process = subprocess.Popen([sys.executable, "app.py"], cwd=root, env=full_env, stdout=log, stderr=log)
    started = time.monotonic()
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"app.py exited with {process.returncode} before serving")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"app.py did not serve {url} within {timeout} s")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def train_upload(client, path, minutes: float, prompt: str = "", **settings) -> tuple[str, str, str]:
    """Upload a file and train on it through /train to completion (a tiny char model unless `settings`
    say otherwise); (status, model name, zip path)."""
    request = {"column": None, "level": "char", "size": "tiny", "minutes": minutes, "prompt": prompt, **settings}
    _, _, status, model_choice, archive = client.predict(path=handle_file(str(path)), **request, api_name="/train")
    name = model_choice if isinstance(model_choice, str) else model_choice["value"]
    return status, name, archive

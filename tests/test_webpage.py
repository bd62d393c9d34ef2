"""A model published as a web page: the exported folder is a static Space that writes in the browser
(onnxruntime-web shipped inside it), the same greedy text as Python, with no request leaving the
page's own server; `textgen push --space` creates the static Space on the (stand-in) Hub."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from conftest import ROOT
from hubstandin import GOOD_TOKEN, StandInHub
from test_browser import CHROMIUM, FLAGS, PHONE, SCREENSHOTS

import train
from textgen import CheckpointError, SamplingSettings, load_folder
from textgen.sampling import generate_steps
from textgen.webpage import ORT_FILES, export_web, first_word

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["nyt-char", "nyt-word"])
def exported(request, tmp_path_factory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp(request.param)
    try:
        export_web(load_folder(ROOT / "checkpoints" / request.param), folder, name=request.param)
    except CheckpointError as err:
        if "could not download" in str(err):
            pytest.skip(f"the npm registry cannot be reached for onnxruntime-web: {err}")
        raise
    return request.param, folder


@contextmanager
def serving(folder: Path):
    """The folder over HTTP on 127.0.0.1, as a static Space serves it."""

    class Static(http.server.SimpleHTTPRequestHandler):
        extensions_map: ClassVar[dict[str, str]] = {
            **http.server.SimpleHTTPRequestHandler.extensions_map,
            ".mjs": "text/javascript",
            ".wasm": "application/wasm",
        }

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Static, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_folder_is_a_static_space_with_everything_inside(exported):
    name, folder = exported
    card = (folder / "README.md").read_text(encoding="utf-8")
    front = card.split("---")[1]
    assert "sdk: static" in front and "app_file: index.html" in front
    for file in ("index.html", "worker.js", "model.onnx", "tokenizer.json", "config.json"):
        assert (folder / file).is_file(), file
    assert all((folder / "ort" / file).stat().st_size > 1000 for file in ORT_FILES)
    page = (folder / "index.html").read_text(encoding="utf-8") + (folder / "worker.js").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere


def test_the_first_seed_text_is_the_models_own_first_word(exported):
    """Not always "The": a Korean model's page starts from a Korean word."""
    name, folder = exported
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert (
        f'<textarea id="seed" rows="2">{first_word(load_folder(ROOT / "checkpoints" / name))}</textarea>' in page
    )
    korean = first_word(load_folder(ROOT / "checkpoints" / "korean-sayings-char"))
    assert korean and all("가" <= ch <= "힣" for ch in korean)


def python_greedy(name: str, seed: str, length: int) -> str:
    loaded = load_folder(ROOT / "checkpoints" / name)
    steps = generate_steps(loaded.model, loaded.tokenizer, seed, SamplingSettings.of(temperature=0, length=length))
    return seed + "".join(step.pieces[0] for step in steps)


def test_greedy_text_in_the_browser_is_pythons_and_nothing_leaves_the_server(exported):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    name, folder = exported
    expected = python_greedy(name, "The", 60)
    command = [
        sys.executable,
        "-m",
        "textgen",
        "generate",
        "--model",
        str(ROOT / "checkpoints" / name),
        "--prompt",
        "The",
        "--temperature",
        "0",
        "--length",
        "60",
        "--precision",
        "fp32",
    ]
    cli = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert cli.stdout.rstrip("\n") == expected.rstrip("\n")  # what the page promises to match
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with serving(folder) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        requests: list[str] = []
        for viewport, label in (({"width": 1400, "height": 900}, "desktop"), (PHONE, "phone")):
            page = browser.new_page(viewport=viewport)
            page.on("request", lambda request: requests.append(request.url))
            page.goto(f"{url}/?seed=The&temperature=0&length=60&autostart=1")
            page.wait_for_function("() => document.querySelector('#output').dataset.done === '1'", timeout=120_000)
            assert page.locator("#output").text_content() == expected
            assert not page.locator("#label-choice").is_visible()  # a model without labels: no "Write as"
            assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"] + 1
            page.screenshot(path=str(SCREENSHOTS / f"webpage-{name}-{label}.png"), full_page=True)
            page.close()
        browser.close()
    assert requests and all(address.startswith(url) for address in requests), sorted(set(requests))


def test_sampled_text_follows_the_random_seed_in_the_link(exported):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    name, folder = exported
    if name != "nyt-char":
        pytest.skip("one model is enough for the sampler's seed")
    texts = []
    with serving(folder) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        for rseed in (7, 7, 8):
            page = browser.new_page()
            page.goto(f"{url}/?seed=Trump&temperature=1&topk=20&length=80&rseed={rseed}&autostart=1")
            page.wait_for_function("() => document.querySelector('#output').dataset.done === '1'", timeout=120_000)
            texts.append(page.locator("#output").text_content())
            page.close()
        browser.close()
    assert texts[0] == texts[1] != texts[2] and all(text.startswith("Trump") for text in texts)


def test_the_onnx_step_in_the_folder_is_the_models_step(exported):
    import onnxruntime
    import torch

    name, folder = exported
    loaded = load_folder(ROOT / "checkpoints" / name)
    config = loaded.model.config
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"))
    h = np.random.default_rng(0).standard_normal((config.num_layers, 2, config.hidden_size)).astype(np.float32)
    tokens = np.array([0, 5], dtype=np.int64)
    logits, _, _ = session.run(None, {"tokens": tokens, "h": h, "c": h})
    with torch.inference_mode():
        expected, _ = loaded.model.step(torch.from_numpy(tokens), (torch.from_numpy(h), torch.from_numpy(h)))
    np.testing.assert_allclose(logits, expected.numpy(), rtol=1e-4, atol=1e-4)


def test_push_space_creates_a_static_space_on_the_hub(exported, tmp_path):
    name, _ = exported
    if name != "nyt-char":
        pytest.skip("one model is enough for the push")
    with StandInHub() as hub:
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": GOOD_TOKEN, "HF_HOME": str(tmp_path / "hf")}
        command = [
            sys.executable,
            "-m",
            "textgen",
            "push",
            str(ROOT / "checkpoints" / name),
            "--space",
            "alice/nyt-page",
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
        assert result.returncode == 0, result.stderr[-2000:]
        space = hub.repos["alice/nyt-page"]
        assert (space.kind, space.sdk) == ("space", "static")
        assert {"index.html", "worker.js", "model.onnx", "README.md", "ort/ort-wasm-simd-threaded.wasm"} <= set(
            space.files
        )
        assert "/commit/" in result.stdout
        neither = subprocess.run(
            [sys.executable, "-m", "textgen", "push", str(ROOT / "checkpoints" / name)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=ROOT,
        )
        assert neither.returncode == 2 and "or both" in neither.stderr


def test_a_labelled_models_page_writes_as_each_label_and_any_follows_the_seed(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright
    from test_labels import two_voices

    model = tmp_path / "voices"
    corpus = ["--corpus", str(two_voices(tmp_path)), "--column", "text", "--label-column", "user"]
    small = ["--hidden-size", "32", "--max-steps", "150", "--batch-size", "16", "--seq-len", "16", "--lr", "0.01"]
    train.main([*corpus, *small, "--out", str(model)])
    folder = export_web(load_folder(model), tmp_path / "page", name="voices")
    with serving(folder) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page()
        page.goto(f"{url}/?seed=&temperature=0&length=5&label=bo&autostart=1")
        page.wait_for_function("() => document.querySelector('#output').dataset.done === '1'", timeout=120_000)
        options = page.locator("#label option").all_text_contents()
        assert options[0] == "any" and sorted(options[1:]) == ["ann", "bo"]
        assert page.locator("#label-choice").is_visible()
        assert page.locator("#output").text_content().strip() == "bbbbb"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "webpage-labels-desktop.png"), full_page=True)
        written = {}
        for rseed in range(4):  # "any": the seed's voice, whatever the random seed draws
            page.goto(f"{url}/?seed=aaaa&temperature=0&length=4&rseed={rseed}&autostart=1")
            page.wait_for_function("() => document.querySelector('#output').dataset.done === '1'", timeout=120_000)
            written[rseed] = page.locator("#output").text_content().strip()
        assert set(written.values()) == {"aaaaaaaa"}, written
        browser.close()

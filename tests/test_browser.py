"""A real headless Chromium (Debian's) driven by Playwright: type a seed, move the temperature
slider, click Generate, read the text from the page, and save screenshots of two tabs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from apphelpers import ROOT, running_app

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = os.environ.get("TEXTGEN_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("TEXTGEN_SCREENSHOTS", ROOT / "screenshots"))


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def test_type_seed_move_slider_generate_and_screenshot(browser, tmp_path):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with running_app({"HF_HUB_OFFLINE": "1"}) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1100}, locale="en-US")
        page.goto(url)  # Gradio keeps a connection open, so wait for elements, not network idle
        prompt = page.locator("#prompt textarea")
        prompt.wait_for(timeout=60_000)
        prompt.fill("Senate")
        slider = page.locator("#temperature input[type=range]")
        slider.fill("0.3")  # moves the range input and fires its input event
        page.locator("#temperature input[type=number]").wait_for()
        assert float(page.locator("#temperature input[type=number]").input_value()) == pytest.approx(0.3)
        page.locator("#generate").click()
        output = page.locator("#output textarea")
        page.wait_for_function(
            "() => { const t = document.querySelector('#output textarea'); return t && t.value.length > 60; }",
            timeout=60_000,
        )
        page.wait_for_timeout(1500)  # let the stream and the confidence shading finish
        text = output.input_value()
        assert text.startswith("Senate") and len(text) > 60
        page.screenshot(path=str(SCREENSHOTS / "generate.png"), full_page=True)

        page.get_by_role("tab", name="Train").click()
        page.locator("#train").wait_for()
        page.screenshot(path=str(SCREENSHOTS / "train.png"), full_page=True)

        korean = browser.new_page(locale="ko-KR")
        korean.goto(url)
        korean.get_by_role("tab", name="학습").wait_for(
            timeout=60_000
        )  # Korean UI for Korean browsers  # the UI speaks Korean to Korean browsers
        korean.screenshot(path=str(SCREENSHOTS / "korean.png"))
        korean.close()
    assert (SCREENSHOTS / "generate.png").stat().st_size > 10_000

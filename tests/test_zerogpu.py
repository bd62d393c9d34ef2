"""The app on a simulated ZeroGPU Space: the main process is told CUDA is available but may not touch
it, and only a @spaces.GPU call gets a device, in a worker process, with everything it takes and
yields pickled (tests/zerogpu/spaces, a stand-in for the `spaces` package with that contract).
Generation must run on the CPU in the main process; training must run inside the decorated call and
hand back the trained weights."""

from __future__ import annotations

import os
import re

import pytest
from apphelpers import running_app, train_upload
from conftest import ROOT, corpus_path
from gradio_client import Client
from gradio_client.exceptions import AppError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def zerogpu(tmp_path_factory):
    log = tmp_path_factory.mktemp("zerogpu") / "calls.log"
    log.touch()
    env = {
        "SPACES_ZERO_GPU": "true",
        "ZEROGPU_LOG": str(log),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "zerogpu"), os.environ.get("PYTHONPATH", "")]),
        "HF_HUB_OFFLINE": "1",
    }
    with running_app(env) as url:
        yield Client(url, verbose=False), log


def test_generation_runs_in_the_main_process_without_touching_cuda(zerogpu):
    client, log = zerogpu
    text = client.predict(model="nyt-char", prompt="Senate", length=80, seed=1, api_name="/generate")
    assert text.startswith("Senate") and len(text) > 40
    compared = client.predict(model="nyt-word", prompt="The", length=20, seed=2, api_name="/compare")
    assert len(compared) == 4
    assert "CUDA initialised" not in log.read_text()


def test_training_runs_inside_the_gpu_call_and_hands_back_its_weights(zerogpu):
    client, log = zerogpu
    status, name, archive = train_upload(client, corpus_path("saying_cp949.txt"), 0.1)
    assert "ready" in status and str(archive).endswith(".zip")
    text = client.predict(model=name, prompt="사랑은", length=40, seed=0, api_name="/generate")
    assert text.startswith("사랑은") and len(text) > 10  # the weights came back to the main process
    calls = log.read_text()
    assert "schedule train_on_device for 31 s: 46 s requested" in calls  # 6 s of budget and 25 s around it
    worker, main = map(int, re.search(r"call train_on_device in worker (\d+) of main (\d+)", calls).groups())
    assert worker != main
    assert "CUDA initialised" not in calls


def test_a_problem_found_inside_the_gpu_call_is_still_one_clear_line(zerogpu, tmp_path):
    client, _ = zerogpu
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("one line\nanother line\na third\n", encoding="utf-8")
    with pytest.raises(AppError, match="the corpus is too small"):  # found while tokenizing, in the worker
        train_upload(client, tiny, 0.1)


def test_the_page_budgets_follow_the_quotas_arithmetic():
    """Declared seconds x 1.5 against the daily quota: the default run for anyone (120 s), three of
    them for a free account (300 s), the longest once for a free account."""
    import math

    from textgen.jobs import (
        ANONYMOUS_QUOTA_SECONDS,
        FREE_QUOTA_SECONDS,
        OVERHEAD_SECONDS,
        ZEROGPU_DEFAULT_MINUTES,
        ZEROGPU_MAX_MINUTES,
        zerogpu_requested,
    )

    def requested(minutes):
        return zerogpu_requested(math.ceil(60 * minutes + OVERHEAD_SECONDS))

    assert requested(ZEROGPU_DEFAULT_MINUTES) <= ANONYMOUS_QUOTA_SECONDS
    assert 3 * requested(ZEROGPU_DEFAULT_MINUTES) <= FREE_QUOTA_SECONDS
    assert requested(ZEROGPU_MAX_MINUTES) <= FREE_QUOTA_SECONDS < requested(ZEROGPU_MAX_MINUTES + 0.1)
    longer = (60 * (ZEROGPU_DEFAULT_MINUTES + 0.1) + OVERHEAD_SECONDS) * 1.5  # before spaces rounds it
    assert longer > ANONYMOUS_QUOTA_SECONDS or 3 * longer > FREE_QUOTA_SECONDS  # the longest that does both


def test_the_duration_factor_is_spaces_own():
    """The stand-in and jobs.py use 1.5, the factor of the default GPU in the installed spaces package."""
    import json
    from importlib import resources

    from textgen.jobs import ZEROGPU_FACTOR

    configs = json.loads(resources.files("spaces.zero").joinpath("configs.json").read_text())
    factors = {config["model"]: config["duration_factor"] for config in configs}
    assert factors["NVIDIA RTX PRO 6000 Blackwell Server Edition"] == ZEROGPU_FACTOR == max(factors.values())


@pytest.fixture(scope="module")
def anonymous_on_zerogpu(tmp_path_factory):
    """The app on a simulated ZeroGPU Space, played by a visitor who is not signed in: 120 s a day."""
    log = tmp_path_factory.mktemp("zerogpu-quota") / "calls.log"
    log.touch()
    env = {
        "SPACES_ZERO_GPU": "true",
        "ZEROGPU_LOG": str(log),
        "ZEROGPU_QUOTA_SECONDS": "120",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "zerogpu"), os.environ.get("PYTHONPATH", "")]),
        "HF_HUB_OFFLINE": "1",
    }
    with running_app(env) as url:
        yield url, log


def test_the_default_run_is_admitted_and_a_refusal_is_one_translated_line(anonymous_on_zerogpu):
    from textgen.jobs import ZEROGPU_DEFAULT_MINUTES

    url, log = anonymous_on_zerogpu
    client = Client(url, verbose=False)
    status, _, _ = train_upload(client, corpus_path("saying_cp949.txt"), ZEROGPU_DEFAULT_MINUTES)
    assert "ready" in status
    assert "schedule train_on_device for 61 s: 92 s requested, 120 s left" in log.read_text()
    with pytest.raises(
        AppError,
        match=r"ZeroGPU refused the run: it asks for 92 s of GPU time and your daily quota has 28 s left\. Choose a shorter time budget",
    ):
        train_upload(client, corpus_path("saying_cp949.txt"), ZEROGPU_DEFAULT_MINUTES)
    korean = Client(url, verbose=False, headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    with pytest.raises(AppError, match="ZeroGPU가 실행을 거절했습니다") as refused:
        train_upload(korean, corpus_path("saying_cp949.txt"), 0.1)
    assert str(refused.value).count("\n") == 0 and "Traceback" not in str(refused.value)

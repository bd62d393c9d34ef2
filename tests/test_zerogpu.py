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
    assert "schedule train_on_device for 36 s" in calls  # 6 s of budget and 30 s around it
    worker, main = map(int, re.search(r"call train_on_device in worker (\d+) of main (\d+)", calls).groups())
    assert worker != main
    assert "CUDA initialised" not in calls


def test_a_problem_found_inside_the_gpu_call_is_still_one_clear_line(zerogpu, tmp_path):
    client, _ = zerogpu
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("one line\nanother line\na third\n", encoding="utf-8")
    with pytest.raises(AppError, match="the corpus is too small"):  # found while tokenizing, in the worker
        train_upload(client, tiny, 0.1)

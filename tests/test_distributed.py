"""train.py under torchrun: two CPU processes (gloo) train one model, end with identical weights,
and leave a folder that loads; a run resumes under torchrun too."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import ROOT

from textgen import load_folder
from textgen.distributed import launch_command

pytestmark = pytest.mark.slow


def torchrun(*args: str) -> subprocess.CompletedProcess:
    command = launch_command(2, ["train.py", *args])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}  # two processes on two cores
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_two_processes_train_identical_weights_and_resume(tmp_path):
    out = tmp_path / "chat-ddp"
    corpus = ["--corpus", str(ROOT / "examples" / "chat.csv"), "--column", "text"]
    first = torchrun(*corpus, "--out", str(out), "--hidden-size", "64", "--max-steps", "24", "--eval-every", "8")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "2 processes (torchrun, backend gloo)" in first.stdout
    assert "the 2 processes ended with identical weights" in first.stdout
    assert first.stdout.count("done (") == 1  # rank 0 alone reports
    loaded = load_folder(out)
    assert loaded.model.config.hidden_size == 64
    assert json.loads((out / "training.json").read_text(encoding="utf-8"))["step"] == 24

    resumed = torchrun("--resume", str(out), "--max-steps", "40")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "done (step limit) after 40 steps" in resumed.stdout
    assert "the 2 processes ended with identical weights" in resumed.stdout

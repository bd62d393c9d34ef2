"""bench/gpu_check.sh, the one call a lent GPU gets, in its CPU smoke mode: the CUDA tests skip with
their reason and the benchmark runs its smallest sizes, so a change that breaks the script shows here
and not on the GPU, where its minutes are few."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def test_the_gpu_check_runs_end_to_end_on_a_cpu(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path)}
    done = subprocess.run(
        ["bash", "bench/gpu_check.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400
    )
    summary = (tmp_path / "summary.txt").read_text()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "cuda tests exit 0, benchmark exit 0" in summary
    assert "no CUDA GPU here" in (tmp_path / "cuda_tests.txt").read_text() or "available True" in summary
    results = json.loads((tmp_path / "gpu_smoke.json").read_text())
    assert (
        results["training"] and results["decoding"] and all(r["chars_per_second"] > 0 for r in results["training"])
    )
    assert not (ROOT / "bench" / "results" / "gpu_smoke.json").exists()  # results go to $OUT, not the repo

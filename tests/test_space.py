"""The Space builds: its front matter names a Python that ZeroGPU runs, the package claims that
Python, and every pin in requirements.txt resolves for it on the Space's platform, so that a pin
bump can never break the Space again without a test failing here."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT

ZEROGPU_PYTHONS = ("3.10.13", "3.12.12")  # the ZeroGPU documentation's list (hub-docs, 2026-08)
# Its torch versions: 2.8.0 to 2.11.0 (hub-docs 2026-08), 2.12.1 and 2.13.0 since hub-docs#2763 (2026-09-04).
ZEROGPU_TORCH = ("2.8.0", "2.9.1", "2.10.0", "2.11.0", "2.12.1", "2.13.0")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def front_matter() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8").split("---")[1]
    return {
        key.strip(): value.strip().strip('"') for key, value in re.findall(r"^(\w+):(.*)$", text, re.MULTILINE)
    }


def requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def test_the_front_matter_names_a_python_zerogpu_runs_and_the_package_claims_it():
    front = front_matter()
    assert front["sdk"] == "gradio" and front["python_version"] in ZEROGPU_PYTHONS
    assert f"gradio[oauth]=={front['sdk_version']}" in requirements()  # the Space's sign-in needs [oauth]
    claimed = re.search(r'requires-python = ">=(\d+)\.(\d+)"', (ROOT / "pyproject.toml").read_text()).groups()
    assert tuple(map(int, front["python_version"].split(".")[:2])) >= tuple(map(int, claimed))
    assert "spaces" in " ".join(requirements())  # the decorator ZeroGPU needs
    (torch,) = [pin for pin in requirements() if pin.startswith("torch")]
    assert torch.removeprefix("torch==") in ZEROGPU_TORCH  # a version ZeroGPU lists, pinned


def test_the_quick_start_installs_what_export_and_publish_need():
    """`textgen export` and the page's "Publish as a web page" run torch's ONNX exporter, which needs
    onnx and onnxscript: the quick start's install (requirements.txt) has them, pinned as the package is."""
    pinned = {pin.split("==")[0]: pin for pin in requirements()}
    declared = re.findall(r'"((?:onnx|onnxscript)==[^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert {pinned.get("onnx"), pinned.get("onnxscript")} == set(declared) and len(declared) == 2


@pytest.mark.slow
def test_every_pin_resolves_for_the_spaces_python_and_platform(tmp_path):
    """pip resolves the pins (and everything they pull in) for the Space's Python on manylinux x86_64,
    from wheels only. torch is resolved on its own, without its CUDA packages: they are large, and they
    are torch's to keep in step with itself, not ours."""
    version = front_matter()["python_version"]
    platform = [flag for name in PLATFORMS for flag in ("--platform", name)]
    common = [
        "--dry-run",
        "--ignore-installed",
        "--only-binary=:all:",
        "--python-version",
        version,
        "--implementation",
        "cp",
        *platform,
        "--target",
        str(tmp_path / "target"),
    ]
    pins = requirements()
    torch = [pin for pin in pins if pin.startswith("torch")]
    others = tmp_path / "others.txt"
    others.write_text("\n".join(pin for pin in pins if pin not in torch), encoding="utf-8")
    for extra in (["-r", str(others)], ["--no-deps", *torch]):
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", *common, *extra], capture_output=True, text=True, timeout=600
        )
        if result.returncode != 0 and re.search(r"(?i)connection|timed out|temporary failure", result.stderr):
            pytest.skip(f"the package index cannot be reached: {result.stderr.strip().splitlines()[-1]}")
        assert result.returncode == 0, result.stderr[-2000:]
        assert "Would install" in result.stdout

"""What every benchmark shares: the NYT and tiny Shakespeare splits, the machine description, a
results printer."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

# The scripts run as `python bench/NAME.py` from a checkout, where textgen is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textgen.corpus import nyt_headlines
from textgen.data import TrainingData
from textgen.textfile import read_text
from textgen.tokenizer import CharTokenizer
from textgen.tokens import split_documents

ROOT = Path(__file__).resolve().parents[1]  # textgen itself comes from `pip install -e .` (requirements-dev)

DEFAULT_DATA_DIR = os.environ.get("TEXTGEN_DATA_DIR", str(ROOT.parent / "shared" / "corpora" / "nyt"))
SHAKESPEARE = Path(
    os.environ.get("TEXTGEN_SHAKESPEARE", ROOT.parent / "shared" / "corpora" / "tinyshakespeare.txt")
)
# The tiny Shakespeare model of bench/quality.py (TrainConfig fields); textgen's defaults otherwise.
SHAKESPEARE_CONFIG = {
    "hidden_size": 512,
    "num_layers": 2,
    "dropout": 0.2,
    "lr": 4e-3,
    "batch_size": 32,
    "seq_len": 128,
}


def nyt_split(data_dir: str = DEFAULT_DATA_DIR, seed: int = 0) -> tuple[list[str], list[str]]:
    """The same held-out headlines train.py uses (val_fraction 0.1, seed 0)."""
    return split_documents(nyt_headlines(data_dir), 0.1, seed)


def nyt_training_data(config):
    """textgen's TrainingData on exactly the benchmark split (prepare_data splits as nyt_split does)."""
    from textgen import prepare_data

    if (config.val_fraction, config.seed) != (0.1, 0):
        raise ValueError("the NYT benchmark split is val_fraction 0.1, seed 0")
    return prepare_data(nyt_headlines(DEFAULT_DATA_DIR), config)


def shakespeare_data() -> TrainingData:
    """Tiny Shakespeare on nanoGPT's split: the first 90% trains, the last 10% is held out, one stream."""
    text = read_text(SHAKESPEARE)
    cut = int(len(text) * 0.9)
    train_text, val_text = text[:cut], text[cut:]
    return TrainingData.from_split(CharTokenizer.fit([train_text]), [train_text], [val_text])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), {gpu}"


def root_label(root: Path) -> str:
    """The served checkout as its commit, not as a path on this machine."""
    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    if commit.returncode != 0:
        return root.name
    # Result files a benchmark has just written are not changes to the code being measured.
    changed = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results"],
        capture_output=True,
        text=True,
    )
    return f"commit {commit.stdout.strip()}" + (" with uncommitted changes" if changed.stdout.strip() else "")


def report(name: str, results: dict) -> None:
    """Print the results and keep them as JSON beside the benchmarks for BENCHMARKS.md."""
    results = {"benchmark": name, "machine": machine(), "date": time.strftime("%Y-%m-%d"), **results}
    text = json.dumps(results, indent=2, ensure_ascii=False)
    print(text)
    out = Path(os.environ.get("TEXTGEN_BENCH_RESULTS") or ROOT / "bench" / "results")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(text + "\n", encoding="utf-8")

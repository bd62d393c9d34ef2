"""Shared fixtures: the real corpora beside the repo, a tiny trained model, offline settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"

# Offline habits for every test (and every server or subprocess a test starts).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TQDM_DISABLE", "1")


def corpus_path(name: str) -> Path:
    path = CORPORA / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared corpora live in ../shared/corpora beside the repo")
    return path


@pytest.fixture(scope="session")
def nyt_documents() -> list[str]:
    from textgen.corpus import nyt_headlines

    return nyt_headlines(corpus_path("nyt"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, nyt_documents):
    """A small char model trained briefly on NYT headlines, saved to a folder."""
    from textgen import TrainConfig, Trainer, prepare_data

    config = TrainConfig(
        hidden_size=64, batch_size=16, seq_len=32, epochs=1, eval_every=60, max_minutes=0.1, sample_length=20
    )
    out = tmp_path_factory.mktemp("tiny") / "model"
    trainer = Trainer(config, prepare_data(nyt_documents[:1500], config), out_dir=out, info={"corpus": "NYT"})
    for _ in trainer.run():
        pass
    return out

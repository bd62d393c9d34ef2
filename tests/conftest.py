"""Shared fixtures: the real corpora beside the repo, and offline settings for every test."""

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
# The stand-in Hub speaks LFS, the protocol huggingface_hub falls back to without Xet (not simulated).
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")


@pytest.fixture(scope="session", autouse=True)
def token_cache(tmp_path_factory) -> Path:
    """train.py runs in tests cache their tokens in a temporary folder, not the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("token-cache")
    os.environ["TEXTGEN_TOKEN_CACHE"] = str(folder)
    return folder


def corpus_path(name: str) -> Path:
    path = CORPORA / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared corpora live in ../shared/corpora beside the repo")
    return path


@pytest.fixture(scope="session")
def nyt_documents() -> list[str]:
    from textgen.corpus import nyt_headlines

    return nyt_headlines(corpus_path("nyt"))

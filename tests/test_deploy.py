"""Deploying the studio as a Space, against the stand-in Hub (which refuses what the real one refuses:
binary files as plain git blobs, Gradio Spaces a free account may not create): the README's deploy
command as written, what the Space gets, and the Space running from exactly those files."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import urllib.request

import pytest
from apphelpers import running_app
from conftest import ROOT
from gradio_client import Client
from hubstandin import GOOD_TOKEN, StandInHub

pytestmark = pytest.mark.slow


def readme_deploy_command() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Deploy") :]
    return next(line for line in section.splitlines() if line.startswith("python -m textgen deploy "))


def textgen(args: list[str], hub: StandInHub, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": GOOD_TOKEN, "HF_HOME": str(tmp_path / "hf")}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("deploy")
    with StandInHub() as hub:
        words = shlex.split(readme_deploy_command().split("#")[0].replace("USER/NAME", "alice/studio"))
        done = textgen(words[1:], hub, tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        yield hub, done.stdout, tmp_path


def test_the_readme_command_creates_a_zerogpu_space_with_what_it_runs(deployed):
    hub, printed, _ = deployed
    space = hub.repos["alice/studio"]
    assert (space.kind, space.sdk, space.hardware) == ("space", "gradio", "zero-a10g")
    assert "/commit/" in printed and "alice/studio/settings" in printed
    files = set(space.files)
    assert {"README.md", "app.py", "requirements.txt", ".gitattributes", "textgen/page/handlers.py"} <= files
    assert {"textgen/locales/ko.json", "textgen/web/sampler.js", "checkpoints/nyt-char/config.json"} <= files
    assert not any(name.startswith(("tests/", "bench/", "examples/")) or "__pycache__" in name for name in files)
    assert not any(name.endswith("training_state.safetensors") for name in files)
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for name in files:
        assert name in tracked and space.files[name] == (ROOT / name).read_bytes(), name
    weights = [name for name in files if name.endswith(".safetensors")]
    assert len(weights) == len(list((ROOT / "checkpoints").glob("*/model.safetensors")))
    for name in weights:  # stored as LFS objects, as the Hub requires of binary files over 1 MB
        assert hashlib.sha256(space.files[name]).hexdigest() in hub.lfs


def test_the_deployed_files_run_as_the_space(deployed):
    """The Space's copy alone (no tests, no bench, not this checkout's package) serves the page."""
    hub, _, tmp_path = deployed
    root = tmp_path / "space"
    for name, data in hub.repos["alice/studio"].files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    # As a ZeroGPU Space runs it: SYSTEM and the OAuth app's variables set by the Space (the page's
    # Sign in then uses the real routes, which need gradio[oauth]), the stand-in `spaces` package.
    env = {
        "SYSTEM": "spaces",
        "SPACE_ID": "alice/studio",
        "OAUTH_CLIENT_ID": "standin-client",
        "OAUTH_CLIENT_SECRET": "standin-secret",
        "OAUTH_SCOPES": "openid profile contribute-repos",
        "OPENID_PROVIDER_URL": hub.url,
        "SPACES_ZERO_GPU": "true",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([str(root), str(ROOT / "tests" / "zerogpu")]),
    }
    with running_app(env, root=root) as url:
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200
        text = Client(url, verbose=False).predict(
            model="nyt-char", prompt="The", length=40, seed=0, api_name="/generate"
        )
        assert text.startswith("The") and len(text) > 30


def test_a_free_account_gets_a_clear_line_for_what_the_hub_refuses(deployed):
    hub, _, tmp_path = deployed
    done = textgen(["-m", "textgen", "deploy", "alice/on-cpu", "--hardware", "cpu-basic"], hub, tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "a free account can create Gradio and Docker Spaces on ZeroGPU hardware only" in done.stderr
    assert textgen(["-m", "textgen", "deploy", "alice/second"], hub, tmp_path).returncode == 0
    third = textgen(["-m", "textgen", "deploy", "alice/third"], hub, tmp_path)
    assert third.returncode == 2 and "at most 2 ZeroGPU Spaces" in third.stderr


def test_the_stand_in_refuses_weights_pushed_as_plain_git_blobs(deployed):
    """What `git push` of this repository's history does: model.safetensors as a regular file."""
    hub, _, _ = deployed
    weights = (ROOT / "checkpoints" / "nyt-char" / "model.safetensors").read_bytes()
    assert len(weights) > 2**20
    lines = [
        {"key": "header", "value": {"summary": "push", "description": ""}},
        {"key": "file", "value": {"path": "model.safetensors", "content": base64.b64encode(weights).decode()}},
    ]
    request = urllib.request.Request(
        f"{hub.url}/api/spaces/alice/studio/commit/main",
        data="\n".join(json.dumps(line) for line in lines).encode(),
        headers={"Authorization": f"Bearer {GOOD_TOKEN}", "Content-Type": "application/x-ndjson"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    assert re.search("rejected because it contains binary files", refused.value.headers["X-Error-Message"])

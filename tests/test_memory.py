"""A public server's memory stays bounded: visitors' models share a budget (least recently used let go,
their owners told in one line, their folders removed), a model larger than the page's limit is
refused from its config alone, one Hub model loads once however many ask at once, the Hub cache is
trimmed, a server stopped leaves no session folders, and a generation's run is kept compactly."""

from __future__ import annotations

import json
import os
import threading
import zipfile

import pytest
import torch
from conftest import ROOT
from hubstandin import GOOD_TOKEN
from test_hub import hub, shipped  # noqa: F401  (the stand-in Hub fixture)

from textgen import CheckpointError, LSTMConfig, LSTMLanguageModel
from textgen.checkpoints import save_checkpoint
from textgen.errors import TextgenError
from textgen.model import MAX_MODEL_MB_ENV
from textgen.modelzip import zip_model
from textgen.registry import ModelRegistry, weights_bytes
from textgen.tokenizer import CharTokenizer

SESSION = "visitor"


def model_zip(tmp_path, name: str, hidden: int = 64):
    tokenizer = CharTokenizer.fit(["hello world, a small model"])
    torch.manual_seed(0)
    model = LSTMLanguageModel(LSTMConfig(vocab_size=len(tokenizer), embedding_dim=hidden, hidden_size=hidden))
    folder = save_checkpoint(tmp_path / "models" / name, model, tokenizer, None, ["hello world"])
    return zip_model(folder, tmp_path / "zips")


def test_visitors_models_share_a_budget_and_the_least_recently_used_goes_first(tmp_path):
    zips = [model_zip(tmp_path, f"m{i}") for i in range(3)]
    registry = ModelRegistry(tmp_path / "none", "cpu")
    first = registry.add_zip(SESSION, zips[0])
    one = weights_bytes(registry.get(first, SESSION))
    registry.visitor_models_bytes = int(2.5 * one)  # room for two
    second = registry.add_zip(SESSION, zips[1])
    registry.get(first, SESSION)  # used again: the second is now the least recently used
    folders = {path.name for path in registry.session(SESSION).directory.iterdir()}
    third = registry.add_zip("another visitor", zips[2])
    assert registry.held_bytes() <= registry.visitor_models_bytes and registry.own(SESSION) == [first]
    with pytest.raises(CheckpointError, match=r"m1 \(zip 2\) was let go to make room: .* load its zip again"):
        registry.get(second, SESSION)
    left = {path.name for path in registry.session(SESSION).directory.iterdir()}
    assert len(left) == len(folders) - 1  # its unpacked folder went with it
    assert registry.get(third, "another visitor") and registry.get(first, SESSION)
    again = registry.add_zip(SESSION, zips[1])  # loaded again, it is back
    assert registry.get(again, SESSION)


def test_a_model_over_the_pages_limit_is_refused_from_its_config_alone(tmp_path, monkeypatch):
    """A 1 MB zip can describe a 1 GB model of zeros: refused before its weights are read."""
    monkeypatch.setenv(MAX_MODEL_MB_ENV, "256")
    archive = model_zip(tmp_path, "zeros")
    huge = tmp_path / "huge.zip"
    with zipfile.ZipFile(archive) as small, zipfile.ZipFile(huge, "w", zipfile.ZIP_DEFLATED) as big:
        for item in small.infolist():
            data = small.read(item)
            if item.filename.endswith("config.json"):
                config = json.loads(data)
                data = json.dumps({**config, "embedding_dim": 5760, "hidden_size": 5760}).encode()
            big.writestr(item.filename, data)
    registry = ModelRegistry(tmp_path / "none", "cpu")
    with pytest.raises(CheckpointError, match="over this server's limit of 256 MB"):
        registry.add_zip(SESSION, huge)
    assert registry.held_bytes() == 0 and not any(registry.session(SESSION).directory.iterdir())


def test_a_hub_model_asked_for_at_once_loads_once_and_the_cache_is_trimmed(hub, tmp_path):  # noqa: F811
    standin, _ = hub
    from textgen.hub import push_folder

    for name, model in (("alice/one", "nyt-char"), ("alice/two", "shakespeare-char")):
        push_folder(shipped(model), name, token=GOOD_TOKEN)  # two commits (the same files would be one)
    registry = ModelRegistry(tmp_path / "none", "cpu", hub_cache_bytes=12 * 2**20)  # one model's files
    standin.requests.clear()
    loaded = []
    threads = [threading.Thread(target=lambda: loaded.append(registry.get("alice/one"))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loaded) == 6 and all(model is loaded[0] for model in loaded)
    fetched = [r for r in standin.requests if r["method"] == "GET" and r["path"].endswith("/model.safetensors")]
    assert len(fetched) == 1  # one download, however many asked
    with pytest.raises(TextgenError, match="no model repo alice/never-pushed"):
        registry.get("alice/never-pushed")
    assert not registry._hub_loading  # no lock stays behind for each name a visitor tried
    registry.get("alice/two")
    from huggingface_hub import scan_cache_dir

    cached = {repo.repo_id for repo in scan_cache_dir(os.environ["HF_HUB_CACHE"]).repos}
    assert cached == {"alice/two"}  # the least recently used went to keep the cache within its bound


def test_closing_the_registry_removes_every_session_folder(tmp_path):
    registry = ModelRegistry(tmp_path / "none", "cpu")
    folders = [registry.session(name).directory for name in ("a", "b")]
    registry.add_zip("a", model_zip(tmp_path, "m"))
    registry.close()
    assert not any(folder.exists() for folder in folders)


def test_the_app_stops_with_its_session_folders_gone(tmp_path):
    """SIGTERM (a supervisor stopping the app) leaves no session folder in TMPDIR."""
    import signal
    import subprocess
    import sys
    import time

    from apphelpers import free_port
    from gradio_client import Client, handle_file

    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path), "GRADIO_SERVER_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env)
    try:
        client = None
        for _ in range(120):
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:
                time.sleep(1)
        assert client is not None
        client.predict(path=handle_file(str(model_zip(tmp_path, "m"))), api_name="/load_zip")
        assert list(tmp_path.glob("textgen-session-*"))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert not list(tmp_path.glob("textgen-session-*"))

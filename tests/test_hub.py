"""huggingface_hub's real client against a local stand-in Hub (HF_ENDPOINT on 127.0.0.1)."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import tracemalloc

import pytest
import torch
from conftest import ROOT
from hubstandin import GOOD_TOKEN, StandInHub

from textgen.errors import HubError


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A running stand-in Hub, with huggingface_hub pointed at it and a fresh cache."""
    with StandInHub() as standin:
        env = {
            "HF_ENDPOINT": standin.url,
            "HF_HOME": str(tmp_path / "hf-home"),
            "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_ETAG_TIMEOUT": "5",
            "HF_HUB_DOWNLOAD_TIMEOUT": "5",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        reload_hub_modules()
        yield standin, env
    reload_hub_modules()


def reload_hub_modules():
    """huggingface_hub reads HF_ENDPOINT and the cache paths at import time."""
    import huggingface_hub.constants

    importlib.reload(huggingface_hub.constants)
    import huggingface_hub.file_download
    import huggingface_hub.hf_api

    importlib.reload(huggingface_hub.file_download)
    importlib.reload(huggingface_hub.hf_api)
    import huggingface_hub

    importlib.reload(huggingface_hub)
    import textgen.hub

    importlib.reload(textgen.hub)


def shipped(name="nyt-char"):
    return ROOT / "checkpoints" / name


def test_push_and_load_back_by_repo_id_gives_identical_logits(hub):
    standin, _ = hub
    from textgen.hub import load_model, push_folder

    url = push_folder(shipped(), "alice/nyt-char", token=GOOD_TOKEN)
    assert url.startswith(standin.url) and "/commit/" in url
    repo = standin.repos["alice/nyt-char"]
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md", "novelty.txt"} <= set(repo.files)
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in repo.files)
    sent = [(r["method"], r["path"]) for r in standin.requests]
    assert ("POST", "/api/repos/create") in sent and ("POST", "/api/models/alice/nyt-char/commit/main") in sent
    assert all(r["authorized"] for r in standin.requests if r["method"] == "POST")

    card = repo.files["README.md"].decode()
    assert card.startswith("---\n") and "library_name: textgen" in card and "model-index" in card
    assert "--model alice/nyt-char" in card and "lstm" in card

    remote = load_model("alice/nyt-char")
    local = load_model(str(shipped()))
    tokens = torch.tensor([local.tokenizer.encode_documents(["Senate Passes Bill"])])
    assert torch.equal(remote.model(tokens)[0], local.model(tokens)[0])
    assert remote.source == "alice/nyt-char" and remote.novelty == local.novelty


def test_revision_pinning_and_offline_cache(hub, monkeypatch):
    standin, _ = hub
    from textgen.hub import load_model, push_folder

    push_folder(shipped("nyt-char"), "alice/pinned", token=GOOD_TOKEN)
    first = standin.repos["alice/pinned"].sha
    push_folder(shipped("shakespeare-char"), "alice/pinned", token=GOOD_TOKEN)  # main moves on
    local = {name: load_model(str(shipped(name))) for name in ("nyt-char", "shakespeare-char")}

    def vocabulary(loaded) -> list[str]:
        return list(loaded.tokenizer.vocab)

    assert first != standin.repos["alice/pinned"].sha
    assert vocabulary(load_model(f"alice/pinned@{first}")) == vocabulary(local["nyt-char"])  # what was pushed then
    assert vocabulary(load_model("alice/pinned")) == vocabulary(local["shakespeare-char"])  # caches main's
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reload_hub_modules()
    from textgen.errors import HubError
    from textgen.hub import load_model as offline_load

    offline = offline_load("alice/pinned")  # served from the cache: main's, as last downloaded
    tokens = torch.tensor([offline.tokenizer.encode_documents(["To be"])])
    assert torch.equal(offline.model(tokens)[0], local["shakespeare-char"].model(tokens)[0])
    with pytest.raises(HubError, match="not in the local Hub cache and HF_HUB_OFFLINE is set"):
        offline_load("alice/never-downloaded")


def test_refuses_foreign_pickle_and_absurd_repos_before_the_weights(hub):
    standin, _ = hub
    from textgen.errors import HubError
    from textgen.hub import load_model

    standin.add_repo(
        "bob/gpt2",
        {
            "config.json": json.dumps({"model_type": "gpt2", "n_embd": 768}).encode(),
            "model.safetensors": b"x" * 10,
        },
    )
    standin.add_repo("bob/pickled", {"pytorch_model.bin": b"\x80\x02}q\x00."})
    config = json.loads((shipped() / "config.json").read_text())
    standin.add_repo(
        "bob/huge",
        {
            "config.json": json.dumps({**config, "hidden_size": 10**7}).encode(),
            "tokenizer.json": (shipped() / "tokenizer.json").read_bytes(),
            "model.safetensors": b"never fetched",
        },
    )
    wrong = {**config, "hidden_size": 64, "embedding_dim": 64}
    standin.add_repo(
        "bob/mismatch",
        {
            "config.json": json.dumps(wrong).encode(),
            "tokenizer.json": (shipped() / "tokenizer.json").read_bytes(),
            "model.safetensors": (shipped() / "model.safetensors").read_bytes(),
        },
    )
    with pytest.raises(HubError, match="not a textgen LSTM config: config has unknown keys"):
        load_model("bob/gpt2")
    with pytest.raises(HubError, match="holds only pickled weights"):
        load_model("bob/pickled")
    with pytest.raises(HubError, match="hidden_size=10000000 is outside"):
        load_model("bob/huge")
    assert not any(r["path"].endswith("bob/huge/resolve/main/model.safetensors") for r in standin.requests)
    with pytest.raises(HubError, match=r"model.safetensors is 8.2 MB, over the 1.2 MB a valid one can hold"):
        load_model("bob/mismatch")  # from its size as the Hub states it, before it is fetched
    assert not any(
        r["path"].endswith("bob/mismatch/resolve/main/model.safetensors") and r["method"] == "GET"
        for r in standin.requests
    )


def test_an_oversized_tokenizer_is_refused_before_it_is_fetched_and_nothing_stays_cached(hub, tmp_path):
    """The probe's 60 MB tokenizer.json: refused from the size the Hub states, by the bound the
    config's vocabulary sets (32 characters a token), never downloaded nor parsed; the config fetched
    on the way is removed from the cache."""
    standin, _ = hub
    from textgen.errors import HubError
    from textgen.hub import load_model

    config = json.loads((shipped() / "config.json").read_text())
    standin.add_repo(
        "bob/bloated",
        {
            "config.json": json.dumps(config).encode(),
            "tokenizer.json": b'{"vocab": [' + b'"a",' * (15 * 2**20) + b'"b"]}',  # 60 MB
            "model.safetensors": (shipped() / "model.safetensors").read_bytes(),
        },
    )
    tracemalloc.start()
    try:
        with pytest.raises(
            HubError, match=r"bob/bloated: tokenizer.json is 60.0 MB, over the .* MB a valid one can hold"
        ):
            load_model("bob/bloated")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20, f"refusing it took {peak / 2**20:.0f} MB"  # parsing it would take hundreds
    assert not any(r["path"].endswith("/tokenizer.json") and r["method"] == "GET" for r in standin.requests)
    repo_cache = tmp_path / "hf-cache" / "models--bob--bloated"
    cached = [p for p in repo_cache.rglob("*") if p.is_file() and {"blobs", "snapshots"} & set(p.parts)]
    assert cached == [], cached


def test_clear_one_line_errors(hub, monkeypatch):
    standin, _ = hub
    from textgen.errors import HubError
    from textgen.hub import load_model, push_folder

    with pytest.raises(HubError, match="no Hugging Face token"):
        push_folder(shipped(), "alice/x")
    with pytest.raises(HubError, match=r"token was rejected \(401\)"):
        push_folder(shipped(), "alice/x", token="hf_wrong")
    with pytest.raises(HubError, match="no model repo nobody/missing on the Hub"):
        load_model("nobody/missing")
    with pytest.raises(HubError, match="is not a Hub model reference"):
        push_folder(shipped(), "no slash here", token=GOOD_TOKEN)


@pytest.mark.slow
def test_network_failure_is_one_line(tmp_path):
    """A Hub that cannot be reached at all: the CLI prints one line, no traceback."""
    import socket

    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {
        "HF_ENDPOINT": dead,
        "HF_HOME": str(tmp_path / "h"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "PATH": "/usr/bin:/bin",
        "HF_HUB_ETAG_TIMEOUT": "2",
        "HF_HUB_DOWNLOAD_TIMEOUT": "2",
        "HF_TOKEN": GOOD_TOKEN,
    }
    for args in (
        ["generate", "--model", "alice/anything", "--prompt", "a"],
        ["push", str(shipped()), "alice/anything"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "textgen", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "could not reach the Hugging Face Hub" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_cli_push_with_hf_token(hub):
    standin, env = hub
    result = subprocess.run(
        [sys.executable, "-m", "textgen", "push", str(shipped("nyt-word")), "alice/nyt-word", "--private"],
        cwd=ROOT,
        env={**env, "HF_TOKEN": GOOD_TOKEN, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "/commit/" in result.stdout
    assert standin.repos["alice/nyt-word"].private
    assert GOOD_TOKEN not in result.stdout + result.stderr  # never echoed


def tree(root) -> dict:
    return {str(p): p.stat().st_size for p in root.rglob("*") if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize(
    "ref",
    [
        "alice/good@../../../../{victim}",
        "alice/good@main/../../../../{victim}",
        "alice/good@/{victim}",
        "alice/good@main\\..\\x",
        "alice/good/../../x",
        "../alice/good",
        "/alice/good",
        "alice/..",
        "alice/good@",
        "alice/good@main\n",
        "alice/go\x00od",
        "alice/good@-rf",
    ],
)
def test_hostile_model_references_are_refused_before_any_io(hub, tmp_path, ref):
    """With a Hub that answers any revision, a reference must not climb out of the cache (it once
    overwrote a file through refs/<revision>); refused by its grammar, before any request."""
    standin, env = hub
    from textgen import CheckpointError
    from textgen.hub import load_model

    standin.add_repo(
        "alice/good",
        {name: (shipped() / name).read_bytes() for name in ("config.json", "tokenizer.json", "model.safetensors")},
    )
    victim = tmp_path / "x" / "victim.txt"
    victim.parent.mkdir()
    victim.write_text("precious")
    ref = ref.format(victim=str(victim).lstrip("/"))
    before = tree(tmp_path)
    with pytest.raises(CheckpointError, match="not a Hub model reference"):
        load_model(ref)
    assert standin.requests == []  # refused before any network access
    assert tree(tmp_path) == before and victim.read_text() == "precious"  # and before any file access
    if "\x00" in ref:
        return  # no command line can carry a NUL byte
    result = subprocess.run(
        [sys.executable, "-m", "textgen", "generate", "--model", ref, "--prompt", "a"],
        cwd=ROOT,
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert tree(tmp_path) == before


def test_good_references_with_revisions_load_and_stay_in_the_cache(hub, tmp_path):
    standin, env = hub
    from textgen.hub import load_model

    standin.add_repo(
        "alice/good",
        {name: (shipped() / name).read_bytes() for name in ("config.json", "tokenizer.json", "model.safetensors")},
    )
    expected = list(load_model(str(shipped())).tokenizer.vocab)
    for ref in (
        "alice/good",
        "alice/good@main",
        "alice/good@v1.0",
        "alice/good@refs/pr/1",
        "alice/good@" + "a" * 40,
    ):
        assert list(load_model(ref).tokenizer.vocab) == expected
    cache = tmp_path / "hf-cache"
    outside = [
        p for p in tree(tmp_path) if not p.startswith(str(cache)) and not p.startswith(str(tmp_path / "hf-home"))
    ]
    assert outside == []
    assert (cache / "models--alice--good" / "refs" / "refs" / "pr" / "1").is_file()  # a nested ref, inside


def test_offline_a_hub_model_loads_from_the_cache_or_is_refused_at_once(hub, monkeypatch):
    """One quick probe decides that the Hub is out of reach; then nothing more is asked of the
    network (the client's retries took 24-27 s), and the message says so."""
    standin, _ = hub
    import textgen.hub as hub_module

    standin.add_repo(
        "alice/cached",
        {name: (shipped() / name).read_bytes() for name in ("config.json", "tokenizer.json", "model.safetensors")},
    )
    hub_module.load_model("alice/cached")  # online once: now in the cache
    monkeypatch.setattr(hub_module, "hub_reachable", lambda timeout=2.0: False)
    standin.requests.clear()
    assert hub_module.load_model("alice/cached").tokenizer is not None  # from the cache
    with pytest.raises(hub_module.HubError, match="offline"):
        hub_module.load_model("alice/never-downloaded")
    assert standin.requests == []  # the probe's answer was enough: no request reached the network


def test_the_servers_token_never_opens_a_private_repo_to_a_visitor(hub, monkeypatch, tmp_path):
    """A Space owner's HF_TOKEN secret is there to push with: the page loads Hub models anonymously,
    so a visitor who names the owner's private repo is told it is not there, and public ones load."""
    standin, _ = hub
    from textgen.hub import load_model, push_folder
    from textgen.registry import ModelRegistry

    push_folder(shipped(), "owner/secret", token=GOOD_TOKEN, private=True)
    push_folder(shipped(), "owner/open", token=GOOD_TOKEN)
    monkeypatch.setenv("HF_TOKEN", GOOD_TOKEN)
    assert load_model("owner/secret").source == "owner/secret"  # the command line: the user's own token
    registry = ModelRegistry(tmp_path / "none", "cpu")
    with pytest.raises(HubError, match="no model repo owner/secret on the Hub"):
        registry.get("owner/secret")
    assert registry.get("owner/open").source == "owner/open"
    assert not any(r["authorized"] for r in standin.requests[-6:])  # the page's requests: no token sent


def test_push_and_publish_refuse_a_link_and_name_it(hub, tmp_path):
    from textgen.hub import push_folder, push_space

    folder = tmp_path / "model"
    shutil.copytree(shipped(), folder)
    secret = tmp_path / "token"
    secret.write_text("hf_secret", encoding="utf-8")
    (folder / "novelty.txt").unlink()
    (folder / "novelty.txt").symlink_to(secret)
    with pytest.raises(HubError, match=r"novelty\.txt is a link \(to .*token\): an upload would publish"):
        push_folder(folder, "alice/linked", token=GOOD_TOKEN)
    page = tmp_path / "page"
    page.mkdir()
    (page / "index.html").write_text("<p>hi</p>", encoding="utf-8")
    (page / "extra").symlink_to(tmp_path)
    with pytest.raises(HubError, match="extra is a link"):
        push_space(page, "alice/page", token=GOOD_TOKEN)
    assert "alice/linked" not in standin_repos(hub) and "alice/page" not in standin_repos(hub)


def standin_repos(hub) -> dict:
    return hub[0].repos

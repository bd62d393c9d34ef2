"""A small local stand-in for the Hugging Face Hub: just the HTTP endpoints that huggingface_hub's
`create_repo`, `create_commit`/`upload_folder` (with its LFS upload), `hf_hub_download` and
`list_repo_files` call.

It keeps what was uploaded in memory and records every request, so tests can check what the real
client sent. Tests point HF_ENDPOINT at it (and set HF_HUB_DISABLE_XET: the Xet protocol is not
simulated, its predecessor LFS is); nothing leaves 127.0.0.1.

It refuses what the real Hub refuses, as its documentation and the client's code say:
- a file committed as a regular git blob that is binary and over 1 MB, or any over 10 MB: those go to
  LFS/Xet storage ("Your push was rejected because it contains binary files"; the thresholds:
  huggingface_hub#687, the 1 MB binary rule from huggingface_hub#657, repositories-getting-started.md
  for 10 MB); its preupload endpoint therefore sends binary and large files to LFS, as the real one
  tells the client to (`_fetch_upload_modes` in huggingface_hub's _commit_api.py);
- a Gradio Space for a free account unless it runs on ZeroGPU, and more than 2 ZeroGPU Spaces
  (hub-docs spaces-overview.md and spaces-zerogpu.md at 34ee0f00, 2026-07-21: compute Spaces need a
  paid plan; free accounts in good standing host up to 2 ZeroGPU Spaces). The real refusal's wording
  is not documented: this one says the rule.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

GOOD_TOKEN = "hf_standin_write_token"
USER = "alice"  # a free account
BINARY_LIMIT = 2**20  # a binary file over this must be stored with LFS/Xet
TEXT_LIMIT = 10 * 2**20  # any file over this
FREE_ZEROGPU_SPACES = 2


@dataclass
class Repo:
    private: bool = False
    kind: str = "model"  # or "space"
    sdk: str | None = None  # a Space's
    hardware: str | None = None  # a Space's, as asked at creation
    files: dict[str, bytes] = field(default_factory=dict)
    sha: str = "0" * 40
    commits: list[dict] = field(default_factory=list)
    snapshots: dict[str, dict[str, bytes]] = field(default_factory=dict)  # each commit's files, by sha

    def at(self, revision: str) -> tuple[str, dict[str, bytes]]:
        """The commit and files a revision names: an earlier commit's sha, else (a branch) the latest."""
        if revision in self.snapshots:
            return revision, self.snapshots[revision]
        return self.sha, self.files


class StandInHub:
    def __init__(self):
        self.repos: dict[str, Repo] = {}
        self.requests: list[dict] = []  # method, path, authorized, body summary
        self.lfs: dict[str, bytes] = {}  # LFS objects uploaded, by sha256
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StandInHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_repo(self, repo_id: str, files: dict[str, bytes], private: bool = False) -> None:
        repo = Repo(private=private, files=dict(files))
        repo.sha = hashlib.sha1(repr(sorted(files)).encode()).hexdigest()
        repo.snapshots[repo.sha] = dict(files)
        self.repos[repo_id] = repo

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            # ------------------------------------------------------------ helpers
            def authorized(self) -> bool | None:
                header = self.headers.get("Authorization", "")
                if not header:
                    return None
                return header == f"Bearer {GOOD_TOKEN}"

            def body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def reply(self, status: int, payload=None, headers: dict | None = None, raw: bytes | None = None):
                data = raw if raw is not None else json.dumps(payload if payload is not None else {}).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                if raw is None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def error(self, status: int, code: str | None = None, message: str | None = None, extra=None):
                headers = dict(extra or {})
                if code:
                    headers["X-Error-Code"] = code
                if message:
                    headers["X-Error-Message"] = message
                self.reply(status, {"error": message or code or "error"}, headers)

            def record(self, body_summary=None):
                hub.requests.append(
                    {
                        "method": self.command,
                        "path": urlparse(self.path).path,
                        "authorized": self.authorized(),
                        "body": body_summary,
                    }
                )

            def readable_repo(self, repo_id: str) -> Repo | None:
                repo = hub.repos.get(repo_id)
                if repo is None or (repo.private and self.authorized() is not True):
                    self.error(404, "RepoNotFound", "Repository not found")
                    return None
                return repo

            # ------------------------------------------------------------ routes
            def do_HEAD(self):
                self.do_GET()

            def do_GET(self):
                raw_path = urlparse(self.path).path  # a revision's "/" arrive quoted: refs%2Fpr%2F1
                path = unquote(raw_path)
                self.record()
                if self.authorized() is False:
                    return self.error(401, message="Invalid credentials in Authorization header")
                if match := re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", raw_path):
                    repo_id, revision, filename = (unquote(group) for group in match.groups())
                    repo = self.readable_repo(repo_id)
                    if repo is None:
                        return None
                    sha, files = repo.at(revision)
                    if filename not in files:
                        return self.error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": sha})
                    data = files[filename]
                    etag = hashlib.sha256(data).hexdigest()
                    return self.reply(200, raw=data, headers={"X-Repo-Commit": sha, "ETag": f'"{etag}"'})
                if match := re.match(r"^/api/(?:models|spaces)/([^/]+/[^/]+)/tree/([^/]+)", path):
                    repo = self.readable_repo(match.group(1))
                    if repo is None:
                        return None
                    tree = [
                        {"type": "file", "path": p, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                        for p, d in sorted(repo.files.items())
                    ]
                    return self.reply(200, tree)
                if match := re.match(r"^/api/(?:models|spaces)/([^/]+/[^/]+)(?:/revision/([^/]+))?$", path):
                    repo = self.readable_repo(match.group(1))
                    if repo is None:
                        return None
                    sha, files = repo.at(match.group(2) or "main")
                    siblings = [{"rfilename": p} for p in sorted(files)]
                    return self.reply(
                        200, {"id": match.group(1), "sha": sha, "private": repo.private, "siblings": siblings}
                    )
                return self.error(404, message=f"no route {path}")

            def do_POST(self):
                path = unquote(urlparse(self.path).path)
                raw = self.body()
                authorized = self.authorized()
                if authorized is not True:
                    self.record()
                    message = "Invalid credentials in Authorization header" if authorized is False else None
                    return self.error(401, message=message or "Unauthorized")
                if path == "/api/validate-yaml":
                    self.record({"validate": "README.md"})
                    return self.reply(200, {"errors": [], "warnings": []})
                if path == "/api/repos/create":
                    payload = json.loads(raw)
                    self.record(payload)
                    repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
                    url = f"{hub.url}/{repo_id}"
                    if repo_id in hub.repos:
                        return self.reply(409, {"error": "You already created this model repo", "url": url})
                    private = payload.get("private") or payload.get("visibility") == "private"
                    kind = payload.get("type") or "model"
                    refused = space_refusal(payload, hub.repos.values())
                    if refused:
                        return self.error(403, message=refused)
                    repo = Repo(bool(private), kind, payload.get("sdk"), payload.get("hardware"))
                    hub.repos[repo_id] = repo
                    return self.reply(200, {"url": url, "name": repo_id})
                if match := re.match(r"^/(?:spaces/)?([^/]+/[^/]+)\.git/info/lfs/objects/batch$", path):
                    payload = json.loads(raw)
                    self.record({"lfs": [item["oid"] for item in payload["objects"]]})
                    objects = [
                        {
                            "oid": item["oid"],
                            "size": item["size"],
                            "actions": {"upload": {"href": f"{hub.url}/lfs-upload/{item['oid']}"}},
                        }
                        for item in payload["objects"]
                        if item["oid"] not in hub.lfs
                    ]
                    return self.reply(200, {"transfer": "basic", "objects": objects})
                if match := re.match(r"^/api/(?:models|spaces)/([^/]+/[^/]+)/preupload/([^/]+)$", path):
                    payload = json.loads(raw)
                    self.record({"files": [f["path"] for f in payload.get("files", [])]})
                    if match.group(1) not in hub.repos:
                        return self.error(404, "RepoNotFound", "Repository not found")
                    files = [
                        {"path": f["path"], "uploadMode": upload_mode(f), "shouldIgnore": False}
                        for f in payload.get("files", [])
                    ]
                    return self.reply(200, {"files": files})
                if match := re.match(r"^/api/(?:models|spaces)/([^/]+/[^/]+)/commit/([^/]+)$", path):
                    repo_id = match.group(1)
                    repo = hub.repos.get(repo_id)
                    if repo is None:
                        return self.error(404, "RepoNotFound", "Repository not found")
                    lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
                    header = next(item["value"] for item in lines if item["key"] == "header")
                    added, removed = {}, []
                    for item in lines:
                        value = item["value"]
                        if item["key"] == "file":
                            added[value["path"]] = base64.b64decode(value["content"])
                        elif item["key"] == "lfsFile":
                            if value["oid"] not in hub.lfs:
                                return self.error(400, message=f"LFS object {value['oid']} was never uploaded")
                            added[value["path"]] = hub.lfs[value["oid"]]
                        elif item["key"] in ("deletedFile", "deletedFolder"):
                            removed.append(value["path"])
                    rejected = [
                        item["value"]["path"]
                        for item in lines
                        if item["key"] == "file" and not stored_as_blob(added[item["value"]["path"]])
                    ]
                    if rejected:
                        self.record({"rejected": rejected})
                        return self.error(
                            400,
                            message="Your push was rejected because it contains binary files. Offending files: "
                            + ", ".join(rejected),
                        )
                    for gone in removed:
                        for name in [n for n in repo.files if n == gone or n.startswith(gone.rstrip("/") + "/")]:
                            del repo.files[name]
                    repo.files.update(added)
                    # As git's: the parent, the content and the moment, so no two repos' commits share one.
                    stamp = f"{repo_id}\0{time.time_ns()}\0".encode()
                    content = json.dumps(
                        {name: hashlib.sha1(data).hexdigest() for name, data in sorted(added.items())}
                    )
                    repo.sha = hashlib.sha1(stamp + repo.sha.encode() + content.encode()).hexdigest()
                    repo.snapshots[repo.sha] = dict(repo.files)
                    repo.commits.append({"summary": header.get("summary"), "files": sorted(added)})
                    self.record({"summary": header.get("summary"), "files": sorted(added)})
                    return self.reply(
                        200, {"commitUrl": f"{hub.url}/{repo_id}/commit/{repo.sha}", "commitOid": repo.sha}
                    )
                self.record()
                return self.error(404, message=f"no route {path}")

            def do_PUT(self):
                path = urlparse(self.path).path
                data = self.body()
                self.record({"bytes": len(data)})
                if match := re.match(r"^/lfs-upload/([0-9a-f]{64})$", path):
                    if hashlib.sha256(data).hexdigest() != match.group(1):
                        return self.error(400, message="the uploaded object does not match its oid")
                    hub.lfs[match.group(1)] = data
                    return self.reply(200, {})
                return self.error(404, message=f"no route {path}")

        return Handler


def is_binary(data: bytes) -> bool:
    return b"\0" in data


def upload_mode(file: dict) -> str:
    """What the preupload endpoint tells the client: LFS for binary and large files."""
    sample = base64.b64decode(file.get("sample", ""))
    return "lfs" if is_binary(sample) or file.get("size", 0) > TEXT_LIMIT else "regular"


def stored_as_blob(data: bytes) -> bool:
    """Whether a git blob may hold `data` (else it must go to LFS/Xet storage)."""
    return len(data) <= TEXT_LIMIT and not (is_binary(data) and len(data) > BINARY_LIMIT)


def space_refusal(payload: dict, repos) -> str | None:
    """Why a free account may not create this repo, or None."""
    if payload.get("type") != "space" or payload.get("sdk") == "static":
        return None
    if payload.get("hardware") != "zero-a10g":
        return (
            "a free account can create Gradio and Docker Spaces on ZeroGPU hardware only (a paid plan for others)"
        )
    zero = sum(repo.kind == "space" and repo.hardware == "zero-a10g" for repo in repos)
    if zero >= FREE_ZEROGPU_SPACES:
        return f"a free account hosts at most {FREE_ZEROGPU_SPACES} ZeroGPU Spaces"
    return None

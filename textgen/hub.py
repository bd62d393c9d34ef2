"""Load a model by name (a folder or a Hub repo id) and push a model folder to the Hub."""

from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path

import torch
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    constants,
    get_hf_file_metadata,
    get_session,
    get_token,
    hf_hub_download,
    hf_hub_url,
    scan_cache_dir,
)
from huggingface_hub.errors import (
    CacheNotFound,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import logging as hf_logging

from .card import render_card
from .checkpoints import (
    CARD_FILE,
    CONFIG_FILE,
    MODEL_FILES,
    NOVELTY_FILE,
    STATS_FILE,
    TOKENIZER_FILE,
    TRAINING_FILE,
    WEIGHTS_FILE,
    LoadedModel,
    file_limits,
    load_folder,
    read_config,
    read_json,
)
from .errors import CheckpointError, HubError
from .hubref import is_repo_ref, parse_model_ref, shown_ref

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
OFFLINE_PROBE_SECONDS = 2.0
# The server's Hub cache, trimmed after each load (least recently used repos first): 4 of the
# largest models a visitor may name (TEXTGEN_MAX_MODEL_MB, 256 on the page) and then some.
DEFAULT_HUB_CACHE_BYTES = 2 * 2**30


def quiet_hub_logging() -> None:
    """For command lines: the Hub client's retry warnings would bury our one-line error."""
    hf_logging.set_verbosity_error()


def hub_error(err: Exception, repo: str) -> HubError:
    """One line for each way a Hub call fails."""
    if isinstance(err, GatedRepoError):
        return HubError("{repo} is gated: accept its terms on the Hub and use a token that may read it", repo=repo)
    if isinstance(err, RepositoryNotFoundError):
        return HubError(
            "no model repo {repo} on the Hub (or it is private and your token cannot see it)", repo=repo
        )
    if isinstance(err, RevisionNotFoundError):
        return HubError("{repo} has no such revision", repo=repo)
    if isinstance(err, (LocalEntryNotFoundError, OfflineModeIsEnabled)):
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
            return HubError("{repo} is not in the local Hub cache and HF_HUB_OFFLINE is set", repo=repo)
        return HubError(
            "could not reach the Hugging Face Hub to fetch {repo} (offline or network down?)", repo=repo
        )
    if isinstance(err, HfHubHTTPError):
        status = err.response.status_code if err.response is not None else None
        if status == 401:
            return HubError("the Hugging Face token was rejected (401): check HF_TOKEN or log in again")
        if status == 403:
            said = (err.server_message or "").strip().splitlines()
            if said:  # the Hub says why (a plan's limit, say)
                return HubError("the Hub refused {repo} (403): {reason}", repo=repo, reason=said[0][:200])
            return HubError("the Hugging Face token may not write to {repo} (403)", repo=repo)
        detail = (str(err).splitlines() or [""])[0][:120]
        return HubError("the Hub answered {status} for {repo}: {detail}", status=status, repo=repo, detail=detail)
    network = isinstance(err, (ConnectionError, TimeoutError))
    if network or type(err).__name__.endswith(("ConnectError", "Timeout")):  # httpx's own classes
        return HubError(
            "could not reach the Hugging Face Hub for {repo} ({kind})", repo=repo, kind=type(err).__name__
        )
    detail = (str(err).splitlines() or [""])[0][:120]
    return HubError(
        "the Hub request for {repo} failed: {kind} {detail}", repo=repo, kind=type(err).__name__, detail=detail
    )


def _refuse_missing(api: HfApi, repo_id: str, revision: str | None, missing: str) -> HubError:
    """Say why a needed file is missing: a pickle-only repo, or not a textgen model at all."""
    try:
        files = api.list_repo_files(repo_id, revision=revision)
    except Exception:  # the listing only sharpens the message
        files = []
    if any(name.endswith(PICKLE_SUFFIXES) for name in files) and WEIGHTS_FILE not in files:
        return HubError("{repo} holds only pickled weights; textgen loads safetensors only, refused", repo=repo_id)
    return HubError("{repo} is not a textgen model: it has no {missing}", repo=repo_id, missing=missing)


def hub_reachable(timeout: float = OFFLINE_PROBE_SECONDS) -> bool:
    """One quick request to the Hub's endpoint: any HTTP answer means it can be reached. Without
    this, an offline machine spent 24-27 s in the client's retries before saying so."""
    try:
        get_session().head(constants.ENDPOINT, timeout=timeout)
    except Exception:  # whatever transport error the HTTP library raises: not reachable
        return False
    return True


def download_model(ref: str, token: str | bool | None = None) -> Path:
    """Fetch a repo's files into the Hub cache, config first: each file's size is checked against
    what a valid one can hold (file_limits, by the model the config describes) before it is fetched,
    and config and tokenizer are read before the weights. A model refused on the way leaves nothing in
    the cache. Offline, files come from the cache, and a model that is not there is refused at once."""
    repo_id, revision = parse_model_ref(ref)
    api = HfApi(token=token)
    cache_only = constants.HF_HUB_OFFLINE or not hub_reachable()
    fetched: list[Path] = []
    limits = file_limits()

    def fetch(filename: str, required: bool = True) -> Path | None:
        try:
            if not cache_only:
                url = hf_hub_url(repo_id, filename, revision=revision)
                size = get_hf_file_metadata(url, token=token).size
                if size is not None and size > limits[filename]:
                    raise CheckpointError(
                        "{name} is {size:,.1f} MB, over the {limit:,.1f} MB a valid one can hold",
                        name=filename,
                        size=size / 2**20,
                        limit=limits[filename] / 2**20,
                    )
            path = Path(
                hf_hub_download(repo_id, filename, revision=revision, token=token, local_files_only=cache_only)
            )
        except RemoteEntryNotFoundError:  # not LocalEntryNotFoundError (offline, not cached): a sibling
            if required:
                raise _refuse_missing(api, repo_id, revision, filename) from None
            return None
        except LocalEntryNotFoundError:
            if required:
                raise
            return None  # offline: an optional file that is not in the cache
        fetched.append(path)
        return path

    try:
        config_path = fetch(CONFIG_FILE)
        limits = file_limits(read_config(config_path))  # foreign configs and absurd sizes stop here
        read_json(fetch(TOKENIZER_FILE), limits[TOKENIZER_FILE])
        fetch(WEIGHTS_FILE)
        for optional in (TRAINING_FILE, NOVELTY_FILE, STATS_FILE, CARD_FILE):
            fetch(optional, required=False)
    except BaseException as err:
        if not cache_only:
            forget(fetched)
        if isinstance(err, HubError):
            raise
        if isinstance(err, CheckpointError):
            raise err.recast(HubError).within(repo_id) from None
        if isinstance(err, Exception):  # HTTP errors, and transport errors of whatever HTTP library is used
            raise hub_error(err, repo_id) from None
        raise
    return config_path.parent


def trim_hub_cache(max_bytes: int, keep: str | None = None) -> int:
    """Remove the least recently used models from the Hub cache until it holds at most `max_bytes`
    (`keep`, a reference just loaded, stays). Returns the bytes it holds after."""
    try:
        cache = scan_cache_dir(constants.HF_HUB_CACHE)
    except CacheNotFound:
        return 0
    keep_id = parse_model_ref(keep)[0] if keep else None
    size = cache.size_on_disk
    for repo in sorted(cache.repos, key=lambda r: r.last_accessed):
        if size <= max_bytes:
            break
        if repo.repo_id == keep_id:
            continue
        # The repo's folder, not its revisions by hash: a hash names a commit in any repo that has it.
        shutil.rmtree(repo.repo_path, ignore_errors=True)
        size -= repo.size_on_disk
    return size


def forget(paths: list[Path]) -> None:
    """Remove downloaded files from the Hub cache: each snapshot's link and the blob it points to."""
    for path in paths:
        blob = path.resolve()
        path.unlink(missing_ok=True)
        if blob != path:
            blob.unlink(missing_ok=True)


def shipped_folder(name: str) -> Path | None:
    """A shipped model's folder by the name the page lists it under (`nyt-char`), if there is one."""
    folder = Path(os.environ.get("TEXTGEN_CHECKPOINTS") or Path(__file__).resolve().parents[1] / "checkpoints")
    found = folder / name
    return found if "/" not in name and name not in ("", ".", "..") and (found / CONFIG_FILE).is_file() else None


def load_model(ref: str, device: str | torch.device = "cpu", token: str | None = None) -> LoadedModel:
    """A model folder (command lines only), a shipped model by its name, or a Hub reference
    `user/name[@revision]`."""
    if Path(ref).is_dir():
        return load_folder(ref, device)
    if (shipped := shipped_folder(ref)) is not None:
        return load_folder(shipped, device)
    if not is_repo_ref(ref):
        raise CheckpointError(
            "no such model folder or shipped model, and not a Hub model reference "
            "(user/name or user/name@revision: a branch, a tag or a 40-character commit)"
        ).within(shown_ref(ref))
    try:
        return load_hub_model(ref, device, token)
    except HubError as err:
        if Path(ref.split("/")[0]).is_dir():  # `checkpoints/name`: meant as a folder, not a Hub id
            raise CheckpointError("no such model folder").within(shown_ref(ref)) from err
        raise


def load_hub_model(ref: str, device: str | torch.device = "cpu", token: str | bool | None = None) -> LoadedModel:
    """A Hub model `user/name[@revision]` through the Hub cache; never a local path (the app's way).
    `token`: None, the user's own (HF_TOKEN, or `hf auth login`'s); False: none, anonymously."""
    folder = download_model(ref, token)
    try:
        loaded = load_folder(folder, device)
    except HubError:
        raise
    except CheckpointError as err:
        raise err.recast(HubError).within(ref) from None
    loaded.source = ref
    return loaded


def refuse_links(directory: Path, patterns: list[str] | None = None) -> None:
    """Before an upload of `directory` (the files matching `patterns`, all if None): none may be a
    link, which an upload would follow and publish what it points at (a token, /etc/passwd)."""
    for root, folders, files in os.walk(directory):  # links to folders are listed, not entered
        for name in folders + files:
            path = Path(root) / name
            relative = path.relative_to(directory).as_posix()
            wanted = patterns is None or any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)
            if wanted and path.is_symlink():
                raise HubError(
                    "{name} is a link (to {target}): an upload would publish what it points at; copy the "
                    "file into the folder instead",
                    name=relative,
                    target=os.readlink(path),
                )


def check_push(repo_id: str, token: str | None = None) -> str:
    """Before any work: a repo id to push to and a token to push with (returned), or a clear error."""
    if parse_model_ref(repo_id)[1] is not None:
        raise HubError("push to a repo id user/name, without @revision").within(shown_ref(repo_id))
    token = token or get_token()
    if not token:
        raise HubError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    return token


def push_folder(
    directory: str | os.PathLike,
    repo_id: str,
    token: str | None = None,
    private: bool = False,
) -> str:
    """Create the repo if needed and upload the model folder with a card naming the repo."""
    directory = Path(directory)
    refuse_links(directory, list(MODEL_FILES))
    loaded = load_folder(directory)  # refuses an incomplete folder before touching the network
    token = check_push(repo_id, token)
    card = render_card(loaded.info, loaded.model.config, model_ref=repo_id)
    operations = [
        CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(directory / name))
        for name in MODEL_FILES
        if name != CARD_FILE and (directory / name).is_file()
    ]
    operations.append(CommitOperationAdd(path_in_repo=CARD_FILE, path_or_fileobj=card.encode("utf-8")))
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        commit = api.create_commit(repo_id, operations=operations, commit_message="Upload textgen LSTM model")
    except Exception as err:  # HTTP errors, and transport errors of whatever HTTP library the client uses
        raise hub_error(err, repo_id) from None
    return commit.commit_url


def push_space(
    directory: str | os.PathLike, space_id: str, token: str | None = None, private: bool = False
) -> str:
    """Create a static Space `space_id` if needed and upload the web page folder `directory` to it
    (`webpage.export_web`'s): a page anyone can open, hosted free. Returns the commit's URL."""
    token = check_push(space_id, token)
    refuse_links(Path(directory))
    api = HfApi(token=token)
    try:
        api.create_repo(space_id, repo_type="space", space_sdk="static", private=private, exist_ok=True)
        commit = api.upload_folder(
            folder_path=str(directory),
            repo_id=space_id,
            repo_type="space",
            commit_message="Upload a textgen model as a web page",
        )
    except Exception as err:  # HTTP errors, and transport errors of whatever HTTP library the client uses
        raise hub_error(err, space_id) from None
    return commit.commit_url

"""Deploy the studio as a Hugging Face Space through the Hub's upload API, which stores the model
weights with Xet (LFS where Xet is not installed), as the Hub requires of binary files.

`git push` of this repository is refused by the Hub: its history holds every shipped model's
`model.safetensors` as plain git blobs (binary files over 1 MB must be stored with Xet/LFS), so a
deploy uploads the files a Space needs as they are now, in one commit, and removes what an earlier
deploy left that is no longer here.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi, constants

from .errors import HubError
from .hub import check_push, hub_error, refuse_links

# What the Space runs: the page, its package, its requirements, the shipped models, and the README
# whose front matter configures the Space (SDK, Python, OAuth).
SPACE_FILES = ["README.md", "app.py", "requirements.txt", ".gitattributes", "textgen/*", "checkpoints/*"]
NOT_FOR_THE_SPACE = ["*/__pycache__/*", "*.pyc", "checkpoints/*/training_state.safetensors"]
REPLACED = ["textgen/*", "checkpoints/*"]  # files of an earlier deploy that are gone here are removed
HARDWARE = ("zero-a10g", "cpu-basic")  # ZeroGPU (free accounts may host 2), or CPU (a paid plan)


def checkout_root() -> Path:
    """The checkout this package runs from: the one whose app.py and models a Space gets."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "app.py").is_file() or not (root / "README.md").is_file():
        raise HubError("deploy runs from a checkout of textgen (app.py and README.md beside the package)")
    return root


def deploy_space(
    space_id: str, token: str | None = None, hardware: str = "zero-a10g", private: bool = False
) -> tuple[str, str]:
    """Create the Gradio Space `space_id` on `hardware` if it does not exist, and upload what it runs.
    Returns the commit's URL and the Space's settings page."""
    if hardware not in HARDWARE:
        raise HubError("hardware must be one of {choices}", choices=", ".join(HARDWARE))
    token = check_push(space_id, token)
    root = checkout_root()
    refuse_links(root, SPACE_FILES)
    api = HfApi(token=token)
    try:
        api.create_repo(
            space_id,
            repo_type="space",
            space_sdk="gradio",
            space_hardware=hardware,
            private=private,
            exist_ok=True,
        )
        commit = api.upload_folder(
            folder_path=str(root),
            repo_id=space_id,
            repo_type="space",
            allow_patterns=SPACE_FILES,
            ignore_patterns=NOT_FOR_THE_SPACE,
            delete_patterns=REPLACED,
            commit_message="Deploy textgen studio",
        )
    except Exception as err:  # HTTP errors, and transport errors of whatever HTTP library the client uses
        raise hub_error(err, space_id) from None
    return commit.commit_url, f"{constants.ENDPOINT}/spaces/{space_id}/settings"

"""Hub references, `user/name[@revision]`: checked against a strict grammar before any I/O, so that
nothing in one can climb out of the Hub cache or reach another host."""

from __future__ import annotations

import re

from .errors import HubError

# A Hub name as the Hub allows it: letters, digits, "_", "." and "-", not starting or ending with
# "." or "-". A revision: a branch or tag (segments of the same letters, none starting with "." or
# "-", joined by "/") or a 40-hex commit. Together with the ban on "..", nothing in a reference can
# climb out of the Hub cache, which keeps `refs/<revision>` files.
_NAME = r"[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9_])?"
_SEGMENT = r"[A-Za-z0-9_][\w.-]{0,99}"
MODEL_REF = re.compile(rf"(?P<repo>{_NAME}/{_NAME})(?:@(?P<revision>{_SEGMENT}(?:/{_SEGMENT}){{0,7}}))?", re.ASCII)


def parse_model_ref(ref: str) -> tuple[str, str | None]:
    """`user/name[@revision]` -> (repo id, revision); anything else is refused before any I/O."""
    match = MODEL_REF.fullmatch(ref)
    if match is None or ".." in ref:
        raise HubError(
            "{ref} is not a Hub model reference: use user/name or user/name@revision "
            "(a branch, a tag or a 40-character commit)",
            ref=shown_ref(ref),
        )
    return match["repo"], match["revision"]


def shown_ref(ref: str) -> str:
    """A reference as a message may show it: short, and escaped if it holds control characters."""
    return ref if len(ref) <= 80 and ref.isprintable() else repr(ref[:80])


def is_repo_ref(ref: str) -> bool:
    return MODEL_REF.fullmatch(ref) is not None and ".." not in ref

"""Chat exports that come zipped: WhatsApp on iOS ("WhatsApp Chat - Bob.zip": `_chat.txt` and the
media) and Slack (a folder of JSON files per channel). A member is read where it lies, as a stream,
never unpacked to disk, with the checks a model zip gets: the zip's declared sizes are refused before
anything is read when they add up to more than MAX_TEXT_BYTES, and reading stops at that many bytes
whatever the zip declares (a small zip can inflate to gigabytes)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .errors import CorpusError

MAX_TEXT_BYTES = 256 * 2**20  # a chat's text, inflated: far above any export's, far below memory
MAX_MEMBERS = 100_000
SLACK_LISTS = {"users.json", "channels.json", "groups.json", "dms.json", "mpims.json", "integration_logs.json"}


@dataclass(frozen=True)
class ZipText:
    """One member of a zip, readable as a file is: `open("rb")` gives a stream that stops at the limit."""

    archive: Path
    member: str

    @property
    def name(self) -> str:
        return PurePosixPath(self.member).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.member).suffix.lower()

    def __str__(self) -> str:
        return f"{self.archive.name}/{self.member}"

    def open(self, mode: str = "rb") -> BinaryIO:
        zipped = zipfile.ZipFile(self.archive)
        try:
            return _Limited(zipped.open(self.member), zipped, MAX_TEXT_BYTES)
        except BaseException:
            zipped.close()
            raise


class _Limited:
    """A member's stream that refuses to inflate past `limit` bytes, and closes its zip with itself."""

    def __init__(self, stream: BinaryIO, zipped: zipfile.ZipFile, limit: int):
        self.stream, self.zipped, self.left = stream, zipped, limit

    def read(self, size: int = -1) -> bytes:
        want = self.left + 1 if size is None or size < 0 else min(size, self.left + 1)
        data = self.stream.read(want)
        self.left -= len(data)
        if self.left < 0:
            raise CorpusError(
                "the zip's chat inflates to more than {limit:,} MB of text", limit=MAX_TEXT_BYTES // 2**20
            )
        return data

    def close(self) -> None:
        self.stream.close()
        self.zipped.close()

    def __enter__(self) -> _Limited:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def chat_members(archive: Path) -> list[ZipText]:
    """The members of a zipped chat export that hold its text: WhatsApp's `_chat.txt` (or the zip's
    one .txt file), or a Slack export's channel files; refused clearly otherwise."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [info for info in zipped.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as err:
        raise CorpusError("not a readable zip file ({reason})", reason=err) from None
    if len(members) > MAX_MEMBERS:
        raise CorpusError(
            "the zip holds {count:,} files; a chat export holds at most {max:,}",
            count=len(members),
            max=MAX_MEMBERS,
        )
    texts = [m for m in members if m.filename.lower().endswith(".txt") and not m.filename.startswith("__MACOSX/")]
    chat = [m for m in texts if PurePosixPath(m.filename).name == "_chat.txt"] or (
        texts if len(texts) == 1 else []
    )
    slack = [
        m
        for m in members
        if m.filename.lower().endswith(".json")
        and len(PurePosixPath(m.filename).parts) >= 2
        and PurePosixPath(m.filename).name not in SLACK_LISTS
    ]
    chosen = chat or sorted(slack, key=lambda m: m.filename)
    if not chosen:
        raise CorpusError(
            "the zip holds no chat export: no _chat.txt (WhatsApp), no single .txt file, no Slack channel folders"
        )
    if sum(m.file_size for m in chosen) > MAX_TEXT_BYTES:
        raise CorpusError("the zip's chat declares more than {limit:,} MB of text", limit=MAX_TEXT_BYTES // 2**20)
    return [ZipText(archive, m.filename) for m in chosen]

"""Records with fields, and chat exports in JSON read as messages with a speaker.

A record is one document's text with the fields it came with (a CSV row's columns, a JSON object's
keys, nested ones by dotted path as pandas flattens them: `fromUser.username`), so that `--where
FIELD=VALUE` can keep some of them. JSON chat exports are recognised by their shape and read as one
record per message with its `speaker`, named as the people in the chat see each other: Telegram's
`result.json`, Discord (DiscordChatExporter: the server nickname, else the display name, else the
username), Slack (the display name, else the real name, else the user id), Facebook Messenger and
Instagram (`message_1.json`, their text repaired), and Gitter's message format. Service messages
are not text. Chat exports that are text files: textchats.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .errors import CorpusError

SPEAKER = "speaker"  # the field every chat message has, whatever its export calls it
DISCORD_NAMES = ("nickname", "globalName", "name")  # as the server shows a member, first to last


@dataclass
class Record:
    text: str
    fields: dict = field(default_factory=dict)  # as its file has them
    speaker: str | None = None  # chat exports: who wrote it
    when: datetime | None = None  # chat exports: when

    def get(self, path: str) -> str | None:
        """A field's value as text, by dotted path (`fromUser.username`); `speaker` for chat messages."""
        if path == SPEAKER and self.speaker is not None:
            return self.speaker
        value: object = self.fields
        for key in path.split("."):
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return None if isinstance(value, (dict, list)) or value is None else str(value)


def message_text(value: object) -> str | None:
    """A message's text: a string, or rich text as a list of strings and pieces with a `text`
    (Telegram's links, bold and mentions), joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [
            part if isinstance(part, str) else part.get("text") for part in value if isinstance(part, (str, dict))
        ]
        return "".join(part for part in parts if isinstance(part, str))
    return None


# ------------------------------------------------------------------ JSON exports


def _telegram(data: object) -> list[dict] | None:
    """Telegram Desktop's result.json: one chat ({"messages": [...]}) or all ({"chats": {"list": [...]}})."""
    if not isinstance(data, dict):
        return None
    chats = data.get("chats", {}).get("list") if isinstance(data.get("chats"), dict) else None
    groups = chats if isinstance(chats, list) else [data]
    messages = [
        m for chat in groups if isinstance(chat, dict) for m in chat.get("messages") or [] if isinstance(m, dict)
    ]
    if (
        messages
        and any("from" in m or "from_id" in m for m in messages[:50])
        and all("date" in m for m in messages[:50])
    ):
        return messages
    return None


def _discord(data: object) -> list[dict] | None:
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        messages = [m for m in data["messages"] if isinstance(m, dict)]
        if messages and all(isinstance(m.get("author"), dict) and "content" in m for m in messages[:50]):
            return messages
    return None


def _messenger(data: object) -> list[dict] | None:
    """Facebook Messenger's or Instagram's `message_N.json`: participants and messages, newest first."""
    if (
        isinstance(data, dict)
        and isinstance(data.get("participants"), list)
        and isinstance(data.get("messages"), list)
    ):
        messages = [m for m in data["messages"] if isinstance(m, dict)]
        if messages and all("sender_name" in m and "timestamp_ms" in m for m in messages[:50]):
            return sorted(messages, key=lambda m: m["timestamp_ms"] if isinstance(m["timestamp_ms"], int) else 0)
    return None


def repaired(text: object) -> object:
    """Facebook's exports write UTF-8 bytes as if each were a Latin-1 character ("Ã©" for "é"): undone
    where the text is that, kept as it is where it is not."""
    if not isinstance(text, str) or text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _listed(data: object, keys: tuple[str, ...]) -> list[dict] | None:
    listed = isinstance(data, list) and data and all(isinstance(m, dict) for m in data[:50])
    return data if listed and all(all(key in m for key in keys) for m in data[:50]) else None


def _when(value: object, unit: float = 1.0) -> datetime | None:
    """A message's time: an ISO date ("2024-01-05T10:04:12", with or without its zone) or a number of
    `unit` seconds since 1970; as local time without its zone, the way a chat shows it."""
    try:
        if isinstance(value, str) and not value.replace(".", "", 1).isdigit():
            return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value) * unit, UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        pass
    return None


def _name(*values: object) -> str | None:
    return next((str(v) for v in values if isinstance(v, (str, int)) and str(v).strip()), None)


MEDIA, SYSTEM, DELETED = "media", "system message", "deleted message"  # what is removed, by kind
MESSENGER_MEDIA = ("photos", "videos", "audio_files", "files", "gifs", "sticker", "share")


def _telegram_message(m: dict) -> Record | str | None:
    if m.get("type", "message") != "message":
        return SYSTEM
    text = message_text(m.get("text"))
    if not text:
        return MEDIA if m.get("media_type") or m.get("photo") or m.get("file") else None
    return Record(text, m, _name(m.get("from"), m.get("from_id")), _when(m.get("date")))


def _discord_message(m: dict) -> Record | str | None:
    if m.get("type", "Default") not in ("Default", "Reply"):
        return SYSTEM
    if not isinstance(m.get("content"), str) or not m["content"].strip():
        return MEDIA if m.get("attachments") or m.get("embeds") or m.get("stickers") else None
    return Record(m["content"], m, _name(*map(m["author"].get, DISCORD_NAMES)), _when(m.get("timestamp")))


def _messenger_message(m: dict) -> Record | str | None:
    if m.get("is_unsent"):
        return DELETED
    text = repaired(m.get("content"))
    if not isinstance(text, str) or not text.strip():
        return MEDIA if any(m.get(key) for key in MESSENGER_MEDIA) else None
    return Record(text, m, _name(repaired(m.get("sender_name"))), _when(m.get("timestamp_ms"), 0.001))


def _slack_message(m: dict) -> Record | str | None:
    if m.get("type") != "message" or m.get("subtype"):
        return SYSTEM
    if not isinstance(m.get("text"), str) or not m["text"].strip():
        return MEDIA if m.get("files") else None
    profile = m.get("user_profile") or {}
    speaker = _name(profile.get("display_name"), profile.get("real_name"), m.get("user_name"), m.get("user"))
    return Record(m["text"], m, speaker, _when(m.get("ts")))


def _gitter_message(m: dict) -> Record | str | None:
    if not isinstance(m.get("text"), str):
        return None
    user = m.get("fromUser") or {}
    return Record(m["text"], m, _name(user.get("displayName"), user.get("username")), _when(m.get("sent")))


def _records(messages: list[dict], read, removed: Counter) -> Iterator[Record]:
    """Each message read by `read`: a Record, or the kind of what is not text (counted), or nothing."""
    for message in messages:
        found = read(message)
        if isinstance(found, Record):
            yield found
        elif found is not None:
            removed[found] += 1


def json_chat(data: object, removed: Counter | None = None) -> tuple[str, Iterator[Record]] | None:
    """(the export's name, its messages) if `data` is a chat export this module knows, else None;
    what is not text (service messages, media) is counted by kind in `removed`."""
    removed = removed if removed is not None else Counter()
    for name, find, read in (
        ("Telegram", _telegram, _telegram_message),
        ("Discord", _discord, _discord_message),
        ("Messenger", _messenger, _messenger_message),
        ("Slack", lambda d: _listed(d, ("ts", "type")), _slack_message),  # one file per channel and day
        ("Gitter", lambda d: _listed(d, ("fromUser", "text")), _gitter_message),
    ):
        if (messages := find(data)) is not None:
            return name, _records(messages, read, removed)
    return None


# ------------------------------------------------------------------ filters


class Filter:
    """Keeps the records whose field `name` is `value`; counts the values it saw, so that a filter that
    keeps nothing can say which values exist."""

    def __init__(self, where: tuple[str, str]):
        self.name, self.value = where
        self.seen: Counter[str] = Counter()
        self.kept = 0
        self.fields_seen = False

    def keeps(self, record: Record) -> bool:
        value = record.get(self.name)
        if record.fields or record.speaker is not None:
            self.fields_seen = True
        if value is not None and len(self.seen) < 100_000:
            self.seen[value] += 1
        kept = value == self.value
        self.kept += kept
        return kept

    def check(self) -> None:
        """After a pass: an error if the filter kept nothing (with the values that exist), or if the
        records had no fields to filter on at all."""
        if self.kept:
            return
        if not self.fields_seen:
            raise CorpusError(
                "--where needs records with fields (CSV, JSON objects or a chat export); this file has none"
            )
        if not self.seen:
            raise CorpusError("no record has a field {name!r}", name=self.name[:60])
        common = ", ".join(f"{value[:30]} ({count:,})" for value, count in self.seen.most_common(8))
        raise CorpusError(
            "no record has {name} = {value!r}; its most frequent values: {common}",
            name=self.name[:60],
            value=self.value[:60],
            common=common,
        )


def speakers(records: Iterable[Record]) -> Counter[str]:
    return Counter(record.speaker for record in records if record.speaker is not None)

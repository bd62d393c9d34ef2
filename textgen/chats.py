"""Records with fields, and chat exports read as messages with a speaker.

A record is one document's text with the fields it came with (a CSV row's columns, a JSON object's
keys, nested ones by dotted path as pandas flattens them: `fromUser.username`), so that `--where
FIELD=VALUE` can keep some of them. Chat exports are recognised by their shape and read as one record
per message with its `speaker`: Telegram's `result.json`, WhatsApp's text export ("1/5/24, 10:04 -
Alice: hi"), Discord (DiscordChatExporter) and Slack JSON exports, and Gitter's message format.
Service messages (joins, "messages are end-to-end encrypted", omitted media) are not text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .errors import CorpusError

SPEAKER = "speaker"  # the field every chat message has, whatever its export calls it


@dataclass
class Record:
    text: str
    fields: dict = field(default_factory=dict)  # as its file has them
    speaker: str | None = None  # chat exports: who wrote it

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


def _listed(data: object, keys: tuple[str, ...]) -> list[dict] | None:
    listed = isinstance(data, list) and data and all(isinstance(m, dict) for m in data[:50])
    return data if listed and all(all(key in m for key in keys) for m in data[:50]) else None


def _name(*values: object) -> str | None:
    return next((str(v) for v in values if isinstance(v, (str, int)) and str(v).strip()), None)


def json_chat(data: object) -> tuple[str, Iterator[Record]] | None:
    """(the export's name, its messages) if `data` is a chat export this module knows, else None."""
    if (messages := _telegram(data)) is not None:
        records = (
            Record(text, m, _name(m.get("from"), m.get("from_id")))
            for m in messages
            if m.get("type", "message") == "message" and (text := message_text(m.get("text")))
        )
        return "Telegram", records
    if (messages := _discord(data)) is not None:
        records = (
            Record(m["content"], m, _name(m["author"].get("name"), m["author"].get("nickname")))
            for m in messages
            if m.get("type", "Default") in ("Default", "Reply") and isinstance(m.get("content"), str)
        )
        return "Discord", records
    if (messages := _listed(data, ("ts", "type"))) is not None:  # Slack: one file per channel and day
        records = (
            Record(
                m["text"],
                m,
                _name((m.get("user_profile") or {}).get("real_name"), m.get("user_name"), m.get("user")),
            )
            for m in messages
            if m.get("type") == "message" and not m.get("subtype") and isinstance(m.get("text"), str)
        )
        return "Slack", records
    if (messages := _listed(data, ("fromUser", "text"))) is not None:  # Gitter
        records = (
            Record(
                m["text"],
                m,
                _name((m.get("fromUser") or {}).get("username"), (m.get("fromUser") or {}).get("displayName")),
            )
            for m in messages
            if isinstance(m.get("text"), str)
        )
        return "Gitter", records
    return None


# ------------------------------------------------------------------ WhatsApp's text export

# "1/5/24, 10:04 - Alice: hi" (Android) or "[1/5/24, 10:04:12] Alice: hi" (iPhone), in any date order,
# 12- or 24-hour time; a line without it continues the message before.
WHATSAPP_LINE = re.compile(
    r"^\u200e?\[?(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{2,4}),?\s(?P<time>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?"
    r"(?:\s?[APap]\.?\s?[Mm]\.?)?)\]?\s(?:-\s)?(?P<rest>.*)$"
)
WHATSAPP_MESSAGE = re.compile(r"^\u200e?(?P<speaker>[^:\n]{1,80}?): (?P<text>.*)$", re.DOTALL)
WHATSAPP_OMITTED = re.compile(
    r"^\u200e?<[^<>]{1,40}>$|^\u200e?(?:image|video|audio|sticker|GIF|document) omitted$"
)


def is_whatsapp(lines: Iterable[str]) -> bool:
    """Whether most of a text's first non-empty lines (up to 200) open a WhatsApp message."""
    seen = opened = 0
    for line in lines:
        if line.strip():
            seen += 1
            opened += bool(WHATSAPP_LINE.match(line))
            if seen == 200:
                break
    return seen >= 2 and opened >= 0.5 * seen


def whatsapp(lines: Iterable[str]) -> Iterator[Record]:
    """The messages of a WhatsApp text export (its lines): speaker, date and time as fields; system
    lines (no speaker) and omitted media are not text."""
    current: dict | None = None
    for line in lines:
        line = line.rstrip("\n")
        opened = WHATSAPP_LINE.match(line)
        if opened is None:
            if current is not None:
                current["text"] += "\n" + line
            continue
        if current is not None and (record := _whatsapp_record(current)):
            yield record
        message = WHATSAPP_MESSAGE.match(opened["rest"])
        current = None if message is None else {**opened.groupdict(), **message.groupdict()}
    if current is not None and (record := _whatsapp_record(current)):
        yield record


def _whatsapp_record(message: dict) -> Record | None:
    text = message["text"].strip()
    if not text or WHATSAPP_OMITTED.match(text):
        return None
    fields = {"date": message["date"], "time": message["time"], SPEAKER: message["speaker"]}
    return Record(text, fields, message["speaker"].strip())


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

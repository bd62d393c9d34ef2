"""A phone's text messages as "SMS Backup & Restore" (Android) writes them: one XML file, read as
messages with a speaker.

The format (synctech's documentation, https://www.synctech.com.au/sms-backup-restore/fields-in-xml-backup-files/):
`<smses>` holds `<sms>` elements whose attributes are the message (`body`, `type` 1 received and 2
sent, 3-6 drafts, outbox, failed and queued, `contact_name`, `address`, `date` in milliseconds) and
`<mms>` elements whose text is in `<part ct="text/plain" text="…">` (`msg_box` as `type`). The
backup does not name its owner: what they sent is spoken by "me". The file is parsed as it streams
(elements dropped once read) by the standard library's expat, which since 2.4.1 refuses the
entity-expansion attacks ("billion laughs") and never fetches external entities.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from .chats import MEDIA, Record
from .errors import CorpusError

OWNER = "me"  # the phone's owner: the backup has their messages, not their name
RECEIVED, SENT = "1", "2"
UNSENT = "unsent message"  # drafts, outbox, failed and queued messages: removed, counted
SURROGATE_PAIR = re.compile(r"&#(5[56]\d{3});&#(5[67]\d{3});")  # a high then a low UTF-16 half
UNFINISHED_PAIR = re.compile(r"(?:&#5[56]\d{3};)?&(?:#\d{0,5})?$|&#5[56]\d{3};$")  # the pair may go on


def is_sms_backup(head: str) -> bool:
    """Whether a file's first characters are an SMS Backup & Restore file's."""
    return "<smses" in head[:2000] or "<allsms" in head[:2000]


def _when(milliseconds: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(milliseconds or "") / 1000, UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        return None


def _speaker(box: str | None, element: ET.Element) -> str:
    if box == SENT:
        return OWNER
    name = (element.get("contact_name") or "").strip()
    return name if name and name != "(Unknown)" else (element.get("address") or "").strip() or "?"


def _message(element: ET.Element) -> Record | str | None:
    """An `<sms>` or `<mms>` element read: a Record, or the kind of what is not one (counted)."""
    box = element.get("type") if element.tag == "sms" else element.get("msg_box")
    if box not in (RECEIVED, SENT):
        return UNSENT
    if element.tag == "sms":
        text = element.get("body") or ""
    else:
        parts = element.iter("part")
        text = "\n".join(p.get("text") or "" for p in parts if p.get("ct") == "text/plain").strip()
        if not text:
            return MEDIA
    if not text.strip() or text == "null":
        return None
    return Record(text, dict(element.attrib), _speaker(box, element), _when(element.get("date")))


def _paired(found: re.Match) -> str:
    high, low = int(found[1]), int(found[2])
    if not (0xD800 <= high <= 0xDBFF and 0xDC00 <= low <= 0xDFFF):
        return found[0]  # two characters that are not halves (Hangul syllables are near)
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def _joined_surrogates(chunks: Iterable[str]) -> Iterator[str]:
    """The text with each emoji the app wrote as two UTF-16 halves (`&#55357;&#56832;`, which XML
    forbids) written as the one character it is; a pair cut between chunks is carried over."""
    carried = ""
    for chunk in chunks:
        text = SURROGATE_PAIR.sub(_paired, carried + chunk)
        unfinished = UNFINISHED_PAIR.search(text)
        cut = unfinished.start() if unfinished else len(text)
        text, carried = text[:cut], text[cut:]
        yield text
    yield carried


def sms_records(chunks: Iterable[str], removed: Counter) -> Iterator[Record]:
    """The backup's messages, read from its text as it comes; what is not text counted in `removed`."""
    parser = ET.XMLPullParser(events=("start", "end"))
    root = None
    try:
        for chunk in _joined_surrogates(chunks):
            parser.feed(chunk)
            for event, element in parser.read_events():
                if root is None:
                    root = element
                if event == "end" and element.tag in ("sms", "mms"):
                    found = _message(element)
                    if isinstance(found, Record):
                        yield found
                    elif found is not None:
                        removed[found] += 1
                    root.clear()  # what was read is not kept
        parser.close()
    except ET.ParseError as err:
        raise CorpusError("not a valid SMS backup: {reason}", reason=str(err)) from None

"""Chat exports that are text files, read as messages with a speaker and a time: WhatsApp (Android's
and iOS's `_chat.txt`), KakaoTalk (the PC/Android export and the mobile one, Korean and English),
LINE (English, Korean and Japanese) and IRC logs. Each is recognised by its lines, with no option.
A play's speeches ("ROMEO:" then the speech) are read so when a conversation is asked for.

A format is a line that opens a message (a speaker, a time, the text), lines that are not text
(headers, date rules, system events such as joins and invitations), and message texts that stand
for something else (media placeholders, deleted messages, the encryption notice): those are
removed and counted by kind, wherever they stand (WhatsApp on iOS writes its encryption notice under
a participant's name). A line that opens nothing continues the message before it.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from .chats import DELETED, MEDIA, SPEAKER, SYSTEM, Record
from .errors import CorpusError

MARK = "\u200e\u200f\ufeff"  # direction marks WhatsApp puts in front of system texts and names

# What reading removes, by kind (views.py says each with its count, in the page's language), besides
# chats.py's kinds: a header, a date rule.
HEADER, DATE_LINE = "header", "date line"

# Message texts that are not text, by kind: media placeholders, deleted messages, system notices.
NOT_TEXT = [
    (
        MEDIA,
        re.compile(
            r"<Media omitted>|<미디어 파일 (?:생략|제외됨)>|<attached: [^>]+>|<첨부: [^>]+>"
            r"|(?:image|video|audio|sticker|GIF|document|Contact card) omitted|.{1,60} \(file attached\)"
            r"|(?:사진|이미지|동영상|오디오|스티커|GIF|문서|연락처 카드) (?:생략|생략됨|제외됨)"
            r"|사진(?: \d+장)?|동영상|이모티콘|음성메시지|음성 메시지|파일: .+|Photo(?:s? \d+)?|Video|Emoticon|"
            r"Voice message|File: .+"
            r"|\[(?:Photo|Sticker|Video|Voice message|File|Gift|Album|Location|Contact)\][^\n]{0,200}"
            r"|\[(?:사진|스티커|동영상|음성메시지|파일|선물|앨범|위치정보|연락처)\][^\n]{0,200}"
            r"|\[(?:写真|スタンプ|動画|ボイスメッセージ|ファイル|ギフト|アルバム|位置情報|連絡先)\][^\n]{0,200}"
        ),
    ),
    (
        DELETED,
        re.compile(
            r"This message was deleted\.?|You deleted this message\.?|메시지가 삭제되었습니다\.?"
            r"|삭제된 메시지입니다\.?|이 메시지는 삭제되었습니다\.?|.{1,80} unsent a message\.?"
            r"|메시지를 취소했습니다\.?"
        ),
    ),
    (
        SYSTEM,
        re.compile(
            r"Messages and calls are end-to-end encrypted\..*|Messages to this (?:group|chat) are now secured.*"
            r"|메시지와 통화는 (?:종단간|엔드투엔드|종단 간) 암호화.*|Missed (?:voice|video) call"
            r"|부재중 (?:음성|영상)통화"
            r"|(?:Voice|Video) call.{0,40}|Waiting for this message\..*|채팅방 관리자가 메시지를 가렸습니다\.?",
            re.DOTALL,
        ),
    ),
]

# KakaoTalk's lines without a speaker that tell of the chat itself (someone joined, left, was invited):
# on a PC they stand alone, where any other line continues the message before, so only these forms.
KAKAO_EVENTS = re.compile(
    r".{1,80}님(?:이|을|께서) .{0,80}(?:초대했습니다|초대하였습니다|나갔습니다|들어왔습니다|내보냈습니다)\.?"
    r"|채팅방 관리자가 .{1,120}|.{1,80}님이 (?:방장|부방장).{0,60}"
    r"|.{1,80} (?:invited .{1,160}|left this chatroom|joined this chatroom|has been removed from this chatroom)\."
)


def not_text(text: str) -> str | None:
    """The kind of a message text that stands for something else (a photo, a deleted message), or None."""
    text = text.strip(MARK + " ")
    return next((kind for kind, pattern in NOT_TEXT if pattern.fullmatch(text)), None)


@dataclass(frozen=True)
class TextChat:
    """One export format: `message` opens a message (groups `speaker` and `text`, others kept as
    fields, `when` read by `stamp` from them and the last date line); `header` and `date` lines are
    not text; `events` lines are the chat's own news (joins, invitations)."""

    name: str
    message: re.Pattern
    header: re.Pattern
    events: re.Pattern
    date: re.Pattern | None = None
    quoted: bool = False  # a message of several lines is written between double quotes (LINE)
    stamp: Callable[[dict, dict], datetime | None] = lambda fields, day: None

    def opens(self, line: str) -> re.Match | None:
        return self.message.match(line)


# ------------------------------------------------------------------ times

MONTHS = {name: i for i, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}  # noqa: SIM905


def clock(text: str) -> tuple[int, int, int] | None:
    """Hours, minutes and seconds from "21:41", "9:41 PM", "오후 9:41", "午後9:41", "9.41"."""
    match = re.search(
        r"(오전|오후|午前|午後|[AaPp]\.?\s?[Mm]\.?)?\s*(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\s*([AaPp]\.?\s?[Mm]\.?)?",
        text,
    )
    if match is None:
        return None
    before, hour, minute, second, after = match.groups()
    hour = int(hour) % 24
    meridiem = (before or after or "").lower().replace(".", "").replace(" ", "")
    if meridiem in ("오후", "午後", "pm"):
        hour = hour % 12 + 12
    elif meridiem in ("오전", "午前", "am"):
        hour %= 12
    return hour, int(minute), int(second or 0)


def at(day: tuple[int, int, int] | None, time: str | None) -> datetime | None:
    hours = clock(time or "")
    if day is None or hours is None:
        return None
    try:
        return datetime(*day, *hours)
    except ValueError:
        return None


def korean_day(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) from "2026년 11월 3일", "2026. 11. 3.", "2026.11.03", "2026/11/03", "2026-11-03"."""
    match = re.search(r"(\d{4})\s*(?:년|\.|/|-)\s*(\d{1,2})\s*(?:월|\.|/|-)\s*(\d{1,2})", text)
    return tuple(map(int, match.groups())) if match else None


def english_day(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) from "Tuesday, November 3, 2026", "Nov 3, 2026", "Tue, 11/03/2026"."""
    match = re.search(r"([A-Za-z]{3})[a-z]*\.? (\d{1,2}), (\d{4})", text)
    if match and match[1].lower() in MONTHS:
        return int(match[3]), MONTHS[match[1].lower()], int(match[2])
    match = re.search(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    return (int(match[3]), int(match[1]), int(match[2])) if match else korean_day(text)


def any_day(text: str) -> tuple[int, int, int] | None:
    return korean_day(text) or english_day(text)


def parse_when(text: str) -> datetime | None:
    """A date and time as an export writes them together ("2026-11-03 21:41:00", "2026. 11. 3. 오후 9:41")."""
    day = any_day(text)
    rest = re.sub(r"^.*?\d{4}\D{1,3}\d{1,2}\D{1,3}\d{1,2}\D{0,3}", "", text) if day else text
    return at(day, rest)


# ------------------------------------------------------------------ the formats

# "1/5/24, 10:04 - Alice: hi" (Android) or "[1/5/24, 10:04:12] Alice: hi" (iOS), in any date order,
# 12- or 24-hour time; a direction mark may come first.
WHATSAPP = TextChat(
    "WhatsApp",
    re.compile(
        rf"^[{MARK}]?\[?(?P<date>\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{2,4}}),?\s(?P<time>\d{{1,2}}[:.]\d{{2}}(?:[:.]\d{{2}})?"
        rf"(?:[\s\u202f]?[APap]\.?\s?[Mm]\.?)?)\]?\s(?:-\s)?[{MARK}]?(?P<speaker>[^:\n]{{1,80}}?): (?P<text>.*)$"
    ),
    header=re.compile(r"(?!)"),  # none: the first line is a message or an event
    events=re.compile(
        rf"^[{MARK}]?\[?\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{2,4}},?\s\d{{1,2}}[:.]\d{{2}}.*?(?:\]\s|\s-\s)(?!.*?: ).*$"
    ),
)
# KakaoTalk on a PC or Android: "[김민준] [오후 9:41] 안녕", under "----- 2026년 11월 3일 화요일 -----".
KAKAO = TextChat(
    "KakaoTalk",
    re.compile(
        r"^\[(?P<speaker>[^\]\n]{1,80})\] "
        r"\[(?P<time>(?:오전|오후) \d{1,2}:\d{2}|\d{1,2}:\d{2}(?: [AP]M)?)\] (?P<text>.*)$"
    ),
    header=re.compile(
        r"^(?:.{0,120}님과 카카오톡 대화|카카오톡 대화|저장한 날짜\s?:.*|Date Saved\s?:.*|.{0,120} 카카오톡 대화"
        r"|Talk_[\d.]+ [\d:]+-\d+\.txt|Chat with .{1,120})$"
    ),
    events=KAKAO_EVENTS,
    date=re.compile(r"^-{5,} .{6,60} -{5,}$"),
    stamp=lambda fields, day: at(day, fields["time"]),
)
# KakaoTalk's mobile export: "2026. 11. 3. 오후 9:41, 김민준 : 안녕" or "2026년 11월 3일 오후 9:41, 김민준 : 안녕".
KAKAO_MOBILE = TextChat(
    "KakaoTalk",
    re.compile(
        r"^(?P<date>\d{4}(?:년 \d{1,2}월 \d{1,2}일|\. \d{1,2}\. \d{1,2}\.)) "
        r"(?P<time>(?:오전|오후) \d{1,2}:\d{2}), "
        r"(?P<speaker>[^\n]{1,80}?) : (?P<text>.*)$"
    ),
    header=re.compile(r"^(?:.{0,120}님과 카카오톡 대화|카카오톡 대화|저장한 날짜\s?:.*|.{0,120} 카카오톡 대화)$"),
    date=re.compile(
        r"^\d{4}(?:년 \d{1,2}월 \d{1,2}일|\. \d{1,2}\. \d{1,2}\.) ?"
        r"(?:[월화수목금토일]요일|(?:오전|오후) \d{1,2}:\d{2})?$"
    ),
    events=re.compile(
        r"^\d{4}(?:년 \d{1,2}월 \d{1,2}일|\. \d{1,2}\. \d{1,2}\.) (?:오전|오후) \d{1,2}:\d{2}, (?!.* : ).*$"
    ),
    stamp=lambda fields, day: at(korean_day(fields["date"]), fields["time"]),
)
# LINE: "21:41<TAB>Alice<TAB>hi" (or "9:41 PM", "오후 9:41") under "2026/11/03(Tue)" or "Tue, 11/03/2026".
LINE = TextChat(
    "LINE",
    re.compile(
        r"^(?P<time>(?:(?:오전|오후|午前|午後) ?)?\d{1,2}:\d{2}(?: ?[AP]M)?)\t"
        r"(?P<speaker>[^\t\n]{1,80})\t(?P<text>.*)$"
    ),
    header=re.compile(r"^(?:\[LINE\] .{0,200}|Saved on:.*|保存日時：.*|저장한 날짜\s?:.*|저장 일시\s?:.*)$"),
    date=re.compile(
        r"^(?:\d{4}[/.]\d{1,2}[/.]\d{1,2}\s?(?:\([^)]{1,6}\)| ?[A-Za-z가-힣]{1,10})?"
        r"|[A-Z][a-z]{2}, \d{1,2}/\d{1,2}/\d{4}|[A-Z][a-z]+day, .{6,30})$"
    ),
    events=re.compile(r"^(?:(?:오전|오후|午前|午後) ?)?\d{1,2}:\d{2}(?: ?[AP]M)?\t\t?(?!.*\t).*$"),
    quoted=True,
    stamp=lambda fields, day: at(day, fields["time"]),
)
# IRC logs (irssi, WeeChat, ZNC, a meeting bot's): "[2018-06-11 10:00:03] <alice> hi", "[10:00] <@bob> hi",
# "10:00 < alice> hi"; other stamped lines (joins, quits, topic and mode changes, actions) are events.
IRC_STAMP = r"\[?(?:(?P<date>\d{4}-\d{2}-\d{2})[ T])?(?P<time>\d{1,2}:\d{2}(?::\d{2})?)\]?"
IRC_NICK = r"<[ @+%&~]?(?P<speaker>[^>\s]{1,40})>"


def unnamed(pattern: str) -> str:
    """`pattern` with its named groups plain ones, to be used twice in one expression."""
    return re.sub(r"\?P<\w+>", "", pattern)


IRC = TextChat(
    "IRC",
    re.compile(rf"^{IRC_STAMP}\s*{IRC_NICK}\s?(?P<text>.*)$"),
    header=re.compile(r"^(?:--- Log (?:opened|closed) .*|\*\*\*\* (?:BEGIN|ENDING) LOGGING AT .*)$"),
    events=re.compile(unnamed(rf"^{IRC_STAMP}\s*(?!{IRC_NICK}).*$")),
    date=re.compile(r"^--- Day changed .*$"),
    stamp=lambda fields, day: at(korean_day(fields["date"]) if fields.get("date") else day, fields["time"]),
)
FORMATS = (WHATSAPP, KAKAO, KAKAO_MOBILE, LINE, IRC)

# A play, or any text of speeches: a line that names who speaks ("ROMEO:"), then what they say, up to
# the next such line. Read so only when a conversation is asked for: as plain text the names are text.
DEFAULT_SPEAKER_PATTERN = r"(?P<speaker>[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){0,3}):$"  # up to four capitalised words
SPEECH_SHARE = 0.05  # of a text's first lines that must open a speech for it to be read as speeches


def speeches(pattern: str = DEFAULT_SPEAKER_PATTERN) -> TextChat:
    """The format of a text of speeches whose opening lines match `pattern` (its group `speaker` names
    who speaks; what follows on the line begins the speech)."""
    try:
        compiled = re.compile(rf"^(?:{pattern})[ \t]*(?P<text>.*)$")
    except re.error as err:
        raise CorpusError("the speaker pattern is not a regular expression: {reason}", reason=str(err)) from None
    if "speaker" not in compiled.groupindex:
        raise CorpusError("the speaker pattern needs a group (?P<speaker>...) that names who speaks")
    return TextChat("speeches", compiled, header=re.compile(r"(?!)"), events=re.compile(r"(?!)"))


def reads_as_speeches(chat: TextChat, lines: Iterable[str]) -> bool:
    """Whether a text's first non-empty lines open speeches often enough, by at least two speakers."""
    sample = [line.rstrip("\n") for line in itertools.islice(filter(str.strip, lines), DETECT_LINES)]
    opened = [chat.opens(line) for line in sample]
    speakers = {found["speaker"] for found in opened if found}
    return len(speakers) >= 2 and sum(map(bool, opened)) >= SPEECH_SHARE * len(sample)


DETECT_LINES = 200  # the first non-empty lines a format must mostly explain


def detect(lines: Iterable[str]) -> TextChat | None:
    """The format most of a text's first non-empty lines (up to 200) are written in, if any: the lines
    that open a message, are a header or a date rule, or tell of the chat itself."""
    sample = []
    for line in lines:
        if line.strip():
            sample.append(line.rstrip("\n"))
            if len(sample) == DETECT_LINES:
                break
    best, best_score = None, (0.0, 0)
    for chat in FORMATS:
        opened = sum(bool(chat.opens(line)) for line in sample)
        explained = opened + sum(bool(known(chat, line)) for line in sample if not chat.opens(line))
        share = explained / len(sample) if sample else 0
        # Of two formats that explain as much, the one that finds more messages (WhatsApp's takes an
        # IRC log's lines for events, since its dates can be written year first too).
        if opened >= 2 and share >= 0.5 and (share, opened) > best_score:
            best, best_score = chat, (share, opened)
    return best


def known(chat: TextChat, line: str) -> str | None:
    """What a line that opens no message is, if not a continuation: a header, a date rule or an event."""
    if chat.header.match(line):
        return HEADER
    if chat.date is not None and chat.date.match(line):
        return DATE_LINE
    if chat.events.fullmatch(line):
        return SYSTEM
    return None


@dataclass
class _Message:
    fields: dict
    lines: list[str] = field(default_factory=list)
    day: tuple[int, int, int] | None = None


def messages(
    chat: TextChat, lines: Iterable[str], removed: Counter, day_first: bool | None = None
) -> Iterator[Record]:
    """The messages of a text export in `chat`'s format (its lines), each with its speaker and its time
    (`Record.when`); what is not text is removed and counted by kind in `removed`. `day_first`: a
    WhatsApp date's order (None: month first unless a date says otherwise, as `whatsapp_day_first` finds)."""
    current: _Message | None = None
    day = None
    for line in lines:
        line = line.rstrip("\n")
        opened = chat.opens(line)
        kind = None if opened else known(chat, line)
        if opened is None and kind is None:
            if current is not None:
                current.lines.append(line)
            continue
        if current is not None:
            yield from _record(chat, current, removed, day_first)
            current = None
        if kind == DATE_LINE:
            day = any_day(line) or day
        if kind is not None:
            removed[kind] += 1
            continue
        current = _Message(opened.groupdict(), [opened["text"]], day)
    if current is not None:
        yield from _record(chat, current, removed, day_first)


def _record(chat: TextChat, message: _Message, removed: Counter, day_first: bool | None) -> Iterator[Record]:
    text = "\n".join(message.lines).strip()
    if chat.quoted and len(text) > 1 and text.startswith('"') and text.endswith('"') and "\n" in text:
        text = text[1:-1].replace('""', '"')  # LINE writes a message of several lines quoted
    if not text:
        return
    kind = not_text(text)
    if kind is not None:
        removed[kind] += 1
        return
    fields = dict(message.fields)
    speaker = fields.pop("speaker").strip(MARK + " ")
    fields.pop("text")
    if chat is WHATSAPP:
        when = at(whatsapp_day(fields["date"], day_first), fields["time"])
    else:
        when = chat.stamp(fields, message.day)
    yield Record(text, {**fields, SPEAKER: speaker}, speaker, when)


def whatsapp_day(date: str, day_first: bool | None) -> tuple[int, int, int] | None:
    parts = [int(part) for part in re.split(r"[./-]", date)]
    if len(parts) != 3:
        return None
    if parts[0] > 31:  # year first
        year, month, day = parts
    else:
        first, second, year = parts
        month, day = (second, first) if day_first else (first, second)
    return (year + 2000 if year < 100 else year, month, day)


def whatsapp_day_first(lines: Iterable[str]) -> bool:
    """Whether a WhatsApp export writes its dates day first: some date's first number is above 12."""
    firsts = seconds = 0
    for line in lines:
        opened = WHATSAPP.message.match(line)
        if opened:
            parts = re.split(r"[./-]", opened["date"])
            firsts = max(firsts, int(parts[0]) if parts[0].isdigit() and len(parts[0]) < 3 else 0)
            seconds = max(seconds, int(parts[1]) if parts[1].isdigit() else 0)
    return firsts > 12 and seconds <= 12

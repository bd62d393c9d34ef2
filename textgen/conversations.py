"""Conversations: a chat read as whole conversations instead of one document per message, so that a
model learns what a message answers, and can answer.

A conversation is a run of consecutive messages with no silence longer than `gap_minutes` between
two (and at most MAX_TURNS of them). Each message is written after its speaker's label character
(labelled.py), so a conversation reads "<Alice>hi<Bob>hello, Alice<Alice>…": the next label ends a
turn, `<eos>` ends the conversation. Speakers too rare to learn share one label, OTHERS, which is
also who "you" are when you are none of the chat's people. A play is a conversation too: its
speeches ("ROMEO:" and what follows) are read as messages (textchats.speeches).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from .chats import Record
from .errors import CorpusError
from .labelled import FIRST, LABEL_CHARACTERS, MAX_LABELS, MIN_DOCUMENTS, Labelling, Labels, clean_label

# Measured on the Monero Research Lab's IRC meetings (BENCHMARKS.md, 11): of 12,031 silences between
# two messages of one meeting's log, 99.9% are under 9 minutes and 4 over an hour; meetings are 4 to 7
# days apart. Three hours cuts those logs only at their 2 silences longer than that (one is 70 hours:
# a log of two sittings), and still ends a day's chat by the evening.
DEFAULT_GAP_MINUTES = 180.0
MAX_TURNS = 50  # messages in one conversation: a chat that never pauses is still cut into pieces
OTHERS = "(someone else)"  # the label of every speaker too rare to learn, and of a visitor


@dataclass(frozen=True)
class ConversationReading:
    """How a corpus is read as conversations: the silence that ends one, and for a text of speeches
    (a play) the line that names who speaks (None: the default pattern, tried when no chat is found)."""

    gap_minutes: float = DEFAULT_GAP_MINUTES
    speaker_pattern: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.gap_minutes <= 60 * 24 * 365:
            raise CorpusError("the conversation gap is in minutes, more than 0 and at most a year")

    def to_dict(self) -> dict:
        return {"gap_minutes": self.gap_minutes, "speaker_pattern": self.speaker_pattern}

    @classmethod
    def from_dict(cls, data: object) -> ConversationReading | None:
        """From a training.json anyone may have written: None unless well formed."""
        if not isinstance(data, dict):
            return None
        gap, pattern = data.get("gap_minutes"), data.get("speaker_pattern")
        if (
            not isinstance(gap, (int, float))
            or isinstance(gap, bool)
            or not isinstance(pattern, (str, type(None)))
        ):
            return None
        try:
            return cls(float(gap), pattern)
        except CorpusError:
            return None


def conversation_labels(column: str, counts: Counter) -> Labels:
    """A label for each speaker with MIN_DOCUMENTS messages or more (the most frequent, up to
    MAX_LABELS with OTHERS), and OTHERS for the rest when there are any."""
    common = [(name, n) for name, n in counts.most_common() if n >= MIN_DOCUMENTS and name != OTHERS]
    kept = common[: MAX_LABELS - 1]
    if len(kept) < 2:
        raise CorpusError(
            "a conversation needs two speakers with {least} messages or more; found: {found}",
            least=MIN_DOCUMENTS,
            found=", ".join(f"{name[:30]} ({n:,})" for name, n in counts.most_common(5)) or "none",
        )
    rest = sum(counts.values()) - sum(n for _, n in kept)
    return Labels(column, dict(kept + ([(OTHERS, rest)] if rest else [])))


def speaker_label(labels: Labels, speaker: str | None) -> str:
    """The label a message of `speaker` is written after: theirs, or OTHERS'."""
    return labels.character(speaker or "") or labels.character(OTHERS) or ""


def conversation_documents(
    records: Iterable[tuple[Record, str]], labelling: Labelling, gap_minutes: float, counted: Counter
) -> Iterator[str]:
    """Documents of whole conversations from a file's messages (each with its cleaned text), in order;
    `counted["conversations"]` and `counted["messages"]` count what was made. While `labelling` has
    no labels yet (the pass that counts speakers) each message is its own document."""
    gap = timedelta(minutes=gap_minutes)
    turns: list[str] = []
    last = None
    for record, text in records:
        speaker = clean_label(record.get(labelling.column))
        if labelling.labels is None:
            yield labelling.label(speaker, text)
            continue
        when = record.when
        if turns and (len(turns) >= MAX_TURNS or (when and last and when - last > gap)):
            counted["conversations"] += 1
            yield "".join(turns)
            turns = []
        turns.append(speaker_label(labelling.labels, speaker) + text)
        counted["messages"] += 1
        last = when or last
    if turns:
        counted["conversations"] += 1
        yield "".join(turns)


def turns_of(document: str, labels: Labels) -> list[tuple[str, str]]:
    """A conversation's (speaker, text) turns, read back from its label characters."""
    names = labels.names
    turns = []
    for found in LABEL_CHARACTERS.finditer(document):
        index = ord(found[0]) - FIRST
        turns.append((names[index] if index < len(names) else "?", found.end()))
    ends = [start - 1 for _, start in turns[1:]] + [len(document)]
    return [(name, document[start:end]) for (name, start), end in zip(turns, ends)]


def shown(document: str, labels: Labels | None, between: str = " ⏎ ") -> str:
    """A conversation as a person reads it: "Alice: hi ⏎ Bob: hello"."""
    if labels is None:
        return document
    return between.join(f"{name}: {text}" for name, text in turns_of(document, labels)) or document

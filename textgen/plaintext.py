"""How a plain-text file divides into documents: paragraphs (blank lines between multi-line blocks),
lines, or the stretches between separator lines (a line that repeats as a delimiter: `%` in a quote
file, `***` between poems, `<|endoftext|>`), decided by measuring the file, or chosen by the user.

Text arrives in pieces that end at line breaks (textfile.py), so a corpus larger than memory
streams: only the document being read is held.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .errors import CorpusError

BLOCK_SEPARATOR = re.compile(r"\n[ \t]*\n")  # a blank line (spaces and tabs allowed) between blocks
TRAILING_SPACE = re.compile(r"[ \t]+\n")
# A separator line: marks without letters or digits ("%", "---", "* * *"), or a tag like <|endoftext|>.
SEPARATOR_LINE = re.compile(r"[^\w\s](?:[^\w\n]{0,38}[^\w\s])?|<\|?[\w-]{1,40}\|?>")
MIN_SEPARATORS = 3  # a separator repeats at least this often ...
SEPARATOR_SHARE = 0.1  # ... and at least once for every ten blocks (a novel's few scene breaks are not one)
LAYOUTS = ("auto", "paragraphs", "lines", "separator")


@dataclass(frozen=True)
class Layout:
    kind: str  # "paragraphs", "lines" or "separator"
    separator: str = ""

    @classmethod
    def parse(cls, value: str | None) -> Layout | None:
        """`auto` (None), `paragraphs`, `lines` or `separator=STR` (the page's choice or --documents)."""
        value = (value or "auto").strip()
        if value == "auto":
            return None
        if value in ("paragraphs", "lines"):
            return cls(value)
        if value.startswith("separator="):
            separator = value.removeprefix("separator=").strip()
            if not separator or "\n" in separator or len(separator) > 100:
                raise CorpusError("a separator is one line of at most 100 characters, e.g. separator=%")
            return cls("separator", separator)
        raise CorpusError(
            "documents must be auto, paragraphs, lines or separator=STR, not {value!r}", value=value[:40]
        )

    def __str__(self) -> str:
        return f"separator={self.separator}" if self.kind == "separator" else self.kind


def clean_document(text: str) -> str:
    """Without spaces at line ends or around it. (The search runs only where a line can end in one.)"""
    if " \n" in text or "\t\n" in text:
        text = TRAILING_SPACE.sub("\n", text)
    return text.strip()


def blocks(chunks: Iterable[str]) -> Iterator[str]:
    """`BLOCK_SEPARATOR.split(text)` over text arriving in pieces that end at line breaks.

    Only the last character of the unfinished block can start a separator (it is a line break,
    and a separator wholly inside the block would already have been found), so each piece is split
    together with that character alone and the unfinished block is kept as a list, never re-joined:
    a file with no blank line at all streams in linear time."""
    pending: list[str] = []  # the unfinished block, in pieces
    for chunk in chunks:
        edge = pending.pop() if pending else ""
        parts = BLOCK_SEPARATOR.split(edge[-1:] + chunk)
        parts[0] = edge[:-1] + parts[0]
        if len(parts) == 1:
            pending.append(parts[0])
            continue
        yield "".join(pending) + parts[0]
        yield from parts[1:-1]
        pending = [parts[-1]]
    yield "".join(pending)


def lines(chunks: Iterable[str]) -> Iterator[str]:
    """The text's lines, without their line breaks."""
    for chunk in chunks:
        parts = chunk.split("\n")
        yield from parts[:-1] if chunk.endswith("\n") else parts


def detect_layout(chunks: Iterable[str]) -> Layout:
    """Separator lines when one repeats often enough; else paragraphs when blank lines separate
    multi-line blocks (at most half of them single lines); else lines."""
    count = single = 0
    separators: Counter[str] = Counter()
    for block in blocks(chunks):
        block = block.strip()
        if not block:
            continue
        count += 1
        single += "\n" not in block
        for line in block.split("\n"):
            line = line.strip()
            if len(line) <= 40 and SEPARATOR_LINE.fullmatch(line):
                separators[line] += 1
    if separators:
        separator, seen = separators.most_common(1)[0]
        if seen >= MIN_SEPARATORS and seen >= SEPARATOR_SHARE * count:
            return Layout("separator", separator)
    return Layout("paragraphs") if count > 1 and single <= count // 2 else Layout("lines")


def documents(chunks: Iterable[str], layout: Layout) -> Iterator[str]:
    """The documents of the text in `layout`, cleaned, empty ones left out."""
    if layout.kind == "paragraphs":
        pieces: Iterable[str] = blocks(chunks)
    elif layout.kind == "lines":
        pieces = lines(chunks)
    else:
        pieces = _separated(lines(chunks), layout.separator)
    for piece in pieces:
        document = clean_document(piece)
        if document:
            yield document


def _separated(text_lines: Iterable[str], separator: str) -> Iterator[str]:
    held: list[str] = []
    for line in text_lines:
        if line.strip() == separator:
            yield "\n".join(held)
            held = []
        else:
            held.append(line)
    yield "\n".join(held)

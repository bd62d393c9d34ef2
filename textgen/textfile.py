"""Bytes to text: a file's encoding detected and its text decoded as a stream, a few MB at a time.

The text comes out NFC-normalized with `\n` line ends, in pieces that end at line breaks (where no
character composes across and a `\r\n` is never split), so the pieces joined are exactly the whole
file decoded at once. The encoding is decided on the whole file up to DETECT_BYTES (32 MB), on its
first DETECT_BYTES beyond that. Terminal escape sequences (colour codes around a poem's title) and
control characters other than tab and line break are removed and counted (`Cleaning`); a file is
refused as binary only on evidence: a NUL byte, or bytes that do not decode.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import charset_normalizer

from .archives import ZipText
from .errors import CorpusError
from .messages import translate

DETECT_BYTES = 32 * 2**20  # the encoding (and a .txt's layout) is decided on this much of a file
READ_BYTES = 2**20  # a streaming read
# ECMA-48: a CSI sequence (colours end in "m"), an OSC string (a window title), or a two-character escape.
ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 and C1 controls but tab and line break
# The bytes of a UTF-8 text that are not a C0 control or DEL: tab, line break, printable ASCII, and
# every byte of a longer character (a C1 control is one of those: \xc2 then \x80-\x9f).
PLAIN_UTF8_BYTES = bytes([0x09, 0x0A, *range(0x20, 0x7F), *range(0x80, 0x100)])
CONTROL_NAMES = {
    "\x08": "backspace",
    "\x0c": "form feed",
    "\x07": "bell",
    "\x0b": "vertical tab",
    "\x1b": "escape",
}


def has_controls(text: str) -> bool:
    """Whether CONTROL matches in `text`: deleting the plain bytes from its UTF-8 is far faster than the
    regular expression, and every piece of a corpus is checked at each of the passes that tokenize it."""
    raw = text.encode("utf-8", "surrogatepass")
    return bool(raw.translate(None, PLAIN_UTF8_BYTES)) or (b"\xc2" in raw and CONTROL.search(text) is not None)


@dataclass
class Cleaning:
    """What reading a file found: the encoding it was decoded as, and what it removed from the text
    (terminal escape sequences and control characters)."""

    colour_codes: int = 0
    escape_codes: int = 0
    controls: Counter = field(default_factory=Counter)  # by name
    encodings: Counter = field(default_factory=Counter)  # files read, by the codec that decoded them

    def clean(self, text: str) -> str:
        if "\x1b" in text:
            text = ESCAPE.sub(self._escape, text)
        if has_controls(text):
            for ch in CONTROL.findall(text):
                self.controls[CONTROL_NAMES.get(ch, f"U+{ord(ch):04X}")] += 1
            text = CONTROL.sub("", text)
        return text

    def _escape(self, match: re.Match) -> str:
        if match.group(1) == "m":
            self.colour_codes += 1
        else:
            self.escape_codes += 1
        return ""

    def __bool__(self) -> bool:
        return bool(self.colour_codes or self.escape_codes or self.controls)

    def to_dict(self) -> dict:
        return {
            "colour_codes": self.colour_codes,
            "escape_codes": self.escape_codes,
            "controls": dict(self.controls),
            "encodings": dict(self.encodings),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Cleaning:
        return cls(
            data["colour_codes"], data["escape_codes"], Counter(data["controls"]), Counter(data["encodings"])
        )

    def parts(self, locale: str = "en") -> list[str]:
        """What was removed, one phrase per kind, in `locale`."""
        parts, colours, escapes = [], self.colour_codes, self.escape_codes
        if colours:
            parts.append(
                translate(
                    "{count:,} terminal colour code" if colours == 1 else "{count:,} terminal colour codes",
                    locale,
                    count=colours,
                )
            )
        if escapes:
            parts.append(
                translate(
                    "{count:,} other terminal escape sequence"
                    if escapes == 1
                    else "{count:,} other terminal escape sequences",
                    locale,
                    count=escapes,
                )
            )
        for name, count in self.controls.most_common():
            parts.append(
                translate(
                    "{count:,} control character ({name})"
                    if count == 1
                    else "{count:,} control characters ({name})",
                    locale,
                    count=count,
                    name=name,
                )
            )
        return parts


def detect_encoding(data: bytes, complete: bool = True) -> str:
    """Name the codec that decodes `data`: BOMs first, then strict UTF-8, then charset-normalizer.

    `complete=False`: `data` is the start of a longer file and may end inside a character."""
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            return codec
    if b"\x00" in data[:4096]:
        # UTF-16 without a BOM puts a NUL beside every ASCII character; anything else with NULs
        # is binary.
        even, odd = data[0:4096:2].count(0), data[1:4096:2].count(0)
        half = min(len(data), 4096) / 2
        if odd > 0.3 * half and even < 0.05 * half:
            return "utf-16-le"
        if even > 0.3 * half and odd < 0.05 * half:
            return "utf-16-be"
        raise binary(data.index(b"\x00"))
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    results = charset_normalizer.from_bytes(data)
    best = results.best()
    if best is None:
        raise CorpusError("cannot tell its text encoding (tried UTF-8, UTF-16, cp949, cp1252, ...)")
    # Of the code pages that decode the text about as cleanly, those whose text reads most like a
    # language (Shift JIS as Japanese, not as Korean); on short text several are still equal (cp1250
    # and cp1252 differ only in a few accented letters): then the ones people actually save with,
    # Windows Korean and Western.
    clean = [r for r in results if r.chaos <= best.chaos + 0.01]
    coherent = [r for r in clean if r.coherence >= max(r.coherence for r in clean) - 0.01]
    for preferred in ("cp949", "cp1252"):
        if any(preferred == r.encoding or preferred in r.could_be_from_charset for r in coherent):
            return preferred
    chosen = "cp949" if coherent[0].encoding == "euc_kr" else coherent[0].encoding
    return "cp1252" if eats_ascii_letters(data, chosen) and decodes(data, "cp1252") else chosen


def eats_ascii_letters(data: bytes, codec: str) -> bool:
    """Whether a double-byte `codec` (johab, Big5, GBK, Shift JIS...) reads the text's ASCII letters as
    halves of its characters, as it does with a few accented letters among Latin words ("très" read as
    Johab is "tr" and a Hangul syllable): charset-normalizer guesses so on short text."""
    decoded = data.decode(codec, errors="ignore")
    wide = sum(ord(ch) > 0x7F for ch in decoded)
    letters = sum(0x41 <= byte <= 0x7A for byte in data)
    return wide > 0 and letters - sum("A" <= ch <= "z" for ch in decoded) > wide / 2


def decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def binary(offset: int) -> CorpusError:
    return CorpusError("looks like a binary file, not text (a NUL byte at byte {byte:,})", byte=offset)


def _decoded_chunks(stream: BinaryIO, cleaning: Cleaning | None = None) -> Iterator[str]:
    """A byte stream's text in pieces that each end at a line break (the last may not): decoded with
    the detected codec, `\n` line ends, a trailing DOS end-of-file mark dropped, NFC-normalized,
    escape sequences and control characters removed (counted in `cleaning`).

    A line break is a safe place to cut: no character composes across it, and a `\r\n` is never
    split, so the pieces joined are exactly the whole text normalized at once."""
    cleaning = cleaning if cleaning is not None else Cleaning()
    head = stream.read(DETECT_BYTES)
    codec = detect_encoding(head, complete=len(head) < DETECT_BYTES)
    cleaning.encodings[codec] += 1
    wide = codec.startswith(("utf-16", "utf-32"))  # their NULs are half of every ASCII character
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    blocks = _byte_blocks(stream, head)
    carry, position, data = "", 0, next(blocks, b"")
    while True:
        following = next(blocks, None)
        final = following is None
        if not wide and (nul := bytes(data).find(b"\x00")) >= 0:
            raise binary(position + nul)
        try:
            text = carry + decoder.decode(data, final=final)
        except UnicodeDecodeError as err:
            raise CorpusError(
                "cannot decode it as {codec}: {reason} at byte {byte}",
                codec=codec,
                reason=err.reason,
                byte=position + max(err.start, 0),
            ) from None
        position += len(data)
        if not final and text.endswith("\r"):
            text, carry = text[:-1], "\r"  # its "\n" may be in the next read
        else:
            carry = ""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if final:
            text = text.rstrip("\x1a")
            cut = len(text)
        else:
            cut = text.rfind("\n") + 1
            carry = text[cut:] + carry
        piece = cleaning.clean(unicodedata.normalize("NFC", text[:cut]))
        if piece:
            yield piece
        if final:
            return
        data = following


def _byte_blocks(stream: BinaryIO, head: bytes) -> Iterator[memoryview | bytes]:
    """The stream in reads of READ_BYTES, its already-read head first (cut the same way: small
    pieces keep every buffer of the text small, which keeps the process's memory from growing)."""
    view = memoryview(head)
    for start in range(0, len(view), READ_BYTES):
        yield view[start : start + READ_BYTES]
    if len(head) == DETECT_BYTES:
        while block := stream.read(READ_BYTES):
            yield block


def decode_bytes(data: bytes, cleaning: Cleaning | None = None) -> str:
    """Decode, normalize to NFC and `\n` line ends, and drop a trailing DOS end-of-file mark."""
    return "".join(_decoded_chunks(io.BytesIO(data), cleaning))


def read_chunks(path: str | os.PathLike | ZipText, cleaning: Cleaning | None = None) -> Iterator[str]:
    """A file's (or a zip member's) text as `decode_bytes` gives it, in pieces ending at line breaks,
    read a few MB at a time."""
    path = path if isinstance(path, ZipText) else Path(path)
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        raise CorpusError("no such file").within(str(path)) from None
    except IsADirectoryError:
        raise CorpusError("this is a folder, not a file").within(str(path)) from None
    except (OSError, KeyError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise CorpusError("cannot read it ({reason})", reason=reason).within(str(path)) from None
    with stream:
        try:
            yield from _decoded_chunks(stream, cleaning)
        except CorpusError as err:
            raise err.within(path.name) from None
        except OSError as err:
            raise CorpusError("cannot read it ({reason})", reason=err.strerror).within(path.name) from None


def read_text(path: str | os.PathLike | ZipText, cleaning: Cleaning | None = None) -> str:
    return "".join(read_chunks(path, cleaning))


def read_lines(path: str | os.PathLike | ZipText, cleaning: Cleaning | None = None) -> Iterator[str]:
    """The file's lines, each with its `\n` (split at `\n` only, as `io.StringIO` does)."""
    for chunk in read_chunks(path, cleaning):
        lines = chunk.split("\n")
        for line in lines[:-1]:
            yield line + "\n"
        if lines[-1]:
            yield lines[-1]

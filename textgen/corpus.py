"""Read text from files and folders into a list of documents.

A corpus is a list of documents: a headline, a quote, a saying, a paragraph. Training marks where
each one ends and sampling can stop there. How a file becomes documents:

- .csv: one document per row of the chosen column (optionally only rows where another column has
  a given value).
- .json / .jsonl: one document per string, or per object's text field.
- .txt: one document per paragraph when the file separates multi-line paragraphs with blank
  lines (Shakespeare's speeches, Nietzsche's aphorisms, a novel), else one per non-empty line (a
  list of sayings or headlines, blank-line separated or not).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import statistics
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from .errors import CorpusError

SUPPORTED_SUFFIXES = (".txt", ".csv", ".tsv", ".json", ".jsonl")
TEXT_FIELDS = ("text", "quoteText", "quote", "content", "body", "headline", "message", "sentence")
NYT_URL = "https://www.kaggle.com/datasets/aashita/nyt-comments"
DATA_DIR_ENV = "TEXTGEN_DATA_DIR"


@dataclass
class Corpus:
    name: str
    documents: list[str]


# --------------------------------------------------------------------------- decoding


def detect_encoding(data: bytes) -> str:
    """Name the codec that decodes `data`: BOMs first, then strict UTF-8, then charset-normalizer."""
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
        raise CorpusError("looks like a binary file, not text")
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    results = charset_normalizer.from_bytes(data)
    best = results.best()
    if best is None:
        raise CorpusError("cannot tell its text encoding (tried UTF-8, UTF-16, cp949, cp1252, ...)")
    # On short text several code pages decode equally cleanly (cp1250 and cp1252 differ only in
    # a few accented letters); prefer the ones people actually save with: Windows Korean, Western.
    clean = [r for r in results if r.chaos <= best.chaos + 0.01]
    for preferred in ("cp949", "cp1252"):
        if any(preferred == r.encoding or preferred in r.could_be_from_charset for r in clean):
            return preferred
    return "cp949" if best.encoding == "euc_kr" else best.encoding


def decode_bytes(data: bytes) -> str:
    """Decode, normalize to NFC and `\\n` line ends, and drop a trailing DOS end-of-file mark."""
    codec = detect_encoding(data)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as err:
        raise CorpusError(
            "cannot decode it as {codec}: {reason} at byte {byte}", codec=codec, reason=err.reason, byte=err.start
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\x1a")
    text = unicodedata.normalize("NFC", text)
    controls = sum(1 for ch in text[:10000] if unicodedata.category(ch) == "Cc" and ch not in "\n\t")
    if controls > 0.01 * min(len(text), 10000):
        raise CorpusError("looks like a binary file, not text")
    return text


def read_text(path: str | os.PathLike) -> str:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CorpusError("no such file").within(str(path)) from None
    except IsADirectoryError:
        raise CorpusError("this is a folder, not a file").within(str(path)) from None
    except OSError as err:
        raise CorpusError("cannot read it ({reason})", reason=err.strerror).within(str(path)) from None
    try:
        return decode_bytes(data)
    except CorpusError as err:
        raise err.within(path.name) from None


# --------------------------------------------------------------------------- splitting


def clean_document(text: str) -> str:
    return re.sub(r"[ \t]+\n", "\n", text).strip()


def split_plain_text(text: str) -> list[str]:
    """Paragraphs when blank lines separate multi-line paragraphs, else non-empty lines."""
    blocks = [block for block in re.split(r"\n[ \t]*\n", text) if block.strip()]
    if not blocks:
        return []
    lines_per_block = [len(block.strip("\n").split("\n")) for block in blocks]
    if len(blocks) > 1 and statistics.median(lines_per_block) > 1:
        documents = blocks
    else:
        documents = text.split("\n")
    return [doc for doc in (clean_document(d) for d in documents) if doc]


MAX_COLUMNS = 1000  # a text corpus with more columns than this is almost surely not one


def listed(names: list[str], limit: int = 12) -> str:
    """Names for a message: the first `limit`, then how many more (a 100,000-column CSV stays short)."""
    shown = ", ".join(name[:40] for name in names[:limit])
    return shown + (f", … ({len(names):,} in all)" if len(names) > limit else "")


def csv_delimiter(path: str | os.PathLike) -> str:
    return "\t" if Path(path).suffix.lower() == ".tsv" else ","


def guess_text_column(columns: list[str]) -> str | None:
    return next((c for c in TEXT_FIELDS if c in columns), None)


def csv_columns(path: str | os.PathLike) -> tuple[list[str], str | None]:
    """A CSV's column names and the one that most likely holds the text (None if no guess)."""
    text = read_text(path)
    allow_fields_up_to(len(text))
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=csv_delimiter(path)), [])
    except csv.Error as err:
        raise CorpusError("not a readable CSV ({reason})", reason=err).within(Path(path).name) from None
    if len(header) > MAX_COLUMNS:
        raise too_many_columns(len(header)).within(Path(path).name)
    return header, guess_text_column(header)


def too_many_columns(count: int) -> CorpusError:
    return CorpusError(
        "the CSV has {count:,} columns; textgen reads at most {limit:,}", count=count, limit=MAX_COLUMNS
    )


def allow_fields_up_to(size: int) -> None:
    """A document in one CSV cell may be as long as the file (the csv module stops at 131,072)."""
    csv.field_size_limit(max(csv.field_size_limit(), size))


def split_csv(text: str, column: str | None, where: tuple[str, str] | None, delimiter: str = ",") -> list[str]:
    allow_fields_up_to(len(text))
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        columns = reader.fieldnames or []
        if not columns:
            raise CorpusError("the CSV has no header row")
        if len(columns) > MAX_COLUMNS:
            raise too_many_columns(len(columns))
        if column is None:
            column = guess_text_column(columns)
            if column is None:
                raise CorpusError("pick a text column; the CSV has: {columns}", columns=listed(columns))
        for name in [column] + ([where[0]] if where else []):
            if name not in columns:
                raise CorpusError(
                    "the CSV has no column {name!r}; it has: {columns}", name=name[:40], columns=listed(columns)
                )
        documents = []
        for row in reader:
            if where and (row.get(where[0]) or "") != where[1]:
                continue
            documents.append(clean_document(row.get(column) or ""))
    except csv.Error as err:
        raise CorpusError("not a readable CSV ({reason})", reason=err) from None
    return [doc for doc in documents if doc]


def _json_document(item: object, field: str | None) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        if field is not None:
            value = item.get(field)
        else:
            value = next((item[k] for k in TEXT_FIELDS if isinstance(item.get(k), str)), None)
            if value is None:
                strings = [v for v in item.values() if isinstance(v, str)]
                value = strings[0] if len(strings) == 1 else None
        return value if isinstance(value, str) else None
    return None


def split_json(text: str, field: str | None, jsonl: bool) -> list[str]:
    try:
        if jsonl:
            items = [json.loads(line) for line in text.split("\n") if line.strip()]
        else:
            items = json.loads(text)
    except json.JSONDecodeError as err:
        raise CorpusError("not valid JSON: {reason} at line {line}", reason=err.msg, line=err.lineno) from None
    except RecursionError:
        raise CorpusError("the JSON is nested too deeply; expected a list of strings or of objects") from None
    if isinstance(items, dict):
        lists = [v for v in items.values() if isinstance(v, list)]
        items = lists[0] if len(lists) == 1 else [items]
    if not isinstance(items, list):
        raise CorpusError("expected a JSON list of strings or of objects with a text field")
    documents = [_json_document(item, field) for item in items]
    if items and all(doc is None for doc in documents):
        if field:
            raise CorpusError("the JSON objects have no string field {field!r}", field=field)
        raise CorpusError(
            "the JSON objects have no text field (one of {fields}); pass the field name as the column",
            fields=", ".join(TEXT_FIELDS),
        )
    return [doc for doc in (clean_document(d) for d in documents if d) if doc]


# --------------------------------------------------------------------------- public API


def read_documents(
    path: str | os.PathLike,
    column: str | None = None,
    where: tuple[str, str] | None = None,
) -> list[str]:
    """Read one file or a folder of supported files into documents (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES)
        if not files:
            raise CorpusError("no {suffixes} files in this folder", suffixes=", ".join(SUPPORTED_SUFFIXES)).within(
                str(path)
            )
        return [doc for file in files for doc in read_documents(file, column, where)]
    text = read_text(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv"):
            return split_csv(text, column, where, csv_delimiter(path))
        if suffix in (".json", ".jsonl"):
            return split_json(text, column, jsonl=suffix == ".jsonl")
        return split_plain_text(text)
    except CorpusError as err:
        raise err.within(path.name) from None


def nyt_headlines(data_dir: str | os.PathLike | None = None) -> list[str]:
    """NYT headlines from the Kaggle `Articles*.csv` files, "Unknown" dropped, each article once."""
    folder = Path(data_dir or os.environ.get(DATA_DIR_ENV) or "data/nyt")
    files = sorted(folder.glob("Articles*.csv")) if folder.is_dir() else []
    if not files:
        raise CorpusError(
            "no Articles*.csv files in {folder}: download them from {url} and pass --data-dir (or set {env})",
            folder=folder,
            url=NYT_URL,
            env=DATA_DIR_ENV,
        )
    seen: set[str] = set()
    headlines = []
    for file in files:
        for row in csv.DictReader(io.StringIO(read_text(file))):
            article_id, headline = row.get("articleID", ""), clean_document(row.get("headline", ""))
            if article_id in seen or not headline or headline == "Unknown":
                continue
            seen.add(article_id)
            headlines.append(headline)
    return headlines


def load_corpus(
    source: str | list[str],
    column: str | None = None,
    where: tuple[str, str] | None = None,
    data_dir: str | os.PathLike | None = None,
) -> Corpus:
    """`source` is the preset name `nyt` or a path to a file or folder, or a list of them (a mix)."""
    if not isinstance(source, str):
        parts = [load_corpus(one, column, where, data_dir) for one in source]
        return Corpus(" + ".join(p.name for p in parts), [doc for p in parts for doc in p.documents])
    if source == "nyt":
        documents = nyt_headlines(data_dir)
        name = "NYT headlines (Kaggle aashita/nyt-comments)"
    else:
        documents = read_documents(source, column, where)
        name = Path(source).name
    if not documents:
        raise CorpusError("the corpus is empty (no text after removing blank lines)").within(Path(source).name)
    return Corpus(name=name, documents=documents)

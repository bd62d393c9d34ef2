"""Read text from files and folders into a list of documents.

A corpus is a list of documents: a headline, a quote, a saying, a paragraph. Training marks where
each one ends and sampling can stop there. How a file becomes documents:

- .csv: one document per row of the chosen column (optionally only rows where another column has
  a given value).
- .json / .jsonl: one document per string, or per object's text field.
- .txt: one document per paragraph when the file separates multi-line paragraphs with blank
  lines (Shakespeare's speeches, Nietzsche's aphorisms, a novel), else one per non-empty line (a
  list of sayings or headlines, blank-line separated or not).

Files are read as a stream (`iter_documents`, `stream_corpus`; the decoding is `textfile`'s), a few
MB at a time, so a corpus far larger than memory can be tokenized; the encoding and the
paragraph-or-line choice are taken on the whole file up to DETECT_BYTES (32 MB), on its first
DETECT_BYTES beyond that.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import textfile
from .errors import CorpusError
from .textfile import read_chunks, read_lines, read_text

SUPPORTED_SUFFIXES = (".txt", ".csv", ".tsv", ".json", ".jsonl")
TEXT_FIELDS = ("text", "quoteText", "quote", "content", "body", "headline", "message", "sentence")
NYT_URL = "https://www.kaggle.com/datasets/aashita/nyt-comments"
DATA_DIR_ENV = "TEXTGEN_DATA_DIR"


@dataclass
class Corpus:
    name: str
    documents: list[str]


# --------------------------------------------------------------------------- splitting

BLOCK_SEPARATOR = re.compile(r"\n[ \t]*\n")  # a blank line (spaces and tabs allowed) between blocks


TRAILING_SPACE = re.compile(r"[ \t]+\n")


def clean_document(text: str) -> str:
    """Without spaces at line ends or around it. (The search runs only where a line can end in one.)"""
    if " \n" in text or "\t\n" in text:
        text = TRAILING_SPACE.sub("\n", text)
    return text.strip()


def _blocks(chunks: Iterable[str]) -> Iterator[str]:
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


def _paragraph_layout(chunks: Iterable[str]) -> bool:
    """Whether blank lines separate multi-line paragraphs: more than one block with text, and the
    median block spans several lines (at most half of them are single lines)."""
    blocks = single = 0
    for block in _blocks(chunks):
        if block.strip():
            blocks += 1
            single += "\n" not in block.strip("\n")
    return blocks > 1 and single <= blocks // 2


def _plain_documents(chunks: Iterable[str], paragraphs: bool) -> Iterator[str]:
    if paragraphs:
        for block in _blocks(chunks):
            doc = clean_document(block)
            if doc:
                yield doc
        return
    for chunk in chunks:
        for line in chunk.split("\n"):  # a line has no "\n", so cleaning it is stripping it
            doc = line.strip()
            if doc:
                yield doc


def split_plain_text(text: str) -> list[str]:
    """Paragraphs when blank lines separate multi-line paragraphs, else non-empty lines."""
    return list(_plain_documents([text], _paragraph_layout([text])))


def _text_file_documents(path: Path) -> Iterator[str]:
    """A .txt file's documents, streamed: the layout is decided on its first DETECT_BYTES."""
    prefix, size = [], 0
    for chunk in read_chunks(path):  # decoded text: characters, a bound close enough to bytes
        prefix.append(chunk)
        size += len(chunk)
        if size >= textfile.DETECT_BYTES:
            break
    yield from _plain_documents(read_chunks(path), _paragraph_layout(prefix))


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
    allow_fields_up_to(file_size(path))
    try:
        header = next(csv.reader(read_lines(path), delimiter=csv_delimiter(path)), [])
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


def file_size(path: str | os.PathLike) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0  # reading it will say what is wrong


def split_csv(
    lines: Iterable[str], column: str | None, where: tuple[str, str] | None, delimiter: str = ","
) -> Iterator[str]:
    """One document per row of `column` (guessed when None), from the CSV's lines as they are read."""
    reader = csv.DictReader(lines, delimiter=delimiter)
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
        for row in reader:
            if where and (row.get(where[0]) or "") != where[1]:
                continue
            doc = clean_document(row.get(column) or "")
            if doc:
                yield doc
    except csv.Error as err:
        raise CorpusError("not a readable CSV ({reason})", reason=err) from None


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


def _json_documents(items: Iterable[object], field: str | None) -> Iterator[str]:
    """The documents of a list of strings or objects; an error if no item has text."""
    seen_items = seen_text = False
    for item in items:
        seen_items = True
        doc = _json_document(item, field)
        if doc is None:
            continue
        seen_text = True
        doc = clean_document(doc)
        if doc:
            yield doc
    if seen_items and not seen_text:
        if field:
            raise CorpusError("the JSON objects have no string field {field!r}", field=field)
        raise CorpusError(
            "the JSON objects have no text field (one of {fields}); pass the field name as the column",
            fields=", ".join(TEXT_FIELDS),
        )


def _parsed_json(text: str, line: int | None = None) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise CorpusError(
            "not valid JSON: {reason} at line {line}", reason=err.msg, line=err.lineno if line is None else line
        ) from None
    except RecursionError:
        raise CorpusError("the JSON is nested too deeply; expected a list of strings or of objects") from None


def split_json(text: str, field: str | None) -> Iterator[str]:
    """A JSON file's documents: a list (or an object holding one list) of strings or objects."""
    items = _parsed_json(text)
    if isinstance(items, dict):
        lists = [v for v in items.values() if isinstance(v, list)]
        items = lists[0] if len(lists) == 1 else [items]
    if not isinstance(items, list):
        raise CorpusError("expected a JSON list of strings or of objects with a text field")
    return _json_documents(items, field)


def split_jsonl(lines: Iterable[str], field: str | None) -> Iterator[str]:
    """A JSON-lines file's documents, one item per non-blank line, read as they come."""
    items = (_parsed_json(line, number) for number, line in enumerate(lines, 1) if line.strip())
    return _json_documents(items, field)


# --------------------------------------------------------------------------- public API


def corpus_files(path: str | os.PathLike) -> list[Path]:
    """The files a corpus path stands for: itself, or a folder's supported files (sorted, recursive)."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES)
    if not files:
        raise CorpusError("no {suffixes} files in this folder", suffixes=", ".join(SUPPORTED_SUFFIXES)).within(
            str(path)
        )
    return files


def _file_documents(path: Path, column: str | None, where: tuple[str, str] | None) -> Iterator[str]:
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv"):
            allow_fields_up_to(file_size(path))
            yield from split_csv(read_lines(path), column, where, csv_delimiter(path))
        elif suffix == ".json":
            yield from split_json(read_text(path), column)
        elif suffix == ".jsonl":
            yield from split_jsonl(read_lines(path), column)
        else:
            yield from _text_file_documents(path)
    except CorpusError as err:
        raise err.within(path.name) from None


def iter_documents(
    path: str | os.PathLike,
    column: str | None = None,
    where: tuple[str, str] | None = None,
) -> Iterator[str]:
    """The documents of one file or a folder of supported files (see the module docstring), read as
    a stream: only the document being read is held."""
    for file in corpus_files(path):
        yield from _file_documents(file, column, where)


def read_documents(
    path: str | os.PathLike,
    column: str | None = None,
    where: tuple[str, str] | None = None,
) -> list[str]:
    """Read one file or a folder of supported files into documents (see the module docstring)."""
    return list(iter_documents(path, column, where))


def nyt_files(data_dir: str | os.PathLike | None = None) -> list[Path]:
    folder = Path(data_dir or os.environ.get(DATA_DIR_ENV) or "data/nyt")
    files = sorted(folder.glob("Articles*.csv")) if folder.is_dir() else []
    if not files:
        raise CorpusError(
            "no Articles*.csv files in {folder}: download them from {url} and pass --data-dir (or set {env})",
            folder=folder,
            url=NYT_URL,
            env=DATA_DIR_ENV,
        )
    return files


def iter_nyt_headlines(files: list[Path]) -> Iterator[str]:
    """NYT headlines from the Kaggle `Articles*.csv` files, "Unknown" dropped, each article once."""
    seen: set[str] = set()
    for file in files:
        allow_fields_up_to(file_size(file))
        try:
            for row in csv.DictReader(read_lines(file)):
                article_id, headline = row.get("articleID", ""), clean_document(row.get("headline", ""))
                if article_id in seen or not headline or headline == "Unknown":
                    continue
                seen.add(article_id)
                yield headline
        except csv.Error as err:
            raise CorpusError("not a readable CSV ({reason})", reason=err).within(file.name) from None


def nyt_headlines(data_dir: str | os.PathLike | None = None) -> list[str]:
    """NYT headlines from the Kaggle `Articles*.csv` files, "Unknown" dropped, each article once."""
    return list(iter_nyt_headlines(nyt_files(data_dir)))


NYT_NAME = "NYT headlines (Kaggle aashita/nyt-comments)"


@dataclass
class CorpusStream:
    """A corpus read afresh from its files at every pass over it, so that one far larger than memory
    is never held: iterate it for its documents (as often as needed). `fingerprint()` digests the
    files' bytes and how they are read, to key a token cache without reading them as text."""

    name: str
    files: list[Path]
    read: Callable[[], Iterator[str]]
    options: dict

    def __iter__(self) -> Iterator[str]:
        return self.read()

    def fingerprint(self) -> str:
        digest = hashlib.sha256(json.dumps(self.options, sort_keys=True).encode())
        for file in self.files:
            digest.update(file.name.encode("utf-8", "surrogatepass") + b"\0")
            try:
                with file.open("rb") as stream:
                    while block := stream.read(textfile.READ_BYTES):
                        digest.update(block)
            except OSError as err:
                raise CorpusError("cannot read it ({reason})", reason=err.strerror).within(file.name) from None
            digest.update(b"\0")
        return digest.hexdigest()


def stream_corpus(
    source: str | list[str],
    column: str | None = None,
    where: tuple[str, str] | None = None,
    data_dir: str | os.PathLike | None = None,
) -> CorpusStream:
    """Like `load_corpus`, but the documents are read from the files at every pass instead of held.
    Checks at once that the files exist and the corpus is not empty."""
    sources = [source] if isinstance(source, str) else list(source)
    parts: list[tuple[str, list[Path], Callable[[], Iterator[str]]]] = []
    for one in sources:
        if one == "nyt":
            files = nyt_files(data_dir)
            parts.append((NYT_NAME, files, lambda files=files: iter_nyt_headlines(files)))
        else:
            files = corpus_files(one)
            parts.append((Path(one).name, files, lambda one=one: iter_documents(one, column, where)))
    stream = CorpusStream(
        " + ".join(name for name, _, _ in parts),
        [file for _, files, _ in parts for file in files],
        lambda: itertools.chain.from_iterable(read() for _, _, read in parts),
        {"sources": [Path(one).name for one in sources], "column": column, "where": where},
    )
    for _, files, read in parts:  # each part has text (the first document of each is enough)
        if next(read(), None) is None:
            raise CorpusError("the corpus is empty (no text after removing blank lines)").within(files[0].name)
    return stream


def load_corpus(
    source: str | list[str],
    column: str | None = None,
    where: tuple[str, str] | None = None,
    data_dir: str | os.PathLike | None = None,
) -> Corpus:
    """`source` is the preset name `nyt` or a path to a file or folder, or a list of them (a mix)."""
    stream = stream_corpus(source, column, where, data_dir)
    return Corpus(name=stream.name, documents=list(stream))


def read_upload(path: str | os.PathLike | None, column: str | None = None) -> list[str]:
    """The documents of a file uploaded to the page: one file of a supported kind, read whole."""
    if not path:
        raise CorpusError("upload a .txt, .csv, .json or .jsonl file first")
    if Path(path).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise CorpusError("use one of {suffixes}", suffixes=", ".join(SUPPORTED_SUFFIXES)).within(Path(path).name)
    return load_corpus(str(path), column=column or None).documents

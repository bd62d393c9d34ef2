"""Read text from files and folders into a list of documents.

A corpus is a list of documents: a headline, a quote, a saying, a paragraph, a chat message. Training
marks where each one ends and sampling can stop there. How a file becomes documents:

- .txt: paragraphs, lines, or the stretches between separator lines (`%`, `***`, `<|endoftext|>`),
  decided by measuring the file (plaintext.py) unless the user chooses; a WhatsApp text export is
  read as its messages.
- .csv/.tsv: one document per row of the chosen column.
- .json / .jsonl: one document per string, or per object's text field; chat exports (Telegram,
  Discord, Slack, Messenger and Instagram, Gitter) are read as their messages.
- .zip: a chat export's zip (WhatsApp's, Slack's) read as its messages (archives.py).
- .xml: a phone's SMS backup (SMS Backup & Restore) read as its messages (smsbackup.py).

Rows, objects and messages are records with fields (chats.py), so `where=(FIELD, VALUE)` keeps some
of them, by dotted path for nested fields, and `speaker` for any chat message. Files are read as a
stream (`iter_documents`, `stream_corpus`; the decoding is textfile's), a few MB at a time, so a
corpus far larger than memory can be tokenized; a .txt's layout is decided on its first 32 MB. What
reading found (the layout, the export, what was cleaned, who speaks) is kept in a `Reading`.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import itertools
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import smsbackup, textchats, textfile
from .archives import ZipText, chat_members
from .chats import SPEAKER, Filter, Record, json_chat, message_text
from .conversations import ConversationReading, conversation_documents, conversation_labels
from .errors import CorpusError, listed
from .labelled import Labelling, Labels, without_labels
from .plaintext import Layout, clean_document, detect_layout, lines
from .plaintext import documents as plain_documents
from .textchats import DEFAULT_SPEAKER_PATTERN
from .textfile import Cleaning, read_chunks, read_lines, read_text

SUPPORTED_SUFFIXES = (".txt", ".csv", ".tsv", ".json", ".jsonl", ".zip", ".xml")
TEXT_FIELDS = ("text", "quoteText", "quote", "content", "body", "headline", "message", "Message", "sentence")
NYT_URL = "https://www.kaggle.com/datasets/aashita/nyt-comments"
DATA_DIR_ENV = "TEXTGEN_DATA_DIR"
MAX_COLUMNS = 1000  # a text corpus with more columns than this is almost surely not one
# A JSON file's fields are gathered from its first records (an optional field, such as a quote's
# category, can be missing from the first), up to MAX_FIELDS paths.
FIELD_RECORDS, MAX_FIELDS = 100, 50


@dataclass
class Reading:
    """What reading a corpus found, to show before training: its kind, a text file's layout, what
    was cleaned, and for chat exports how many messages each speaker wrote."""

    kind: str = ""  # "text", "CSV", "JSON", "JSON lines", or a chat export: "Telegram", "WhatsApp", ...
    layout: Layout | None = None
    cleaning: Cleaning = field(default_factory=Cleaning)
    speakers: Counter = field(default_factory=Counter)
    labels: Counter = field(default_factory=Counter)  # with a label column: how many documents each value had
    fields: list[str] = field(default_factory=list)  # JSON records' fields, by dotted path (FIELD_RECORDS of them)
    field_records: int = 0  # how many records `fields` comes from
    removed: Counter = field(default_factory=Counter)  # a chat export's lines that are not text, by kind
    records: int = 0  # records read (rows, objects, messages; a text file's documents are none)
    kept: int = 0  # of them, those `where` kept
    where: tuple[str, str] | None = None  # the filter
    conversations: int = 0  # read as conversations: how many (each a document)

    def to_dict(self) -> dict:
        """As JSON: what a cached corpus says of how it was read, without reading it again."""
        return {
            "kind": self.kind,
            "layout": str(self.layout) if self.layout is not None else None,
            "cleaning": self.cleaning.to_dict(),
            **{name: dict(getattr(self, name)) for name in ("speakers", "labels", "removed")},
            "fields": self.fields,
            "records": self.records,
            "kept": self.kept,
            "where": list(self.where) if self.where else None,
            "conversations": self.conversations,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Reading:
        return cls(
            data["kind"],
            Layout.parse(data["layout"]) if data.get("layout") else None,
            Cleaning.from_dict(data["cleaning"]),
            *(Counter(data[name]) for name in ("speakers", "labels")),
            data["fields"],
            0,
            Counter(data["removed"]),
            data["records"],
            data["kept"],
            tuple(data["where"]) if data.get("where") else None,
            data.get("conversations", 0),
        )


@dataclass
class Corpus:
    name: str
    documents: list[str]
    reading: Reading = field(default_factory=Reading)
    labels: Labels | None = None


# --------------------------------------------------------------------------- files to records


def _text_file_records(
    path: Path | ZipText, layout: Layout | None, reading: Reading, speeches: str | None = None
) -> Iterator[Record | str]:
    """A .txt file's documents (or a chat export's messages), streamed; the layout is decided on its
    first DETECT_BYTES, once for each version of the file. `speeches`: a speaker pattern to read a
    text that is no chat export as speeches by (a play, read as a conversation)."""
    measured = layout or _measured_layout(path, _version(path), speeches)
    if isinstance(measured, ChatLayout):
        reading.kind = measured.chat.name
        chunks = read_chunks(path, reading.cleaning)
        yield from textchats.messages(measured.chat, lines(chunks), reading.removed, measured.day_first)
        return
    reading.kind, reading.layout = "text", measured
    yield from plain_documents(read_chunks(path, reading.cleaning), measured)  # text alone: no fields


@dataclass(frozen=True)
class ChatLayout:
    """A text file that is a chat export, in this format (WhatsApp: with its dates' order)."""

    chat: textchats.TextChat
    day_first: bool = False


def _version(path: Path | ZipText) -> tuple[int, int]:
    try:
        stat = (path.archive if isinstance(path, ZipText) else path).stat()
    except OSError:
        return 0, 0  # reading it will say what is wrong
    return stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=64)
def _measured_layout(path: Path | ZipText, version: tuple[int, int], speeches: str | None) -> Layout | ChatLayout:
    """How a .txt file divides, measured on its first DETECT_BYTES (a corpus is read several times a
    run: the file's size and time say whether it is the same); with `speeches`, a text that is no
    chat export but whose lines open speeches by that pattern is read as them."""
    prefix, read = [], 0
    for chunk in read_chunks(path):  # decoded text: characters, a bound close enough to bytes
        prefix.append(chunk)
        read += len(chunk)
        if read >= textfile.DETECT_BYTES:
            break
    chat = textchats.detect(lines(prefix))
    if chat is not None:
        return ChatLayout(chat, textchats.whatsapp_day_first(lines(prefix)))
    if speeches is not None and textchats.reads_as_speeches(play := textchats.speeches(speeches), lines(prefix)):
        return ChatLayout(play)
    return detect_layout(prefix)


def is_speeches(path: str | os.PathLike) -> bool:
    """Whether a .txt file that is no chat export reads as speeches (a play): it can be read as
    conversations."""
    path = Path(path)
    if path.suffix.lower() != ".txt":
        return False
    layout = _measured_layout(path, _version(path), DEFAULT_SPEAKER_PATTERN)
    return isinstance(layout, ChatLayout) and layout.chat.name == "speeches"


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


KAKAO_CSV = ["Date", "User", "Message"]  # KakaoTalk's CSV export (some versions): a chat, read as one


def split_csv(
    rows: Iterable[str],
    column: str | None,
    needed: Iterable[str] = (),
    delimiter: str = ",",
    reading: Reading | None = None,
) -> Iterator[Record]:
    """One record per row (its columns as fields), its text from `column` (guessed when None); an
    error if a column in `needed` (a filter's, a label's) is missing. KakaoTalk's CSV is read as a
    chat: its users are speakers, and rows that are not text (photos, deleted messages) are removed
    and counted in `reading`."""
    reading = reading if reading is not None else Reading()
    reader = csv.DictReader(rows, delimiter=delimiter)
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
        for name in [column, *needed]:
            if name not in columns:
                raise CorpusError(
                    "the CSV has no column {name!r}; it has: {columns}", name=name[:40], columns=listed(columns)
                )
        if columns == KAKAO_CSV and column == "Message":
            reading.kind = "KakaoTalk"
            yield from _kakao_rows(reader, reading.removed)
            return
        for row in reader:
            yield Record(row.get(column) or "", row)
    except csv.Error as err:
        raise CorpusError("not a readable CSV ({reason})", reason=err) from None


def _kakao_rows(rows: Iterable[dict], removed: Counter) -> Iterator[Record]:
    for row in rows:
        text, speaker = (row.get("Message") or "").strip(), (row.get("User") or "").strip()
        kind = textchats.not_text(text)
        if kind is not None:
            removed[kind] += 1
        elif text and speaker:
            yield Record(text, {**row, SPEAKER: speaker}, speaker, textchats.parse_when(row.get("Date") or ""))


def _json_records(items: Iterable[object], text_field: str | None) -> Iterator[Record]:
    """Records of a list of strings or objects (their text from `text_field`, a dotted path, or a
    field like "text"); an error if no item has text."""
    seen_items = seen_text = False
    for item in items:
        seen_items = True
        if isinstance(item, str):
            seen_text = True
            yield Record(item)
            continue
        if not isinstance(item, dict):
            continue
        record = Record("", item)
        if text_field is not None:
            value = message_text(_dotted(item, text_field))
        else:
            value = next(
                (message_text(item[k]) for k in TEXT_FIELDS if message_text(item.get(k)) is not None), None
            )
            if value is None:
                strings = [v for v in item.values() if isinstance(v, str)]
                value = strings[0] if len(strings) == 1 else None
        if value is not None:
            seen_text = True
            record.text = value
            yield record
    if seen_items and not seen_text:
        if text_field:
            raise CorpusError("the JSON objects have no string field {field!r}", field=text_field)
        raise CorpusError(
            "the JSON objects have no text field (one of {fields}); pass the field name as the column",
            fields=", ".join(TEXT_FIELDS),
        )


def dotted_fields(item: dict, prefix: str = "", limit: int = MAX_FIELDS) -> list[str]:
    """The paths of an object's text and number fields (nested ones as `user.name`), at most `limit`."""
    paths: list[str] = []
    for key, value in item.items():
        if len(paths) >= limit:
            break
        if isinstance(value, dict):
            paths += dotted_fields(value, f"{prefix}{key}.", limit - len(paths))
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            paths.append(f"{prefix}{key}")
    return paths


def _dotted(item: dict, path: str) -> object:
    value: object = item
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _parsed_json(text: str, line: int | None = None) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise CorpusError(
            "not valid JSON: {reason} at line {line}", reason=err.msg, line=err.lineno if line is None else line
        ) from None
    except RecursionError:
        raise CorpusError("the JSON is nested too deeply; expected a list of strings or of objects") from None


def split_json(text: str, text_field: str | None, reading: Reading | None = None) -> Iterator[Record]:
    """A JSON file's records: a chat export's messages, or a list (or an object holding one list) of
    strings or objects."""
    reading = reading if reading is not None else Reading()
    items = _parsed_json(text)
    chat = json_chat(items, reading.removed)
    if chat is not None:
        reading.kind, records = chat
        return records
    reading.kind = "JSON"
    if isinstance(items, dict):
        lists = [v for v in items.values() if isinstance(v, list)]
        items = lists[0] if len(lists) == 1 else [items]
    if not isinstance(items, list):
        raise CorpusError("expected a JSON list of strings or of objects with a text field")
    return _json_records(items, text_field)


def split_jsonl(rows: Iterable[str], text_field: str | None) -> Iterator[Record]:
    """A JSON-lines file's records, one item per non-blank line, read as they come."""
    items = (_parsed_json(line, number) for number, line in enumerate(rows, 1) if line.strip())
    return _json_records(items, text_field)


def split_xml(path: Path | ZipText, reading: Reading) -> Iterator[Record]:
    """An XML file's records: an SMS backup's messages (the one XML export read here)."""
    chunks = read_chunks(path, reading.cleaning)
    head = next(chunks, "")
    if not smsbackup.is_sms_backup(head):
        raise CorpusError("an XML file that is not an SMS backup (SMS Backup & Restore): save its text as .txt")
    reading.kind = "SMS Backup & Restore"
    return smsbackup.sms_records(itertools.chain([head], chunks), reading.removed)


def _file_records(
    path: Path | ZipText,
    column: str | None,
    needed: list[str],
    layout: Layout | None,
    reading: Reading,
    speeches: str | None = None,
) -> Iterator[Record]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".zip":
            for member in chat_members(path):
                yield from _file_records(member, column, needed, layout, reading, speeches)
        elif suffix in (".csv", ".tsv"):
            reading.kind = "CSV"
            allow_fields_up_to(file_size(path))
            lines_read = read_lines(path, reading.cleaning)
            yield from split_csv(lines_read, column, needed, csv_delimiter(path), reading)
        elif suffix == ".json":
            yield from split_json(read_text(path, reading.cleaning), column, reading)
        elif suffix == ".jsonl":
            reading.kind = "JSON lines"
            yield from split_jsonl(read_lines(path, reading.cleaning), column)
        elif suffix == ".xml":
            yield from split_xml(path, reading)
        else:
            yield from _text_file_records(path, layout, reading, speeches)
    except CorpusError as err:
        raise err.within(path.name) from None


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


def iter_documents(
    path: str | os.PathLike,
    column: str | None = None,
    where: tuple[str, str] | None = None,
    layout: Layout | None = None,
    reading: Reading | None = None,
    labelling: Labelling | None = None,
    conversations: ConversationReading | None = None,
) -> Iterator[str]:
    """The documents of one file or a folder of supported files (see the module docstring), read as
    a stream: only the document being read is held. `reading` (if given) is filled as it goes;
    `labelling` (if given) labels each document by its record's field (labelled.py); with
    `conversations`, a document is a conversation of labelled messages (conversations.py)."""
    reading = reading if reading is not None else Reading()
    reading.where = where
    keep = Filter(where) if where else None
    needed = [name for name in (where[0] if where else None, labelling and labelling.column) if name]
    speeches = (conversations.speaker_pattern or DEFAULT_SPEAKER_PATTERN) if conversations else None
    for file in corpus_files(path):
        records = _file_records(file, column, needed, layout, reading, speeches)
        if keep is None and labelling is None and conversations is None:
            yield from _documents(records, reading)
            continue
        kept = _kept(records, file.name, keep, labelling, reading)
        if conversations is not None and labelling is not None:
            counted = Counter()
            yield from conversation_documents(kept, labelling, conversations.gap_minutes, counted)
            reading.conversations += counted["conversations"]
        elif labelling is None:
            yield from (text for _, text in kept)
        else:
            yield from (labelling.label(record.get(labelling.column), text) for record, text in kept)
    if keep is not None:
        try:
            keep.check()
        except CorpusError as err:
            raise err.within(Path(path).name) from None


def _documents(records: Iterator[Record | str], reading: Reading) -> Iterator[str]:
    """Every record's cleaned text, with nothing asked of their fields."""
    for record in records:
        if isinstance(record, str):  # plain text's documents: cleaned already, no fields
            yield record
            continue
        reading.records += 1
        _count_fields(record, reading)
        reading.kept += 1
        if record.speaker is not None:
            reading.speakers[record.speaker] += 1
        if document := clean_document(record.text):
            yield document


def _count_fields(record: Record, reading: Reading) -> None:
    if record.fields and reading.field_records < FIELD_RECORDS and reading.kind in ("JSON", "JSON lines"):
        reading.field_records += 1
        new = [name for name in dotted_fields(record.fields) if name not in reading.fields]
        reading.fields += new[: MAX_FIELDS - len(reading.fields)]


def _kept(
    records: Iterator[Record | str], name: str, keep: Filter | None, labelling: Labelling | None, reading: Reading
) -> Iterator[tuple[Record, str]]:
    """The records `keep` keeps, each with its cleaned text (without label characters where labels
    are read); a plain text's documents have no fields to keep or label by."""
    for record in records:
        if isinstance(record, str):
            if labelling is not None:
                raise CorpusError(
                    "labels and conversations come from a field of each record (a CSV column, a JSON "
                    "field, a chat's speaker); a plain text file has none"
                ).within(name)
            record = Record(record)
        reading.records += 1
        _count_fields(record, reading)
        if keep is not None and not keep.keeps(record):
            continue
        reading.kept += 1
        if record.speaker is not None:  # of the messages kept: those the model learns
            reading.speakers[record.speaker] += 1
        document = clean_document(record.text if labelling is None else without_labels(record.text))
        if document:
            yield record, document


def read_documents(
    path: str | os.PathLike,
    column: str | None = None,
    where: tuple[str, str] | None = None,
    layout: Layout | None = None,
    labels: tuple[str, Labels] | None = None,
) -> list[str]:
    """Read one file or a folder of supported files into documents (see the module docstring).
    `labels`: (field, a model's labels): each document starts with the character its record's field
    has among them, as that model was trained (a value it does not know: no label)."""
    labelling = Labelling(labels[0], Counter(), labels[1]) if labels else None
    return list(iter_documents(path, column, where, layout, labelling=labelling))


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


def iter_nyt_headlines(files: list[Path], labelling: Labelling | None = None) -> Iterator[str]:
    """NYT headlines from the Kaggle `Articles*.csv` files, "Unknown" dropped, each article once;
    `labelling` labels them by a column of the files (`newDesk`, `sectionName`, ...)."""
    seen: set[str] = set()
    for file in files:
        allow_fields_up_to(file_size(file))
        try:
            for row in csv.DictReader(read_lines(file)):
                article_id, headline = row.get("articleID", ""), clean_document(row.get("headline", ""))
                if article_id in seen or not headline or headline == "Unknown":
                    continue
                seen.add(article_id)
                if labelling is None:
                    yield headline
                elif labelling.column not in row:
                    raise CorpusError(
                        "the CSV has no column {name!r}; it has: {columns}",
                        name=labelling.column[:40],
                        columns=listed(list(row)),
                    ).within(file.name)
                elif headline := without_labels(headline):
                    yield labelling.label(row[labelling.column], headline)
        except csv.Error as err:
            raise CorpusError("not a readable CSV ({reason})", reason=err).within(file.name) from None


def nyt_headlines(data_dir: str | os.PathLike | None = None) -> list[str]:
    """NYT headlines from the Kaggle `Articles*.csv` files, "Unknown" dropped, each article once."""
    return list(iter_nyt_headlines(nyt_files(data_dir)))


NYT_NAME = "NYT headlines (Kaggle aashita/nyt-comments)"


@dataclass
class CorpusStream:
    """A corpus read afresh from its files at every pass over it, so that one far larger than memory
    is never held: iterate it for its documents (as often as needed); `reading` says what the last
    pass found. `fingerprint()` digests the files' bytes and how they are read, to key a token cache
    without reading them as text. With `labels`, each document starts with its label's character."""

    name: str
    files: list[Path]
    read: Callable[[Reading, Labelling | None], Iterator[str]]
    options: dict
    reading: Reading = field(default_factory=Reading)
    labels: Labels | None = None

    def __iter__(self) -> Iterator[str]:
        self.reading = Reading()
        labelling = Labelling(self.labels.column, self.reading.labels, self.labels) if self.labels else None
        return self.read(self.reading, labelling)

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
    layout: Layout | None = None,
    label_column: str | None = None,
    conversations: ConversationReading | None = None,
) -> CorpusStream:
    """Like `load_corpus`, but the documents are read from the files at every pass instead of held.
    Checks at once that the files exist and the corpus is not empty; with `label_column` (or
    `conversations`, whose labels are the speakers), reads it once more to choose the labels."""
    if conversations is not None:
        label_column = label_column or SPEAKER
    sources = [source] if isinstance(source, str) else list(source)
    parts: list[tuple[str, list[Path], Callable[[Reading, Labelling | None], Iterator[str]]]] = []
    for one in sources:
        if one == "nyt":
            files = nyt_files(data_dir)
            read = lambda reading, labelling, files=files: iter_nyt_headlines(files, labelling)  # noqa: E731
            parts.append((NYT_NAME, files, read))
        else:
            files = corpus_files(one)
            read = lambda reading, labelling, one=one: iter_documents(  # noqa: E731
                one, column, where, layout, reading, labelling, conversations
            )
            parts.append((Path(one).name, files, read))
    stream = CorpusStream(
        " + ".join(name for name, _, _ in parts),
        [file for _, files, _ in parts for file in files],
        lambda reading, labelling: itertools.chain.from_iterable(read(reading, labelling) for _, _, read in parts),
        {
            "sources": [Path(one).name for one in sources],
            "column": column,
            "where": where,
            "layout": str(layout),
            **({"conversations": conversations.to_dict()} if conversations else {}),
        },
    )
    for _, files, read in parts:  # each part has text (the first document of each is enough)
        if next(read(Reading(), None), None) is None:
            raise CorpusError("the corpus is empty (no text after removing blank lines)").within(files[0].name)
    if label_column:
        counting = Labelling(label_column, Counter())
        for _ in stream.read(Reading(), counting):
            pass
        choose = conversation_labels if conversations is not None else Labels.chosen
        stream.labels = choose(label_column, counting.counts)
        stream.options["labels"] = stream.labels.to_dict()
    return stream


def load_corpus(
    source: str | list[str],
    column: str | None = None,
    where: tuple[str, str] | None = None,
    data_dir: str | os.PathLike | None = None,
    layout: Layout | None = None,
    label_column: str | None = None,
    conversations: ConversationReading | None = None,
) -> Corpus:
    """`source` is the preset name `nyt` or a path to a file or folder, or a list of them (a mix)."""
    stream = stream_corpus(source, column, where, data_dir, layout, label_column, conversations)
    documents = list(stream)
    return Corpus(stream.name, documents, stream.reading, stream.labels)


def read_upload(
    path: str | os.PathLike | None,
    column: str | None = None,
    where: tuple[str, str] | None = None,
    layout: Layout | None = None,
    label_column: str | None = None,
    conversations: ConversationReading | None = None,
) -> Corpus:
    """A file uploaded to the page: one file of a supported kind, read whole."""
    if not path:
        raise CorpusError("upload a {suffixes} file first", suffixes=", ".join(SUPPORTED_SUFFIXES))
    if Path(path).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise CorpusError("use one of {suffixes}", suffixes=", ".join(SUPPORTED_SUFFIXES)).within(Path(path).name)
    return load_corpus(
        str(path),
        column or None,
        where,
        layout=layout,
        label_column=label_column or None,
        conversations=conversations,
    )

"""Text as users bring it: documents found in real files (separator lines, paragraphs, lines, one long
line), terminal codes and control characters cleaned with a word, chat exports read as messages with
a speaker and filtered by any field, and what the page says about the reading and about a run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from textgen import CorpusError, TrainConfig, load_corpus, prepare_data
from textgen.corpus import read_documents
from textgen.plaintext import Layout
from textgen.views import reading_summary

QUOTES = "".join(f"Quote number {i} is a thought.\n    -- Someone {i % 7}\n%\n" for i in range(40))


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


# ------------------------------------------------------------------ documents in text files


def test_quotes_between_percent_lines_are_one_document_each_and_the_separator_is_not_text(tmp_path):
    corpus = load_corpus(str(write(tmp_path, "quotes.txt", QUOTES)))
    assert len(corpus.documents) == 40 and corpus.reading.layout == Layout("separator", "%")
    assert corpus.documents[3] == "Quote number 3 is a thought.\n    -- Someone 3"
    assert not any("%" in doc for doc in corpus.documents)
    summary = reading_summary(corpus)
    assert "**40 documents** (separated by lines “%”)" in summary and "median 46 characters" in summary


@pytest.mark.parametrize(
    ("separator", "blank"),
    [("***", "\n"), ("<|endoftext|>", ""), ("* * *", "\n"), ("====", "")],
)
def test_other_separator_lines_with_or_without_blank_lines_around_them(tmp_path, separator, blank):
    poems = [f"Poem {i}, line one\nline two of {i}\n\nsecond stanza {i}" for i in range(12)]
    text = f"\n{blank}{separator}\n{blank}".join(poems) + "\n"
    corpus = load_corpus(str(write(tmp_path, "poems.txt", text)))
    assert corpus.documents == poems and corpus.reading.layout.separator == separator


def test_a_novels_few_scene_breaks_leave_it_in_paragraphs(tmp_path):
    paragraphs = [f"Paragraph {i} begins here,\nand ends on its second line." for i in range(60)]
    text = "\n\n".join(p if i % 20 else p + "\n\n* * *" for i, p in enumerate(paragraphs)) + "\n"
    corpus = load_corpus(str(write(tmp_path, "novel.txt", text)))
    assert corpus.reading.layout == Layout("paragraphs") and len(corpus.documents) == 63  # 3 breaks stay


def test_the_reading_can_be_chosen(tmp_path):
    path = write(tmp_path, "quotes.txt", QUOTES)
    assert len(read_documents(path, layout=Layout.parse("lines"))) == 120  # quote, author and "%" lines
    assert len(read_documents(path, layout=Layout.parse("separator=--"))) == 1  # no whole line is "--"
    for bad in ("columns", "separator=", "separator=" + "x" * 200):
        with pytest.raises(CorpusError):
            Layout.parse(bad)
    assert Layout.parse("auto") is None and str(Layout.parse("separator=%")) == "separator=%"


def test_terminal_colour_codes_and_control_characters_are_removed_and_counted(tmp_path):
    text = "\x1b[32m《静夜思》\x1b[m\n\x1b[33m作者：李白\x1b[m\n床前明月光，\x08疑是地上霜。\n%\n" * 5
    corpus = load_corpus(str(write(tmp_path, "tang.txt", text)))
    assert corpus.documents[0] == "《静夜思》\n作者：李白\n床前明月光，疑是地上霜。" and len(corpus.documents) == 5
    assert corpus.reading.cleaning.parts() == ["20 terminal colour codes", "5 control characters (backspace)"]
    assert "removed 20 terminal colour codes, 5 control characters (backspace)" in reading_summary(corpus)
    one = load_corpus(str(write(tmp_path, "one.txt", "\x1b[1mBold\x1b]0;title\x07 line\x0c\nanother line\n")))
    assert one.reading.cleaning.parts() == [
        "1 terminal colour code", "1 other terminal escape sequence", "1 control character (form feed)"
    ]  # fmt: skip


def test_the_quick_control_check_agrees_with_the_regular_expression():
    from textgen.textfile import CONTROL, has_controls

    controls = [chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]]
    near = ["\t", "\n", " ", "~", "\xa0", "©", "é", "ÿ", "Ā", "한", "字", "😀"]  # around every edge, and wider
    for context in ("plain ascii ", "café © ", "한국어 ", "😀 "):
        for ch in controls + near:
            text = context + ch + " end"
            assert has_controls(text) == (CONTROL.search(text) is not None) == (ch in controls), repr(ch)


def test_a_binary_file_is_named_once_with_the_offset_of_its_evidence(tmp_path):
    path = write(tmp_path, "nul.txt", b"a line of text\n" * 400 + b"\x00\x01\x02" + b"more\n")
    with pytest.raises(CorpusError) as err:
        load_corpus(str(path))
    assert str(err.value) == "nul.txt: looks like a binary file, not text (a NUL byte at byte 6,000)"


@pytest.mark.parametrize("name", ["fortunes", "tang300"])
def test_debians_fortune_files_read_as_their_quotes(tmp_path, name):
    """Files nobody on the project wrote (Debian's fortunes-min and fortunes-zh packages)."""
    source = Path("/usr/share/games/fortunes") / name
    if not source.exists():
        pytest.skip(f"{source} is absent: apt-get install fortunes-min fortunes-zh")
    corpus = load_corpus(str(shutil.copy(source, tmp_path / f"{name}.txt")))
    assert corpus.reading.layout == Layout("separator", "%") and len(corpus.documents) > 250
    assert not any("\x1b" in doc or "\x08" in doc for doc in corpus.documents)
    if name == "tang300":
        assert corpus.reading.cleaning.colour_codes > 1000 and corpus.documents[0].startswith("《")


# ------------------------------------------------------------------ any text trains


def test_one_long_line_holds_out_stretches_of_its_text(tmp_path):
    words = " ".join(f"word{i % 97}" for i in range(30_000))
    config = TrainConfig(batch_size=8, seq_len=32)
    data = prepare_data([words], config)
    assert data.split == "stretches" and data.val.num_documents >= 9
    assert "".join(data.train_documents + data.val_documents).replace(" ", "") != ""
    assert sorted(data.train_documents + data.val_documents, key=words.index) and all(
        part in words for part in data.val_documents
    )


@pytest.mark.slow
def test_a_ten_megabyte_single_line_trains_from_the_command_line(tmp_path):
    line = " ".join(f"token{i % 1013}" for i in range(1_150_000))  # about 9.9 MB, no line break
    corpus = write(tmp_path, "one-line.txt", line)
    assert 9_500_000 < corpus.stat().st_size < 10_500_000
    result = subprocess.run(
        [
            sys.executable,
            "train.py",
            "--corpus",
            str(corpus),
            "--out",
            str(tmp_path / "m"),
            "--max-steps",
            "5",
            "--hidden-size",
            "32",
            "--token-cache",
            "off",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 documents" in result.stdout and "stretches of the text are held out" in result.stdout
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert "stretches of the text" in card


# ------------------------------------------------------------------ chat exports and filters

TELEGRAM = {
    "name": "Friends",
    "type": "private_group",
    "messages": [
        {"id": 1, "type": "service", "date": "2024-01-05T10:00:00", "actor": "Alice", "action": "create_group"},
        {
            "id": 2,
            "type": "message",
            "date": "2024-01-05T10:01:00",
            "from": "Alice",
            "from_id": "user1",
            "text": "Morning! Look at this",
        },
        {
            "id": 3,
            "type": "message",
            "date": "2024-01-05T10:02:00",
            "from": "Bob",
            "from_id": "user2",
            "text": ["see ", {"type": "link", "text": "https://example.org"}, " now"],
        },
        {
            "id": 4,
            "type": "message",
            "date": "2024-01-05T10:03:00",
            "from": "Alice",
            "from_id": "user1",
            "text": "Nice one",
        },
        {
            "id": 5,
            "type": "message",
            "date": "2024-01-05T10:04:00",
            "from": "Carol",
            "from_id": "user3",
            "text": "",
        },
    ],
}
WHATSAPP = (
    "1/5/24, 10:00 - Messages and calls are end-to-end encrypted. No one outside of this chat can read them.\n"
    "1/5/24, 10:04 - Alice: Are we still on for lunch?\n"
    "1/5/24, 10:05 - Bob: Yes!\nSee you at noon.\n"
    "1/5/24, 10:06 - Alice: <Media omitted>\n"
    "1/5/24, 10:07 - Bob: Great\n"
)
WHATSAPP_IPHONE = "[05/01/2024, 10:04:12] Alice: Hello there\n[05/01/2024, 10:05:00] Bob: Hi Alice\n"
DISCORD = {
    "guild": {"id": "1", "name": "Club"},
    "channel": {"id": "2", "name": "general"},
    "messages": [
        {"id": "10", "type": "Default", "content": "first post", "author": {"id": "7", "name": "alice"}},
        {"id": "11", "type": "GuildMemberJoin", "content": "", "author": {"id": "8", "name": "bob"}},
        {"id": "12", "type": "Reply", "content": "welcome", "author": {"id": "8", "name": "bob"}},
    ],
}
SLACK_DAY = [
    {"type": "message", "subtype": "channel_join", "text": "<@U1> has joined", "user": "U1", "ts": "1"},
    {"type": "message", "text": "standup in 5", "user": "U1", "user_profile": {"real_name": "Alice A"}, "ts": "2"},
    {"type": "message", "text": "on my way", "user": "U2", "user_profile": {"real_name": "Bob B"}, "ts": "3"},
]
GITTER = [
    {"id": "a", "text": "how do I install it?", "sent": "2024", "fromUser": {"id": "1", "username": "alice"}},
    {"id": "b", "text": "pip install", "sent": "2024", "fromUser": {"id": "2", "username": "bob"}},
    {"id": "c", "text": "thanks!", "sent": "2024", "fromUser": {"id": "1", "username": "alice"}},
]


@pytest.mark.parametrize(
    ("name", "content", "kind", "texts", "speakers"),
    [
        (
            "result.json",
            json.dumps(TELEGRAM),
            "Telegram",
            ["Morning! Look at this", "see https://example.org now", "Nice one"],
            {"Alice": 2, "Bob": 1},
        ),
        (
            "chat.txt",
            WHATSAPP,
            "WhatsApp",
            ["Are we still on for lunch?", "Yes!\nSee you at noon.", "Great"],
            {"Alice": 1, "Bob": 2},
        ),
        ("iphone.txt", WHATSAPP_IPHONE, "WhatsApp", ["Hello there", "Hi Alice"], {"Alice": 1, "Bob": 1}),
        ("general.json", json.dumps(DISCORD), "Discord", ["first post", "welcome"], {"alice": 1, "bob": 1}),
        (
            "2024-01-05.json",
            json.dumps(SLACK_DAY),
            "Slack",
            ["standup in 5", "on my way"],
            {"Alice A": 1, "Bob B": 1},
        ),
        (
            "room.json",
            json.dumps(GITTER),
            "Gitter",
            ["how do I install it?", "pip install", "thanks!"],
            {"alice": 2, "bob": 1},
        ),
    ],
)
def test_chat_exports_are_read_as_messages_with_a_speaker(tmp_path, name, content, kind, texts, speakers):
    corpus = load_corpus(str(write(tmp_path, name, content)))
    assert corpus.reading.kind == kind and corpus.documents == texts
    assert dict(corpus.reading.speakers) == speakers
    first = next(iter(speakers))
    mine = load_corpus(str(tmp_path / name), where=("speaker", first)).documents
    assert mine and set(mine) < set(texts)
    assert f"{len(speakers)} speakers" in reading_summary(corpus)


def test_filters_reach_nested_fields_and_a_filter_that_keeps_nothing_names_what_exists(tmp_path):
    gitter = write(tmp_path, "room.json", json.dumps(GITTER))
    assert read_documents(gitter, where=("fromUser.username", "alice")) == ["how do I install it?", "thanks!"]
    telegram = write(tmp_path, "result.json", json.dumps(TELEGRAM))
    assert read_documents(telegram, where=("from", "Alice")) == ["Morning! Look at this", "Nice one"]
    with pytest.raises(
        CorpusError,
        match=r"no record has fromUser.username = 'carol'; its most frequent values: alice \(2\), bob \(1\)",
    ):
        read_documents(gitter, where=("fromUser.username", "carol"))
    lines = write(tmp_path, "notes.txt", "one note\nanother note\n")
    with pytest.raises(CorpusError, match="notes.txt: --where needs records with fields"):
        read_documents(lines, where=("user", "alice"))
    records = write(
        tmp_path, "records.jsonl", '{"text": "a", "meta": {"lang": "en"}}\n{"text": "b", "meta": {"lang": "ko"}}\n'
    )
    assert read_documents(records, where=("meta.lang", "ko")) == ["b"]


def test_train_py_reads_by_the_chosen_reading_and_says_what_it_found(tmp_path):
    quotes = write(tmp_path, "quotes.txt", QUOTES * 10)
    common = [
        sys.executable,
        "train.py",
        "--corpus",
        str(quotes),
        "--max-steps",
        "2",
        "--hidden-size",
        "16",
        "--batch-size",
        "4",
        "--seq-len",
        "16",
        "--token-cache",
        "off",
    ]

    def train(out: str, *extra: str) -> subprocess.CompletedProcess:
        command = [*common, "--out", str(tmp_path / out), *extra]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    found = train("a")
    assert found.returncode == 0, found.stderr[-2000:]
    assert "400 documents (separated by lines “%”)" in found.stdout and "example: Quote number 0" in found.stdout
    assert "1,200 documents (one per line)" in train("b", "--documents", "lines").stdout
    bad = train("c", "--documents", "pages")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--documents" in bad.stderr


def test_trained_model_names_never_repeat_on_a_server():
    from textgen import ModelRegistry

    registry = ModelRegistry(ROOT / "checkpoints")
    assert registry.new_name("quotes", "char", "auto") != registry.new_name("quotes", "char", "auto")

import json

import pytest
from conftest import corpus_path

from textgen.corpus import load_corpus, nyt_headlines, read_documents
from textgen.errors import CorpusError
from textgen.textfile import decode_bytes

SHARED_FILES = {
    "nietzsche.txt": "SUPPOSING that Truth is a woman",
    "tinyshakespeare.txt": "First Citizen:",
    "saying_cp949.txt": "장미꽃은 가시 틈에서 자란다.",
    "ninedreams_utf8.txt": "구운몽",
    "ninedreams_euckr.txt": "구운몽",
    "quotes_cp1252.json": "Genius is one percent inspiration",
}


@pytest.mark.parametrize("name", sorted(SHARED_FILES))
def test_reads_every_shared_corpus(name):
    documents = read_documents(corpus_path(name))
    assert len(documents) > 100
    assert any(SHARED_FILES[name] in doc for doc in documents[:3])
    text = "\n".join(documents)
    assert "\r" not in text and "\ufffd" not in text and "\x1a" not in text


def test_euckr_and_utf8_novel_decode_identically():
    assert read_documents(corpus_path("ninedreams_euckr.txt")) == read_documents(
        corpus_path("ninedreams_utf8.txt")
    )


def test_cp949_sayings_one_per_line_including_uhc_only_syllable():
    documents = read_documents(corpus_path("saying_cp949.txt"))
    assert len(documents) == 546
    assert any("딫" in doc for doc in documents)  # only cp949 (not strict EUC-KR) has it


def test_cp1252_quotes_keep_typography():
    documents = read_documents(corpus_path("quotes_cp1252.json"))
    assert len(documents) == 5421
    text = "".join(documents)
    assert "—" in text and "’" in text and "â€" not in text


def test_nyt_preset_drops_unknown_and_counts_articles_once():
    headlines = nyt_headlines(corpus_path("nyt"))
    assert "Unknown" not in headlines
    # 9298 unique article IDs; every "Unknown" row among them is dropped.
    assert 8500 < len(headlines) < 8603
    assert 300_000 < sum(map(len, headlines)) < 400_000


def test_nyt_missing_folder_says_where_to_get_files(tmp_path):
    with pytest.raises(CorpusError, match="kaggle.com/datasets/aashita/nyt-comments"):
        nyt_headlines(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("héllo wörld 한국어".encode("utf-8-sig"), "héllo wörld 한국어"),
        ("héllo wörld 한국어".encode("utf-16"), "héllo wörld 한국어"),
        ("plain ascii line\r\nsecond".encode("utf-16-le"), "plain ascii line\nsecond"),
        (
            "장미꽃은 가시 틈에서 자란다. 인내는 희망을 품은 기술이다.".encode("cp949"),
            "장미꽃은 가시 틈에서 자란다. 인내는 희망을 품은 기술이다.",
        ),
        ("Café — “quoted” naïve résumé, déjà vu".encode("cp1252"), "Café — “quoted” naïve résumé, déjà vu"),
        ("e\u0301".encode(), "é"),  # NFC
    ],
)
def test_decoding(data, expected):
    assert decode_bytes(data) == expected


def test_txt_lines_versus_paragraphs(tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("one\n\ntwo\n\nthree\n", encoding="utf-8")
    assert read_documents(lines) == ["one", "two", "three"]
    paragraphs = tmp_path / "paragraphs.txt"
    paragraphs.write_text("a b\nc d\n\ne f\ng h\n", encoding="utf-8")
    assert read_documents(paragraphs) == ["a b\nc d", "e f\ng h"]
    no_blank_lines = tmp_path / "plain.txt"
    no_blank_lines.write_text("first line\nsecond line\nthird\n", encoding="utf-8")
    assert read_documents(no_blank_lines) == ["first line", "second line", "third"]


def test_csv_column_and_row_filter(tmp_path):
    path = tmp_path / "chat.csv"
    path.write_text("user,text\nalice,hi there\nbob,yo\nalice,bye now\n", encoding="utf-8")
    assert read_documents(path) == ["hi there", "yo", "bye now"]
    assert read_documents(path, column="text", where=("user", "alice")) == ["hi there", "bye now"]


def test_csv_without_the_column_lists_columns(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("id,score\n1,2\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="pick a text column; the CSV has: id, score"):
        read_documents(path)
    with pytest.raises(CorpusError, match="no column 'body'; it has: id, score"):
        read_documents(path, column="body")


def test_json_and_jsonl_and_folder(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(["first", "second"]), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"text": "third"}\n{"text": "fourth"}\n', encoding="utf-8")
    (tmp_path / "c.bin").write_bytes(b"\x00\x01")  # not a supported suffix: ignored in folders
    assert read_documents(tmp_path) == ["first", "second", "third", "fourth"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n \t \n", "empty"),
        (bytes(range(256)) * 20, "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
    ],
)
def test_bad_files_get_one_clear_error(tmp_path, content, message):
    path = tmp_path / "upload.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        load_corpus(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(CorpusError, match="no such file"):
        load_corpus(str(tmp_path / "nope.txt"))


def test_csv_columns_reads_quoted_headers_and_guesses_the_text(tmp_path):
    from textgen.corpus import csv_columns

    path = tmp_path / "chat.csv"
    path.write_text('"user, id",message,when\n1,hi,now\n', encoding="utf-8")
    assert csv_columns(path) == (["user, id", "message", "when"], "message")


# ------------------------------------------------------------------ streaming


def whole_file_reference(data: bytes, codec: str) -> str:
    """What reading a file at once gives: decoded, `\n` line ends, no DOS end mark, NFC."""
    import unicodedata

    text = data.decode(codec).replace("\r\n", "\n").replace("\r", "\n").rstrip("\x1a")
    return unicodedata.normalize("NFC", text)


@pytest.mark.parametrize("seed", range(20))
def test_streamed_text_and_blocks_are_those_of_the_whole_file(monkeypatch, seed):
    """Random text cut into random reads: line ends split across reads (\\r|\\n), combining marks,
    multi-byte characters, blank lines of spaces and tabs, a DOS end mark: the pieces join to the
    whole text, and the block split of the pieces is the split of the whole."""
    import io
    import random

    from textgen import plaintext, textfile

    rng = random.Random(seed)
    alphabet = ["a", "b", " ", "\t", "\n", "\n", "\r\n", "\r", "é", "e\u0301", "한", "\n \t\n"]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 400))) + "\x1a" * rng.randrange(3)
    data = text.encode("utf-8")
    monkeypatch.setattr(textfile, "DETECT_BYTES", rng.randrange(1, 40))
    monkeypatch.setattr(textfile, "READ_BYTES", rng.randrange(1, 40))
    pieces = list(textfile._decoded_chunks(io.BytesIO(data)))
    expected = whole_file_reference(data, "utf-8")
    assert "".join(pieces) == expected
    assert all(piece.endswith("\n") for piece in pieces[:-1])
    assert list(plaintext.blocks(pieces)) == plaintext.BLOCK_SEPARATOR.split(expected)


def test_small_reads_give_the_same_documents_as_one_read(monkeypatch, tmp_path):
    from textgen import textfile

    novel, shakespeare = corpus_path("ninedreams_utf8.txt"), corpus_path("tinyshakespeare.txt")
    csv_path = tmp_path / "quoted.csv"
    rows = [f'{i},"line one of {i}\nline two, with ""quotes"" {i}"' for i in range(200)]
    csv_path.write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    expected = {path: read_documents(path) for path in (novel, shakespeare, csv_path)}
    monkeypatch.setattr(textfile, "READ_BYTES", 997)  # reads end mid-character and mid-row
    for path, documents in expected.items():
        assert read_documents(path) == documents
    assert expected[csv_path][0] == 'line one of 0\nline two, with "quotes" 0'


def test_a_file_without_blank_lines_streams_line_by_line(monkeypatch, tmp_path):
    """Its one block is never assembled: the layout is decided on a prefix, then lines stream."""
    from textgen import corpus, textfile

    path = tmp_path / "lines.txt"
    path.write_text("".join(f"saying number {i}\n" for i in range(5000)), encoding="utf-8")
    monkeypatch.setattr(textfile, "DETECT_BYTES", 4096)
    monkeypatch.setattr(textfile, "READ_BYTES", 4096)
    documents = list(corpus.iter_documents(path))
    assert len(documents) == 5000 and documents[-1] == "saying number 4999"


def test_a_stream_corpus_reads_afresh_and_its_fingerprint_follows_the_bytes(tmp_path):
    from textgen.corpus import stream_corpus

    path = tmp_path / "sayings.txt"
    path.write_text("one\ntwo\nthree\n", encoding="utf-8")
    stream = stream_corpus(str(path))
    assert list(stream) == list(stream) == ["one", "two", "three"]
    first = stream.fingerprint()
    assert stream_corpus(str(path)).fingerprint() == first
    path.write_text("one\ntwo\nthree!\n", encoding="utf-8")
    assert stream.fingerprint() != first
    assert stream_corpus(str(path), column="x").fingerprint() != stream_corpus(str(path)).fingerprint()
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(CorpusError, match="empty"):
        stream_corpus([str(path), str(tmp_path / "empty.txt")])

"""Every messenger's export, read as people wrote it, with no option: KakaoTalk (PC/Android, mobile,
English, CSV), LINE (English, Korean, a message of several lines), WhatsApp (Android, iOS's zip),
Discord (nicknames), Messenger (its text repaired), Slack (a zipped export), a phone's SMS backup. Messages keep their
speaker and time; headers, date rules, system lines and media placeholders are removed and counted;
the reading is said whole and truthfully (speakers of every record, the encoding, singular forms).
The fixtures in tests/chats/ are ours, written from each format's documentation and examples."""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from datetime import datetime

import pytest
from conftest import ROOT

from textgen import CorpusError, load_corpus
from textgen.archives import MAX_TEXT_BYTES
from textgen.corpus import read_upload
from textgen.views import reading_summary

CHATS = ROOT / "tests" / "chats"
# Nothing of a chat's machinery may reach the text a model learns: no time, no date, no bracketed name,
# no tab, no placeholder, no system line.
LEAKS = re.compile(
    r"\d{1,2}:\d{2}|\d{4}[./년-]|\[[^\]]*\]\s\[|\t|omitted|사진$|이모티콘|삭제된|초대했|초대하였|invited|joined|"
    r"end-to-end|Sticker|unsent|\u200e"
)


@pytest.mark.parametrize(
    ("name", "kind", "speakers", "removed"),
    [
        ("kakao_pc.txt", "KakaoTalk", {"김민준": 3, "이서연": 2, "최유나": 2}, {"header": 2, "date line": 2, "media": 2, "system message": 2, "deleted message": 1}),
        ("kakao_mobile.txt", "KakaoTalk", {"김민준": 3, "이서연": 2, "최유나": 1}, {"header": 2, "date line": 2, "media": 1, "system message": 1}),
        ("kakao_en.txt", "KakaoTalk", {"Minjun Kim": 3, "Seoyeon Lee": 1, "Yuna Choi": 1}, {"header": 2, "date line": 2, "media": 1, "system message": 1}),
        ("kakao.csv", "KakaoTalk", {"김민준": 3, "이서연": 1}, {"media": 1}),
        ("line_en.txt", "LINE", {"Alice": 3, "Carol": 2, "Bob": 1}, {"header": 2, "date line": 2, "media": 1, "system message": 1, "deleted message": 1}),
        ("line_ko.txt", "LINE", {"민준": 2, "서연": 1, "유나": 1}, {"header": 2, "date line": 2, "media": 1}),
        ("discord.json", "Discord", {"Alice Smith": 1, "bob": 1, "Carol ☕": 1}, {"system message": 1}),
        ("message_1.json", "Messenger", {"Zoë": 1, "Sam": 1}, {"media": 1}),
        ("sms-20261103.xml", "SMS Backup & Restore", {"Dana Whitfield": 2, "me": 2, "+15555550199": 1}, {"media": 1, "unsent message": 1}),
    ],
)  # fmt: skip
def test_each_export_reads_as_messages_with_speakers_and_what_was_removed_counted(name, kind, speakers, removed):
    corpus = load_corpus(str(CHATS / name))
    assert corpus.reading.kind == kind
    assert dict(corpus.reading.speakers) == speakers
    assert dict(corpus.reading.removed) == removed
    assert len(corpus.documents) == sum(speakers.values())
    assert not [document for document in corpus.documents if LEAKS.search(document)]


def test_a_message_of_several_lines_stays_whole_and_each_keeps_its_time():
    from textgen.textchats import KAKAO, LINE, messages

    kakao = list(messages(KAKAO, (CHATS / "kakao_pc.txt").read_text(encoding="utf-8").splitlines(), Counter()))
    assert kakao[2].text == "일곱 시 반에 여의나루역 2번 출구\n거기 편의점 앞에서 보자"
    assert kakao[2].when == datetime(2026, 11, 3, 21, 43) and kakao[4].when == datetime(2026, 11, 4, 7, 20)
    line = list(messages(LINE, (CHATS / "line_en.txt").read_text(encoding="utf-8").splitlines(), Counter()))
    assert line[2].text == "Half past seven,\nat the north gate."  # LINE's quotes around it gone
    assert [record.when.hour for record in line] == [21, 21, 21, 21, 7, 7]


def test_where_speaker_keeps_exactly_that_speakers_messages_and_the_summary_says_so():
    corpus = load_corpus(str(CHATS / "kakao_pc.txt"), where=("speaker", "이서연"))
    assert corpus.documents == ["나! 몇 시에 만나?", "도착! 2번 출구 맞지?"]
    assert dict(corpus.reading.speakers) == {"이서연": 2}  # of what is kept, not of what was read
    summary = reading_summary(corpus)
    assert "kept where speaker is “이서연”: 2 of 7 records" in summary and "1 speaker: 이서연 (2)" in summary
    assert "**2 messages** (KakaoTalk export)" in summary


def whatsapp_zip(tmp_path, name="WhatsApp Chat - Walkers.zip", chat=None):
    archive = tmp_path / name
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(
            "_chat.txt", chat if chat is not None else (CHATS / "whatsapp_ios" / "_chat.txt").read_bytes()
        )
        zipped.writestr("00000012-PHOTO-2024-01-05-10-06-02.jpg", b"\xff\xd8\xff\xe0" + bytes(2000))
    return archive


def test_whatsapps_ios_zip_is_read_as_its_chat_with_its_system_lines_removed(tmp_path):
    corpus = read_upload(whatsapp_zip(tmp_path))
    assert corpus.reading.kind == "WhatsApp"
    assert corpus.documents == ["Morning! Coffee at 11?", "Sounds good\nsee you there", "Count me in", "Hi all"]
    # The encryption notice under Alice's name is no message of hers; the photo and the deleted one go.
    assert dict(corpus.reading.speakers) == {"Alice Smith": 1, "Bob": 1, "Carol ☕": 1, "Dan": 1}
    assert dict(corpus.reading.removed) == {"system message": 2, "media": 1, "deleted message": 1}
    summary = reading_summary(corpus)
    assert "removed 2 system messages, 1 media placeholder, 1 deleted message" in summary
    assert "read as UTF-8" in summary and "**4 messages** (WhatsApp export)" in summary


def test_whatsapp_dates_are_read_in_the_order_the_export_writes_them(tmp_path):
    chat = "[13/05/24, 18:00:00] Dan: Hi all\n[14/05/24, 09:15:30] Eve: Morning\n"
    from textgen.textchats import WHATSAPP, messages, whatsapp_day_first

    lines = chat.splitlines()
    records = list(messages(WHATSAPP, lines, Counter(), whatsapp_day_first(lines)))
    assert [r.when for r in records] == [datetime(2024, 5, 13, 18, 0), datetime(2024, 5, 14, 9, 15, 30)]


def test_a_zip_that_inflates_past_the_limit_is_refused_and_one_without_a_chat_too(tmp_path, monkeypatch):
    import textgen.archives

    monkeypatch.setattr(textgen.archives, "MAX_TEXT_BYTES", 10_000)
    bomb = whatsapp_zip(tmp_path, "bomb.zip", chat=b"[1/5/24, 10:04:12] Bob: " + b"a" * 200_000 + b"\n")
    with pytest.raises(CorpusError, match="declares more than"):
        read_upload(bomb)
    assert MAX_TEXT_BYTES >= 64 * 2**20  # the real limit: far above any chat export
    empty = tmp_path / "photos.zip"
    with zipfile.ZipFile(empty, "w") as zipped:
        zipped.writestr("a.jpg", b"\xff\xd8")
        zipped.writestr("b.jpg", b"\xff\xd8")
    with pytest.raises(CorpusError, match="the zip holds no chat export"):
        read_upload(empty)


def test_reading_a_zip_member_stops_at_the_limit_whatever_the_zip_declares(tmp_path, monkeypatch):
    """A zip can declare a small size and inflate to gigabytes: the stream itself stops at the limit."""
    import textgen.archives
    from textgen.archives import ZipText

    archive = whatsapp_zip(tmp_path, "big.zip", chat=b"[1/5/24, 10:04:12] Bob: " + b"a" * 50_000 + b"\n")
    monkeypatch.setattr(textgen.archives, "MAX_TEXT_BYTES", 20_000)  # after the declared sizes were checked
    with ZipText(archive, "_chat.txt").open() as stream, pytest.raises(CorpusError, match="inflates to more than"):
        while stream.read(4096):
            pass


def test_a_slack_export_zip_is_read_as_its_channels_messages(tmp_path):
    archive = tmp_path / "Walkers Slack export.zip"
    day = [
        {"type": "message", "ts": "1793746860.000100", "user": "U1", "user_profile": {"real_name": "Alice Smith", "display_name": "alice"}, "text": "Walk at seven?"},
        {"type": "message", "subtype": "channel_join", "ts": "1793746870.000100", "user": "U2", "text": "<@U2> has joined the channel"},
        {"type": "message", "ts": "1793746880.000100", "user": "U2", "user_profile": {"real_name": "Bob Jones", "display_name": ""}, "text": "Sure"},
    ]  # fmt: skip
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("users.json", json.dumps([{"id": "U1", "name": "alice"}]))
        zipped.writestr("channels.json", json.dumps([{"name": "general"}]))
        zipped.writestr("general/2026-11-03.json", json.dumps(day))
    corpus = read_upload(archive)
    assert corpus.reading.kind == "Slack" and corpus.documents == ["Walk at seven?", "Sure"]
    assert dict(corpus.reading.speakers) == {"alice": 1, "Bob Jones": 1}  # the name shown, else the real one
    assert dict(corpus.reading.removed) == {"system message": 1}


def test_the_encoding_is_said_and_singular_forms_read_right(tmp_path):
    path = tmp_path / "one.txt"
    path.write_bytes("Ça va très bien, merci.\n".encode("cp1252") * 200)
    corpus = load_corpus(str(path))
    summary = reading_summary(corpus)
    assert "read as cp1252" in summary and "**200 documents**" in summary
    one = tmp_path / "single.txt"
    one.write_text("x" * 3000, encoding="utf-8")
    assert "**1 document** (one per line)" in reading_summary(load_corpus(str(one)))


def test_a_corpus_too_small_to_train_says_so_with_its_size(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("one short line of text that is sixty seven characters long, alas.\n", encoding="utf-8")
    summary = reading_summary(load_corpus(str(path)))
    assert "**Too small to train on:** 65 characters; a model needs at least about 2,312." in summary
    assert "stretches of the text are held out" not in summary  # it promises no split it cannot make


def test_names_in_the_summary_are_shown_as_written_not_as_markdown(tmp_path):
    path = tmp_path / "chat.csv"
    rows = ["Date,User,Message"] + [
        f'2026-11-03 21:4{i}:00,"**bold** [link](x)","message {i} " ' for i in range(3)
    ]
    path.write_text("\n".join(rows), encoding="utf-8")
    summary = reading_summary(load_corpus(str(path)))
    assert r"\*\*bold\*\* \[link\]\(x\) (3)" in summary


def test_an_sms_backup_reads_its_emoji_whole_wherever_the_file_is_cut(tmp_path):
    """SMS Backup & Restore writes an emoji as two UTF-16 halves (`&#55357;&#56832;`), which XML
    forbids: read as the one character, even when a read cuts between them."""
    from textgen.smsbackup import sms_records

    text = (CHATS / "sms-20261103.xml").read_text(encoding="utf-8")
    cut = text.index("&#56832;") - 3
    for chunks in ([text], [text[:cut], text[cut:]], [text[i : i + 7] for i in range(0, len(text), 7)]):
        first = next(iter(sms_records(chunks, Counter())))
        assert first.text == "Are you still coming tonight? \U0001f600" and first.speaker == "Dana Whitfield"
    hangul = '<smses><sms type="1" body="&#54620;&#44544;" contact_name="A" /></smses>'  # not halves
    assert [r.text for r in sms_records([hangul], Counter())] == ["한글"]


def test_an_xml_file_that_is_no_sms_backup_or_is_a_bomb_is_one_clear_line(tmp_path):
    other = tmp_path / "feed.xml"
    other.write_text('<?xml version="1.0"?><rss><channel><title>News</title></channel></rss>', encoding="utf-8")
    with pytest.raises(CorpusError, match="not an SMS backup"):
        load_corpus(str(other))
    bomb = tmp_path / "sms.xml"  # entities that would expand to gigabytes: expat refuses them
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 12))
    bomb.write_text(
        f'<?xml version="1.0"?><!DOCTYPE smses [<!ENTITY e0 "lol">{entities}]>'
        '<smses><sms type="1" body="&e11;" contact_name="A" /></smses>',
        encoding="utf-8",
    )
    with pytest.raises(CorpusError, match="not a valid SMS backup"):
        load_corpus(str(bomb))

"""Conversations: a chat read as whole conversations (each message after its speaker's label, cut
where the chat goes quiet), a play read as its speeches, and a model that answers as a speaker, in
Python, on the command line and through /chat, stopping at the end of its turn.

The trained fixture is a chat that a small model learns in seconds: ann writes only a's, bo only
b's, cy only c's, and they always speak in that order, so both who speaks next and what they say
can be checked exactly."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta

import pytest
import torch
from conftest import ROOT

import train
from textgen import CorpusError, GenerationError, load_corpus
from textgen.chat import ANYONE, Chat, Turn, written_turn
from textgen.checkpoints import load_folder
from textgen.cli import main as cli_main
from textgen.conversations import OTHERS, ConversationReading, shown, turns_of
from textgen.labelled import LABEL_CHARACTERS
from textgen.page import handlers
from textgen.registry import ModelRegistry
from textgen.sampling import SamplingSettings, generate
from textgen.views import reading_summary

ORDER = [("ann", "a"), ("bo", "b"), ("cy", "c")]


def round_robin_log(path, messages: int = 240, every: int = 12, gap_hours: float = 4, extra: str = ""):
    """An IRC log of ann, bo and cy in turn, quiet for `gap_hours` after every `every` messages."""
    when = datetime(2026, 11, 3, 9, 0)
    lines = []
    for i in range(messages):
        if i and i % every == 0:
            when += timedelta(hours=gap_hours)
        name, letter = ORDER[i % 3]
        lines.append(f"[{when:%Y-%m-%d %H:%M:%S}] <{name}> {letter * (4 + i % 5)}")
        when += timedelta(seconds=40)
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def test_a_chat_reads_as_conversations_cut_where_it_goes_quiet(tmp_path):
    log = round_robin_log(tmp_path / "channel.log.txt")
    corpus = load_corpus(str(log), conversations=ConversationReading())
    assert corpus.reading.kind == "IRC" and corpus.reading.conversations == 20 == len(corpus.documents)
    assert corpus.labels.names == ["ann", "bo", "cy"]  # each with 80 messages: a label each, no OTHERS
    first = turns_of(corpus.documents[0], corpus.labels)
    assert first[:2] == [("ann", "aaaa"), ("bo", "bbbbb")] and len(first) == 12
    assert all(LABEL_CHARACTERS.match(document) for document in corpus.documents)  # a label opens each
    assert not [d for d in corpus.documents if re.search(r"\d:\d\d|<\w+>|\[", d)]  # no time, no nick
    summary = reading_summary(corpus)
    assert summary.startswith("**20 conversations** of 240 messages (IRC export)")
    assert "> ann: aaaa ⏎ bo: bbbbb ⏎ cy: cccccc" in summary
    wider = load_corpus(str(log), conversations=ConversationReading(gap_minutes=5 * 60))
    assert len(wider.documents) == 5  # no silence long enough: cut at 50 messages


def test_rare_speakers_share_one_label_and_one_speaker_is_no_conversation(tmp_path):
    extra = "[2026-11-04 12:00:00] <dee> hello\n[2026-11-04 12:00:30] <dee> anyone\n"
    corpus = load_corpus(
        str(round_robin_log(tmp_path / "c.txt", extra=extra)), conversations=ConversationReading()
    )
    assert corpus.labels.documents == {"ann": 80, "bo": 80, "cy": 80, OTHERS: 2}
    assert shown(corpus.documents[-1], corpus.labels).endswith(f"{OTHERS}: hello ⏎ {OTHERS}: anyone")
    alone = tmp_path / "alone.txt"
    alone.write_text("".join(f"[2026-11-04 12:00:{i:02d}] <dee> hi {i}\n" for i in range(30)), encoding="utf-8")
    with pytest.raises(CorpusError, match="a conversation needs two speakers with 10 messages or more"):
        load_corpus(str(alone), conversations=ConversationReading())
    with pytest.raises(CorpusError, match="in minutes, more than 0"):
        ConversationReading(0)


PLAY = "".join(
    f"{name}:\n{line}\nand so on, {i}.\n\n"
    for i, (name, line) in enumerate(
        [("First Citizen", "Before we proceed any further, hear me speak:"), ("All", "Speak, speak.")] * 12
    )
)


def test_a_play_is_read_as_speeches_only_when_a_conversation_is_asked(tmp_path):
    play = tmp_path / "play.txt"
    play.write_text(PLAY, encoding="utf-8")
    as_text = load_corpus(str(play))
    assert as_text.reading.kind == "text" and as_text.documents[0].startswith("First Citizen:")
    corpus = load_corpus(str(play), conversations=ConversationReading())
    assert corpus.reading.kind == "speeches" and corpus.labels.names == ["First Citizen", "All"]
    assert turns_of(corpus.documents[0], corpus.labels)[0] == (
        "First Citizen",
        "Before we proceed any further, hear me speak:\nand so on, 0.",
    )  # a line of the speech that ends in ":" is no speaker
    dotted = tmp_path / "dotted.txt"
    dotted.write_text("".join(f"HAMLET. To be, {i}.\nHORATIO. Not to be.\n" for i in range(12)), encoding="utf-8")
    pattern = r"(?P<speaker>[A-Z]+)\."
    read = load_corpus(str(dotted), conversations=ConversationReading(speaker_pattern=pattern))
    assert turns_of(read.documents[0], read.labels)[:2] == [("HAMLET", "To be, 0."), ("HORATIO", "Not to be.")]
    with pytest.raises(CorpusError, match="not a regular expression"):
        load_corpus(str(dotted), conversations=ConversationReading(speaker_pattern="(unclosed"))
    with pytest.raises(CorpusError, match=r"needs a group \(\?P<speaker>"):
        load_corpus(str(dotted), conversations=ConversationReading(speaker_pattern="[A-Z]+\\."))


@pytest.fixture(scope="module")
def talkers(tmp_path_factory):
    """A conversation model of ann, bo and cy, trained by train.py."""
    folder = tmp_path_factory.mktemp("talkers")
    log = round_robin_log(folder / "channel.txt", messages=600)
    small = ["--hidden-size", "48", "--max-steps", "400", "--batch-size", "16", "--seq-len", "48", "--lr", "0.01"]
    train.main(["--corpus", str(log), "--conversations", *small, "--out", str(folder / "model")])
    return folder / "model"


def test_the_model_keeps_how_it_read_and_the_conversation_is_read_once(talkers):
    info = json.loads((talkers / "training.json").read_text(encoding="utf-8"))
    assert info["conversations"] == {"gap_minutes": 180.0, "speaker_pattern": None}
    assert info["labels"]["documents"] == {"ann": 200, "bo": 200, "cy": 200}
    loaded = load_folder(talkers)
    turns = [Turn("ann", "aaaa"), Turn("bo", "bbbbb"), Turn("cy", "cc")]
    carried = Chat.start("m", "s", loaded)
    for turn in turns:
        carried.say(loaded, turn.speaker, turn.text)
    read_once = Chat.start("m", "s", loaded, turns)
    assert torch.allclose(carried.moments[-1].logits, read_once.moments[-1].logits, atol=1e-5)


def test_a_reply_is_the_speakers_turn_and_stops_where_the_model_ends_it(talkers):
    loaded = load_folder(talkers)
    chat = Chat.start("m", "s", loaded, [Turn("ann", "aaaaa")])
    greedy = SamplingSettings.of(0, 200, seed=1)
    *_, reply = chat.reply(loaded, "bo", greedy)
    assert chat.turns[-1] == Turn("bo", reply) and reply and set(reply) == {"b"} and len(reply) <= 10
    # The same state written on past the turn: the reply is exactly what comes before the next label.
    labels = loaded.info.labels
    state = chat.moments[-2].state
    raw = torch.tensor([loaded.tokenizer.index[labels.character("bo")]])
    ids = []
    with torch.inference_mode():
        logits, state = loaded.model.step(raw, state)
        for _ in range(30):
            token = int(logits[0].argmax())
            ids.append(token)
            logits, state = loaded.model.step(torch.tensor([token]), state)
    written = loaded.tokenizer.decode(ids)
    assert written.startswith(reply) and LABEL_CHARACTERS.match(written[len(reply)])
    assert list(written_turn(loaded, labels, chat.moments[-2].state, "bo", greedy, random.Random(0)))[-1] == reply
    # Who speaks next after bo: cy, as always in this chat; and each writes only their own letter.
    *_, third = chat.reply(loaded, ANYONE, greedy, you="ann")
    assert chat.turns[-1].speaker == "cy" and set(third) == {"c"}


def test_chat_on_the_command_line_answers_once_and_says_what_is_wrong(talkers, capsys):
    cli_main(["chat", "--model", str(talkers), "--as", "ann", "--message", "aaaa", "--temperature", "0"])
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and re.fullmatch(r"bo: b{3,10}", printed[0])
    for argv, message in (
        (["--as", "ann", "--reply-as", "dee"], "--reply-as must be one of the model's speakers: ann, bo, cy"),
        ([], "say who you are: --as NAME, one of ann, bo, cy"),
    ):
        with pytest.raises(SystemExit) as stopped:
            cli_main(["chat", "--model", str(talkers), "--message", "hi", *argv])
        assert stopped.value.code == 2 and message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["chat", "--model", str(ROOT / "checkpoints" / "nyt-char"), "--message", "hi"])
    assert "not trained on conversations" in capsys.readouterr().err


def test_chat_api_answers_a_conversation_as_asked_and_refuses_what_it_cannot(talkers, tmp_path):
    registry = ModelRegistry(tmp_path / "none", "cpu")
    registry.add("s", "talkers", load_folder(talkers))
    conversation = [{"speaker": "ann", "text": "aaaa"}]
    answer = handlers.chat_api(registry, "s", "talkers", conversation, "", 0, 3)
    assert answer["speaker"] == "bo" and set(answer["text"]) == {"b"}
    so_far = [*conversation, answer, {"speaker": "cy", "text": "ccc"}]
    again = handlers.chat_api(registry, "s", "talkers", so_far, "ann", 0, 3)  # ann, as after cy in the chat
    assert again["speaker"] == "ann" and set(again["text"]) == {"a"}
    for bad, message in (
        ([{"speaker": "zed", "text": "x"}], "a message's speaker must be one of the model's speakers"),
        ([{"speaker": "ann"}], "each message is an object with a speaker and a text"),
        ("ann: hi", "the conversation is a list of at most 200 messages"),
    ):
        with pytest.raises(GenerationError, match=re.escape(message)):
            handlers.chat_api(registry, "s", "talkers", bad, "", 0.8, None)
    assert handlers.chat_models(registry, "s") == ["talkers"]
    speakers = handlers.chat_speakers(registry, "s", "talkers")
    assert speakers.you == ["ann", "bo", "cy"] and speakers.answers == ["ann", "bo", "cy"]


def test_the_page_chat_says_undoes_and_retries(talkers, tmp_path):
    registry = ModelRegistry(tmp_path / "none", "cpu")
    registry.add("s", "talkers", load_folder(talkers))
    chat = handlers.chat_say(registry, "s", None, "talkers", "ann", "aaaa")
    settings = SamplingSettings.of(0.5, 100, seed=4)
    *_, chat = handlers.chat_replies(registry, chat, ANYONE, settings, "ann", 2)
    assert [turn.speaker for turn in chat.turns] == ["ann", "bo", "cy"] and chat.pending is None
    assert handlers.chat_retry(chat, "ann") == 2 and len(chat.turns) == 1
    handlers.chat_undo(chat, "ann")
    assert chat.turns == [] and len(chat.moments) == 1
    with pytest.raises(GenerationError, match="type a message first"):
        handlers.chat_say(registry, "s", chat, "talkers", "ann", "  ")


def test_generating_with_a_conversation_model_names_each_speaker_and_its_card_says_how_to_chat(talkers):
    loaded = load_folder(talkers)
    (text,) = generate(loaded.model, loaded.tokenizer, "", SamplingSettings.of(0, 60))
    assert re.match(r"\nann: a+\nbo: b+\ncy: c+", text)  # each turn under its speaker's name
    card = (talkers / "README.md").read_text(encoding="utf-8")
    assert "## Conversations" in card and "| bo | 200 |" in card and "textgen chat --model" in card

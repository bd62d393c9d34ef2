"""The page's handlers called directly, without a server: what each event does with the values a
request sends, against the shipped models."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from textgen import (
    CheckpointError,
    CorpusError,
    GenerationError,
    SamplingSettings,
    TextgenError,
    TrainingError,
    generate,
)
from textgen.cowrite import MAX_LISTED, next_tokens, prime_text
from textgen.jobs import run_job
from textgen.modelzip import zip_model
from textgen.page import handlers
from textgen.registry import ModelRegistry
from textgen.sampling import SAMPLE_TEMPERATURES
from textgen.views import CompactSteps

SESSION = "test-session"


@pytest.fixture(scope="module")
def registry():
    registry = ModelRegistry(ROOT / "checkpoints", "cpu", decoding_precision="fp32")
    yield registry
    for engine in registry._engines.values():
        engine.close()


def generated(registry, model, prompt, settings, write_as=""):
    generation = handlers.start_generation(registry, SESSION, model, prompt, settings, write_as)
    *_, text = generation.texts()
    return text, generation.run


def test_generate_streams_the_text_the_direct_sampler_writes(registry):
    settings = SamplingSettings.of(temperature=0.7, length=80, seed=11)
    text, run = generated(registry, "nyt-char", "Senate", settings)
    loaded = registry.get("nyt-char")
    assert text == "Senate" + generate(loaded.model, loaded.tokenizer, "Senate", settings)[0]
    assert len(run.steps) == 80 and run.prompt == "Senate" and run.model == "nyt-char"


def test_top_k_top_p_and_stop_at_eos_each_change_what_is_written(registry):
    """Top-k 1 and a tiny top-p leave one token at each step: the greedy text, whatever the seed;
    without them the seed shows. Stop at the end: every sample is one headline, however long the length."""
    greedy, _ = generated(registry, "nyt-word", "The", SamplingSettings.of(temperature=0, length=30))
    for filtered in ({"top_k": 1}, {"top_p": 1e-6}):  # the likeliest token has at least 1/vocabulary
        text, _ = generated(registry, "nyt-word", "The", SamplingSettings.of(1.5, 30, seed=5, **filtered))
        assert text == greedy, filtered
    free = {generated(registry, "nyt-word", "The", SamplingSettings.of(1.5, 30, seed=s))[0] for s in (5, 6)}
    assert greedy not in free and len(free) == 2
    long = SamplingSettings.of(temperature=1.0, length=300, num_samples=4, seed=2)
    _, going_on = generated(registry, "nyt-word", "The", long)
    _, stopped = generated(
        registry, "nyt-word", "The", SamplingSettings.of(1.0, 300, num_samples=4, stop_at_eos=True, seed=2)
    )
    assert len(stopped.steps) < 300  # all four ended: the request ends
    eos = registry.get("nyt-word").tokenizer.eos_id
    ends = [sum(step.token_ids[i] == eos and bool(step.pieces[i]) for step in stopped.steps) for i in range(4)]
    assert ends == [1, 1, 1, 1]  # one headline each, then nothing
    assert sum(step.token_ids[0] == eos for step in going_on.steps) > 1  # without it, headline after headline


def test_samples_are_numbered_and_each_has_its_own_views(registry):
    text, run = generated(registry, "nyt-char", "How", SamplingSettings.of(0.8, 60, num_samples=3, seed=1))
    assert text.startswith("[1] How") and "\n\n[3] How" in text
    first, third = (handlers.sample_view(registry, run, n, "en") for n in (1, 3))
    assert first.samples == third.samples == 3 and first.confidence != third.confidence
    assert handlers.sample_view(registry, run, 99, "en").confidence == third.confidence  # clamped
    with pytest.raises(GenerationError, match="pick a sample by its number"):
        handlers.sample_view(registry, run, "two", "en")


def test_compare_writes_each_temperature_as_generation_would(registry):
    *_, texts = handlers.compare_temperatures(registry, SESSION, "nyt-char", "How", 60, 3)
    loaded = registry.get("nyt-char")
    settings = SamplingSettings.of(SAMPLE_TEMPERATURES, 60, seed=3)
    assert texts == ["How" + t for t in generate(loaded.model, loaded.tokenizer, "How", settings)]
    with pytest.raises(GenerationError, match="length must be a whole number"):
        next(handlers.compare_temperatures(registry, SESSION, "nyt-char", "How", "long", 3))


def test_next_tokens_are_the_models_own_and_bounded(registry):
    result = handlers.next_tokens_for(registry, SESSION, "nyt-char", "Senate", 0.7, 5, "")
    loaded = registry.get("nyt-char")
    logits, _ = prime_text(loaded.model, loaded.tokenizer, "Senate")
    assert result == next_tokens(logits, loaded.tokenizer, 0.7, 5).to_dict()
    word = handlers.next_tokens_for(registry, SESSION, "nyt-word", "The", 1.0, 0, "")  # 0: as many as listed
    assert len(word["tokens"]) == MAX_LISTED < len(registry.get("nyt-word").tokenizer)
    for bad, message in (("hot", "temperature must be a finite number"), (5, "temperature must be a number")):
        with pytest.raises(GenerationError, match=message):
            handlers.next_tokens_for(registry, SESSION, "nyt-char", "a", bad, 5, "")
    with pytest.raises(GenerationError, match="top-k must be a whole number"):
        handlers.next_tokens_for(registry, SESSION, "nyt-char", "a", 1.0, True, "")


def test_choosing_a_model_by_corpus_and_level(registry):
    corpus, level = handlers.corpus_and_level(registry, SESSION, "nyt-word")
    assert level == "word" and handlers.pick_corpus(registry, corpus, "word") == ("word", "nyt-word")
    assert handlers.pick_corpus(registry, corpus, "char") == ("char", "nyt-char")
    assert handlers.levels_of(registry, corpus) == ["char", "word"]
    assert handlers.corpus_and_level(registry, SESSION, "alice/not-loaded") == (None, None)
    assert handlers.label_choices(registry, SESSION, "nyt-char") is None
    with pytest.raises(CheckpointError, match="no model named"):
        handlers.label_choices(registry, SESSION, "not a model")


def test_inspecting_uploads_finds_columns_speakers_fields_and_the_layout():
    csv = handlers.inspect_upload(str(ROOT / "examples" / "chat.csv"), "en")
    assert (csv.columns, csv.column, csv.plain_text, csv.fields) == (
        ["time", "user", "text"],
        "text",
        False,
        ["time", "user"],
    )
    chat = handlers.inspect_upload(str(ROOT / "examples" / "whatsapp.txt"), "ko")
    assert [name for name, _ in chat.speakers] == ["Alice", "Bob", "Chen"] and chat.fields == ["speaker"]
    assert not chat.plain_text and "**메시지 209개** (WhatsApp 내보내기)" in chat.summary
    quotes = handlers.inspect_upload(str(ROOT / "examples" / "quotes.txt"), "en")
    assert quotes.plain_text and "separated by lines “%”" in quotes.summary and quotes.columns == []


def test_a_training_request_is_checked_before_anything_trains(registry, tmp_path):
    upload = tmp_path / "lines.txt"
    upload.write_text("\n".join(f"line {i}" for i in range(50)), encoding="utf-8")
    for minutes, message in (("soon", "time budget must be a finite number"), (0, "more than 0 minutes")):
        with pytest.raises(TextgenError, match=message):
            handlers.start_training(registry, SESSION, handlers.TrainRequest(str(upload), minutes=minutes), 10)
    with pytest.raises(CorpusError, match="upload a"):
        handlers.start_training(registry, SESSION, handlers.TrainRequest(None), 10)
    job, name = handlers.start_training(registry, SESSION, handlers.TrainRequest(str(upload), minutes=60), 2)
    assert job.config.max_minutes == 2 and name.startswith("lines-char-auto-") and job.info.parent is None
    job, _ = handlers.start_training(
        registry, SESSION, handlers.TrainRequest(str(upload), start_from="nyt-char"), 2
    )
    assert job.base is registry.get("nyt-char") and job.info.parent == "nyt-char"


def test_pushing_needs_a_model_of_ones_own_and_a_token(registry, tmp_path):
    with pytest.raises(TrainingError, match="pick a model you trained or loaded in this session"):
        handlers.push(registry, SESSION, "nyt-char", "alice/x", "hf_token")
    archive = zip_model(ROOT / "checkpoints" / "nyt-char", tmp_path)
    name = handlers.load_zip(registry, SESSION, str(archive))
    assert name in registry.own(SESSION)
    with pytest.raises(TrainingError, match="paste a Hugging Face token"):
        handlers.push(registry, SESSION, name, "alice/x", "")
    with pytest.raises(TrainingError, match="sign in with Hugging Face first"):
        handlers.publish(registry, SESSION, name, "alice/x", "", signed_in=True)


def test_writing_with_the_model_carries_its_state(registry):
    writer = handlers.cowrite_start(registry, SESSION, "nyt-char", "The", "")
    view = handlers.cowrite_view(registry, writer, 0.8, "en")
    assert view.text == "The" and len(view.choices) == 10 and "Entropy" in view.chart
    handlers.cowrite_pick(registry, writer, view.choices[0][1])
    handlers.cowrite_more(registry, writer, 0, 0, 1.0)
    loaded = registry.get("nyt-char")
    greedy = generate(loaded.model, loaded.tokenizer, writer.drafts[1].text, SamplingSettings.of(0, 20))[0]
    assert writer.text == writer.drafts[1].text + greedy
    with pytest.raises(GenerationError, match="pick one of the listed tokens"):
        handlers.cowrite_pick(registry, writer, "x")


def test_what_the_user_types_is_the_text_the_next_tokens_follow(registry):
    """Typing in the box (no Enter needed): the listed tokens are for the typed text, a pick or "write
    more" continues it instead of replacing it, and undo goes back to before the typing."""
    writer = handlers.cowrite_start(registry, SESSION, "nyt-char", "The", "")
    handlers.cowrite_follow(registry, writer, "The Senate")
    loaded = registry.get("nyt-char")
    expected = next_tokens(prime_text(loaded.model, loaded.tokenizer, "The Senate")[0], loaded.tokenizer, 0.8)
    view = handlers.cowrite_view(registry, writer, 0.8, "en")
    assert view.text == "The Senate" and [v for _, v in view.choices] == [str(i) for i in expected.ids]
    handlers.cowrite_follow(registry, writer, "The Senate")  # the same text again: not a new version
    handlers.cowrite_pick(registry, writer, view.choices[0][1])
    assert writer.text.startswith("The Senate") and len(writer.drafts) == 3
    writer.undo()
    writer.undo()
    assert writer.text == "The"


def test_explore_a_models_corpus_and_an_upload(registry):
    view = handlers.explore(registry, SESSION, "char", "nyt-word", locale="en")
    assert "the training corpus of nyt-word" in view.summary and view.speakers is None
    chat = handlers.upload_corpus(str(ROOT / "examples" / "whatsapp.txt"))
    view = handlers.explore(registry, SESSION, "word", None, chat, "whatsapp.txt")
    assert view.summary.startswith("**whatsapp.txt**") and list(view.speakers["speaker"]) == [
        "Alice",
        "Bob",
        "Chen",
    ]


@pytest.mark.slow
def test_train_keeps_the_model_in_the_session_and_offers_its_zip(registry, tmp_path):
    upload = tmp_path / "lines.txt"
    upload.write_text("\n".join(f"the line number {i}" for i in range(300)), encoding="utf-8")
    request = handlers.TrainRequest(str(upload), size="tiny", minutes=0.05)
    *updates, last = handlers.train(registry, SESSION, request, run_job, 10, 60)
    assert updates and all(update.archive is None for update in updates)
    assert last.name in registry.own(SESSION) and last.archive.suffix == ".zip"
    assert "ready" in last.page.status and "60 minutes" in last.page.status


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: handlers.next_tokens_for(r, SESSION, "shakespeare-chat", "The", 1.0, 10, {"x": 1}), "the label must be"),
        (lambda r: handlers.next_tokens_for(r, SESSION, "nyt-char", {"a": 1}, 1.0, 10, ""), "the text must be text, not dict"),
        (lambda r: handlers.next_tokens_for(r, SESSION, "nyt-char", "The", 1.0, True, ""), "top-k must be a whole number"),
        (lambda r: handlers.start_generation(r, SESSION, "shakespeare-chat", "A", SamplingSettings.of(), [1]), "not list"),
        (lambda r: handlers.start_generation(r, SESSION, "nyt-char", {"a": 1}, SamplingSettings.of(), ""), "seed text"),
        (lambda r: handlers.cowrite_start(r, SESSION, "shakespeare-chat", "A", "", 5), "write as must be"),
        (lambda r: handlers.upload_corpus(str(ROOT / "examples" / "chat.csv"), {"x": 1}), "reading settings are text"),
        (lambda r: handlers.chat_say(r, SESSION, None, "shakespeare-chat", ["ROMEO"], "hi"), "who you are must be"),
        (lambda r: handlers.chat_api(r, SESSION, "shakespeare-chat", [], 7, 0.5, None), "who answers must be"),
    ],
)  # fmt: skip
def test_every_wrong_type_is_one_clear_line(registry, call, message):
    """What an API client can send in place of text (an object, a list, a number, a boolean for a
    number) is refused with one line, never a TypeError."""
    with pytest.raises(TextgenError, match=re.escape(message)) as refused:
        call(registry)
    assert "\n" not in str(refused.value)


def test_a_finished_generation_is_kept_in_a_few_bytes_per_token_and_reads_back_the_same(registry):
    settings = SamplingSettings.of(temperature=1.0, length=300, num_samples=3, stop_at_eos=True, seed=3)
    generation = handlers.start_generation(registry, SESSION, "nyt-char", "The", settings)
    *_, text = generation.texts()
    kept = generation.run.steps
    assert isinstance(kept, CompactSteps) and 10 < len(kept) <= 300 and text.count("\n") >= 3
    assert kept.ids.nbytes + kept.probabilities.nbytes + kept.finished.nbytes == len(kept) * 3 * 9
    again = handlers.start_generation(registry, SESSION, "nyt-char", "The", settings)
    recorded = []
    for batch in again.job.batches():
        recorded.extend(batch)
    assert [kept[i] for i in range(len(kept))] == recorded  # every piece, probability and end as it was
    assert (
        any(step.finished[0] for step in recorded) and kept[-1].pieces[0] == ""
    )  # an ended sample writes nothing

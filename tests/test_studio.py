"""The app's logic that needs no server: what the Train tab shows as a run goes."""

from __future__ import annotations

import json
import zipfile

import pytest
import torch

from textgen import (
    CharTokenizer,
    CheckpointError,
    Evaluation,
    Finished,
    LoadedModel,
    LSTMConfig,
    LSTMLanguageModel,
    Metrics,
    ModelRegistry,
    Progress,
    load_folder,
)
from textgen.checkpoints import save_checkpoint
from textgen.corpusstats import corpus_stats
from textgen.hashes import document_hash
from textgen.modelzip import unpack_model_zip, zip_model
from textgen.sampling import Step
from textgen.views import (
    TrainingView,
    confidence_html,
    generated_documents,
    histogram_frame,
    novelty_markdown,
    series_name,
    top_tokens_frame,
)


def metrics(bits: float) -> Metrics:
    return Metrics(loss=bits * 0.69, perplexity=2.0, bits_per_char=bits, tokens=100, characters=100)


def evaluation(
    step: int, val_bits: float, train_bits: float, is_best: bool, bad: int = 0, unigram=4.5
) -> Evaluation:
    return Evaluation(
        step=step,
        total_steps=1000,
        epoch=0,
        train_loss=1.0,
        val=metrics(val_bits),
        train=metrics(train_bits),
        best_val_loss=0.0,
        best_step=step,
        is_best=is_best,
        bad_evaluations=bad,
        unigram=metrics(unigram),
        samples={0.5: "ROMEO:\nI will."},
        elapsed=float(step),
        fraction=step / 1000,
        remaining=1000.0 - step,
    )


def progress(step: int, bits: float, fraction=0.1, elapsed=1.0, remaining=None) -> Progress:
    return Progress(step, 1000, 0, bits * 0.69, bits, 0.01, elapsed, fraction, remaining)


def finished(reason: str, best_bits: float, unigram_bits: float, best_step: int = 50, **facts) -> Finished:
    facts = {"first_evaluation_step": 25, "passes": 3.0, "vocabulary": 80, "train_characters": 50_000, **facts}
    return Finished(80, reason, metrics(best_bits), best_step, metrics(unigram_bits), 60.0, None, 2, **facts)


def test_the_plot_shows_the_running_loss_at_once_then_samples_beside_the_unigram():
    view = TrainingView(patience=3)
    view.progress(progress(3, 6.1))  # before any evaluation: a point at once, no reference yet
    first = view.plot().dropna()
    assert first.split.tolist() == [series_name("running")]
    assert set(view.plot().split) == {
        series_name(s) for s in ("running", "train", "validation", "unigram")
    }  # every series, from the start
    view.add(evaluation(50, 3.2, 3.1, is_best=True))
    view.progress(progress(70, 3.0))
    view.add(evaluation(100, 2.8, 2.6, is_best=True))
    plot = view.plot().dropna()
    assert list(plot.columns) == ["step", "bits_per_char", "split"]
    held_out = plot[plot.split == series_name("validation")]
    assert held_out.step.tolist() == [50, 100] and held_out.bits_per_char.tolist() == [3.2, 2.8]
    assert plot[plot.split == series_name("train")].bits_per_char.tolist() == [3.1, 2.6]
    assert plot[plot.split == series_name("running")].step.tolist() == [3, 70]
    unigram = plot[plot.split == series_name("unigram")]
    assert unigram.step.tolist() == [0, 100] and set(unigram.bits_per_char) == {4.5}  # spans the run
    assert "T=0.5: ROMEO:\nI will." in view.samples
    korean = TrainingView(patience=3, locale="ko")
    korean.progress(progress(3, 6.1))
    assert set(korean.plot().split) == {
        series_name(s, "ko") for s in ("running", "train", "validation", "unigram")
    }
    assert series_name("validation", "ko") != series_name("validation")  # the legend is in the page's language


def test_the_status_line_has_progress_time_step_best_and_explains_early_stopping():
    view = TrainingView(patience=3)
    view.add(evaluation(50, 3.2, 3.1, is_best=True))
    view.add(evaluation(100, 3.3, 2.9, is_best=False, bad=1))
    line = view.status(progress(120, 3.0, fraction=0.25, elapsed=15, remaining=45))
    assert '<progress value="0.250" max="1">' in line and "25%" in line
    assert "step 120" in line and "0:15 elapsed" in line and "about 0:45 left" in line
    assert "best 3.200 bits/char at step 50 (unigram 4.500)" in line
    assert "1 evaluation(s) clearly worse than the best; it stops early at 3" in line
    assert "<script" not in TrainingView(3).status(progress(1, 5.0))


def test_the_end_says_why_it_stopped_and_warns_when_it_learned_little():
    view = TrainingView(patience=4)
    view.add(evaluation(50, 3.817, 3.5, is_best=True, unigram=3.897))
    text = view.finished(finished("early stop", 3.817, 3.897), "jan-word-tiny-1")
    assert (
        "was clearly above its best in 4 evaluations (early stop)" in text
        and "the best model (step 50) was kept" in text
    )
    assert "It learned little" in text and "ignores context (3.897)" in text
    good = finished("time budget", 2.1, 3.9)
    assert "learned little" not in view.finished(good, "m") and "time budget ran out" in view.finished(good, "m")


def trained(val_documents: int = 100, parent: str | None = None):
    from textgen import RunInfo
    from textgen.checkpoints import TrainedModel

    info = RunInfo(val_documents=val_documents, parent=parent, samples={"0.5": "THE PRESIDENT SAYS"})
    return TrainedModel(None, {}, None, info)


def test_the_advice_says_the_causes_this_run_has_and_no_others():
    view = TrainingView(patience=4)
    view.add(evaluation(25, 9.1, 8.0, is_best=True, unigram=9.3))
    poems = finished("early stop", 9.1, 9.3, best_step=25, vocabulary=2579, train_characters=60_000)
    poems.model = trained(val_documents=1)
    text = view.finished(poems, "tang300-char-auto-1")
    assert "held-out set is 1 documents" in text and "2,579 distinct tokens in 60,000 characters" in text
    assert "best at the first evaluation (step 25)" in text
    assert "time budget" not in text and "char level" not in text  # it stopped itself; it is char level
    short = finished("time budget", 3.0, 4.0, passes=0.4)
    short.model = trained()
    text = view.finished(short, "big-char-auto-2")
    assert "read 40% of the text once: a longer time budget would help" in text
    assert "held-out set" not in text and "distinct tokens" not in text and "first evaluation" not in text


def test_a_fine_tuned_run_that_kept_an_early_step_says_it_may_write_like_its_base():
    view = TrainingView(patience=4)
    view.add(evaluation(10, 3.0, 2.9, is_best=True))
    early = finished("early stop", 3.0, 4.0, best_step=10)
    early.model = trained(parent="nyt-char")
    text = view.finished(early, "quotes-char-auto-3")
    assert "kept step 10 of 80, early: it may still write like its base (nyt-char)" in text
    assert "THE PRESIDENT SAYS" in text


def test_the_end_is_html_for_the_status_box_with_the_name_escaped():
    """The status box is HTML (for the progress bar): bold and paragraphs are tags, never `**`."""
    view = TrainingView(patience=4)
    view.add(evaluation(50, 2.1, 2.0, is_best=True, unigram=3.9))
    text = view.finished(finished("time budget", 2.1, 3.9), "<b>x</b>-char-1", "It stays here.")
    assert "<strong>&lt;b&gt;x&lt;/b&gt;-char-1</strong> is ready" in text
    assert "**" not in text and "<b>" not in text and text.endswith("<p>It stays here.</p></div>")


def test_the_status_speaks_korean_to_a_korean_page():
    korean = TrainingView(patience=3, locale="ko")
    korean.add(evaluation(50, 3.2, 3.1, is_best=True))
    line = korean.status(progress(60, 3.0, fraction=0.5, elapsed=75, remaining=30))
    assert "단계 60" in line and "1:15 경과" in line and "약 0:30 남음" in line and "최고 글자당 3.200비트" in line


# ------------------------------------------------------------------ generated text

EOS = 0


def steps_for(samples: list[list[tuple[int, str, float]]]) -> list[Step]:
    """Steps from per-sample lists of (token id, piece, probability); "" pieces pad finished samples."""
    steps = []
    for position in range(max(len(s) for s in samples)):
        rows = [s[position] if position < len(s) else (EOS, "", 0.0) for s in samples]
        steps.append(
            Step(
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [position >= len(s) for s in samples],
            )
        )
    return steps


def test_confidence_keeps_words_whole_and_line_breaks_for_the_chosen_sample():
    first = [(5, " Sen", 0.9), (6, "ate", 0.8), (EOS, "\n", 0.7), (7, "Vote", 0.2)]
    second = [(8, " <b>", 0.5)]
    html = confidence_html("The", steps_for([first, second]), sample=0)
    assert '<span class="seed">The</span>' in html and "white-space:pre-wrap" in html
    assert "</span><span" in html and "</span> <span" not in html  # no gaps: a word's tokens stay together
    assert ">\n</span>" in html  # the line break stays
    assert 'title="90%"' in html and "rgba(79,70,229,0.90)" in html
    other = confidence_html("The", steps_for([first, second]), sample=1)
    assert "&lt;b&gt;" in other and "Sen" not in other  # the other sample, escaped


def loaded_with(novelty: set[str]) -> LoadedModel:
    tokenizer = CharTokenizer.fit(["ab"])
    model = LSTMLanguageModel(LSTMConfig(vocab_size=len(tokenizer), embedding_dim=8, hidden_size=8))
    return LoadedModel(model, tokenizer, novelty=frozenset(novelty))


def test_novelty_checks_whole_documents_and_marks_a_cut_one():
    loaded = loaded_with({document_hash("Senate Passes Bill")})
    pieces = [
        (5, " Passes", 0.5),
        (6, " Bill", 0.5),
        (EOS, "\n", 0.5),
        (7, "A", 0.5),
        (8, " Brand", 0.5),
        (EOS, "\n", 0.5),
        (9, "Cut", 0.5),
    ]
    documents = generated_documents(loaded, "Senate", steps_for([pieces]))
    assert [(d.text, d.status) for d in documents] == [
        ("Senate Passes Bill", "copy"),
        ("A Brand", "new"),
        ("Cut", "cut"),
    ]
    text = novelty_markdown(loaded, documents)
    assert (
        "**COPY** of a training document: Senate Passes Bill" in text
        and "cut off by the length (not checked): Cut" in text
    )
    assert "학습 문서의 **복사본**" in novelty_markdown(loaded, documents, "ko")
    assert "cannot be checked" in novelty_markdown(loaded_with(set()), documents)


def test_a_labelled_models_documents_go_on_past_the_label_that_opens_each():
    """After `<eos>` a labelled model writes the next document's label: a token that shows nothing."""
    label = 12
    pieces = [
        (5, " Passes", 0.5),
        (EOS, "\n", 0.5),
        (label, "", 0.5),
        (7, "A", 0.5),
        (8, " Brand", 0.5),
        (EOS, "\n", 0.5),
    ]
    documents = generated_documents(loaded_with(set()), "Senate", steps_for([pieces]))
    assert [d.text for d in documents] == ["Senate Passes", "A Brand"]


def test_explore_statistics_have_round_bins_from_zero_and_visible_whitespace():
    stats = corpus_stats(["a b", "hello world", "x" * 95])
    frame = histogram_frame(stats)
    assert frame.length.tolist()[0].strip() == "0–4" and frame.length.tolist()[-1] == "95–99"
    assert frame.length.tolist() == sorted(frame.length)  # in order when sorted as text, as a plot does
    assert frame.documents.sum() == 3 and (frame.documents >= 0).all()
    tokens = top_tokens_frame(stats, "char")
    assert "␣" in set(tokens.token) and " " not in set(tokens.token)
    assert top_tokens_frame(stats, "word").token.tolist()[0] == "x" * 95 or "hello" in set(
        top_tokens_frame(stats, "word").token
    )
    assert type(stats).from_dict(stats.to_dict()) == stats
    assert type(stats).from_dict({"documents": "many"}) is None


def test_statistics_gathered_in_batches_equal_those_of_the_whole_and_say_when_words_were_cut():
    from collections import Counter

    from textgen.corpusstats import StatsCounter
    from textgen.tokenizer import WORD_PATTERN

    documents = [f"saying {i}: {'가나다'[i % 3]} and more, Naïve {i % 7}" for i in range(500)]
    whole = corpus_stats(documents)
    batched = StatsCounter()
    for start in range(0, 500, 37):
        batched.add(documents[start : start + 37])
    assert batched.result() == whole and whole.words_from_characters == 0
    chars = Counter("".join(documents))
    assert whole.distinct_chars == len(chars) and dict(whole.top_chars) == dict(
        sorted(chars.items(), key=lambda item: (-item[1], item[0]))[:20]
    )
    assert whole.characters == sum(map(len, documents)) and whole.documents == 500
    words = Counter(w.strip() for doc in documents for w in WORD_PATTERN.findall(doc) if w.strip())
    assert whole.distinct_words == len(words)
    cut = StatsCounter(word_characters=1000)
    cut.add(documents)
    partial = cut.result()
    assert 0 < partial.words_from_characters <= 1000 and partial.distinct_words < whole.distinct_words
    assert partial.distinct_chars == whole.distinct_chars  # characters are always all counted


# ------------------------------------------------------------------ model zips


def trained_folder(tmp_path):
    tokenizer = CharTokenizer.fit(["hello world"])
    torch.manual_seed(0)
    model = LSTMLanguageModel(LSTMConfig(vocab_size=len(tokenizer), embedding_dim=16, hidden_size=16)).eval()
    return save_checkpoint(tmp_path / "hello-model", model, tokenizer, None, ["hello world"]), model, tokenizer


def test_a_downloaded_zip_loads_back_with_the_same_weights(tmp_path):
    folder, model, tokenizer = trained_folder(tmp_path)
    archive = zip_model(folder, tmp_path)
    registry = ModelRegistry(tmp_path / "no-shipped-models")
    name = registry.add_zip("me", archive)
    loaded = registry.get(name, "me")
    tokens = torch.tensor([tokenizer.encode("hello")])
    assert torch.equal(loaded.model(tokens)[0], model(tokens)[0])
    assert name in registry.own("me") and name not in registry.choices("someone else")


def write_zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return path


def test_zip_entries_cannot_climb_out_and_are_checked_like_a_hub_model(tmp_path, monkeypatch):
    folder, _, _ = trained_folder(tmp_path)
    files = {name: (folder / name).read_bytes() for name in ("config.json", "tokenizer.json", "model.safetensors")}
    hostile = write_zip(
        tmp_path / "hostile.zip", {f"../../../escape/{name}": data for name, data in files.items()}
    )
    unpacked = unpack_model_zip(hostile, tmp_path / "into")
    assert unpacked.parent == tmp_path / "into" and sorted(p.name for p in unpacked.iterdir()) == sorted(files)
    assert not (tmp_path / "escape").exists()
    assert load_folder(unpacked).tokenizer.vocab == json.loads(files["tokenizer.json"])["vocab"]

    with pytest.raises(CheckpointError, match="not a textgen model: it has no model.safetensors"):
        unpack_model_zip(write_zip(tmp_path / "part.zip", {"config.json": files["config.json"]}), tmp_path)
    (tmp_path / "not.zip").write_bytes(b"plain text")
    with pytest.raises(CheckpointError, match="not.zip: not a readable zip file"):
        unpack_model_zip(tmp_path / "not.zip", tmp_path)
    padded = files["model.safetensors"] + b"0" * (2 * 2**20)  # more than its config's weights can be
    with pytest.raises(CheckpointError, match="model.safetensors in the zip is larger than a valid one can be"):
        unpack_model_zip(write_zip(tmp_path / "big.zip", {**files, "model.safetensors": padded}), tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # the folder went

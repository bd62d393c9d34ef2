"""Labels: one model trained on every record with its label as a control token, written "as" a label."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from test_cli import assert_one_line_error, run_main

import train
from textgen import SamplingSettings, cli
from textgen.checkpoints import LoadedModel, load_folder
from textgen.corpus import load_corpus
from textgen.corpusstats import corpus_stats
from textgen.cowrite import next_tokens, prime_text
from textgen.errors import CorpusError, GenerationError
from textgen.hashes import document_hash
from textgen.labelled import FIRST, MIN_DOCUMENTS, Labels, labelled_prompt, without_labels
from textgen.model import LSTMConfig, LSTMLanguageModel
from textgen.runinfo import RunInfo
from textgen.sampling import generate
from textgen.tokenizer import CharTokenizer
from textgen.write_as import label_random, prompt_as


def write_csv(path, rows, columns=("user", "text")):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def test_each_document_starts_with_its_label(tmp_path):
    rows = [("ann", f"ann says {i}") for i in range(30)] + [("bo", f"bo says {i}") for i in range(20)]
    rows += [("rare", "said once"), ("", "no one said")]
    corpus = load_corpus(str(write_csv(tmp_path / "chat.csv", rows)), column="text", label_column="user")
    assert corpus.labels == Labels("user", {"ann": 30, "bo": 20})  # fewer than MIN_DOCUMENTS: no label
    ann, bo = chr(FIRST), chr(FIRST + 1)
    assert corpus.documents == [{"ann": ann, "bo": bo}.get(user, "") + text for user, text in rows]


def test_label_characters_in_the_text_itself_are_removed(tmp_path):
    rows = [("ann", f"x{chr(FIRST + 1)}y {i}") for i in range(MIN_DOCUMENTS)]
    corpus = load_corpus(str(write_csv(tmp_path / "chat.csv", rows)), column="text", label_column="user")
    assert all(without_labels(d) == d[1:] for d in corpus.documents)  # only the label's own
    assert corpus.documents[0] == chr(FIRST) + "xy 0"


def test_labels_from_a_whatsapp_export_speaker(tmp_path):
    lines = [f"12/0{1 + i % 9}/2024, 10:0{i % 10} - {'Ann' if i % 3 else 'Bo'}: message {i}" for i in range(60)]
    path = tmp_path / "WhatsApp Chat.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = load_corpus(str(path), label_column="speaker")
    assert corpus.labels.documents == {"Ann": 40, "Bo": 20}


@pytest.mark.parametrize(
    ("name", "content", "label", "expected"),
    [
        ("chat.csv", "user,text\nann,hi\n", "speaker", "the CSV has no column 'speaker'; it has: user, text"),
        ("notes.txt", "one\n\ntwo\n", "user", "a plain text file has none"),
        ("chat.csv", "user,text\n" + "".join(f"u{i},hi\n" for i in range(50)), "user", "labels 10 documents"),
        ("items.json", '[{"text": "hi"}, {"text": "yo"}]', "user", "no record has a field 'user'"),
    ],
)
def test_unusable_label_fields_say_why(tmp_path, name, content, label, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_corpus(str(path), label_column=label)


def test_labels_from_training_json_must_be_well_formed():
    assert Labels.from_dict({"column": "user", "documents": {"a": 3}}) == Labels("user", {"a": 3})
    for bad in (None, [], {"column": 1, "documents": {"a": 3}}, {"column": "u", "documents": {"a": "3"}},
                {"column": "u", "documents": {}}, {"column": "u", "documents": {"a": True}}):  # fmt: skip
        assert Labels.from_dict(bad) is None


def test_labelled_prompt():
    labels = Labels("user", {"ann": 30, "bo": 20})
    assert labelled_prompt(labels, "bo", "Hi") == chr(FIRST + 1) + "Hi"
    assert labelled_prompt(labels, "", "Hi") == "Hi"  # any
    with pytest.raises(GenerationError, match="no label 'cy'; it knows: ann, bo"):
        labelled_prompt(labels, "cy", "Hi")
    with pytest.raises(GenerationError, match="trained without labels"):
        labelled_prompt(None, "ann", "Hi")


def test_labels_are_never_shown_and_never_offered_to_co_write():
    label = chr(FIRST)
    tokenizer = CharTokenizer.fit([label + "ab", "ba"])
    assert tokenizer.label_ids == [tokenizer.index[label]]
    assert tokenizer.piece(tokenizer.index[label], None) == ""
    logits = torch.zeros(len(tokenizer))
    logits[tokenizer.index[label]] = 10.0  # the likeliest by far
    view = next_tokens(logits, tokenizer, 1.0, top_k=10)
    assert tokenizer.index[label] not in view.ids and sum(p for _, p in view.tokens) == pytest.approx(1.0)
    assert document_hash(label + "ab") == document_hash("ab")  # the novelty check sees the text
    stats = corpus_stats([label + "ab", "ba"])  # Explore's statistics too
    assert (stats.characters, stats.distinct_chars, stats.top_words) == (4, 2, [("ab", 1), ("ba", 1)])


def two_voices(tmp_path, documents=240):
    """ann only ever writes a's, bo only b's: what follows a label says which one it is."""
    rows = [("ann", "a" * (5 + i % 7)) if i % 2 else ("bo", "b" * (5 + i % 7)) for i in range(documents)]
    return write_csv(tmp_path / "voices.csv", rows)


def test_a_model_trained_with_labels_writes_as_each(tmp_path, capsys):
    out = tmp_path / "voices"
    corpus = ["--corpus", str(two_voices(tmp_path)), "--column", "text", "--label-column", "user"]
    small = ["--hidden-size", "32", "--max-steps", "150", "--batch-size", "16", "--seq-len", "16", "--lr", "0.01"]
    train.main([*corpus, *small, "--out", str(out)])
    printed = capsys.readouterr().out
    assert "2 labels from user: bo (120), ann (120)" in printed  # ties: in the order first seen
    info = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert info["labels"] == {"column": "user", "documents": {"ann": 120, "bo": 120}}
    assert "| ann | 120 |" in (out / "README.md").read_text(encoding="utf-8")

    loaded = load_folder(out)
    assert loaded.info.labels == Labels("user", {"ann": 120, "bo": 120})
    for label, letter in (("ann", "a"), ("bo", "b")):
        prompt = labelled_prompt(loaded.info.labels, label, "")
        (text,) = generate(
            loaded.model, loaded.tokenizer, prompt, SamplingSettings.of(temperature=0, length=6, stop_at_eos=True)
        )
        assert text.strip() and set(text.strip()) == {letter}, (label, text)
        logits, _ = prime_text(loaded.model, loaded.tokenizer, prompt)
        (first, _), *_ = next_tokens(logits, loaded.tokenizer, 1.0, top_k=2).tokens
        assert first == letter

    cli.main(["generate", "--model", str(out), "--label", "bo", "--temperature", "0", "--length", "4"])
    assert capsys.readouterr().out.strip() == "bbbb"

    # Any label: the likeliest given the seed, or one drawn from the model's posterior.
    assert prompt_as(loaded, "", "aaa") == labelled_prompt(loaded.info.labels, "ann", "aaa")
    assert prompt_as(loaded, "", "bb") == labelled_prompt(loaded.info.labels, "bo", "bb")
    drawn = {prompt_as(loaded, "", "", label_random(seed))[0] for seed in range(20)}
    assert drawn == {chr(FIRST), chr(FIRST + 1)}  # no seed text: either, as often as the model thinks
    ann = labelled_prompt(loaded.info.labels, "ann", "aaaa")
    assert {prompt_as(loaded, "", "aaaa", label_random(seed)) for seed in range(20)} == {ann}
    cli.main(["generate", "--model", str(out), "--prompt", "aa", "--temperature", "0", "--length", "3"])
    assert capsys.readouterr().out.strip() == "aaaaa"
    code, _, err = run_main(cli.main, ["generate", "--model", str(out), "--label", "cy"], capsys)
    assert_one_line_error(code, err, "the model knows no label 'cy'; it knows: bo, ann")

    # Scored as it was trained (each voice's label in front), and without: the label says which letter comes.
    evaluate = ["evaluate", "--model", str(out), "--text", corpus[1], "--column", "text"]
    cli.main([*evaluate, "--label-column", "user"])
    with_labels = json.loads(capsys.readouterr().out)
    cli.main(evaluate)
    without, err = capsys.readouterr()
    assert "--label-column user scores them as it was trained" in err
    assert with_labels["loss"] < json.loads(without)["loss"] - 0.1
    assert with_labels["characters"] == json.loads(without)["characters"] + 240  # each label counts as one


def test_labels_missing_from_the_vocabulary_are_a_damaged_folder():
    tokenizer = CharTokenizer.fit(["ab"])
    model = LSTMLanguageModel(LSTMConfig(vocab_size=len(tokenizer), embedding_dim=8, hidden_size=8))
    loaded = LoadedModel(model, tokenizer, RunInfo(labels=Labels("user", {"ann": 10})))
    with pytest.raises(GenerationError, match="folder is damaged"):
        prompt_as(loaded, "", "ab")
    assert prompt_as(LoadedModel(model, tokenizer), "", "ab") == "ab"  # no labels: the seed as it is


def test_a_json_files_fields_are_offered_and_label_it(tmp_path):
    quotes = [
        {"quoteText": f"quote {i}", "quoteAuthor": "Ann" if i % 3 else "Bo", "meta": {"year": i}}
        for i in range(45)
    ]
    quotes[2]["category"] = "life"  # a field the first records lack is offered too
    path = tmp_path / "quotes.json"
    path.write_text(json.dumps(quotes), encoding="utf-8")
    assert load_corpus(str(path)).reading.fields == ["quoteText", "quoteAuthor", "meta.year", "category"]
    corpus = load_corpus(str(path), label_column="quoteAuthor")
    assert corpus.labels == Labels("quoteAuthor", {"Ann": 30, "Bo": 15})
    assert corpus.documents[0] == chr(FIRST + 1) + "quote 0"


def test_label_values_are_cleaned_of_what_reorders_or_breaks_a_name_and_bounded(tmp_path):
    """A label is a name on the page and the card: a right-to-left override, control characters and
    line breaks are removed, and a 900 KB value is cut to 100 characters."""
    from textgen.labelled import MAX_LABEL_CHARACTERS, clean_label

    assert clean_label("ann\u202e\u2066 smith\x07") == "ann smith"
    assert clean_label("two\nlines\there") == "two lines here"
    assert clean_label("x" * 900_000) == "x" * MAX_LABEL_CHARACTERS and clean_label("\u202e") is None
    rows = [("\u202eevil\nname", f"text {i}") for i in range(12)] + [("bo", f"line {i}") for i in range(12)]
    corpus = load_corpus(str(write_csv(tmp_path / "c.csv", rows)), "text", label_column="user")
    assert corpus.labels.names == ["evil name", "bo"]

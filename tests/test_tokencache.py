"""The token store and its cache: a second run reads the same tokens and tokenizer from disk; any
change of corpus or settings misses; an interrupted write leaves no entry behind; without a cache
the store's folder goes when the data go; the split is the one split_documents makes."""

from __future__ import annotations

import tempfile
from dataclasses import replace

import numpy as np
import pytest

from textgen import CharTokenizer, TrainConfig, prepare_data
from textgen.corpus import stream_corpus
from textgen.corpusfiles import CorpusFiles
from textgen.tokencache import corpus_key
from textgen.tokens import ScoringSet, TokenStream, split_documents

DOCS = [f"headline number {i}: 서울 {i * 7}" for i in range(300)]
CONFIG = TrainConfig(level="char", batch_size=4, seq_len=8)


def test_second_run_reads_the_same_tokens_from_disk(tmp_path):
    fresh = prepare_data(DOCS, CONFIG)  # no cache: what both runs must equal
    cold = prepare_data(DOCS, CONFIG, cache_dir=tmp_path)
    warm = prepare_data(DOCS, CONFIG, cache_dir=tmp_path)
    assert (cold.cache_hit, warm.cache_hit, fresh.cache_hit) == (False, True, None)
    in_memory = TokenStream.from_documents(fresh.tokenizer, split_documents(DOCS, CONFIG.val_fraction)[0])
    for data in (fresh, cold, warm):
        assert isinstance(data.train.stream.tokens, np.memmap)  # mapped from the token file, never read whole
        assert data.train.stream.tokens.dtype == np.uint16  # a small vocabulary fits 16 bits
        np.testing.assert_array_equal(data.train.stream.tokens[:], in_memory.tokens)
        np.testing.assert_array_equal(data.train.stream.starts, in_memory.starts)
        for split in ("train", "val"):
            mine, theirs = getattr(data, split), getattr(fresh, split)
            np.testing.assert_array_equal(mine.stream.tokens[:], theirs.stream.tokens[:])
            np.testing.assert_array_equal(mine.document_characters[:], theirs.document_characters[:])
        assert data.tokenizer.to_dict() == fresh.tokenizer.to_dict()
        assert (data.train_documents, data.val_documents) == split_documents(
            DOCS, CONFIG.val_fraction, CONFIG.seed
        )
        assert data.corpus_files == fresh.corpus_files == CorpusFiles.of(data.train_documents)
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda docs, config: (docs[:-1], config),
        lambda docs, config: ([*docs[:-2], docs[-2] + docs[-1]], config),  # same text, other documents
        lambda docs, config: (docs, replace(config, seed=1)),
        lambda docs, config: (docs, replace(config, lowercase=True)),
        lambda docs, config: (docs, replace(config, level="word")),
    ],
)
def test_another_corpus_or_setting_misses(tmp_path, change):
    prepare_data(DOCS, CONFIG, cache_dir=tmp_path)
    docs, config = change(DOCS, CONFIG)
    assert prepare_data(docs, config, cache_dir=tmp_path).cache_hit is False
    assert len(list(tmp_path.iterdir())) == 2


def test_an_interrupted_write_leaves_no_entry(tmp_path, monkeypatch):
    def broken_save(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        prepare_data(DOCS, CONFIG, cache_dir=tmp_path)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    assert prepare_data(DOCS, CONFIG, cache_dir=tmp_path).cache_hit is False


@pytest.mark.parametrize("damage", ["a file missing", "a file cut short"])
def test_a_damaged_entry_is_made_again(tmp_path, damage):
    prepare_data(DOCS, CONFIG, cache_dir=tmp_path)
    (entry,) = tmp_path.iterdir()
    if damage == "a file missing":
        (entry / "val_lengths.npy").unlink()
    else:  # read from disk only later, but checked against its header when the entry is read
        characters = entry / "train_characters.npy"
        characters.write_bytes(characters.read_bytes()[:-4])
    again = prepare_data(DOCS, CONFIG, cache_dir=tmp_path)
    assert again.cache_hit is False and again.val_documents == prepare_data(DOCS, CONFIG).val_documents
    assert prepare_data(DOCS, CONFIG, cache_dir=tmp_path).cache_hit is True


def test_without_a_cache_nothing_is_left_on_disk_and_the_tokens_stay_readable(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = prepare_data(DOCS, CONFIG)
    assert list(tmp_path.iterdir()) == []
    expected = TokenStream.from_documents(data.tokenizer, split_documents(DOCS, CONFIG.val_fraction)[0])
    np.testing.assert_array_equal(data.train.stream.tokens[:], expected.tokens)


def test_word_level_keeps_what_spelling_unknown_words_costs(tmp_path):
    config = replace(CONFIG, level="word", min_count=2)
    data = prepare_data(DOCS, config, cache_dir=tmp_path)
    val = data.val_documents
    expected = ScoringSet.of(data.tokenizer, val)
    assert data.val.document_spelling is not None and data.val.spelling_nats > 0
    np.testing.assert_allclose(data.val.document_spelling, expected.document_spelling)
    assert data.val.characters == expected.characters == sum(len(doc) + 1 for doc in val)


def test_a_streamed_corpus_is_keyed_by_its_files(tmp_path):
    corpus = tmp_path / "sayings.txt"
    corpus.write_text("\n".join(DOCS) + "\n", encoding="utf-8")
    cache = tmp_path / "cache"
    first = prepare_data(stream_corpus(str(corpus)), CONFIG, cache_dir=cache)
    second = prepare_data(stream_corpus(str(corpus)), CONFIG, cache_dir=cache)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.train_documents == prepare_data(DOCS, CONFIG).train_documents
    corpus.write_text("\n".join(DOCS[:-1]) + "\n", encoding="utf-8")
    assert prepare_data(stream_corpus(str(corpus)), CONFIG, cache_dir=cache).cache_hit is False


def test_the_key_separates_documents_not_just_text():
    settings = {"level": "char"}
    assert corpus_key(["ab", "c"], settings) != corpus_key(["a", "bc"], settings)
    assert corpus_key(["ab", "c"], settings) == corpus_key(["ab", "c"], settings)


@pytest.mark.parametrize("lowercase", [False, True])
def test_the_char_vocabulary_is_the_training_documents_own(lowercase):
    """Gathered from every document while counting, then trimmed to the training characters: the
    same tokenizer and tokens as fitting on the training documents, even for characters that only
    held-out documents have (they read as <unk>)."""
    docs = [f"Line {i} of the corpus" for i in range(200)]
    config = replace(CONFIG, lowercase=lowercase)
    train, val = split_documents(docs, config.val_fraction, config.seed)
    docs[docs.index(val[3])] = val[3] + " ✈Ωé"  # characters no training document has
    train, val = split_documents(docs, config.val_fraction, config.seed)
    data = prepare_data(docs, config)
    fitted = CharTokenizer.fit(train, lowercase=lowercase)
    assert data.tokenizer.vocab == fitted.vocab and "✈" not in fitted.vocab
    for split, documents in (("train", train), ("val", val)):
        expected = TokenStream.from_documents(fitted, documents)
        np.testing.assert_array_equal(getattr(data, split).stream.tokens[:], expected.tokens)
        counted = np.bincount(expected.tokens[1:], minlength=len(fitted))
        np.testing.assert_array_equal(getattr(data, split).token_counts, counted)
    assert fitted.unk_id in data.val.stream.tokens[:]


def test_an_evaluation_sample_is_fixed_by_the_seed_and_just_reaches_its_budget():
    from textgen.data import sample_indices

    sizes = np.random.default_rng(0).integers(1, 50, 5000).astype(np.uint32)
    drawn = sample_indices(sizes, 2000, seed=3)
    assert len(set(drawn.tolist())) == len(drawn) and (np.diff(drawn) > 0).all()
    assert 2000 <= int(sizes[drawn].sum()) < 2000 + 50  # up to the first document that reaches the budget
    assert np.array_equal(drawn, sample_indices(sizes, 2000, seed=3))
    assert not np.array_equal(drawn, sample_indices(sizes, 2000, seed=4))
    assert np.array_equal(sample_indices(sizes, 10**9, seed=3), np.arange(len(sizes)))  # all, when they fit

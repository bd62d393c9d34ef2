"""The token cache: a second run reads the same stream and tokenizer from a memory map; any change
of corpus or settings misses; an interrupted write leaves no entry behind."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from textgen import TrainConfig, prepare_data
from textgen.tokencache import corpus_key

DOCS = [f"headline number {i}: 서울 {i * 7}" for i in range(300)]
CONFIG = TrainConfig(level="char", batch_size=4, seq_len=8)


def test_second_run_reads_the_same_stream_from_a_map(tmp_path):
    fresh = prepare_data(DOCS, CONFIG)  # no cache: what both runs must equal
    cold = prepare_data(DOCS, CONFIG, cache_dir=tmp_path)
    warm = prepare_data(DOCS, CONFIG, cache_dir=tmp_path)
    assert (cold.cache_hit, warm.cache_hit, fresh.cache_hit) == (False, True, None)
    for data in (cold, warm):
        assert isinstance(data.train_stream.tokens, np.memmap)
        assert data.train_stream.tokens.dtype == np.uint16  # a small vocabulary fits 16 bits
        np.testing.assert_array_equal(data.train_stream.tokens, fresh.train_stream.tokens)
        np.testing.assert_array_equal(data.train_stream.starts, fresh.train_stream.starts)
        assert data.tokenizer.to_dict() == fresh.tokenizer.to_dict()
        assert (data.train_documents, data.val_documents) == (fresh.train_documents, fresh.val_documents)
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


def test_the_key_separates_documents_not_just_text():
    settings = {"level": "char"}
    assert corpus_key(["ab", "c"], settings) != corpus_key(["a", "bc"], settings)
    assert corpus_key(["ab", "c"], settings) == corpus_key(["ab", "c"], settings)

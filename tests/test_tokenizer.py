import json

import pytest

from textgen.tokenizer import EOS, UNK, CharTokenizer, WordTokenizer, fit_tokenizer, load_tokenizer

MIXED = [
    "장미꽃은 가시 틈에서 자란다.",
    "Emoji 🎉👩‍👩‍👧 ok",
    "混合 scripts: Ελληνικά, русский, العربية",
    "Café “quotes” — dash",
]


def test_char_round_trip_hangul_emoji_mixed_scripts():
    tokenizer = CharTokenizer.fit(MIXED)
    for text in MIXED:
        assert tokenizer.decode(tokenizer.encode(text)) == text
    assert "장" in tokenizer.vocab and "🎉" in tokenizer.vocab
    assert tokenizer.vocab[:2] == [EOS, UNK]


def test_documents_stream_marks_each_end():
    tokenizer = CharTokenizer.fit(["ab", "c"])
    ids = tokenizer.encode_documents(["ab", "c"])
    assert ids[0] == ids[3] == ids[5] == tokenizer.eos_id
    assert tokenizer.decode(ids) == "\nab\nc\n"


def test_char_unknown_policy_maps_to_unk_and_reports():
    tokenizer = CharTokenizer.fit(["abc"])
    assert tokenizer.encode("abz") == [tokenizer.index["a"], tokenizer.index["b"], tokenizer.unk_id]
    assert tokenizer.unknown_tokens("abz가") == ["z", "가"]


def test_lowercase_option():
    tokenizer = CharTokenizer.fit(["ABC"], lowercase=True)
    assert "A" not in tokenizer.vocab
    assert tokenizer.decode(tokenizer.encode("AbC")) == "abc"


def test_word_level_keeps_punctuation_and_rare_words_become_unk():
    docs = ["Trump’s plan, again!", "Trump’s plan fails.", "A rare word"]
    tokenizer = WordTokenizer.fit(docs, min_count=2)
    assert tokenizer.split("Trump’s plan, again!") == ["Trump’s", " plan", ",", " again", "!"]
    assert "," not in tokenizer.vocab  # seen once
    assert tokenizer.index.get(" plan") is not None
    ids = tokenizer.encode("Trump’s plan fails.")
    assert ids.count(tokenizer.unk_id) == 2  # " fails" and "." were seen once
    assert tokenizer.decode(tokenizer.encode("Trump’s plan")) == "Trump’s plan"


LOSSLESS = [
    "The G.O.P.’s Story",
    "A Big-Day for Anti-Women Self-Below",
    "He said (quietly): yes, 3.5% of $10!",
    "“Quoted,” she said — twice…  two spaces,\ttab, trailing space ",
    "장미꽃은 가시 틈에서 자란다. 사랑은, 하나의!",
    "First line\nsecond line\n\n  indented paragraph",
    "Don't stop: 1,000 U.S. troops' 'quotes'",
]


@pytest.mark.parametrize("text", LOSSLESS)
def test_word_level_is_lossless(text):
    tokenizer = WordTokenizer.fit([text], min_count=1)
    ids = tokenizer.encode(text)
    assert tokenizer.unk_id not in ids
    assert tokenizer.decode(ids) == text
    streamed = "".join(tokenizer.piece(i, p) for p, i in zip([None, *ids[:-1]], ids))
    assert streamed == text  # what the sampler streams, token by token


def test_word_level_is_lossless_on_every_nyt_headline(nyt_documents):
    tokenizer = WordTokenizer.fit(nyt_documents, min_count=1)
    for doc in nyt_documents:
        assert tokenizer.decode(tokenizer.encode(doc)) == doc


def test_word_models_saved_before_spaced_tokens_still_load_and_join_as_they_did():
    from textgen.tokenizer import LegacyWordTokenizer, tokenizer_from_dict

    legacy = {"level": "word", "lowercase": False, "vocab": [EOS, UNK, "Hello", ",", "world", "."], "min_count": 1}
    tokenizer = tokenizer_from_dict(legacy)
    assert type(tokenizer) is LegacyWordTokenizer and tokenizer.to_dict() == {**legacy, "char_counts": {}}
    ids = tokenizer.encode("Hello, world.")
    assert tokenizer.decode(ids) == "Hello, world."
    ids = [tokenizer.eos_id, *ids, tokenizer.eos_id]
    streamed = "".join(tokenizer.piece(i, p) for p, i in zip([None, *ids[:-1]], ids))
    assert streamed == tokenizer.decode(ids) == "\nHello, world.\n"


@pytest.mark.parametrize("level", ["char", "word"])
def test_json_round_trip(tmp_path, level):
    tokenizer = fit_tokenizer(level, MIXED * 2, lowercase=True, min_count=2)
    path = tmp_path / "tokenizer.json"
    tokenizer.save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["level"] == level
    again = load_tokenizer(path)
    assert type(again) is type(tokenizer)
    assert again.vocab == tokenizer.vocab and again.lowercase
    for text in MIXED:
        assert again.encode(text) == tokenizer.encode(text)
    if level == "word":
        assert again.spelling_nats("Ελληνικά") == tokenizer.spelling_nats("Ελληνικά") > 0


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="char' or 'word"):
        fit_tokenizer("byte", ["x"])

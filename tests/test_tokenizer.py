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
    assert tokenizer.split("Trump’s plan, again!") == ["Trump’s", "plan", ",", "again", "!"]
    assert "," not in tokenizer.vocab  # seen once
    assert tokenizer.index.get("plan") is not None
    ids = tokenizer.encode("Trump’s plan fails.")
    assert ids.count(tokenizer.unk_id) == 2  # fails and . were seen once
    assert tokenizer.decode(tokenizer.encode("Trump’s plan")) == "Trump’s plan"


def test_word_detokenizer_spacing():
    tokenizer = WordTokenizer.fit(["He said ( quietly ) : yes , 3.5 % of $ 10 !"] * 2, min_count=1)
    text = "He said (quietly): yes, 3.5% of $10!"
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_word_piece_matches_decode():
    tokenizer = WordTokenizer.fit(["Hello , world . Again"] * 2, min_count=1)
    ids = tokenizer.encode_documents(["Hello, world. Again"])
    streamed = "".join(tokenizer.piece(i, p) for p, i in zip([None, *ids[:-1]], ids))
    assert streamed == tokenizer.decode(ids)


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

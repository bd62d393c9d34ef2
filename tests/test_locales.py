"""The page in two languages: every label and every message the code can show has its Korean line."""

from __future__ import annotations

import string

import pytest
from localekeys import label_keys, message_templates

from textgen import GenerationError
from textgen.messages import catalog, labels, locale_of, translate
from textgen.sampling import MAX_TOKENS_PER_REQUEST


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_locales_have_the_same_labels_and_the_page_uses_them_all():
    assert set(labels("en")) == set(labels("ko"))
    assert label_keys() == set(labels("en"))  # none missing, none left over
    assert all(
        labels("ko")[key] and labels("ko")[key] != labels("en")[key] for key in labels("en") if key != "top_k"
    )


def test_every_message_in_the_code_has_a_korean_line_with_the_same_values():
    korean = catalog("ko")["messages"]
    templates = message_templates()
    assert len(templates) > 80  # the scan finds the code's messages
    assert templates - set(korean) == set(), "messages without a Korean line"
    assert set(korean) - templates == set(), "Korean lines for messages the code no longer has"
    for english, translated in korean.items():
        assert fields(english) == fields(translated), english


def test_messages_render_in_the_page_language_and_stay_english_on_the_command_line():
    err = GenerationError("the number of samples must be between 1 and {max}", max=64)
    assert str(err) == "the number of samples must be between 1 and 64"
    assert err.render("ko") == "샘플 수는 1에서 64 사이여야 합니다"
    named = GenerationError("no such file").within("notes.txt")
    assert named.render("ko") == "notes.txt: 그런 파일이 없습니다"
    assert translate("{time} elapsed", "ko", time="0:15") == "0:15 경과"
    assert (
        f"{MAX_TOKENS_PER_REQUEST:,}" in labels("en")["length_info"]
        and f"{MAX_TOKENS_PER_REQUEST:,}" in labels("ko")["length_info"]
    )


@pytest.mark.parametrize(
    ("header", "locale"),
    [("ko-KR,ko;q=0.9,en-US;q=0.8", "ko"), ("ko", "ko"), ("en-US,en;q=0.9", "en"), ("fr-FR", "en"), (None, "en")],
)
def test_the_page_language_follows_the_browser(header, locale):
    assert locale_of(header) == locale

"""The page in two languages: every label and every message the code can show has its Korean line."""

from __future__ import annotations

import json
import string
from pathlib import Path

import gradio
import pytest
from conftest import ROOT
from localekeys import label_keys, message_templates

from textgen import GenerationError
from textgen.messages import catalog, corpus_names, labels, locale_of, translate
from textgen.page.common import page_labels
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


def test_shipped_corpora_and_gradios_own_footer_are_named_in_korean():
    """The Corpus list and the footer's "Runs" link (Gradio has no Korean line for it) in Korean."""
    shipped = {
        json.loads(path.read_text(encoding="utf-8"))["corpus"]
        for path in (ROOT / "checkpoints").glob("*/training.json")
    }
    korean = page_labels("ko")
    assert shipped <= set(corpus_names("en")) and all(
        korean[f"corpus:{name}"] != name and korean[f"corpus:{name}"] for name in shipped
    )
    frontend = "".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in (Path(gradio.__file__).parent / "templates" / "frontend" / "assets").glob("Blocks-*.js")
    )
    footer = catalog("ko")["gradio"]
    assert footer and all(f"`common.{key}`" in frontend and korean[f"common.{key}"] for key in footer)

"""The page's two languages: labels by key, and messages translated from their English templates.

`locales/en.json` and `locales/ko.json` hold the same label keys ("ui"); `ko.json` also maps each
English message template used in the code to its Korean template ("messages"), gettext's way, so
that a message reads in English where it is raised; `ko.json` also names the shipped corpora in
Korean ("corpora"). tests/test_locales.py checks that every label and every template has its Korean line.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

LOCALES = ("en", "ko")
LOCALE_DIR = Path(__file__).with_name("locales")


@functools.cache
def catalog(locale: str) -> dict:
    return json.loads((LOCALE_DIR / f"{locale}.json").read_text(encoding="utf-8"))


def labels(locale: str) -> dict[str, str]:
    return catalog(locale)["ui"]


def corpus_names(locale: str) -> dict[str, str]:
    """The shipped models' corpora by their names, as the page shows them in `locale`."""
    korean = catalog("ko").get("corpora", {})
    return {
        name: name if locale == "en" else catalog(locale).get("corpora", {}).get(name, name) for name in korean
    }


def translate(template: str, locale: str = "en", **values) -> str:
    """`template` (English, with {named} values) in `locale`, the values filled in."""
    if locale != "en":
        template = catalog(locale).get("messages", {}).get(template, template)
    return template.format(**values) if values else template


def locale_of(accept_language: str | None) -> str:
    """The page's language from the browser's Accept-Language header: Korean or English."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return "ko" if first.startswith("ko") else "en"

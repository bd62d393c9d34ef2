"""What every tab shares: the page's words (I18N), its choices, errors in the page's language, and
`Page`: the model registry, the server's limits and the training call, with the request's session."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from ..corpus import SUPPORTED_SUFFIXES
from ..errors import TextgenError
from ..messages import LOCALES, catalog, corpus_names, labels, locale_of, translate
from ..registry import ModelRegistry
from ..views import series_name

CORPUS_KEY = "corpus:"  # the page's label of a shipped corpus: CORPUS_KEY + its name


def page_labels(locale: str) -> dict[str, str]:
    """The page's labels in `locale`: the upload formats filled in from the one list of them, and the
    shipped corpora's names."""
    texts = {
        key: text.replace("{suffixes}", ", ".join(SUPPORTED_SUFFIXES)) for key, text in labels(locale).items()
    }
    gradios = {f"common.{key}": text for key, text in catalog(locale).get("gradio", {}).items()}
    return texts | gradios | {CORPUS_KEY + name: shown for name, shown in corpus_names(locale).items()}


def corpus_label(name: str):
    """A corpus as the Corpus list shows it: a shipped one in the page's language, any other as named."""
    return I18N(CORPUS_KEY + name) if name in corpus_names("en") else name


I18N = gr.I18n(**{locale: page_labels(locale) for locale in LOCALES})
LEVEL_CHOICES = [(I18N("level_char"), "char"), (I18N("level_word"), "word")]
SIZE_CHOICES = [
    (I18N("size_auto"), "auto"),
    (I18N("size_tiny"), "tiny"),
    (I18N("size_small"), "small"),
    (I18N("size_medium"), "medium"),
]
# A dropdown's arrow sits over the end of its text: the text stops before it.
PAGE_CSS = ".secondary-wrap input { padding-right: 1.75rem !important; text-overflow: ellipsis; }"
SERIES_COLORS = {"running": "#c7d2fe", "train": "#4f46e5", "validation": "#ea580c", "unigram": "#9ca3af"}
# A button may sit far below what it changes (a long Advanced panel, a phone): bring that into view.
SCROLL_TO_RESULTS = "() => document.getElementById('results')?.scrollIntoView({block: 'start'})"
SCROLL_TO_STATUS = "() => document.getElementById('train-status')?.scrollIntoView({block: 'start'})"


@dataclass
class Page:
    """What the tabs' events share: the models, the server's limits, and the call that trains (on
    ZeroGPU, in a GPU worker: app.py's `train_on_device`)."""

    registry: ModelRegistry
    train_on_device: Callable
    max_train_minutes: float = 10.0
    default_train_minutes: float = 1.0
    train_concurrency: int = 1
    generate_concurrency: int = 64
    session_ttl_minutes: float = 60.0
    on_space: bool = False  # on a Hugging Face Space users sign in with Hugging Face to push

    def session_id(self, request: gr.Request | None) -> str:
        """Whose models this request sees: the browser's (so they survive a reload), or an API client's."""
        if request is None or not request.session_hash:
            return "api"
        return self.registry.owner(request.session_hash)

    def model_choices(self, request: gr.Request):
        """A model picker's list, refreshed when it gets the focus: shipped models and this session's."""
        return gr.update(choices=self.registry.choices(self.session_id(request)))

    def claim_owner(self, owner: str | None, request: gr.Request) -> str:
        """On page load: the browser's owner id (a new one if it has none), tied to this page's session."""
        return self.registry.link(request.session_hash, owner)

    def forget_page(self, request: gr.Request) -> None:
        """A page closed or reloaded: its models stay for the session's time after their last use."""
        self.registry.unlink(request.session_hash)


def plot_colors() -> dict[str, str]:
    """The loss plot's colours, by the series' names in every language (the plot shows the page's)."""
    return {series_name(key, locale): color for key, color in SERIES_COLORS.items() for locale in LOCALES}


def page_locale(request: gr.Request | None) -> str:
    return locale_of(request.headers.get("accept-language") if request is not None else None)


def say(template: str, request: gr.Request | None, **values) -> str:
    return translate(template, page_locale(request), **values)


def page_errors(handler):
    """What the user must fix (a TextgenError) as a gr.Error in the page's language; anything else is
    a bug, and Gradio logs it as one. Works for plain and generator handlers."""
    signature = inspect.signature(handler)

    def error(err: TextgenError, args, kwargs) -> gr.Error:
        request = signature.bind_partial(*args, **kwargs).arguments.get("request")
        return gr.Error(err.render(page_locale(request)), print_exception=False)

    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def streaming(*args, **kwargs):
            try:
                yield from handler(*args, **kwargs)
            except TextgenError as err:
                raise error(err, args, kwargs) from None

        return streaming

    @functools.wraps(handler)
    def plain(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except TextgenError as err:
            raise error(err, args, kwargs) from None

    return plain

"""The Explore tab: statistics of an upload, or of a model's training corpus (kept with the model)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from . import handlers
from .common import I18N, LEVEL_CHOICES, Page, page_errors, page_locale
from .upload import upload_panel


def explore_tab(page: Page, models: list[str], default_model: str | None) -> None:
    """The Explore tab."""
    with gr.Row():
        with gr.Column():
            panel = upload_panel("explore-upload", api_name=False, offer_labels=False)
            model = gr.Dropdown(choices=models, value=default_model, label=I18N("explore_model"))
            level = gr.Radio(LEVEL_CHOICES, value="char", label=I18N("level"))
            explore_button = gr.Button(I18N("explore"), variant="primary", elem_id="explore")
        with gr.Column(scale=2):
            summary = gr.Markdown(label=I18N("stats"), elem_id="explore-summary")
            histogram = gr.BarPlot(
                x="length",
                y="documents",
                label=I18N("lengths"),
                x_title=I18N("length_axis"),
                y_title=I18N("documents_axis"),
                y_lim=[0, None],
                x_label_angle=-45,
            )
            top_tokens = gr.BarPlot(
                x="token",
                y="count",
                label=I18N("top_tokens"),
                x_title=I18N("token_axis"),
                y_title=I18N("count_axis"),
                sort="-y",
                y_lim=[0, None],
                x_label_angle=0,
            )
            speakers = gr.BarPlot(
                x="speaker",
                y="messages",
                label=I18N("speakers"),
                x_title=I18N("speaker_axis"),
                y_title=I18N("messages_axis"),
                sort="-y",
                y_lim=[0, None],
                visible=False,
            )

    @page_errors
    def explore(
        path,
        column,
        level,
        model,
        documents="auto",
        separator="",
        speaker=None,
        label=None,
        conversations=False,  # the panel's, offered in the Train tab only
        request: gr.Request = None,
    ):
        """Statistics of this tab's upload (read as its panel says) or, without one, of the chosen model's
        training corpus; a chat's most active speakers."""
        upload = handlers.upload_corpus(path, column, documents, separator, speaker) if path else None
        view = handlers.explore(
            page.registry,
            page.session_id(request),
            level,
            model,
            upload,
            Path(path or "").name,
            page_locale(request),
        )
        speaker_plot = gr.update(value=view.speakers, visible=view.speakers is not None)
        return view.summary, view.histogram, view.top_tokens, speaker_plot

    explore_button.click(
        explore,
        [panel.upload, panel.column, level, model, *panel.reading],
        [summary, histogram, top_tokens, speakers],
        api_name="explore",
    )

"""The Train tab: upload, see what reading found, train from scratch or from a model while the loss
plot, the status line and samples update, then download the model, push it or publish it as a page.
The work of each event is a function of `handlers`."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from . import handlers
from .common import (
    I18N,
    LEVEL_CHOICES,
    SCROLL_TO_STATUS,
    SIZE_CHOICES,
    Page,
    page_errors,
    page_locale,
    plot_colors,
    say,
)
from .upload import UploadPanel, upload_panel

SCRATCH = handlers.SCRATCH


@dataclass
class TrainControls:
    panel: UploadPanel
    start_from: gr.Dropdown
    level: gr.Radio
    size: gr.Radio
    minutes: gr.Slider
    sample_prompt: gr.Textbox
    train: gr.Button
    stop: gr.Button


@dataclass
class TrainView:
    status: gr.HTML
    loss_plot: gr.LinePlot
    samples: gr.Textbox
    archive: gr.File
    push_model: gr.Dropdown


def train_tab(page: Page, models: list[str], generate_model: gr.Dropdown) -> None:
    """The Train tab: an upload read as its panel says, the model's settings, a run watched live (a
    status line with its progress, the loss plot, samples), then its zip and the share panel."""
    with gr.Row():
        with gr.Column():
            controls = train_controls(page, models)
        with gr.Column():
            view = TrainView(
                gr.HTML(label=I18N("train_status"), elem_id="train-status"),
                gr.LinePlot(
                    x="step",
                    y="bits_per_char",
                    color="split",
                    color_map=plot_colors(),
                    x_title=I18N("step_axis"),
                    y_title=I18N("bits_per_char"),
                    color_title=I18N("series_axis"),
                    label=I18N("loss_plot"),
                    elem_id="loss-plot",
                ),
                gr.Textbox(label=I18N("samples"), lines=5, elem_id="train-samples"),
                gr.File(label=I18N("download"), height=100, elem_id="archive"),
                share_panel(page),
            )
    wire_training(page, controls, view, generate_model)


def train_controls(page: Page, models: list[str]) -> TrainControls:
    panel = upload_panel("upload", api_name="inspect_upload")
    start_from = gr.Dropdown(
        [(I18N("scratch"), SCRATCH), *models],
        value=SCRATCH,
        label=I18N("start_from"),
        info=I18N("start_from_info"),
    )
    level = gr.Radio(LEVEL_CHOICES, value="char", label=I18N("level"), info=I18N("level_info"))
    size = gr.Radio(SIZE_CHOICES, value="auto", label=I18N("size"), info=I18N("size_info"))
    minutes = gr.Slider(
        0.1,
        page.max_train_minutes,
        value=page.default_train_minutes,
        step=0.1,
        label=I18N("minutes"),
        elem_id="minutes",
    )
    sample_prompt = gr.Textbox(label=I18N("sample_prompt"), value="")
    with gr.Row():
        train = gr.Button(I18N("train"), variant="primary", elem_id="train")
        stop = gr.Button(I18N("stop"), elem_id="stop-training")
    return TrainControls(panel, start_from, level, size, minutes, sample_prompt, train, stop)


def wire_training(page: Page, controls: TrainControls, view: TrainView, generate_model: gr.Dropdown) -> None:
    """Train (streamed: the plot, the status line, samples; then the model, its zip and the push
    picker), Stop, and the Start-from list."""
    loss_plot, status, samples, archive = view.loss_plot, view.status, view.samples, view.archive

    @page_errors
    def train(
        path,
        column,
        level,
        size,
        minutes,
        prompt,
        start_from=SCRATCH,
        documents="auto",
        separator="",
        speaker=None,
        label=None,
        conversations=False,
        request: gr.Request = None,
    ):
        """Train on the upload (from scratch, or further from a model) on the device, stream the plot,
        the status and samples, and keep the model in this session."""
        sid = page.session_id(request)
        wanted = handlers.TrainRequest(
            path,
            column,
            level,
            size,
            minutes,
            prompt,
            start_from,
            documents,
            separator,
            speaker,
            label,
            conversations,
        )
        plotted = None
        for update in handlers.train(
            page.registry,
            sid,
            wanted,
            page.train_on_device,
            page.max_train_minutes,
            page.session_ttl_minutes,
            page_locale(request),
        ):
            shown = update.page
            if update.archive is None:
                plotted = shown.plot
                yield {loss_plot: plotted, status: shown.status} | (
                    {samples: shown.samples} if shown.samples else {}
                )
            else:
                choices = page.registry.choices(sid)
                yield {
                    # Sent again: after a last update that leaves the plot out, Gradio 6.31's LinePlot
                    # throws "reading 'step'" on its next resize (a tab switch).
                    loss_plot: plotted,
                    status: shown.status,
                    generate_model: gr.update(choices=choices, value=update.name),
                    archive: str(update.archive),
                }

    def newest_own_model(request: gr.Request):
        """After training: the push picker lists this session's models, the newest chosen."""
        own = page.registry.own(page.session_id(request))
        return gr.update(choices=own, value=own[-1] if own else None)

    def stop_training(request: gr.Request) -> str:
        handlers.stop_training(page.registry, page.session_id(request))
        return say("stopping after the next evaluation…", request)

    def base_choices(request: gr.Request):
        return gr.update(choices=[(I18N("scratch"), SCRATCH), *page.registry.choices(page.session_id(request))])

    c = controls
    c.start_from.focus(base_choices, None, c.start_from, api_name=False, queue=False)
    c.train.click(
        train,
        [
            c.panel.upload,
            c.panel.column,
            c.level,
            c.size,
            c.minutes,
            c.sample_prompt,
            c.start_from,
            *c.panel.reading,
        ],
        [loss_plot, samples, status, generate_model, archive],
        api_name="train",
        concurrency_id="train",
        concurrency_limit=page.train_concurrency,
        show_progress="hidden",  # the status line has its own progress bar; the plot stays in view
    ).then(newest_own_model, None, view.push_model, api_name=False, queue=False)
    # On a phone the plot sits below the controls: bring it into view while it trains.
    c.train.click(None, None, None, js=SCROLL_TO_STATUS, api_name=False)
    c.stop.click(stop_training, None, status, api_name="stop", queue=False)


def share_panel(page: Page) -> gr.Dropdown:
    """Under the plot: push one of this session's models to the Hub, or publish it as a web page (a
    static Space); returns the model picker. The token is never logged or kept."""
    with gr.Group():
        model = gr.Dropdown(label=I18N("push_model"), choices=[], allow_custom_value=True, elem_id="push-model")
        with gr.Row():
            repo_id = gr.Textbox(label=I18N("repo_id"), elem_id="repo-id")
            token = gr.Textbox(label=I18N("token"), type="password", visible=not page.on_space)
        if page.on_space:
            gr.LoginButton()
        with gr.Row():
            push_button = gr.Button(I18N("push"), elem_id="push")
            publish_button = gr.Button(I18N("publish"), elem_id="publish")
    status = gr.Markdown(elem_id="share-status")

    def token_of(token: str | None, oauth_token: gr.OAuthToken | None) -> str:
        """As the user signed in with Hugging Face (on a Space), or the token they pasted (locally)."""
        return oauth_token.token if oauth_token is not None else (token or "").strip()

    @page_errors
    def push(model, repo_id, token=None, oauth_token: gr.OAuthToken | None = None, request: gr.Request = None):
        sid, token = page.session_id(request), token_of(token, oauth_token)
        url = handlers.push(page.registry, sid, model, repo_id, token, signed_in=page.on_space)
        return say("pushed: {url}", request, url=url)

    @page_errors
    def publish(model, repo_id, token=None, oauth_token: gr.OAuthToken | None = None, request: gr.Request = None):
        sid, token = page.session_id(request), token_of(token, oauth_token)
        url = handlers.publish(page.registry, sid, model, repo_id, token, signed_in=page.on_space)
        return say("published as a web page: {url}", request, url=url)

    push_button.click(push, [model, repo_id, token], status, api_name="push")
    publish_button.click(publish, [model, repo_id, token], status, api_name="publish")
    return model

"""The Train tab: upload, see what reading found, train from scratch or from a model while the loss
plot, the status line and samples update, then download the model, push it or publish it as a page."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import gradio as gr

from .. import (
    FINE_TUNE_LR,
    RunInfo,
    TrainingError,
    TrainingJob,
    TrainingView,
    app_train_config,
    check_push,
    export_web,
    finite_number,
    follow,
    push_folder,
    push_space,
    zip_model,
)
from .common import (
    I18N,
    LEVEL_CHOICES,
    SCRATCH,
    SCROLL_TO_STATUS,
    SIZE_CHOICES,
    STATUS_SECONDS,
    Page,
    page_errors,
    page_locale,
    plot_colors,
    say,
)
from .upload import upload_corpus, upload_panel


def train_tab(page: Page, models: list[str], generate_model: gr.Dropdown) -> None:
    """The Train tab: an upload read as its panel says, the model's settings, a run watched live (a
    status line with its progress, the loss plot, samples), then its zip and the share panel."""

    def base_choices(request: gr.Request):
        return gr.update(choices=[(I18N("scratch"), SCRATCH), *page.registry.choices(page.session_id(request))])

    with gr.Row():
        with gr.Column():
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
                0.1, page.max_train_minutes, value=1, step=0.1, label=I18N("minutes"), elem_id="minutes"
            )
            sample_prompt = gr.Textbox(label=I18N("sample_prompt"), value="")
            with gr.Row():
                train_button = gr.Button(I18N("train"), variant="primary", elem_id="train")
                stop_button = gr.Button(I18N("stop"), elem_id="stop-training")
        with gr.Column():
            status = gr.HTML(label=I18N("train_status"), elem_id="train-status")
            loss_plot = gr.LinePlot(
                x="step",
                y="bits_per_char",
                color="split",
                color_map=plot_colors(),
                x_title=I18N("step_axis"),
                y_title=I18N("bits_per_char"),
                color_title=I18N("series_axis"),
                label=I18N("loss_plot"),
                elem_id="loss-plot",
            )
            samples = gr.Textbox(label=I18N("samples"), lines=5, elem_id="train-samples")
            archive = gr.File(label=I18N("download"), height=100, elem_id="archive")
            push_model = share_panel(page)

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
        request: gr.Request = None,
    ):
        """Train on the upload (from scratch, or further from a model) on the device, stream the plot,
        the status and samples, and keep the model in this session."""
        sid, locale = page.session_id(request), page_locale(request)
        minutes = finite_number(minutes, "the time budget must be a finite number, not {value}")
        if minutes <= 0:
            raise TrainingError("the time budget must be more than 0 minutes")
        config = app_train_config(level, size, min(minutes, page.max_train_minutes), prompt or "")
        corpus = upload_corpus(path, column, documents, separator, speaker, label)
        base = None if start_from in (None, "", SCRATCH) else page.registry.get(start_from, sid)
        if base is not None:
            config = replace(config, lr=FINE_TUNE_LR)
        session = page.registry.session(sid)
        name = page.registry.new_name(Path(path).stem, base.tokenizer.level if base else config.level, size)
        info = RunInfo(
            corpus=Path(path).name, title=name, parent=None if base is None else start_from, labels=corpus.labels
        )
        job = TrainingJob(corpus.documents, config, info, session.start_run(), base, locale)
        view = TrainingView(config.patience, locale)
        for update in follow(page.train_on_device(job), view, STATUS_SECONDS):
            session.touch()  # a long run keeps its session from expiring
            if update.finished is None:
                yield {loss_plot: update.plot, status: update.status} | (
                    {samples: update.samples} if update.samples else {}
                )
                continue
            folder = page.registry.keep_trained(sid, name, update.finished.model)
            stays = say(
                "It stays here for {minutes:g} minutes after its last use, page reloads included; "
                "download the zip to keep it.",
                request,
                minutes=page.session_ttl_minutes,
            )
            yield {
                status: view.finished(update.finished, name, stays),
                generate_model: gr.update(choices=page.registry.choices(sid), value=name),
                archive: str(zip_model(folder, session.directory)),
            }

    def newest_own_model(request: gr.Request):
        """After training: the push picker lists this session's models, the newest chosen."""
        own = page.registry.own(page.session_id(request))
        return gr.update(choices=own, value=own[-1] if own else None)

    def stop_training(request: gr.Request) -> str:
        session = page.registry.existing(page.session_id(request))
        if session is not None:
            session.stop_file.touch()
        return say("stopping after the next evaluation…", request)

    start_from.focus(base_choices, None, start_from, api_name=False, queue=False)
    train_button.click(
        train,
        [panel.upload, panel.column, level, size, minutes, sample_prompt, start_from, *panel.inputs[2:]],
        [loss_plot, samples, status, generate_model, archive],
        api_name="train",
        concurrency_id="train",
        concurrency_limit=page.train_concurrency,
        show_progress="hidden",  # the status line has its own progress bar; the plot stays in view
    ).then(newest_own_model, None, push_model, api_name=False, queue=False)
    # On a phone the plot sits below the controls: bring it into view while it trains.
    train_button.click(None, None, None, js=SCROLL_TO_STATUS, api_name=False)
    stop_button.click(stop_training, None, status, api_name="stop", queue=False)


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

    def own_model(name: str | None, token: str | None, oauth_token, request: gr.Request):
        """The session's model and the token to push it with: as the user signed in with Hugging Face
        (on a Space), or the one they pasted (locally)."""
        if name not in page.registry.own(page.session_id(request)):
            raise TrainingError("pick a model you trained or loaded in this session")
        token = oauth_token.token if oauth_token is not None else (token or "").strip()
        if not token and page.on_space:
            raise TrainingError("sign in with Hugging Face first")
        if not token:
            raise TrainingError("paste a Hugging Face token with write access")
        return page.registry.get(name, page.session_id(request)), token

    @page_errors
    def push(model, repo_id, token=None, oauth_token: gr.OAuthToken | None = None, request: gr.Request = None):
        loaded, token = own_model(model, token, oauth_token, request)
        return say("pushed: {url}", request, url=push_folder(loaded.source, (repo_id or "").strip(), token=token))

    @page_errors
    def publish(model, repo_id, token=None, oauth_token: gr.OAuthToken | None = None, request: gr.Request = None):
        loaded, token = own_model(model, token, oauth_token, request)
        space_id = (repo_id or "").strip()
        check_push(space_id, token)  # before the export's work
        with tempfile.TemporaryDirectory(prefix="textgen-web-") as folder:
            url = push_space(export_web(loaded, folder, name=model), space_id, token=token)
        return say("published as a web page: {url}", request, url=url)

    push_button.click(push, [model, repo_id, token], status, api_name="push")
    publish_button.click(publish, [model, repo_id, token], status, api_name="publish")
    return model

"""textgen studio: pick a model, type a seed, watch an LSTM write; train one on your own text.

Run `python app.py` (host and port from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT). This file is the
page: constants, the layout and its wiring; each handler is a few lines over the textgen package.
The page speaks the browser's language (English or Korean: textgen/locales).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
import torch

from textgen import (
    FINE_TUNE_LR,
    LOCALES,
    MAX_LENGTH,
    MAX_SAMPLES,
    SAMPLE_TEMPERATURES,
    SIZE_PRESETS,
    SUPPORTED_SUFFIXES,
    CorpusError,
    Evaluation,
    Finished,
    GenerationError,
    ModelRegistry,
    Progress,
    RunInfo,
    Step,
    TextgenError,
    Trainer,
    TrainingError,
    TrainingView,
    app_train_config,
    confidence_html,
    corpus_stats,
    csv_columns,
    fine_tune_setup,
    generated_documents,
    histogram_frame,
    labels,
    load_corpus,
    load_folder,
    locale_of,
    new_seed,
    novelty_markdown,
    prepare_data,
    push_folder,
    resolve_device,
    stream_texts,
    top_tokens_frame,
    translate,
    zip_model,
)

ROOT = Path(__file__).resolve().parent
CHECKPOINT_DIR = Path(os.environ.get("TEXTGEN_CHECKPOINTS", ROOT / "checkpoints"))
DEFAULT_MODEL = os.environ.get("TEXTGEN_DEFAULT_MODEL", "nyt-char")
MAX_UPLOAD_MB = float(os.environ.get("TEXTGEN_MAX_UPLOAD_MB", "10"))
MAX_TRAIN_MINUTES = float(os.environ.get("TEXTGEN_MAX_TRAIN_MINUTES", "10"))
# Generation requests mostly wait for their model's engine, which steps them together, so many may
# be in flight; the engine caps the rows it steps at once (TEXTGEN_MAX_BATCH_ROWS) and queues the rest.
GENERATE_CONCURRENCY = int(os.environ.get("TEXTGEN_GENERATE_CONCURRENCY", "64"))
MAX_BATCH_ROWS = int(os.environ.get("TEXTGEN_MAX_BATCH_ROWS", "64"))
TRAIN_CONCURRENCY = int(os.environ.get("TEXTGEN_TRAIN_CONCURRENCY", "1"))
SESSION_TTL_MINUTES = float(os.environ.get("TEXTGEN_SESSION_TTL_MINUTES", "60"))
DEVICE = os.environ.get("TEXTGEN_DEVICE", "auto")
# The weights' precision for generating: auto is bf16 on a CPU that does bf16 natively (twice the
# streams per second there, for 0.0001 bits/char: BENCHMARKS.md), else fp32.
DECODING_PRECISION = os.environ.get("TEXTGEN_DECODING_PRECISION", "auto")
# On a Hugging Face Space, users sign in with Hugging Face to push (README front matter: hf_oauth).
# Elsewhere a LoginButton would make Gradio ask the Hub for a local token at start, which fails
# offline: local runs keep the token box instead.
ON_SPACE = bool(os.environ.get("SPACE_ID"))
SCRATCH = "scratch"  # the "Start from" choice that trains a new model
STATUS_INTERVAL = 1.0  # seconds between training status updates
PLOT_COLORS = {"train": "#4f46e5", "validation": "#ea580c", "unigram": "#9ca3af"}
NO_CHANGE = gr.skip()
# The button may sit far below the results (a long Advanced panel, a phone): bring them into view.
SCROLL_TO_RESULTS = "() => document.getElementById('results')?.scrollIntoView({block: 'start'})"

I18N = gr.I18n(**{locale: labels(locale) for locale in LOCALES})
# Shipped models for everyone, trained and uploaded ones private to a browser session.
REGISTRY = ModelRegistry(
    CHECKPOINT_DIR,
    resolve_device(DEVICE),
    session_ttl=60 * SESSION_TTL_MINUTES,
    max_batch_rows=MAX_BATCH_ROWS,
    decoding_precision=DECODING_PRECISION,
)


def session_id(request: gr.Request | None) -> str:
    """Whose models this request sees: the browser's (so they survive a reload), or an API client's."""
    return REGISTRY.owner(request.session_hash) if request is not None and request.session_hash else "api"


def claim_owner(owner: str | None, request: gr.Request) -> str:
    """On page load: the browser's owner id (a new one if it has none), tied to this page's session."""
    return REGISTRY.link(request.session_hash, owner)


def page_locale(request: gr.Request | None) -> str:
    return locale_of(request.headers.get("accept-language") if request is not None else None)


def user_error(err: TextgenError, request: gr.Request | None) -> gr.Error:
    """What the user must fix, in their language; anything else is a bug and Gradio logs it as one."""
    return gr.Error(err.render(page_locale(request)), print_exception=False)


def whole_number(value: Any, message: str) -> int:
    """A number box's value as an int (an API call can send 1e400, NaN or text): or `message`."""
    try:
        number = float(value)
        if math.isfinite(number) and number == int(number):
            return int(number)
    except (TypeError, ValueError, OverflowError):
        pass
    raise GenerationError(message, value=str(value)[:20])


def finite_number(value: Any, message: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise GenerationError(message, value=str(value)[:20])
    return number


# ---------------------------------------------------------------- generate


@dataclass
class Run:
    """One generation, kept for the confidence and novelty views."""

    model: str
    session: str
    prompt: str
    steps: list[Step]


def optional_seed(seed: Any) -> int | None:
    """The page's number box: empty or negative means "draw a fresh one"."""
    if seed is None:
        return None
    seed = whole_number(seed, "the random seed must be a whole number from 0 to 2⁶³-1, not {value}")
    return None if seed < 0 else seed


def resolve_seed(seed: float | None, randomize: bool, request: gr.Request) -> int:
    try:
        chosen = None if randomize else optional_seed(seed)
    except TextgenError as err:
        raise user_error(err, request) from None
    return new_seed() if chosen is None else chosen


def warn_unknown(tokenizer, prompt: str, request: gr.Request | None) -> None:
    unknown = sorted({token.strip() for token in tokenizer.unknown_tokens(prompt or "")} - {""})
    if unknown:
        gr.Warning(
            translate(
                "the model has never seen {tokens}: they read as <unk>",
                page_locale(request),
                tokens=" ".join(unknown)[:80],
            )
        )


def generate(
    model: str,
    prompt: str,
    temperature: float = 0.8,
    length: float = 200,
    top_k: float = 0,
    top_p: float = 1.0,
    num_samples: float = 1,
    seed: float | None = None,
    stop_at_eos: bool = False,
    request: gr.Request = None,
):
    """Stream the generated text (seed included); the last update keeps the run for the views.

    The request joins its model's decoding engine, which steps all current requests together."""
    job = None
    try:
        loaded = REGISTRY.get(model, session_id(request))
        warn_unknown(loaded.tokenizer, prompt, request)
        engine = REGISTRY.engine(model, session_id(request))
        job = engine.submit(
            prompt or "",
            temperature=finite_number(temperature, "temperature must be a finite number, not {value}"),
            length=whole_number(length, "length must be a whole number, not {value}"),
            top_k=whole_number(top_k, "top-k must be a whole number, not {value}"),
            top_p=finite_number(top_p, "top-p must be a finite number, not {value}"),
            num_samples=whole_number(num_samples, "the number of samples must be a whole number, not {value}"),
            stop_at_eos=bool(stop_at_eos),
            seed=optional_seed(seed),
        )
        if not job.started.wait(STATUS_INTERVAL / 4):  # the batch is full: say where this request stands
            locale = page_locale(request)
            gr.Info(translate("waiting for a place: {ahead} requests ahead", locale, ahead=engine.ahead_of(job)))
            while not job.started.wait(STATUS_INTERVAL / 4):
                yield prompt or "", NO_CHANGE
        record: list[Step] = []
        text = prompt or ""
        for texts in stream_texts(recorded(job.batches(), record), prompt or ""):
            text = join_samples(texts)
            yield text, NO_CHANGE
    except TextgenError as err:
        raise user_error(err, request) from None
    finally:
        if job is not None:
            job.cancel()  # Stop pressed or the page gone: the engine drops the request at its next step
    yield text, Run(model, session_id(request), prompt or "", record)  # API clients get the text, plainly


def recorded(batches, record: list[Step]):
    """The batches of steps as they come, each step also kept in `record` for the views."""
    for batch in batches:
        record.extend(batch)
        yield batch


def join_samples(texts: list[str]) -> str:
    if len(texts) == 1:
        return texts[0]
    return "\n\n".join(f"[{i}] {text.rstrip()}" for i, text in enumerate(texts, 1))


def clear_views():
    """Before a generation: the text tab in view, and no shading or novelty left from the last run."""
    return gr.Tabs(selected="text"), "", "", gr.update(visible=False)


def annotate(run: Run | None, request: gr.Request):
    """After a generation: the confidence view of sample 1, the novelty check, the sample picker."""
    if run is None:
        return NO_CHANGE, NO_CHANGE, NO_CHANGE
    count = len(run.steps[0].pieces) if run.steps else 1
    picker = gr.update(choices=list(range(1, count + 1)), value=1, visible=count > 1)
    confidence, novelty = show_sample(run, 1, request)
    return confidence, novelty, picker


def show_sample(run: Run | None, sample: float | None, request: gr.Request) -> tuple[str, str]:
    """The confidence shading and the novelty check of the sample the user picked."""
    if run is None or not run.steps:
        return "", ""
    index = min(max(int(sample or 1), 1), len(run.steps[0].pieces)) - 1
    try:
        loaded = REGISTRY.get(run.model, run.session)
    except TextgenError as err:
        raise user_error(err, request) from None
    documents = generated_documents(loaded, run.prompt, run.steps, index)
    return confidence_html(run.prompt, run.steps, index), novelty_markdown(loaded, documents, page_locale(request))


def compare_temperatures(
    model: str, prompt: str, length: float = 200, seed: float | None = None, request: gr.Request = None
):
    """The same seed text at 0.2, 0.5, 1.0 and 1.2, in one batched call, streamed side by side."""
    job = None
    try:
        job = REGISTRY.engine(model, session_id(request)).submit(
            prompt or "",
            temperature=list(SAMPLE_TEMPERATURES),
            length=whole_number(length, "length must be a whole number, not {value}"),
            seed=optional_seed(seed),
        )
        for texts in stream_texts(job.batches(), prompt or ""):
            yield tuple(texts)
    except TextgenError as err:
        raise user_error(err, request) from None
    finally:
        if job is not None:
            job.cancel()


def show_compare_tab():
    return gr.Tabs(selected="compare")


def refresh_models(request: gr.Request):
    return gr.update(choices=REGISTRY.choices(session_id(request)))


def refresh_bases(request: gr.Request):
    return gr.update(choices=[SCRATCH, *REGISTRY.choices(session_id(request))])


def load_model_zip(path: str | None, request: gr.Request):
    """A model zip downloaded from this page (or made by train.py): loaded into this session."""
    if not path:
        return NO_CHANGE
    try:
        name = REGISTRY.add_zip(session_id(request), path)
    except TextgenError as err:
        raise user_error(err, request) from None
    return gr.update(choices=REGISTRY.choices(session_id(request)), value=name)


# ---------------------------------------------------------------- train


def read_upload(path: str | None, column: str | None) -> list[str]:
    if not path:
        raise CorpusError("upload a .txt, .csv, .json or .jsonl file first")
    if Path(path).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise CorpusError("use one of {suffixes}", suffixes=", ".join(SUPPORTED_SUFFIXES)).within(Path(path).name)
    return load_corpus(path, column=column or None).documents


def upload_columns(path: str | None, request: gr.Request):
    """After an upload: offer the CSV's columns (or nothing for plain text)."""
    if not path or Path(path).suffix.lower() not in (".csv", ".tsv"):
        return gr.update(choices=[], value=None, visible=False)
    try:
        columns, guess = csv_columns(path)
    except TextgenError as err:
        raise user_error(err, request) from None
    return gr.update(choices=columns, value=guess or (columns[0] if columns else None), visible=True)


class TrainOutputs(NamedTuple):
    """What one training update changes; the event's outputs are wired in this order."""

    loss_plot: Any = NO_CHANGE
    samples: Any = NO_CHANGE
    status: Any = NO_CHANGE
    model: Any = NO_CHANGE
    archive: Any = NO_CHANGE


def train(
    path: str | None,
    column: str | None,
    level: str,
    size: str,
    minutes: float,
    prompt: str,
    start_from: str = SCRATCH,
    request: gr.Request = None,
):
    """Train on the upload (from scratch, or further from a model); stream the loss plot, samples
    and status; register the model in this session."""
    sid, locale = session_id(request), page_locale(request)
    session = REGISTRY.session(sid)
    model = None
    try:
        minutes = finite_number(minutes, "the time budget must be a finite number, not {value}")
        if minutes <= 0:
            raise TrainingError("the time budget must be more than 0 minutes")
        config = app_train_config(level, size, min(minutes, MAX_TRAIN_MINUTES), prompt or "")
        documents = read_upload(path, column)
        if start_from and start_from != SCRATCH:
            base = REGISTRY.get(start_from, sid)
            config, data, model = fine_tune_setup(base, documents, replace(config, lr=FINE_TUNE_LR))
        else:
            data = prepare_data(documents, config)
    except TextgenError as err:
        raise user_error(err, request) from None
    name = f"{Path(path).stem[:40]}-{config.level}-{size}-{len(session.models) + 1}"
    out_dir = session.directory / name
    info = RunInfo(corpus=Path(path).name, title=name, parent=None if model is None else start_from)
    trainer = Trainer(config, data, out_dir=out_dir, info=info, model=model, resumable=False)
    session.stop_requested = False
    view = TrainingView(trainer.unigram, trainer.config.patience, locale)
    last = 0.0
    for event in trainer.run():
        trainer.stop_requested = session.stop_requested
        if isinstance(event, Progress) and time.monotonic() - last > STATUS_INTERVAL:
            last = time.monotonic()
            session.touch()  # a long run keeps its session from expiring
            yield TrainOutputs(
                status=view.status(trainer.progress_fraction(), event.step, event.elapsed, remaining(trainer))
            )
        elif isinstance(event, Evaluation):
            view.add(event)
            status = view.status(trainer.progress_fraction(), event.step, event.elapsed, remaining(trainer))
            yield TrainOutputs(loss_plot=view.plot(), samples=view.samples, status=status)
        elif isinstance(event, Finished):
            REGISTRY.add(sid, name, load_folder(out_dir, REGISTRY.device))
            yield TrainOutputs(
                status=view.finished(
                    event,
                    name,
                    translate(
                        "It stays here for {minutes:g} minutes after its last use, page reloads included; "
                        "download the zip to keep it.",
                        locale,
                        minutes=SESSION_TTL_MINUTES,
                    ),
                ),
                model=gr.update(choices=REGISTRY.choices(sid), value=name),
                archive=str(zip_model(out_dir, session.directory)),
            )


def remaining(trainer: Trainer) -> float | None:
    """Training seconds left: by the time budget, or by the steps left at the pace so far."""
    run = trainer.state
    by_steps = (trainer.total_steps - run.step) * run.elapsed / max(run.step, 1)
    if trainer.config.max_minutes:
        return min(60 * trainer.config.max_minutes - run.elapsed, by_steps)
    return by_steps


def newest_own_model(request: gr.Request):
    """After training: the push picker lists this session's models, the newest chosen."""
    own = REGISTRY.own(session_id(request))
    return gr.update(choices=own, value=own[-1] if own else None)


def stop_training(request: gr.Request) -> str:
    REGISTRY.session(session_id(request)).stop_requested = True
    return translate("stopping after the next evaluation…", page_locale(request))


def push(
    model: str | None,
    repo_id: str,
    token: str | None = None,
    oauth_token: gr.OAuthToken | None = None,
    request: gr.Request = None,
) -> str:
    """Push one of this session's models: as the user signed in with Hugging Face (on a Space), or
    with a token they paste (locally). The token is never logged or kept."""
    locale = page_locale(request)
    if model not in REGISTRY.own(session_id(request)):
        raise gr.Error(
            translate("pick a model you trained or loaded in this session", locale), print_exception=False
        )
    token = oauth_token.token if oauth_token is not None else (token or "").strip()
    if not token:
        raise gr.Error(
            translate(
                "sign in with Hugging Face first" if ON_SPACE else "paste a Hugging Face token with write access",
                locale,
            ),
            print_exception=False,
        )
    try:
        loaded = REGISTRY.get(model, session_id(request))
        url = push_folder(loaded.source, (repo_id or "").strip(), token=token)
    except TextgenError as err:
        raise user_error(err, request) from None
    return translate("pushed: {url}", locale, url=url)


# ---------------------------------------------------------------- explore


def explore(path: str | None, column: str | None, level: str, model: str, request: gr.Request):
    """Statistics of this tab's upload or, without one, of the chosen model's training corpus."""
    locale = page_locale(request)
    try:
        if path:
            stats, name = corpus_stats(read_upload(path, column)), Path(path).name
        else:
            loaded = REGISTRY.get(model, session_id(request))
            stats, name = loaded.stats, translate("the training corpus of {model}", locale, model=model)
    except TextgenError as err:
        raise user_error(err, request) from None
    if stats is None:
        raise gr.Error(
            translate("this model has no corpus statistics: upload its corpus here", locale), print_exception=False
        )
    summary = translate(
        "**{name}**: {documents:,} documents, {characters:,} characters, {vocabulary:,} distinct {unit}",
        locale,
        name=name,
        documents=stats.documents,
        characters=stats.characters,
        vocabulary=stats.vocabulary(level),
        unit=translate("words" if level == "word" else "characters", locale),
    )
    if level == "word" and stats.words_from_characters:  # a corpus too large to count all its words
        summary += translate(
            " (words counted in its first {characters:,} characters)",
            locale,
            characters=stats.words_from_characters,
        )
    return summary, histogram_frame(stats), top_tokens_frame(stats, level)


def forget_page(request: gr.Request) -> None:
    """A page closed or reloaded: its models stay for SESSION_TTL_MINUTES after their last use."""
    REGISTRY.unlink(request.session_hash)


# ---------------------------------------------------------------- layout


def build_demo() -> gr.Blocks:
    models = REGISTRY.choices(None)
    default_model = DEFAULT_MODEL if DEFAULT_MODEL in models else None
    # Gradio keeps uploads and returned files (zips) in its cache: remove those older than a session.
    cache_seconds = int(60 * SESSION_TTL_MINUTES)
    with gr.Blocks(title="textgen studio", delete_cache=(min(600, cache_seconds), cache_seconds)) as demo:
        gr.Markdown(I18N("title"))
        with gr.Tab(I18N("generate_tab")):
            with gr.Row():
                with gr.Column(scale=2):
                    model = gr.Dropdown(
                        choices=models,
                        value=default_model,
                        label=I18N("model"),
                        allow_custom_value=True,
                        elem_id="model",
                    )
                    prompt = gr.Textbox(label=I18N("prompt"), value="Trump", lines=2, elem_id="prompt")
                    temperature = gr.Slider(
                        0,
                        2,
                        value=0.8,
                        step=0.05,
                        label=I18N("temperature"),
                        info=I18N("temperature_hint"),
                        elem_id="temperature",
                    )
                    length = gr.Slider(
                        1, MAX_LENGTH, value=200, step=1, label=I18N("length"), info=I18N("length_info")
                    )
                    with gr.Accordion(I18N("advanced"), open=False):
                        # precision=None: Gradio's own int(round(x)) fails on 1e400 before our check
                        top_k = gr.Number(value=0, minimum=0, step=1, label=I18N("top_k"))
                        top_p = gr.Slider(0.05, 1, value=1.0, step=0.05, label=I18N("top_p"))
                        num_samples = gr.Slider(
                            1, MAX_SAMPLES, value=1, step=1, label=I18N("num_samples"), elem_id="num-samples"
                        )
                        seed = gr.Number(value=new_seed(), step=1, label=I18N("seed"), elem_id="seed")
                        randomize = gr.Checkbox(value=True, label=I18N("new_seed"))
                        stop_at_eos = gr.Checkbox(value=False, label=I18N("stop_eos"))
                        model_zip = gr.File(
                            label=I18N("load_zip"),
                            file_types=[".zip"],
                            type="filepath",
                            height=120,
                            elem_id="model-zip",
                        )
                    with gr.Row():
                        generate_button = gr.Button(I18N("generate"), variant="primary", elem_id="generate")
                        compare_button = gr.Button(I18N("compare"), elem_id="compare")
                        stop_generating = gr.Button(
                            I18N("stop_generating"), variant="stop", elem_id="stop-generating"
                        )
                with gr.Column(scale=3), gr.Tabs(selected="text", elem_id="results") as result_tabs:
                    with gr.Tab(I18N("text_tab"), id="text"):
                        output = gr.Textbox(label=I18N("output"), lines=10, elem_id="output", buttons=["copy"])
                        sample = gr.Radio([1], value=1, label=I18N("sample"), visible=False, elem_id="sample")
                        gr.Markdown(I18N("confidence"))
                        confidence = gr.HTML(elem_id="confidence")
                        novelty = gr.Markdown(elem_id="novelty")
                    with gr.Tab(I18N("compare_tab"), id="compare"), gr.Row():
                        compared = [
                            gr.Textbox(label=f"T = {t}", lines=8, elem_id=f"compare-{i}", min_width=160)
                            for i, t in enumerate(SAMPLE_TEMPERATURES)
                        ]
            run = gr.State()
            generate_examples = [
                ["nyt-char", "Trump", 0.5, 120],
                ["nyt-word", "The", 0.8, 30],
                ["nyt-char", "How to", 1.0, 120],
            ]
            gr.Examples(  # labels, not a table: Gradio shows untranslated I18n headers in example tables
                generate_examples,
                inputs=[model, prompt, temperature, length],
                example_labels=[f"{m}: “{p}”, T={t}" for m, p, t, _ in generate_examples],
            )

        with gr.Tab(I18N("train_tab")), gr.Row():
            with gr.Column():
                upload = gr.File(
                    label=I18N("upload"), file_types=list(SUPPORTED_SUFFIXES), type="filepath", elem_id="upload"
                )
                column = gr.Dropdown(label=I18N("column"), visible=False, allow_custom_value=True)
                start_from = gr.Dropdown(
                    [SCRATCH, *models], value=SCRATCH, label=I18N("start_from"), info=I18N("start_from_info")
                )
                level = gr.Radio(["char", "word"], value="char", label=I18N("level"), info=I18N("level_info"))
                size = gr.Radio(list(SIZE_PRESETS), value="auto", label=I18N("size"), info=I18N("size_info"))
                minutes = gr.Slider(
                    0.1, MAX_TRAIN_MINUTES, value=1, step=0.1, label=I18N("minutes"), elem_id="minutes"
                )
                sample_prompt = gr.Textbox(label=I18N("sample_prompt"), value="")
                with gr.Row():
                    train_button = gr.Button(I18N("train"), variant="primary", elem_id="train")
                    stop_button = gr.Button(I18N("stop"), variant="stop", elem_id="stop-training")
            with gr.Column():
                status = gr.HTML(label=I18N("status"), elem_id="train-status")
                loss_plot = gr.LinePlot(
                    x="step",
                    y="bits_per_char",
                    color="split",
                    color_map=PLOT_COLORS,
                    y_title=I18N("bits_per_char"),
                    label=I18N("loss_plot"),
                    elem_id="loss-plot",
                )
                samples = gr.Textbox(label=I18N("samples"), lines=5, elem_id="train-samples")
                archive = gr.File(label=I18N("download"), height=100, elem_id="archive")
                with gr.Group():
                    push_model = gr.Dropdown(
                        label=I18N("push_model"), choices=[], allow_custom_value=True, elem_id="push-model"
                    )
                    with gr.Row():
                        repo_id = gr.Textbox(label=I18N("repo_id"))
                        token = gr.Textbox(label=I18N("token"), type="password", visible=not ON_SPACE)
                    if ON_SPACE:
                        gr.LoginButton()
                    push_button = gr.Button(I18N("push"))
                push_status = gr.Markdown()

        with gr.Tab(I18N("explore_tab")), gr.Row():
            with gr.Column():
                explore_upload = gr.File(
                    label=I18N("upload"), file_types=list(SUPPORTED_SUFFIXES), type="filepath"
                )
                explore_column = gr.Dropdown(label=I18N("column"), visible=False, allow_custom_value=True)
                explore_model = gr.Dropdown(choices=models, value=default_model, label=I18N("explore_model"))
                explore_level = gr.Radio(["char", "word"], value="char", label=I18N("level"))
                explore_button = gr.Button(I18N("explore"), variant="primary", elem_id="explore")
            with gr.Column(scale=2):
                summary = gr.Markdown(label=I18N("stats"), elem_id="explore-summary")
                histogram = gr.BarPlot(
                    x="length", y="documents", label=I18N("lengths"), x_title=I18N("length_axis"), y_lim=[0, None]
                )
                top_tokens = gr.BarPlot(
                    x="token", y="count", label=I18N("top_tokens"), sort="-y", y_lim=[0, None], x_label_angle=0
                )

        # ---------------------------------------------------------------- wiring
        generate_inputs = [model, prompt, temperature, length, top_k, top_p, num_samples, seed, stop_at_eos]
        generating = (
            generate_button.click(
                clear_views, None, [result_tabs, confidence, novelty, sample], queue=False, api_name=False
            )
            .then(resolve_seed, [seed, randomize], seed, api_name="resolve_seed", queue=False)
            .then(
                generate,
                generate_inputs,
                [output, run],
                api_name="generate",
                concurrency_id="generate",
                concurrency_limit=GENERATE_CONCURRENCY,
            )
        )
        generating.then(annotate, run, [confidence, novelty, sample], api_name="annotate", show_progress="hidden")
        sample.change(show_sample, [run, sample], [confidence, novelty], api_name=False, show_progress="hidden")
        compare_button.click(None, None, None, js=SCROLL_TO_RESULTS, api_name=False)  # in the browser only
        comparing = compare_button.click(show_compare_tab, None, result_tabs, queue=False, api_name=False).then(
            compare_temperatures,
            [model, prompt, length, seed],
            compared,
            api_name="compare",
            concurrency_id="generate",
            concurrency_limit=GENERATE_CONCURRENCY,
        )
        stop_generating.click(None, None, None, cancels=[generating, comparing], api_name=False)
        model.focus(refresh_models, None, model, api_name=False, queue=False)
        start_from.focus(refresh_bases, None, start_from, api_name=False, queue=False)
        model_zip.upload(load_model_zip, model_zip, model, api_name="load_zip")

        upload.upload(upload_columns, upload, column, api_name="columns")
        train_outputs = {"loss_plot": loss_plot, "samples": samples, "status": status, "model": model}
        train_outputs["archive"] = archive
        train_button.click(
            train,
            [upload, column, level, size, minutes, sample_prompt, start_from],
            [train_outputs[name] for name in TrainOutputs._fields],
            api_name="train",
            concurrency_id="train",
            concurrency_limit=TRAIN_CONCURRENCY,
            show_progress="hidden",  # the status line has its own progress bar; the plot stays in view
        ).then(newest_own_model, None, push_model, api_name=False, queue=False)
        stop_button.click(stop_training, None, status, api_name="stop", queue=False)
        push_button.click(push, [push_model, repo_id, token], push_status, api_name="push")

        explore_upload.upload(upload_columns, explore_upload, explore_column, api_name=False)
        explore_button.click(
            explore,
            [explore_upload, explore_column, explore_level, explore_model],
            [summary, histogram, top_tokens],
            api_name="explore",
        )
        owner = gr.BrowserState(None, storage_key="textgen-owner")
        demo.load(claim_owner, owner, owner, api_name=False, queue=False)
        demo.unload(forget_page)
    return demo


def launch(demo: gr.Blocks, **kwargs):
    # One thread per torch op: a training run and a generation then share the 2 cores instead of
    # oversubscribing them (which slowed both by 10x and more when measured).
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    return demo.queue(default_concurrency_limit=GENERATE_CONCURRENCY).launch(
        max_file_size=int(MAX_UPLOAD_MB * 2**20), i18n=I18N, max_threads=GENERATE_CONCURRENCY + 16, **kwargs
    )


demo = build_demo()

if __name__ == "__main__":
    launch(demo)

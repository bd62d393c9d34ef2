"""textgen studio: pick a model, type a seed, watch an LSTM write; train one on your own text.

Run `python app.py` (host and port from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT). This file is the
page: constants, one builder per tab that lays out its widgets and wires its events, and handlers of
a few lines over the textgen package. The page speaks the browser's language (textgen/locales).
"""

from __future__ import annotations

# On a ZeroGPU Space `spaces` must be imported before anything touches CUDA; elsewhere it does nothing.
import spaces  # isort: skip

import functools
import inspect
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import gradio as gr
import torch

from textgen import (
    FINE_TUNE_LR,
    LAYOUTS,
    LOCALES,
    MAX_LENGTH,
    MAX_SAMPLES,
    SAMPLE_TEMPERATURES,
    SUPPORTED_SUFFIXES,
    Corpus,
    CorpusError,
    CoWriter,
    GeneratedRun,
    Layout,
    ModelRegistry,
    RunInfo,
    TextgenError,
    TrainingError,
    TrainingJob,
    TrainingView,
    app_train_config,
    check_prompt,
    check_push,
    confidence_html,
    corpus_stats,
    csv_columns,
    explore_summary,
    export_web,
    finite_number,
    follow,
    generated_documents,
    histogram_frame,
    labelled_prompt,
    labels,
    locale_of,
    new_seed,
    next_tokens,
    next_tokens_html,
    novelty_markdown,
    optional_seed,
    page_settings,
    prime_text,
    push_folder,
    push_space,
    read_upload,
    reading_summary,
    recording,
    resolve_device,
    run_job,
    samples_text,
    series_name,
    shown_token,
    speakers_frame,
    stream_texts,
    top_tokens_frame,
    translate,
    whole_number,
    zip_model,
)

ROOT = Path(__file__).resolve().parent
CHECKPOINT_DIR = Path(os.environ.get("TEXTGEN_CHECKPOINTS", ROOT / "checkpoints"))
DEFAULT_MODEL = os.environ.get("TEXTGEN_DEFAULT_MODEL", "nyt-char")
MAX_UPLOAD_MB = float(os.environ.get("TEXTGEN_MAX_UPLOAD_MB", "10"))
# On ZeroGPU only a decorated call may touch CUDA (the main process is told a GPU exists, but using
# it raises): models load and generate on the CPU there, and training runs in `train_on_device`, each
# run on a GPU of its own for at most its budget and 30 s (a free account has 3.5 GPU minutes a day).
ZERO_GPU = os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true")
DEVICE = "cpu" if ZERO_GPU else os.environ.get("TEXTGEN_DEVICE", "auto")
MAX_TRAIN_MINUTES = float(os.environ.get("TEXTGEN_MAX_TRAIN_MINUTES", "2" if ZERO_GPU else "10"))
# Generation requests mostly wait for their model's engine, which steps them together, so many may
# be in flight; the engine caps the rows it steps at once (TEXTGEN_MAX_BATCH_ROWS) and queues the rest.
GENERATE_CONCURRENCY = int(os.environ.get("TEXTGEN_GENERATE_CONCURRENCY", "64"))
MAX_BATCH_ROWS = int(os.environ.get("TEXTGEN_MAX_BATCH_ROWS", "64"))
TRAIN_CONCURRENCY = int(os.environ.get("TEXTGEN_TRAIN_CONCURRENCY", "4" if ZERO_GPU else "1"))
SESSION_TTL_MINUTES = float(os.environ.get("TEXTGEN_SESSION_TTL_MINUTES", "60"))
# The weights' precision for generating: auto is bf16 on a CPU that does bf16 natively (twice the
# streams per second there, for 0.0001 bits/char: BENCHMARKS.md), else fp32.
DECODING_PRECISION = os.environ.get("TEXTGEN_DECODING_PRECISION", "auto")
# On a Hugging Face Space, users sign in with Hugging Face to push (README front matter: hf_oauth).
# Elsewhere a LoginButton would make Gradio ask the Hub for a local token at start, which fails
# offline: local runs keep the token box instead.
ON_SPACE = bool(os.environ.get("SPACE_ID"))
SCRATCH = "scratch"  # the "Start from" choice that trains a new model
COWRITE_MORE = 20  # tokens "write more" adds
STATUS_SECONDS = 1.0  # between training status updates
SERIES_COLORS = {"running": "#c7d2fe", "train": "#4f46e5", "validation": "#ea580c", "unigram": "#9ca3af"}
# The button may sit far below the results (a long Advanced panel, a phone): bring them into view.
SCROLL_TO_RESULTS = "() => document.getElementById('results')?.scrollIntoView({block: 'start'})"
SCROLL_TO_STATUS = "() => document.getElementById('train-status')?.scrollIntoView({block: 'start'})"

I18N = gr.I18n(**{locale: labels(locale) for locale in LOCALES})
LEVEL_CHOICES = [(I18N("level_char"), "char"), (I18N("level_word"), "word")]
SIZE_CHOICES = [
    (I18N("size_auto"), "auto"),
    (I18N("size_tiny"), "tiny"),
    (I18N("size_small"), "small"),
    (I18N("size_medium"), "medium"),
]
LAYOUT_CHOICES = [
    (I18N("layout_auto"), "auto"),
    (I18N("layout_paragraphs"), "paragraphs"),
    (I18N("layout_lines"), "lines"),
    (I18N("layout_separator"), "separator"),
]
# Shipped models for everyone, trained and uploaded ones private to a browser session.
REGISTRY = ModelRegistry(
    CHECKPOINT_DIR,
    resolve_device(DEVICE),
    session_ttl=60 * SESSION_TTL_MINUTES,
    max_batch_rows=MAX_BATCH_ROWS,
    decoding_precision=DECODING_PRECISION,
)


def plot_colors() -> dict[str, str]:
    """The loss plot's colours, by the series' names in every language (the plot shows the page's)."""
    return {series_name(key, locale): color for key, color in SERIES_COLORS.items() for locale in LOCALES}


def session_id(request: gr.Request | None) -> str:
    """Whose models this request sees: the browser's (so they survive a reload), or an API client's."""
    return REGISTRY.owner(request.session_hash) if request is not None and request.session_hash else "api"


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


@spaces.GPU(duration=lambda job: job.gpu_seconds())
def train_on_device(job: TrainingJob):
    """The one call that needs a GPU: on ZeroGPU it holds one in a worker process (the job and every
    event pickled across); elsewhere it runs here, on whatever device this machine has."""
    try:
        yield from run_job(job)
    except TextgenError as err:  # from ZeroGPU's worker only a gr.Error comes back as itself
        raise gr.Error(err.render(job.locale), print_exception=False) from None


@dataclass
class UploadPanel:
    """An upload and how to read it: the CSV column, a text file's documents (auto, paragraphs, lines
    or between separator lines), a chat's speaker; and what reading it found, shown at once."""

    upload: gr.File
    column: gr.Dropdown
    documents: gr.Radio
    separator: gr.Textbox
    speaker: gr.Dropdown
    label: gr.Dropdown
    summary: gr.Markdown

    @property
    def inputs(self) -> list:
        return [self.upload, self.column, self.documents, self.separator, self.speaker, self.label]


def upload_panel(upload_id: str, api_name: str | bool, offer_labels: bool = True) -> UploadPanel:
    upload = gr.File(label=I18N("upload"), file_types=list(SUPPORTED_SUFFIXES), type="filepath", elem_id=upload_id)
    column = gr.Dropdown(label=I18N("column"), visible=False, allow_custom_value=True)
    documents = gr.Radio(
        [(I18N(f"layout_{layout}"), layout) for layout in LAYOUTS],
        value="auto",
        label=I18N("documents"),
        visible=False,
    )
    separator = gr.Textbox(value="", label=I18N("separator"), max_lines=1, visible=False)
    speaker = gr.Dropdown(label=I18N("speaker"), choices=[], value=None, visible=False)
    label = gr.Dropdown(  # the choices are the upload's fields; reading it checks the value
        label=I18N("label_column"),
        info=I18N("label_column_info"),
        elem_id=f"{upload_id}-label",
        choices=[],
        visible=False,
        allow_custom_value=True,
    )
    summary = gr.Markdown(elem_id=f"{upload_id}-summary")
    panel = UploadPanel(upload, column, documents, separator, speaker, label, summary)

    @page_errors
    def inspect(
        path, column=None, documents="auto", separator="", speaker=None, label=None, request: gr.Request = None
    ):
        """After an upload: the CSV's columns, the text file's reading, the chat's speakers, the fields
        it could be labelled by, the summary."""
        if not path:
            hidden = gr.update(visible=False)
            return {
                panel.column: hidden,
                panel.documents: hidden,
                panel.separator: hidden,
                panel.speaker: hidden,
                panel.label: hidden,
                panel.summary: "",
            }
        suffix = Path(path).suffix.lower()
        columns, guess = csv_columns(path) if suffix in (".csv", ".tsv") else ([], None)
        column = guess or (columns[0] if columns else None)
        corpus = upload_corpus(path, column, "auto", "", "", "")
        speakers = corpus.reading.speakers
        everyone = (say("everyone", request), "")
        fields = [name for name in columns if name != column] + (["speaker"] if speakers else [])
        return {
            panel.column: gr.update(choices=columns, value=column, visible=bool(columns)),
            panel.documents: gr.update(value="auto", visible=corpus.reading.layout is not None),
            panel.separator: gr.update(value="", visible=False),
            panel.speaker: gr.update(
                choices=[everyone, *((f"{name} ({count:,})", name) for name, count in speakers.most_common())],
                value="",
                visible=bool(speakers),
            ),
            panel.label: gr.update(
                choices=[(say("no labels", request), ""), *fields], value="", visible=offer_labels and bool(fields)
            ),
            panel.summary: reading_summary(corpus, page_locale(request)),
        }

    @page_errors
    def summarize(
        path, column=None, documents="auto", separator="", speaker=None, label=None, request: gr.Request = None
    ):
        if not path:
            return {panel.summary: "", panel.separator: gr.update(visible=documents == "separator")}
        corpus = upload_corpus(path, column, documents, separator, speaker, label)
        return {
            panel.summary: reading_summary(corpus, page_locale(request)),
            panel.separator: gr.update(visible=documents == "separator"),
        }

    outputs = [column, documents, separator, speaker, label, summary]
    upload.upload(inspect, panel.inputs, outputs, api_name=api_name)
    for control in (column.input, documents.input, separator.submit, speaker.input, label.input):
        control(summarize, panel.inputs, [summary, separator], api_name=False)
    return panel


def upload_corpus(path, column, documents, separator, speaker, label=None) -> Corpus:
    """The upload read as the panel says: the column, the documents' layout, the speaker, the labels."""
    layout = Layout.parse(f"separator={separator or ''}" if documents == "separator" else documents)
    return read_upload(path, column, ("speaker", speaker) if speaker else None, layout, label)


def model_choices(request: gr.Request):
    """A model picker's list, refreshed when it gets the focus: shipped models and this session's."""
    return gr.update(choices=REGISTRY.choices(session_id(request)))


def corpus_choices(request: gr.Request | None) -> list[str]:
    """The Corpus list: the shipped models' corpora, then this session's own models by name."""
    return [*REGISTRY.corpora, *REGISTRY.own(session_id(request))]


def refresh_corpora(request: gr.Request):
    """The Corpus list, refreshed when it gets the focus (one's own models appear as they are trained)."""
    return gr.update(choices=corpus_choices(request))


def level_choices(corpus: str | None) -> list[tuple]:
    """The levels a corpus has a shipped model at (none for a model of one's own)."""
    levels = REGISTRY.corpora.get(corpus or "", {})
    return [(label, value) for label, value in LEVEL_CHOICES if value in levels]


def pick_corpus(corpus: str | None, level: str | None) -> tuple:
    """A corpus chosen: its model at the level shown (or its first), or one's own model as it is."""
    levels = REGISTRY.corpora.get(corpus or "")
    if levels is None:
        return gr.update(choices=[], value=None), corpus
    level = level if level in levels else next(iter(levels))
    return gr.update(choices=level_choices(corpus), value=level), levels[level]


def pick_level(corpus: str | None, level: str | None):
    return REGISTRY.corpora.get(corpus or "", {}).get(level or "", gr.update())


def corpus_and_level(model: str | None, request: gr.Request):
    """The model set some other way (an example, a training run, a Hub id typed): Corpus and Level follow."""
    corpus, level = REGISTRY.corpus_of(model or "")
    if corpus is None:
        own = model in REGISTRY.own(session_id(request))
        return gr.update(choices=corpus_choices(request), value=model if own else None), gr.update(
            choices=[], value=None
        )
    return gr.update(value=corpus), gr.update(choices=level_choices(corpus), value=level)


@page_errors
def label_choices(model: str | None, request: gr.Request = None):
    """ "Write as": the labels the model was trained with and how many documents each had, or hidden."""
    labels = REGISTRY.get(model, session_id(request)).info.labels if model else None
    if labels is None:
        return gr.update(choices=[], value="", visible=False)
    listed = [(f"{name} ({count:,})", name) for name, count in labels.documents.items()]
    return gr.update(choices=[(say("any", request), ""), *listed], value="", visible=True)


def base_choices(request: gr.Request):
    return gr.update(choices=[(I18N("scratch"), SCRATCH), *REGISTRY.choices(session_id(request))])


def claim_owner(owner: str | None, request: gr.Request) -> str:
    """On page load: the browser's owner id (a new one if it has none), tied to this page's session."""
    return REGISTRY.link(request.session_hash, owner)


def forget_page(request: gr.Request) -> None:
    """A page closed or reloaded: its models stay for SESSION_TTL_MINUTES after their last use."""
    REGISTRY.unlink(request.session_hash)


# ---------------------------------------------------------------- generate


def generate_tab(models: list[str], default_model: str | None) -> gr.Dropdown:
    """The Generate tab; returns its model picker (training adds to it)."""
    corpus_value, level_value = REGISTRY.corpus_of(default_model or "")
    with gr.Row():
        with gr.Column(scale=2):
            with gr.Row():
                corpus = gr.Dropdown(
                    choices=corpus_choices(None),
                    value=corpus_value,
                    label=I18N("corpus"),
                    elem_id="corpus",
                    scale=3,
                )
                level = gr.Radio(
                    level_choices(corpus_value),
                    value=level_value,
                    label=I18N("level"),
                    elem_id="generate-level",
                    scale=1,
                    min_width=140,
                )
            prompt = gr.Textbox(label=I18N("prompt"), value="Trump", lines=2, elem_id="prompt")
            write_as = gr.Dropdown(
                label=I18N("write_as"),
                info=I18N("write_as_info"),
                choices=[],
                value="",
                visible=False,
                allow_custom_value=True,  # the choices are the model's; reading the seed checks the value
                elem_id="write-as",
            )
            temperature = gr.Slider(
                0,
                2,
                value=0.8,
                step=0.05,
                label=I18N("temperature"),
                info=I18N("temperature_hint"),
                elem_id="temperature",
            )
            length = gr.Slider(1, MAX_LENGTH, value=200, step=1, label=I18N("length"), info=I18N("length_info"))
            with gr.Accordion(I18N("advanced"), open=False, elem_id="generate-advanced"):
                model = gr.Dropdown(
                    choices=models,
                    value=default_model,
                    label=I18N("model"),
                    allow_custom_value=True,
                    elem_id="model",
                )
                top_k = gr.Number(value=0, minimum=0, step=1, label=I18N("top_k"))
                top_p = gr.Slider(0.05, 1, value=1.0, step=0.05, label=I18N("top_p"))
                num_samples = gr.Slider(
                    1, MAX_SAMPLES, value=1, step=1, label=I18N("num_samples"), elem_id="num-samples"
                )
                seed = gr.Number(value=new_seed(), step=1, label=I18N("seed"), elem_id="seed")
                randomize = gr.Checkbox(value=True, label=I18N("new_seed"))
                stop_at_eos = gr.Checkbox(value=False, label=I18N("stop_eos"))
                model_zip = gr.File(
                    label=I18N("load_zip"), file_types=[".zip"], type="filepath", height=170, elem_id="model-zip"
                )
            with gr.Row():
                generate_button = gr.Button(I18N("generate"), variant="primary", elem_id="generate")
                compare_button = gr.Button(I18N("compare"), elem_id="compare", min_width=120)
                stop_button = gr.Button(I18N("stop_generating"), elem_id="stop-generating")
        with gr.Column(scale=3), gr.Tabs(selected="text", elem_id="results") as result_tabs:
            with gr.Tab(I18N("text_tab"), id="text"):
                output = gr.Textbox(label=I18N("output"), lines=10, elem_id="output", buttons=["copy"])
                sample = gr.Radio([1], value=1, label=I18N("sample"), visible=False, elem_id="sample")
                confidence = gr.HTML(elem_id="confidence")
                novelty = gr.Markdown(elem_id="novelty")
            with gr.Tab(I18N("compare_tab"), id="compare"), gr.Row():
                compared = [
                    gr.Textbox(label=f"T = {t}", lines=8, elem_id=f"compare-{i}", min_width=160)
                    for i, t in enumerate(SAMPLE_TEMPERATURES)
                ]
            with gr.Tab(I18N("cowrite_tab"), id="cowrite") as cowrite_tab:
                cowrite_panel(model, prompt, write_as, temperature, top_k, cowrite_tab)
    run = gr.State()
    examples = [["nyt-char", "Trump", 0.5, 120], ["nyt-word", "The", 0.8, 30], ["nyt-char", "How to", 1.0, 120]]
    gr.Examples(  # labels, not a table: Gradio shows untranslated I18n headers in example tables
        examples,
        label=I18N("examples"),
        inputs=[model, prompt, temperature, length],
        example_labels=[f"{m}: “{p}”, T={t}" for m, p, t, _ in examples],
    )

    def clear_views():
        """Before a generation: the text tab in view, no shading or novelty left from the last run."""
        return {
            result_tabs: gr.Tabs(selected="text"),
            confidence: "",
            novelty: "",
            sample: gr.update(visible=False),
        }

    @page_errors
    def resolve_seed(seed: float | None, randomize: bool, request: gr.Request = None) -> int:
        chosen = None if randomize else optional_seed(seed)
        return new_seed() if chosen is None else chosen

    @page_errors
    def generate(
        model,
        prompt,
        temperature=0.8,
        length=200,
        top_k=0,
        top_p=1.0,
        num_samples=1,
        seed=None,
        stop_at_eos=False,
        write_as="",
        request: gr.Request = None,
    ):
        """Stream the text (seed included); the last update keeps the run for the views. The request
        joins its model's decoding engine, which steps all current requests together. `write_as`: one
        of the model's labels ("": any)."""
        sid, prompt = session_id(request), prompt or ""
        loaded = REGISTRY.get(model, sid)
        warn_unknown(loaded.tokenizer, prompt, request)
        engine = REGISTRY.engine(model, sid)
        settings = page_settings(temperature, length, top_k, top_p, num_samples, seed)
        job = engine.submit(
            labelled_prompt(loaded.info.labels, write_as, prompt), stop_at_eos=bool(stop_at_eos), **settings
        )
        try:
            if not job.started.wait(STATUS_SECONDS / 4) and engine.ahead_of(job):  # the batch is full
                gr.Info(say("waiting for a place: {ahead} requests ahead", request, ahead=engine.ahead_of(job)))
            steps, text = [], prompt
            for texts in stream_texts(recording(job.batches(), steps), prompt):
                text = samples_text(texts)
                yield {output: text}
        finally:
            job.cancel()  # Stop pressed or the page gone: the engine drops the request at its next step
        yield {output: text, run: GeneratedRun(model, sid, prompt, steps)}

    @page_errors
    def annotate(run: GeneratedRun | None, request: gr.Request = None):
        """After a generation: the confidence view of sample 1, the novelty check, the sample picker."""
        if run is None:
            return {}
        count = len(run.steps[0].pieces) if run.steps else 1
        picker = gr.update(choices=list(range(1, count + 1)), value=1, visible=count > 1)
        return {**show_sample(run, 1, request), sample: picker}

    @page_errors
    def show_sample(run: GeneratedRun | None, chosen: float | None, request: gr.Request = None):
        """The confidence shading and the novelty check of the sample the user picked."""
        if run is None or not run.steps:
            return {confidence: "", novelty: ""}
        index = min(max(int(chosen or 1), 1), len(run.steps[0].pieces)) - 1
        loaded = REGISTRY.get(run.model, run.session)
        documents = generated_documents(loaded, run.prompt, run.steps, index)
        return {
            confidence: confidence_html(run.prompt, run.steps, index, page_locale(request)),
            novelty: novelty_markdown(loaded, documents, page_locale(request)),
        }

    @page_errors
    def compare_temperatures(model, prompt, length=200, seed=None, write_as="", request: gr.Request = None):
        """The same seed text at 0.2, 0.5, 1.0 and 1.2, in one batched call, streamed side by side."""
        sid = session_id(request)
        engine = REGISTRY.engine(model, sid)
        length = whole_number(length, "length must be a whole number, not {value}")
        seeded = labelled_prompt(REGISTRY.get(model, sid).info.labels, write_as, prompt or "")
        job = engine.submit(seeded, temperature=list(SAMPLE_TEMPERATURES), length=length, seed=optional_seed(seed))
        try:
            for texts in stream_texts(job.batches(), prompt or ""):
                yield dict(zip(compared, texts))
        finally:
            job.cancel()

    @page_errors
    def load_model_zip(path: str | None, request: gr.Request = None):
        """A model zip downloaded from this page (or made by train.py): loaded into this session."""
        if not path:
            return gr.update()
        name = REGISTRY.add_zip(session_id(request), path)
        return gr.update(choices=REGISTRY.choices(session_id(request)), value=name)

    inputs = [model, prompt, temperature, length, top_k, top_p, num_samples, seed, stop_at_eos, write_as]
    generating = (
        generate_button.click(
            clear_views, None, [result_tabs, confidence, novelty, sample], queue=False, api_name=False
        )
        .then(resolve_seed, [seed, randomize], seed, api_name="resolve_seed", queue=False)
        .then(
            generate,
            inputs,
            [output, run],
            api_name="generate",
            concurrency_id="generate",
            concurrency_limit=GENERATE_CONCURRENCY,
        )
    )
    generating.then(annotate, run, [confidence, novelty, sample], api_name="annotate", show_progress="hidden")
    sample.change(show_sample, [run, sample], [confidence, novelty], api_name=False, show_progress="hidden")
    compare_button.click(None, None, None, js=SCROLL_TO_RESULTS, api_name=False)  # in the browser only
    comparing = compare_button.click(
        lambda: gr.Tabs(selected="compare"), None, result_tabs, queue=False, api_name=False
    )
    comparing = comparing.then(
        compare_temperatures,
        [model, prompt, length, seed, write_as],
        compared,
        api_name="compare",
        concurrency_id="generate",
        concurrency_limit=GENERATE_CONCURRENCY,
    )
    stop_button.click(None, None, None, cancels=[generating, comparing], api_name=False)
    stop_button.click(generation_stopped, None, None, api_name=False, queue=False)
    model.focus(model_choices, None, model, api_name=False, queue=False)
    corpus.focus(refresh_corpora, None, corpus, api_name=False, queue=False)
    corpus.input(pick_corpus, [corpus, level], [level, model], api_name=False, queue=False)
    level.input(pick_level, [corpus, level], model, api_name=False, queue=False)
    model.change(corpus_and_level, model, [corpus, level], api_name=False, queue=False)
    model.change(label_choices, model, write_as, api_name=False, queue=False)
    model_zip.upload(load_model_zip, model_zip, model, api_name="load_zip")
    return model


def cowrite_panel(model, prompt, write_as, temperature, top_k, tab: gr.Tab):
    """Write with the model: its likeliest next tokens at the temperature (a chart and the entropy),
    click one to append it, or let it write 20 more; undo steps back. The state is carried."""
    text = gr.Textbox(label=I18N("cowrite_text"), lines=4, elem_id="cowrite-text", info=I18N("cowrite_info"))
    chart = gr.HTML(elem_id="next-chart")
    choice = gr.Radio([], label=I18N("next_tokens"), elem_id="next-tokens")
    with gr.Row():
        more = gr.Button(I18N("write_more"), elem_id="write-more")
        undo = gr.Button(I18N("undo"), elem_id="undo")
    writer = gr.State()
    outputs = [text, chart, choice, writer]

    def render(current: CoWriter, temperature, request: gr.Request) -> dict:
        loaded = REGISTRY.get(current.model, current.session)
        temperature = finite_number(temperature, "temperature must be a finite number, not {value}")
        view = current.view(loaded, temperature)
        listed = [(f"{shown_token(token)}  {p:.0%}", str(i)) for (token, p), i in zip(view.tokens, view.ids)]
        return {
            text: current.text,
            chart: next_tokens_html(view, temperature, page_locale(request)),
            choice: gr.update(choices=listed, value=None),
            writer: current,
        }

    @page_errors
    def begin(model, seed_text, typed, temperature, write_as="", request: gr.Request = None):
        sid = session_id(request)
        start = typed if typed else (seed_text or "")
        writer = CoWriter.start(model, sid, REGISTRY.get(model, sid), start, write_as)
        return render(writer, temperature, request)

    @page_errors
    def reshape(current, temperature, request: gr.Request = None):
        return render(current, temperature, request) if current is not None else {}

    @page_errors
    def pick(current, token, temperature, request: gr.Request = None):
        if current is None or token in (None, ""):
            return {}
        chosen = whole_number(token, "pick one of the listed tokens")
        current.choose(REGISTRY.get(current.model, current.session), chosen)
        return render(current, temperature, request)

    @page_errors
    def write_more(current, temperature, top_k, request: gr.Request = None):
        if current is None:
            return {}
        top_k = whole_number(top_k, "top-k must be a whole number, not {value}")
        current.write(REGISTRY.get(current.model, current.session), COWRITE_MORE, float(temperature), top_k)
        return render(current, temperature, request)

    @page_errors
    def step_back(current, temperature, request: gr.Request = None):
        if current is None:
            return {}
        current.undo()
        return render(current, temperature, request)

    tab.select(begin, [model, prompt, text, temperature, write_as], outputs, api_name=False)
    text.submit(begin, [model, prompt, text, temperature, write_as], outputs, api_name=False)
    temperature.change(reshape, [writer, temperature], outputs, api_name=False, show_progress="hidden")
    choice.input(pick, [writer, choice, temperature], outputs, api_name=False, show_progress="hidden")
    more.click(write_more, [writer, temperature, top_k], outputs, api_name=False)
    undo.click(step_back, [writer, temperature], outputs, api_name=False, show_progress="hidden")


@page_errors
def next_tokens_api(
    model: str,
    text: str = "",
    temperature: float = 1.0,
    top_k: int = 10,
    label: str = "",
    request: gr.Request = None,
) -> dict:
    """The model's likeliest next tokens after `text` (written as `label`, one of the model's) with
    their probabilities at `temperature` (descending), and the entropy of the whole tempered
    distribution in bits (and at T=1)."""
    temperature = finite_number(temperature, "temperature must be a finite number, not {value}")
    top_k = whole_number(top_k, "top-k must be a whole number, not {value}")
    check_prompt(text or "")
    loaded = REGISTRY.get(model, session_id(request))
    logits, _ = prime_text(loaded.model, loaded.tokenizer, labelled_prompt(loaded.info.labels, label, text or ""))
    return next_tokens(logits, loaded.tokenizer, temperature, top_k).to_dict()


def generation_stopped(request: gr.Request) -> None:
    gr.Info(say("stopped: the text so far is kept", request))


def warn_unknown(tokenizer, prompt: str, request: gr.Request | None) -> None:
    unknown = sorted({token.strip() for token in tokenizer.unknown_tokens(prompt)} - {""})
    if unknown:
        gr.Warning(
            say("the model has never seen {tokens}: they read as <unk>", request, tokens=" ".join(unknown)[:80])
        )


# ---------------------------------------------------------------- train


def train_tab(models: list[str], generate_model: gr.Dropdown) -> None:
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
                0.1, MAX_TRAIN_MINUTES, value=1, step=0.1, label=I18N("minutes"), elem_id="minutes"
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
            push_model = share_panel()

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
        sid, locale = session_id(request), page_locale(request)
        minutes = finite_number(minutes, "the time budget must be a finite number, not {value}")
        if minutes <= 0:
            raise TrainingError("the time budget must be more than 0 minutes")
        config = app_train_config(level, size, min(minutes, MAX_TRAIN_MINUTES), prompt or "")
        corpus = upload_corpus(path, column, documents, separator, speaker, label)
        base = None if start_from in (None, "", SCRATCH) else REGISTRY.get(start_from, sid)
        if base is not None:
            config = replace(config, lr=FINE_TUNE_LR)
        session = REGISTRY.session(sid)
        name = REGISTRY.new_name(Path(path).stem, base.tokenizer.level if base else config.level, size)
        info = RunInfo(
            corpus=Path(path).name, title=name, parent=None if base is None else start_from, labels=corpus.labels
        )
        job = TrainingJob(corpus.documents, config, info, session.start_run(), base, locale)
        view = TrainingView(config.patience, locale)
        for update in follow(train_on_device(job), view, STATUS_SECONDS):
            session.touch()  # a long run keeps its session from expiring
            if update.finished is None:
                yield {loss_plot: update.plot, status: update.status} | (
                    {samples: update.samples} if update.samples else {}
                )
                continue
            folder = REGISTRY.keep_trained(sid, name, update.finished.model)
            stays = say(
                "It stays here for {minutes:g} minutes after its last use, page reloads included; "
                "download the zip to keep it.",
                request,
                minutes=SESSION_TTL_MINUTES,
            )
            yield {
                status: view.finished(update.finished, name, stays),
                generate_model: gr.update(choices=REGISTRY.choices(sid), value=name),
                archive: str(zip_model(folder, session.directory)),
            }

    def newest_own_model(request: gr.Request):
        """After training: the push picker lists this session's models, the newest chosen."""
        own = REGISTRY.own(session_id(request))
        return gr.update(choices=own, value=own[-1] if own else None)

    def stop_training(request: gr.Request) -> str:
        session = REGISTRY.existing(session_id(request))
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
        concurrency_limit=TRAIN_CONCURRENCY,
        show_progress="hidden",  # the status line has its own progress bar; the plot stays in view
    ).then(newest_own_model, None, push_model, api_name=False, queue=False)
    # On a phone the plot sits below the controls: bring it into view while it trains.
    train_button.click(None, None, None, js=SCROLL_TO_STATUS, api_name=False)
    stop_button.click(stop_training, None, status, api_name="stop", queue=False)


def share_panel() -> gr.Dropdown:
    """Under the plot: push one of this session's models to the Hub, or publish it as a web page (a
    static Space); returns the model picker. The token is never logged or kept."""
    with gr.Group():
        model = gr.Dropdown(label=I18N("push_model"), choices=[], allow_custom_value=True, elem_id="push-model")
        with gr.Row():
            repo_id = gr.Textbox(label=I18N("repo_id"), elem_id="repo-id")
            token = gr.Textbox(label=I18N("token"), type="password", visible=not ON_SPACE)
        if ON_SPACE:
            gr.LoginButton()
        with gr.Row():
            push_button = gr.Button(I18N("push"), elem_id="push")
            publish_button = gr.Button(I18N("publish"), elem_id="publish")
    status = gr.Markdown(elem_id="share-status")

    def own_model(name: str | None, token: str | None, oauth_token, request: gr.Request):
        """The session's model and the token to push it with: as the user signed in with Hugging Face
        (on a Space), or the one they pasted (locally)."""
        if name not in REGISTRY.own(session_id(request)):
            raise TrainingError("pick a model you trained or loaded in this session")
        token = oauth_token.token if oauth_token is not None else (token or "").strip()
        if not token:
            raise TrainingError(
                "sign in with Hugging Face first" if ON_SPACE else "paste a Hugging Face token with write access"
            )
        return REGISTRY.get(name, session_id(request)), token

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


# ---------------------------------------------------------------- explore


def explore_tab(models: list[str], default_model: str | None) -> None:
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
        request: gr.Request = None,
    ):
        """Statistics of this tab's upload (read as its panel says) or, without one, of the chosen model's
        training corpus; a chat's most active speakers."""
        speaker_plot = gr.update(visible=False)
        if path:
            corpus = upload_corpus(path, column, documents, separator, speaker)
            stats, name = corpus_stats(corpus.documents), Path(path).name
            if corpus.reading.speakers:
                speaker_plot = gr.update(value=speakers_frame(corpus.reading.speakers), visible=True)
        else:
            stats = REGISTRY.get(model, session_id(request)).stats
            name = say("the training corpus of {model}", request, model=model)
        if stats is None:
            raise CorpusError("this model has no corpus statistics: upload its corpus here")
        locale = page_locale(request)
        frames = histogram_frame(stats), top_tokens_frame(stats, level)
        return explore_summary(stats, name, level, locale), *frames, speaker_plot

    explore_button.click(
        explore,
        [panel.upload, panel.column, level, model, *panel.inputs[2:]],
        [summary, histogram, top_tokens, speakers],
        api_name="explore",
    )


# ---------------------------------------------------------------- the page


def build_demo() -> gr.Blocks:
    models = REGISTRY.choices(None)
    default_model = DEFAULT_MODEL if DEFAULT_MODEL in models else None
    # Gradio keeps uploads and returned files (zips) in its cache: remove those older than a session.
    cache_seconds = int(60 * SESSION_TTL_MINUTES)
    with gr.Blocks(title="textgen studio", delete_cache=(min(600, cache_seconds), cache_seconds)) as demo:
        gr.Markdown(I18N("title"))
        with gr.Tab(I18N("generate_tab")):
            generate_model = generate_tab(models, default_model)
        with gr.Tab(I18N("train_tab")):
            train_tab(models, generate_model)
        with gr.Tab(I18N("explore_tab")):
            explore_tab(models, default_model)
        gr.api(next_tokens_api, api_name="next_tokens")
        owner = gr.BrowserState(None, storage_key="textgen-owner")
        demo.load(claim_owner, owner, owner, api_name=False, queue=False)
        demo.unload(forget_page)
    return demo


def launch(demo: gr.Blocks, **kwargs):
    # One thread per torch op: a training run and a generation then share the 2 cores instead of
    # oversubscribing them (which slowed both by 10x and more when measured).
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    REGISTRY.expire_every(min(60.0, 60 * SESSION_TTL_MINUTES / 4))
    return demo.queue(default_concurrency_limit=GENERATE_CONCURRENCY).launch(
        max_file_size=int(MAX_UPLOAD_MB * 2**20), i18n=I18N, max_threads=GENERATE_CONCURRENCY + 16, **kwargs
    )


demo = build_demo()

if __name__ == "__main__":
    launch(demo)

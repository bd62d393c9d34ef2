"""The Generate tab: a corpus and level (or any model under Advanced), seed text, temperature, length,
"write as" for a labelled model; the text streams in, then the confidence shading and the novelty
check; temperatures compared side by side; and writing with the model token by token."""

from __future__ import annotations

import gradio as gr

from .. import (
    MAX_LENGTH,
    MAX_SAMPLES,
    SAMPLE_TEMPERATURES,
    CoWriter,
    GeneratedRun,
    check_prompt,
    confidence_html,
    finite_number,
    generated_documents,
    new_seed,
    next_tokens_html,
    novelty_markdown,
    optional_seed,
    page_settings,
    prime_text,
    recording,
    samples_text,
    shown_token,
    stream_texts,
    whole_number,
)
from .. import next_tokens as next_tokens_view
from ..labelled import label_random, prompt_as
from .common import I18N, LEVEL_CHOICES, SCROLL_TO_RESULTS, STATUS_SECONDS, Page, page_errors, page_locale, say

COWRITE_MORE = 20  # tokens "write more" adds


def generate_tab(page: Page, models: list[str], default_model: str | None) -> gr.Dropdown:
    """The Generate tab; returns its model picker (training adds to it)."""

    def corpus_choices(request: gr.Request | None) -> list[str]:
        """The Corpus list: the shipped models' corpora, then this session's own models by name."""
        return [*page.registry.corpora, *page.registry.own(page.session_id(request))]

    def refresh_corpora(request: gr.Request):
        """The Corpus list, refreshed when it gets the focus (one's own models appear as they are trained)."""
        return gr.update(choices=corpus_choices(request))

    def level_choices(corpus: str | None) -> list[tuple]:
        """The levels a corpus has a shipped model at (none for a model of one's own)."""
        levels = page.registry.corpora.get(corpus or "", {})
        return [(label, value) for label, value in LEVEL_CHOICES if value in levels]

    def pick_corpus(corpus: str | None, level: str | None) -> tuple:
        """A corpus chosen: its model at the level shown (or its first), or one's own model as it is."""
        levels = page.registry.corpora.get(corpus or "")
        if levels is None:
            return gr.update(choices=[], value=None), corpus
        level = level if level in levels else next(iter(levels))
        return gr.update(choices=level_choices(corpus), value=level), levels[level]

    def pick_level(corpus: str | None, level: str | None):
        return page.registry.corpora.get(corpus or "", {}).get(level or "", gr.update())

    def corpus_and_level(model: str | None, request: gr.Request):
        """The model set some other way (an example, a training run, a Hub id typed): Corpus and Level follow."""
        corpus, level = page.registry.corpus_of(model or "")
        if corpus is None:
            own = model in page.registry.own(page.session_id(request))
            return gr.update(choices=corpus_choices(request), value=model if own else None), gr.update(
                choices=[], value=None
            )
        return gr.update(value=corpus), gr.update(choices=level_choices(corpus), value=level)

    @page_errors
    def label_choices(model: str | None, request: gr.Request = None):
        """ "Write as": the labels the model was trained with and how many documents each had, or hidden."""
        labels = page.registry.get(model, page.session_id(request)).info.labels if model else None
        if labels is None:
            return gr.update(choices=[], value="", visible=False)
        listed = [(f"{name} ({count:,})", name) for name, count in labels.documents.items()]
        return gr.update(choices=[(say("any", request), ""), *listed], value="", visible=True)

    corpus_value, level_value = page.registry.corpus_of(default_model or "")
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
                cowrite_panel(page, model, prompt, write_as, temperature, top_k, cowrite_tab)
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
        sid, prompt = page.session_id(request), prompt or ""
        loaded = page.registry.get(model, sid)
        warn_unknown(loaded.tokenizer, prompt, request)
        engine = page.registry.engine(model, sid)
        settings = page_settings(temperature, length, top_k, top_p, num_samples, seed)
        seeded = prompt_as(loaded, write_as, prompt, label_random(settings["seed"]))
        job = engine.submit(seeded, stop_at_eos=bool(stop_at_eos), **settings)
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
        loaded = page.registry.get(run.model, run.session)
        documents = generated_documents(loaded, run.prompt, run.steps, index)
        return {
            confidence: confidence_html(run.prompt, run.steps, index, page_locale(request)),
            novelty: novelty_markdown(loaded, documents, page_locale(request)),
        }

    @page_errors
    def compare_temperatures(model, prompt, length=200, seed=None, write_as="", request: gr.Request = None):
        """The same seed text at 0.2, 0.5, 1.0 and 1.2, in one batched call, streamed side by side."""
        sid = page.session_id(request)
        engine = page.registry.engine(model, sid)
        length = whole_number(length, "length must be a whole number, not {value}")
        seed = optional_seed(seed)
        seeded = prompt_as(page.registry.get(model, sid), write_as, prompt or "", label_random(seed))
        job = engine.submit(seeded, temperature=list(SAMPLE_TEMPERATURES), length=length, seed=seed)
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
        name = page.registry.add_zip(page.session_id(request), path)
        return gr.update(choices=page.registry.choices(page.session_id(request)), value=name)

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
            concurrency_limit=page.generate_concurrency,
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
        concurrency_limit=page.generate_concurrency,
    )
    stop_button.click(None, None, None, cancels=[generating, comparing], api_name=False)
    stop_button.click(generation_stopped, None, None, api_name=False, queue=False)
    model.focus(page.model_choices, None, model, api_name=False, queue=False)
    corpus.focus(refresh_corpora, None, corpus, api_name=False, queue=False)
    corpus.input(pick_corpus, [corpus, level], [level, model], api_name=False, queue=False)
    level.input(pick_level, [corpus, level], model, api_name=False, queue=False)
    model.change(corpus_and_level, model, [corpus, level], api_name=False, queue=False)
    model.change(label_choices, model, write_as, api_name=False, queue=False)
    model_zip.upload(load_model_zip, model_zip, model, api_name="load_zip")
    return model


def cowrite_panel(page: Page, model, prompt, write_as, temperature, top_k, tab: gr.Tab):
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
        loaded = page.registry.get(current.model, current.session)
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
        sid = page.session_id(request)
        start = typed if typed else (seed_text or "")
        writer = CoWriter.start(model, sid, page.registry.get(model, sid), start, write_as)
        return render(writer, temperature, request)

    @page_errors
    def reshape(current, temperature, request: gr.Request = None):
        return render(current, temperature, request) if current is not None else {}

    @page_errors
    def pick(current, token, temperature, request: gr.Request = None):
        if current is None or token in (None, ""):
            return {}
        chosen = whole_number(token, "pick one of the listed tokens")
        current.choose(page.registry.get(current.model, current.session), chosen)
        return render(current, temperature, request)

    @page_errors
    def write_more(current, temperature, top_k, request: gr.Request = None):
        if current is None:
            return {}
        top_k = whole_number(top_k, "top-k must be a whole number, not {value}")
        current.write(page.registry.get(current.model, current.session), COWRITE_MORE, float(temperature), top_k)
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


def next_tokens_api(page: Page):
    """/next_tokens for this page's models."""

    @page_errors
    def next_tokens(
        model: str,
        text: str = "",
        temperature: float = 1.0,
        top_k: int = 10,
        label: str = "",
        request: gr.Request = None,
    ) -> dict:
        """The model's likeliest next tokens after `text` (written as `label`, one of the model's; ""
        for a labelled model: the label the text most likely has) with
        their probabilities at `temperature` (descending), and the entropy of the whole tempered
        distribution in bits (and at T=1)."""
        temperature = finite_number(temperature, "temperature must be a finite number, not {value}")
        top_k = whole_number(top_k, "top-k must be a whole number, not {value}")
        check_prompt(text or "")
        loaded = page.registry.get(model, page.session_id(request))
        seeded = prompt_as(loaded, label, text or "")
        logits, _ = prime_text(loaded.model, loaded.tokenizer, seeded)
        return next_tokens_view(logits, loaded.tokenizer, temperature, top_k).to_dict()

    return next_tokens


def generation_stopped(request: gr.Request) -> None:
    gr.Info(say("stopped: the text so far is kept", request))


def warn_unknown(tokenizer, prompt: str, request: gr.Request | None) -> None:
    unknown = sorted({token.strip() for token in tokenizer.unknown_tokens(prompt)} - {""})
    if unknown:
        gr.Warning(
            say("the model has never seen {tokens}: they read as <unk>", request, tokens=" ".join(unknown)[:80])
        )

"""The Generate tab: a corpus and level (or any model under Advanced), seed text, temperature, length,
"write as" for a labelled model; the text streams in, then the confidence shading and the novelty
check; temperatures compared side by side; and writing with the model token by token. The work of
each event is a function of `handlers`."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import gradio as gr

from ..sampling import MAX_LENGTH, MAX_SAMPLES, SAMPLE_TEMPERATURES, SamplingSettings, new_seed
from . import handlers
from .common import I18N, LEVEL_CHOICES, SCROLL_TO_RESULTS, Page, corpus_label, page_errors, page_locale, say

EXAMPLES = [["nyt-char", "Trump", 0.5, 120], ["nyt-word", "The", 0.8, 30], ["nyt-char", "How to", 1.0, 120]]


@dataclass
class Controls:
    """The Generate tab's left column: what to write with and how."""

    corpus: gr.Dropdown
    level: gr.Radio
    prompt: gr.Textbox
    write_as: gr.Dropdown
    temperature: gr.Slider
    length: gr.Slider
    model: gr.Dropdown
    top_k: gr.Number
    top_p: gr.Slider
    num_samples: gr.Slider
    seed: gr.Number
    randomize: gr.Checkbox
    stop_at_eos: gr.Checkbox
    model_zip: gr.File
    generate: gr.Button
    compare: gr.Button
    stop: gr.Button

    @property
    def settings(self) -> list:
        """/generate's inputs, in its API order."""
        return [self.model, self.prompt, self.temperature, self.length, self.top_k, self.top_p]


@dataclass
class Results:
    """The Generate tab's right column: the text and its views, the comparison, co-writing."""

    tabs: gr.Tabs
    output: gr.Textbox
    sample: gr.Radio
    confidence: gr.HTML
    novelty: gr.Markdown
    compared: list[gr.Textbox]
    run: gr.State | None  # made after the tabs


def generate_tab(page: Page, models: list[str], default_model: str | None) -> gr.Dropdown:
    """The Generate tab; returns its model picker (training adds to it)."""
    with gr.Row():
        with gr.Column(scale=2):
            controls = generate_controls(page, models, default_model)
        with gr.Column(scale=3), gr.Tabs(selected="text", elem_id="results") as tabs:
            results = results_panel(tabs)
            with gr.Tab(I18N("cowrite_tab"), id="cowrite") as cowrite_tab:
                cowrite_panel(page, controls, cowrite_tab)
    results.run = gr.State()  # outside the tabs: a Tabs holds only Tab children
    gr.Examples(  # labels, not a table: Gradio shows untranslated I18n headers in example tables
        EXAMPLES,
        label=I18N("examples"),
        inputs=[controls.model, controls.prompt, controls.temperature, controls.length],
        example_labels=[f"{m}: “{p}”, T={t}" for m, p, t, _ in EXAMPLES],
    )
    wire_generation(page, controls, results)
    wire_model_picker(page, controls)
    return controls.model


def generate_controls(page: Page, models: list[str], default_model: str | None) -> Controls:
    corpus_value, level_value = page.registry.corpus_of(default_model or "")
    with gr.Row():
        corpus = gr.Dropdown(
            corpus_list(page, ""),
            value=corpus_value,
            label=I18N("corpus"),
            elem_id="corpus",
            scale=3,
        )
        level = gr.Radio(
            level_choices(page, corpus_value),
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
        0, 2, value=0.8, step=0.05, label=I18N("temperature"), info=I18N("temperature_hint"), elem_id="temperature"
    )
    length = gr.Slider(1, MAX_LENGTH, value=200, step=1, label=I18N("length"), info=I18N("length_info"))
    with gr.Accordion(I18N("advanced"), open=False, elem_id="generate-advanced"):
        model = gr.Dropdown(
            choices=models, value=default_model, label=I18N("model"), allow_custom_value=True, elem_id="model"
        )
        top_k = gr.Number(value=0, minimum=0, step=1, label=I18N("top_k"))
        top_p = gr.Slider(0.05, 1, value=1.0, step=0.05, label=I18N("top_p"))
        num_samples = gr.Slider(1, MAX_SAMPLES, value=1, step=1, label=I18N("num_samples"), elem_id="num-samples")
        seed = gr.Number(value=new_seed(), step=1, label=I18N("seed"), elem_id="seed")
        randomize = gr.Checkbox(value=True, label=I18N("new_seed"))
        stop_at_eos = gr.Checkbox(value=False, label=I18N("stop_eos"))
        model_zip = gr.File(
            label=I18N("load_zip"), file_types=[".zip"], type="filepath", height=170, elem_id="model-zip"
        )
    with gr.Row():
        generate = gr.Button(I18N("generate"), variant="primary", elem_id="generate")
        compare = gr.Button(I18N("compare"), elem_id="compare", min_width=120)
        stop = gr.Button(I18N("stop_generating"), elem_id="stop-generating")
    return Controls(
        corpus,
        level,
        prompt,
        write_as,
        temperature,
        length,
        model,
        top_k,
        top_p,
        num_samples,
        seed,
        randomize,
        stop_at_eos,
        model_zip,
        generate,
        compare,
        stop,
    )


def results_panel(tabs: gr.Tabs) -> Results:
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
    return Results(tabs, output, sample, confidence, novelty, compared, None)


def corpus_list(page: Page, session: str) -> list[tuple]:
    """The Corpus list: the shipped models' corpora (named in the page's language), then the session's
    own models."""
    return [(corpus_label(name), name) for name in handlers.corpus_choices(page.registry, session)]


def level_choices(page: Page, corpus: str | None) -> list[tuple]:
    levels = handlers.levels_of(page.registry, corpus)
    return [(label, value) for label, value in LEVEL_CHOICES if value in levels]


def wire_generation(page: Page, controls: Controls, results: Results) -> None:
    """Generate (streamed, then its views), Compare, Stop."""
    generating = wire_generate(page, controls, results)
    comparing = wire_compare(page, controls, results)
    controls.stop.click(None, None, None, cancels=[generating, comparing], api_name=False)
    controls.stop.click(generation_stopped, None, None, api_name=False, queue=False)


def cleared_views(results: Results) -> dict:
    """Before a generation: the text tab in view, no shading or novelty left from the last run."""
    return {
        results.tabs: gr.Tabs(selected="text"),  # an update, made when the event runs
        results.confidence: "",
        results.novelty: "",
        results.sample: gr.update(visible=False),
    }


def wire_generate(page: Page, controls: Controls, results: Results) -> gr.events.Dependency:
    """Generate: the seed resolved, the text streamed, then the views of the sample chosen."""
    output, run = results.output, results.run

    @page_errors
    def resolve_seed(seed: float | None, randomize: bool, request: gr.Request = None) -> int:
        return handlers.resolve_seed(seed, randomize)

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
        """Stream the text (seed included); the last update keeps the run for the views. `write_as`:
        one of the model's labels ("": any)."""
        settings = SamplingSettings.from_values(temperature, length, top_k, top_p, num_samples, seed, stop_at_eos)
        sid, prompt = page.session_id(request), prompt or ""
        generation = handlers.start_generation(page.registry, sid, model, prompt, settings, write_as)
        if generation.unknown:
            tokens = " ".join(generation.unknown)[:80]
            gr.Warning(say("the model has never seen {tokens}: they read as <unk>", request, tokens=tokens))
        try:
            if ahead := generation.waiting(handlers.STATUS_SECONDS / 4):  # the engine's batch is full
                gr.Info(say("waiting for a place: {ahead} requests ahead", request, ahead=ahead))
            text = prompt
            for text in generation.texts():
                yield {output: text}
        finally:
            generation.cancel()
        yield {output: text, run: generation.run}

    @page_errors
    def show_sample(run, chosen, request: gr.Request = None):
        """The confidence shading and the novelty check of the sample the user picked."""
        if run is None:
            return {results.confidence: "", results.novelty: ""}
        view = handlers.sample_view(page.registry, run, chosen, page_locale(request))
        return {results.confidence: view.confidence, results.novelty: view.novelty}

    @page_errors
    def annotate(run, request: gr.Request = None):
        """After a generation: the views of sample 1 and the sample picker."""
        if run is None:
            return {}
        count = max(1, len(run.steps[0].pieces) if run.steps else 1)
        picker = gr.update(choices=list(range(1, count + 1)), value=1, visible=count > 1)
        return {**show_sample(run, 1, request), results.sample: picker}

    inputs = [*controls.settings, controls.num_samples, controls.seed, controls.stop_at_eos, controls.write_as]
    generating = (
        controls.generate.click(
            functools.partial(cleared_views, results),
            None,
            [results.tabs, results.confidence, results.novelty, results.sample],
            queue=False,
            api_name=False,
        )
        .then(
            resolve_seed, [controls.seed, controls.randomize], controls.seed, api_name="resolve_seed", queue=False
        )
        .then(
            generate,
            inputs,
            [output, run],
            api_name="generate",
            concurrency_id="generate",
            concurrency_limit=page.generate_concurrency,
        )
    )
    outputs = [results.confidence, results.novelty, results.sample]
    generating.then(annotate, run, outputs, api_name="annotate", show_progress="hidden")
    results.sample.change(show_sample, [run, results.sample], outputs[:2], api_name=False, show_progress="hidden")
    return generating


def wire_compare(page: Page, controls: Controls, results: Results) -> gr.events.Dependency:
    """Compare temperatures: the same seed text at each, side by side in their own tab."""

    @page_errors
    def compare(model, prompt, length=200, seed=None, write_as="", request: gr.Request = None):
        """The same seed text at 0.2, 0.5, 1.0 and 1.2, in one batched call, streamed side by side."""
        sid = page.session_id(request)
        for texts in handlers.compare_temperatures(
            page.registry, sid, model, prompt or "", length, seed, write_as
        ):
            yield dict(zip(results.compared, texts))

    controls.compare.click(None, None, None, js=SCROLL_TO_RESULTS, api_name=False)  # in the browser only
    comparing = controls.compare.click(
        lambda: gr.Tabs(selected="compare"), None, results.tabs, queue=False, api_name=False
    ).then(
        compare,
        [controls.model, controls.prompt, controls.length, controls.seed, controls.write_as],
        results.compared,
        api_name="compare",
        concurrency_id="generate",
        concurrency_limit=page.generate_concurrency,
    )
    return comparing


def wire_model_picker(page: Page, controls: Controls) -> None:
    """Corpus and Level choose a shipped model; Advanced's model box any; "Write as" follows the model;
    a model zip loads into the session."""

    def refresh_corpora(request: gr.Request):
        """The Corpus list, refreshed when it gets the focus (one's own models appear as they are trained)."""
        return gr.update(choices=corpus_list(page, page.session_id(request)))

    def pick_corpus(corpus: str | None, level: str | None) -> tuple:
        level, model = handlers.pick_corpus(page.registry, corpus, level)
        levels = level_choices(page, corpus)
        return gr.update(choices=levels, value=level, visible=bool(levels)), model

    def pick_level(corpus: str | None, level: str | None):
        return page.registry.corpora.get(corpus or "", {}).get(level or "", gr.update())

    def follow_model(model: str | None, request: gr.Request):
        """The model set some other way (an example, a training run, a Hub id typed): Corpus and Level follow."""
        sid = page.session_id(request)
        corpus, level = handlers.corpus_and_level(page.registry, sid, model)
        levels = level_choices(page, corpus)
        return (
            gr.update(choices=corpus_list(page, sid), value=corpus),
            gr.update(choices=levels, value=level, visible=bool(levels)),  # a model of one's own has none
        )

    @page_errors
    def label_choices(model: str | None, request: gr.Request = None):
        """ "Write as": the labels the model was trained with and how many documents each had, or hidden."""
        labels = handlers.label_choices(page.registry, page.session_id(request), model)
        if labels is None:
            return gr.update(choices=[], value="", visible=False)
        listed = [(f"{name} ({count:,})", name) for name, count in labels]
        return gr.update(choices=[(say("any", request), ""), *listed], value="", visible=True)

    @page_errors
    def load_model_zip(path: str | None, request: gr.Request = None):
        """A model zip downloaded from this page (or made by train.py): loaded into this session."""
        if not path:
            return gr.update()
        sid = page.session_id(request)
        name = handlers.load_zip(page.registry, sid, path)
        return gr.update(choices=page.registry.choices(sid), value=name)

    model, corpus, level = controls.model, controls.corpus, controls.level
    model.focus(page.model_choices, None, model, api_name=False, queue=False)
    corpus.focus(refresh_corpora, None, corpus, api_name=False, queue=False)
    corpus.input(pick_corpus, [corpus, level], [level, model], api_name=False, queue=False)
    level.input(pick_level, [corpus, level], model, api_name=False, queue=False)
    model.change(follow_model, model, [corpus, level], api_name=False, queue=False)
    model.change(label_choices, model, controls.write_as, api_name=False, queue=False)
    controls.model_zip.upload(load_model_zip, controls.model_zip, model, api_name="load_zip")


def cowrite_panel(page: Page, controls: Controls, tab: gr.Tab) -> None:
    """Write with the model: its likeliest next tokens at the temperature (a chart and the entropy),
    click one to append it, or let it write 20 more (sampled with the tab's settings); undo steps back.
    The state is carried."""
    text = gr.Textbox(label=I18N("cowrite_text"), lines=4, elem_id="cowrite-text", info=I18N("cowrite_info"))
    chart = gr.HTML(elem_id="next-chart")
    choice = gr.Radio([], label=I18N("next_tokens"), elem_id="next-tokens")
    with gr.Row():
        more = gr.Button(I18N("write_more"), elem_id="write-more")
        undo = gr.Button(I18N("undo"), elem_id="undo")
    writer = gr.State()
    outputs = [text, chart, choice, writer]

    def render(current, temperature, request: gr.Request, typing: bool = False) -> dict:
        """The text (not while the user types in it), the next tokens' chart and list, the state."""
        if current is None:
            return {}
        view = handlers.cowrite_view(page.registry, current, temperature, page_locale(request))
        shown = {chart: view.chart, choice: gr.update(choices=view.choices, value=None), writer: current}
        return shown if typing else {text: view.text, **shown}

    @page_errors
    def begin(model, seed_text, typed, temperature, write_as="", request: gr.Request = None):
        current = handlers.cowrite_start(
            page.registry, page.session_id(request), model, seed_text, typed, write_as
        )
        return render(current, temperature, request)

    @page_errors
    def reshape(current, temperature, request: gr.Request = None):
        return render(current, temperature, request)

    @page_errors
    def follow(current, typed, temperature, request: gr.Request = None):
        """While the user types: the next tokens follow the text as it is now."""
        if current is None:
            return {}
        handlers.cowrite_follow(page.registry, current, typed)
        return render(current, temperature, request, typing=True)

    @page_errors
    def pick(current, typed, token, temperature, request: gr.Request = None):
        if current is None or token in (None, ""):
            return {}
        handlers.cowrite_follow(page.registry, current, typed)
        handlers.cowrite_pick(page.registry, current, token)
        return render(current, temperature, request)

    @page_errors
    def write_more(current, typed, temperature, top_k, top_p, request: gr.Request = None):
        if current is not None:
            handlers.cowrite_follow(page.registry, current, typed)
            handlers.cowrite_more(page.registry, current, temperature, top_k, top_p)
        return render(current, temperature, request)

    @page_errors
    def step_back(current, temperature, request: gr.Request = None):
        if current is not None:
            current.undo()
        return render(current, temperature, request)

    temperature = controls.temperature
    starting = [controls.model, controls.prompt, text, temperature, controls.write_as]
    tab.select(begin, starting, outputs, api_name=False)
    text.submit(begin, starting, outputs, api_name=False)
    text.input(
        follow,
        [writer, text, temperature],
        outputs[1:],
        api_name=False,
        show_progress="hidden",
        trigger_mode="always_last",
    )
    temperature.change(reshape, [writer, temperature], outputs, api_name=False, show_progress="hidden")
    choice.input(pick, [writer, text, choice, temperature], outputs, api_name=False, show_progress="hidden")
    inputs = [writer, text, temperature, controls.top_k, controls.top_p]
    more.click(write_more, inputs, outputs, api_name=False)
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
        for a labelled model: the label the text most likely has) with their probabilities at
        `temperature` (descending), and the entropy of the whole tempered distribution in bits (and at
        T=1)."""
        sid = page.session_id(request)
        return handlers.next_tokens_for(page.registry, sid, model, text or "", temperature, top_k, label)

    return next_tokens


def generation_stopped(request: gr.Request) -> None:
    gr.Info(say("stopped: the text so far is kept", request))

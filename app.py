"""textgen studio: pick a model, type a seed, watch an LSTM write; train one on your own text.

Run `python app.py` (host and port from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
import torch

from textgen import (
    MAX_LENGTH,
    MAX_SAMPLES,
    MAX_TOKENS_PER_REQUEST,
    SIZE_PRESETS,
    SUPPORTED_SUFFIXES,
    CorpusError,
    Evaluation,
    Finished,
    GenerationError,
    ModelRegistry,
    Progress,
    Step,
    TextgenError,
    Trainer,
    TrainingError,
    TrainingView,
    app_train_config,
    confidence_spans,
    corpus_stats,
    csv_columns,
    generate_steps,
    load_corpus,
    load_folder,
    new_seed,
    novelty_marks,
    prepare_data,
    push_folder,
    resolve_device,
    stream_texts,
    zip_model,
)

ROOT = Path(__file__).resolve().parent
CHECKPOINT_DIR = Path(os.environ.get("TEXTGEN_CHECKPOINTS", ROOT / "checkpoints"))
DEFAULT_MODEL = os.environ.get("TEXTGEN_DEFAULT_MODEL", "nyt-char")
MAX_UPLOAD_MB = float(os.environ.get("TEXTGEN_MAX_UPLOAD_MB", "10"))
SESSION_TTL_MINUTES = float(os.environ.get("TEXTGEN_SESSION_TTL_MINUTES", "60"))
MAX_TRAIN_MINUTES = float(os.environ.get("TEXTGEN_MAX_TRAIN_MINUTES", "10"))
GENERATE_CONCURRENCY = int(os.environ.get("TEXTGEN_GENERATE_CONCURRENCY", "4"))
TRAIN_CONCURRENCY = int(os.environ.get("TEXTGEN_TRAIN_CONCURRENCY", "1"))
COMPARE_TEMPERATURES = (0.2, 0.5, 1.0, 1.2)
PLOT_COLORS = {"train": "#4f46e5", "validation": "#ea580c", "unigram": "#9ca3af"}
STREAM_INTERVAL = 0.05  # seconds between streamed updates: ~20 a second is smooth enough
STATUS_INTERVAL = 1.0  # seconds between training status updates
NO_CHANGE = gr.skip()
USER_ERRORS = TextgenError  # only these become messages; anything else is a bug, logged as one

I18N = gr.I18n(
    en={
        "title": "# textgen studio\nAn LSTM language model writes, token by token. Train one on your own text.",
        "generate_tab": "Generate",
        "train_tab": "Train",
        "explore_tab": "Explore",
        "model": "Model (pick one, or type a Hub repo id user/name)",
        "prompt": "Seed text",
        "temperature": "Temperature",
        "length": "Length (tokens)",
        "length_info": f"One request writes at most {MAX_TOKENS_PER_REQUEST:,} tokens (length × number of samples).",
        "temperature_hint": "Low temperature: safe, repetitive text. High: surprising, often broken. 0 always picks the likeliest token.",
        "advanced": "Advanced",
        "top_k": "Top-k (0 = off)",
        "top_p": "Top-p (1 = off)",
        "num_samples": "Number of samples",
        "seed": "Random seed",
        "new_seed": "New random seed each time",
        "stop_eos": "Stop at the end of a headline / document",
        "generate": "Generate",
        "compare": "Compare temperatures (0.2, 0.5, 1.0, 1.2)",
        "output": "Generated text",
        "confidence": "How confident the model was (darker = more probable)",
        "novelty": "Novelty check",
        "upload": "Your corpus (.txt, .csv, .json, .jsonl)",
        "column": "CSV column / JSON field",
        "level": "Level",
        "size": "Model size",
        "minutes": "Time budget (minutes)",
        "train": "Train",
        "stop": "Stop (keep the best so far)",
        "loss_plot": "Loss in bits per character: training, held-out, and a unigram for reference",
        "samples": "Samples as it learns",
        "status": "Status",
        "download": "Download the model (zip)",
        "repo_id": "Hub repo id (user/name)",
        "token": "Your Hugging Face token (write access; never stored)",
        "push": "Push to the Hub",
        "stats": "Statistics",
        "lengths": "Document lengths (characters)",
        "top_tokens": "Most frequent tokens",
        "explore": "Explore",
    },
    ko={
        "title": "# textgen 스튜디오\nLSTM 언어 모델이 토큰 하나씩 글을 씁니다. 내 텍스트로 직접 학습시켜 보세요.",
        "generate_tab": "생성",
        "train_tab": "학습",
        "explore_tab": "탐색",
        "model": "모델 (목록에서 고르거나 Hub 저장소 id user/name 입력)",
        "prompt": "시작 텍스트",
        "temperature": "온도",
        "length": "길이 (토큰)",
        "length_info": f"한 번에 최대 {MAX_TOKENS_PER_REQUEST:,}개 토큰까지 씁니다 (길이 × 샘플 수).",
        "temperature_hint": "낮은 온도: 안전하고 반복적인 글. 높은 온도: 놀랍지만 자주 깨지는 글. 0은 항상 가장 그럴듯한 토큰을 고릅니다.",
        "advanced": "고급 설정",
        "top_k": "Top-k (0 = 끔)",
        "top_p": "Top-p (1 = 끔)",
        "num_samples": "샘플 수",
        "seed": "난수 시드",
        "new_seed": "매번 새 난수 시드",
        "stop_eos": "제목/문서 끝에서 멈추기",
        "generate": "생성",
        "compare": "온도 비교 (0.2, 0.5, 1.0, 1.2)",
        "output": "생성된 텍스트",
        "confidence": "모델의 확신 정도 (진할수록 확률이 높음)",
        "novelty": "새로움 검사",
        "upload": "내 말뭉치 (.txt, .csv, .json, .jsonl)",
        "column": "CSV 열 / JSON 필드",
        "level": "단위",
        "size": "모델 크기",
        "minutes": "시간 예산 (분)",
        "train": "학습",
        "stop": "멈추기 (지금까지 최고 모델 유지)",
        "loss_plot": "글자당 비트 손실: 학습, 검증(보류), 참고용 유니그램",
        "samples": "학습 중 샘플",
        "status": "상태",
        "download": "모델 내려받기 (zip)",
        "repo_id": "Hub 저장소 id (user/name)",
        "token": "Hugging Face 토큰 (쓰기 권한, 저장하지 않음)",
        "push": "Hub에 올리기",
        "stats": "통계",
        "lengths": "문서 길이 (글자)",
        "top_tokens": "가장 자주 나오는 토큰",
        "explore": "탐색",
    },
)

REGISTRY: ModelRegistry | None = None


def registry() -> ModelRegistry:
    global REGISTRY
    if REGISTRY is None:  # lists checkpoints/ only; each model loads on its first use
        device = resolve_device(os.environ.get("TEXTGEN_DEVICE", "auto"))
        REGISTRY = ModelRegistry(CHECKPOINT_DIR, device, session_ttl=60 * SESSION_TTL_MINUTES)
    return REGISTRY


def session_id(request: gr.Request | None) -> str:
    return request.session_hash if request is not None and request.session_hash else "api"


def user_error(err: Exception) -> gr.Error:
    return gr.Error(str(err), print_exception=False)


# ---------------------------------------------------------------- generate


def whole_number(value: float | None, name: str) -> int:
    """A number box's value as an int, or a clear message (an API call can send 1e400 or NaN)."""
    try:
        number = float(value)
        if not math.isfinite(number) or number != int(number):
            raise ValueError
        return int(number)
    except (TypeError, ValueError, OverflowError):
        raise GenerationError(f"{name} must be a whole number, not {str(value)[:20]}") from None


def number(value: float | None, name: str) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise GenerationError(f"{name} must be a number, not {str(value)[:20]}") from None
    if not math.isfinite(result):
        raise GenerationError(f"{name} must be a finite number, not {result}")
    return result


def optional_seed(seed: float | None) -> int | None:
    """The page's number box: empty or negative means "draw a fresh one"."""
    if seed is None:
        return None
    seed = whole_number(seed, "the random seed")
    return None if seed < 0 else seed


def resolve_seed(seed: float | None, randomize: bool) -> int:
    try:
        chosen = None if randomize else optional_seed(seed)
    except GenerationError as err:
        raise user_error(err) from None
    return new_seed() if chosen is None else chosen


def start_steps(model: str, prompt: str, request: gr.Request | None, **settings):
    """This session's (or a shipped, or a Hub) model, sampling from `prompt`."""
    loaded = registry().get(model, session_id(request))
    return generate_steps(loaded.model, loaded.tokenizer, prompt or "", **settings)


def generate(
    model: str,
    prompt: str,
    temperature: float = 0.8,
    length: int = 200,
    top_k: int = 0,
    top_p: float = 1.0,
    num_samples: int = 1,
    seed: float | None = None,
    stop_at_eos: bool = False,
    request: gr.Request = None,
):
    """Stream the generated text (prompt included); the last update also fills the annotation state."""
    try:
        steps = start_steps(
            model,
            prompt,
            request,
            temperature=number(temperature, "temperature"),
            length=whole_number(length, "length"),
            top_k=whole_number(top_k, "top-k"),
            top_p=number(top_p, "top-p"),
            num_samples=whole_number(num_samples, "the number of samples"),
            stop_at_eos=bool(stop_at_eos),
            seed=optional_seed(seed),
        )
        record: list[Step] = []
        recorded = (record.append(step) or step for step in steps)  # kept for the annotations
        for texts in stream_texts(recorded, prompt or "", interval=STREAM_INTERVAL):
            yield join_samples(texts), gr.skip()
        yield (
            join_samples(texts),
            {"model": model, "session": session_id(request), "steps": record, "texts": texts},
        )
    except USER_ERRORS as err:
        raise user_error(err) from None


def join_samples(texts: list[str]) -> str:
    if len(texts) == 1:
        return texts[0]
    return "\n\n".join(f"[{i}] {text.rstrip()}" for i, text in enumerate(texts, 1))


def annotate(record: dict | None):
    """Shade each token of the first sample by its probability, and mark copies of training documents."""
    if not record:
        return gr.skip(), gr.skip()
    loaded = registry().get(record["model"], record["session"])
    spans = confidence_spans(record["steps"])
    marks = [
        f"- {'**COPY** of a training document' if copied else 'new'}: {doc[:120]}"
        for text in record["texts"]
        for doc, copied in novelty_marks(loaded, text)
    ]
    if not loaded.novelty:
        marks = ["(this model ships no training-document hashes, so copies cannot be checked)"]
    return spans, "\n".join(marks) or "(nothing generated)"


def compare_temperatures(
    model: str, prompt: str, length: int = 200, seed: float | None = None, request: gr.Request = None
):
    """The same seed text at 0.2, 0.5, 1.0 and 1.2, in one batched call, streamed side by side."""
    try:
        steps = start_steps(
            model,
            prompt,
            request,
            temperature=list(COMPARE_TEMPERATURES),
            length=whole_number(length, "length"),
            seed=optional_seed(seed),
        )
        for texts in stream_texts(steps, prompt or "", interval=STREAM_INTERVAL):
            yield tuple(texts)
    except USER_ERRORS as err:
        raise user_error(err) from None


def refresh_models(request: gr.Request):
    return gr.update(choices=registry().choices(session_id(request)))


# ---------------------------------------------------------------- train


def read_upload(path: str | None, column: str | None) -> list[str]:
    if not path:
        raise CorpusError("upload a .txt, .csv or .json file first")
    if Path(path).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise CorpusError(f"{Path(path).name}: use one of {', '.join(SUPPORTED_SUFFIXES)}")
    return load_corpus(path, column=column or None).documents


def upload_columns(path: str | None):
    """After an upload: offer the CSV's columns (or nothing for plain text)."""
    if not path or Path(path).suffix.lower() not in (".csv", ".tsv"):
        return gr.update(choices=[], value=None, visible=False)
    try:
        columns, guess = csv_columns(path)
    except CorpusError as err:
        raise user_error(err) from None
    return gr.update(choices=columns, value=guess or (columns[0] if columns else None), visible=True)


def train(
    path: str | None,
    column: str | None,
    level: str,
    size: str,
    minutes: float,
    prompt: str,
    request: gr.Request,
):
    """Train on the upload; stream the loss plot, samples and status; register the model in this session."""
    sid = session_id(request)
    session = registry().session(sid)
    try:
        minutes = number(minutes, "the time budget")
        if minutes <= 0:
            raise TrainingError("the time budget must be more than 0 minutes")
        config = app_train_config(level, size, min(minutes, MAX_TRAIN_MINUTES), prompt or "")
        documents = read_upload(path, column)
        data = prepare_data(documents, config)
    except USER_ERRORS as err:
        raise user_error(err) from None
    name = f"{Path(path).stem}-{level}-{size}-{len(session.models) + 1}"
    out_dir = session.directory / name
    info = {"corpus": Path(path).name, "title": name}
    trainer = Trainer(config, data, out_dir=out_dir, info=info, resumable=False)  # the page never resumes
    session.stop_requested = False
    view = TrainingView(trainer.unigram["bits_per_char"], config.patience)
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
            yield TrainOutputs(
                loss_plot=view.plot(),
                samples=view.samples,
                status=view.status(trainer.progress_fraction(), event.step, event.elapsed, remaining(trainer)),
            )
        elif isinstance(event, Finished):
            registry().add(sid, name, load_folder(out_dir, registry().device))
            yield TrainOutputs(
                status=view.finished(event, name),
                model=gr.update(choices=registry().choices(sid), value=name),
                archive=str(zip_model(out_dir, session.directory)),
            )


class TrainOutputs(NamedTuple):
    """What one training update changes; the event's outputs are wired in this order."""

    loss_plot: Any = NO_CHANGE
    samples: Any = NO_CHANGE
    status: Any = NO_CHANGE
    model: Any = NO_CHANGE
    archive: Any = NO_CHANGE


def remaining(trainer: Trainer) -> float | None:
    """Training seconds left: by the time budget, or by the steps left at the pace so far."""
    run = trainer.state
    by_steps = (trainer.total_steps - run.step) * run.elapsed / max(run.step, 1)
    if trainer.config.max_minutes:
        return min(60 * trainer.config.max_minutes - run.elapsed, by_steps)
    return by_steps


def stop_training(request: gr.Request) -> str:
    registry().session(session_id(request)).stop_requested = True
    return "stopping after the next evaluation…"


def push(model: str, repo_id: str, token: str, request: gr.Request) -> str:
    """Push one of this session's trained models with the user's own token (never logged or kept)."""
    session = registry().session(session_id(request))
    if model not in session.models:
        raise gr.Error("pick a model you trained in this session (shipped models are already on the Hub)")
    if not token:
        raise gr.Error("paste a Hugging Face token with write access")
    try:
        url = push_folder(session.models[model].source, repo_id.strip(), token=token.strip())
    except TextgenError as err:
        raise user_error(err) from None
    return f"pushed: {url}"


# ---------------------------------------------------------------- explore


def explore(path: str | None, column: str | None, level: str):
    """Statistics of the uploaded corpus, or of the NYT headlines when nothing is uploaded."""
    try:
        corpus = load_corpus(path, column=column or None) if path else load_corpus("nyt")
    except USER_ERRORS as err:
        raise user_error(err) from None
    stats = corpus_stats(corpus.documents, level)
    summary = (
        f"**{corpus.name}**: {stats.documents:,} documents, {stats.characters:,} characters, "
        f"{stats.vocabulary:,} distinct {'words' if level == 'word' else 'characters'}"
    )
    return summary, stats.length_histogram, stats.top_tokens


def forget_session(request: gr.Request) -> None:
    registry().drop_session(session_id(request))


# ---------------------------------------------------------------- layout


def build_demo() -> gr.Blocks:
    models = registry().choices(None)
    # Gradio keeps uploads and returned files (zips) in its cache: remove those older than a session.
    cache_seconds = int(60 * SESSION_TTL_MINUTES)
    with gr.Blocks(title="textgen studio", delete_cache=(min(600, cache_seconds), cache_seconds)) as demo:
        gr.Markdown(I18N("title"))
        with gr.Tab(I18N("generate_tab")):
            with gr.Row():
                with gr.Column(scale=2):
                    model = gr.Dropdown(
                        choices=models,
                        value=DEFAULT_MODEL if DEFAULT_MODEL in models else None,
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
                        num_samples = gr.Slider(1, MAX_SAMPLES, value=1, step=1, label=I18N("num_samples"))
                        seed = gr.Number(value=new_seed(), step=1, label=I18N("seed"), elem_id="seed")
                        randomize = gr.Checkbox(value=True, label=I18N("new_seed"))
                        stop_at_eos = gr.Checkbox(value=False, label=I18N("stop_eos"))
                    with gr.Row():
                        generate_button = gr.Button(I18N("generate"), variant="primary", elem_id="generate")
                        compare_button = gr.Button(I18N("compare"))
                with gr.Column(scale=3):
                    output = gr.Textbox(label=I18N("output"), lines=10, elem_id="output", buttons=["copy"])
                    confidence = gr.HighlightedText(
                        label=I18N("confidence"),
                        show_legend=False,
                        show_inline_category=False,
                        combine_adjacent=False,
                    )
                    novelty = gr.Markdown(label=I18N("novelty"))
            with gr.Row():
                compared = [
                    gr.Textbox(label=f"T = {t}", lines=6, elem_id=f"compare-{i}")
                    for i, t in enumerate(COMPARE_TEMPERATURES)
                ]
            record = gr.State()
            generate_examples = [
                ["nyt-char", "Trump", 0.5, 120],
                ["nyt-word", "The", 0.8, 30],
                ["nyt-char", "How to", 1.0, 120],
            ]
            gr.Examples(  # labels, not a table: Gradio shows untranslated I18n headers in example tables
                generate_examples,
                inputs=[model, prompt, temperature, length],
                example_labels=[f"{m}: “{p}” at T={t}" for m, p, t, _ in generate_examples],
            )

        with gr.Tab(I18N("train_tab")), gr.Row():
            with gr.Column():
                upload = gr.File(label=I18N("upload"), file_types=list(SUPPORTED_SUFFIXES), type="filepath")
                column = gr.Dropdown(label=I18N("column"), visible=False, allow_custom_value=True)
                level = gr.Radio(["char", "word"], value="char", label=I18N("level"))
                size = gr.Radio(list(SIZE_PRESETS), value="tiny", label=I18N("size"))
                minutes = gr.Slider(0.1, MAX_TRAIN_MINUTES, value=1, step=0.1, label=I18N("minutes"))
                sample_prompt = gr.Textbox(label=I18N("prompt"), value="")
                with gr.Row():
                    train_button = gr.Button(I18N("train"), variant="primary", elem_id="train")
                    stop_button = gr.Button(I18N("stop"), variant="stop")
                gr.Examples(
                    [["char", "tiny", 1, "사랑은"], ["word", "small", 2, "The"]],
                    inputs=[level, size, minutes, sample_prompt],
                    example_labels=[
                        "Korean (e.g. sayings, cp949 is fine): char, tiny, 1 min, seed “사랑은”",
                        "English: word, small, 2 min, seed “The”",
                    ],
                )
            with gr.Column():
                status = gr.HTML(label=I18N("status"), elem_id="train-status")
                loss_plot = gr.LinePlot(
                    x="step",
                    y="bits_per_char",
                    color="split",
                    color_map=PLOT_COLORS,
                    y_title="bits per character",
                    label=I18N("loss_plot"),
                    elem_id="loss-plot",
                )
                samples = gr.Textbox(label=I18N("samples"), lines=5)
                archive = gr.File(label=I18N("download"))
                with gr.Row():
                    repo_id = gr.Textbox(label=I18N("repo_id"))
                    token = gr.Textbox(label=I18N("token"), type="password")
                push_button = gr.Button(I18N("push"))
                push_status = gr.Markdown()

        with gr.Tab(I18N("explore_tab")):
            with gr.Row():
                explore_level = gr.Radio(["char", "word"], value="char", label=I18N("level"))
                explore_button = gr.Button(I18N("explore"), variant="primary")
            summary = gr.Markdown(label=I18N("stats"))
            with gr.Row():
                histogram = gr.BarPlot(x="length", y="documents", label=I18N("lengths"))
                top_tokens = gr.BarPlot(x="token", y="count", label=I18N("top_tokens"), sort="-y")

        generate_inputs = [model, prompt, temperature, length, top_k, top_p, num_samples, seed, stop_at_eos]
        generate_button.click(resolve_seed, [seed, randomize], seed, api_name="resolve_seed", queue=False).then(
            generate,
            generate_inputs,
            [output, record],
            api_name="generate",
            concurrency_id="generate",
            concurrency_limit=GENERATE_CONCURRENCY,
        ).then(annotate, record, [confidence, novelty], api_name="annotate")
        compare_button.click(
            compare_temperatures,
            [model, prompt, length, seed],
            compared,
            api_name="compare",
            concurrency_id="generate",
            concurrency_limit=GENERATE_CONCURRENCY,
        )
        model.focus(refresh_models, None, model, api_name=False, queue=False)
        upload.upload(upload_columns, upload, column, api_name="columns")
        train_outputs = {"loss_plot": loss_plot, "samples": samples, "status": status, "model": model}
        train_outputs["archive"] = archive
        train_button.click(
            train,
            [upload, column, level, size, minutes, sample_prompt],
            [train_outputs[name] for name in TrainOutputs._fields],
            api_name="train",
            concurrency_id="train",
            concurrency_limit=TRAIN_CONCURRENCY,
            show_progress="hidden",  # the status line has its own progress bar; the plot stays in view
        )
        stop_button.click(stop_training, None, status, api_name="stop", queue=False)
        push_button.click(push, [model, repo_id, token], push_status, api_name="push")
        explore_button.click(
            explore, [upload, column, explore_level], [summary, histogram, top_tokens], api_name="explore"
        )
        demo.unload(forget_session)
    return demo


def launch(demo: gr.Blocks, **kwargs):
    # One thread per torch op: a training run and a generation then share the 2 cores instead of
    # oversubscribing them (which slowed both by 10x and more when measured).
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    return demo.queue(default_concurrency_limit=GENERATE_CONCURRENCY).launch(
        max_file_size=int(MAX_UPLOAD_MB * 2**20), i18n=I18N, **kwargs
    )


demo = build_demo()

if __name__ == "__main__":
    launch(demo)

"""textgen studio: pick a model, type a seed, watch an LSTM write; train one on your own text.

Run `python app.py` (host and port from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import gradio as gr
import pandas as pd
import torch

from textgen import (
    CheckpointError,
    CorpusError,
    Evaluation,
    Finished,
    GenerationError,
    Progress,
    Step,
    Trainer,
    TrainingError,
    generate_steps,
    load_corpus,
    load_folder,
    new_seed,
    prepare_data,
    resolve_device,
    stream_texts,
)
from textgen.corpus import SUPPORTED_SUFFIXES, csv_columns
from textgen.explore import corpus_stats
from textgen.hub import HubError, push_folder
from textgen.sampling import MAX_LENGTH, MAX_SAMPLES
from textgen.studio import (
    SIZE_PRESETS,
    ModelRegistry,
    app_train_config,
    confidence_spans,
    novelty_marks,
    zip_model,
)

ROOT = Path(__file__).resolve().parent
CHECKPOINT_DIR = Path(os.environ.get("TEXTGEN_CHECKPOINTS", ROOT / "checkpoints"))
DEFAULT_MODEL = os.environ.get("TEXTGEN_DEFAULT_MODEL", "nyt-char")
MAX_UPLOAD_MB = float(os.environ.get("TEXTGEN_MAX_UPLOAD_MB", "10"))
MAX_TRAIN_MINUTES = float(os.environ.get("TEXTGEN_MAX_TRAIN_MINUTES", "10"))
GENERATE_CONCURRENCY = int(os.environ.get("TEXTGEN_GENERATE_CONCURRENCY", "4"))
TRAIN_CONCURRENCY = int(os.environ.get("TEXTGEN_TRAIN_CONCURRENCY", "1"))
COMPARE_TEMPERATURES = (0.2, 0.5, 1.0, 1.2)
STREAM_INTERVAL = 0.05  # seconds between streamed updates: ~20 a second is smooth enough
USER_ERRORS = (CorpusError, CheckpointError, GenerationError, TrainingError, ValueError)

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
        "loss_plot": "Loss (nats per token)",
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
        "loss_plot": "손실 (토큰당 nats)",
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
        REGISTRY = ModelRegistry(CHECKPOINT_DIR, resolve_device(os.environ.get("TEXTGEN_DEVICE", "auto")))
    return REGISTRY


def session_id(request: gr.Request | None) -> str:
    return request.session_hash if request is not None and request.session_hash else "api"


def user_error(err: Exception) -> gr.Error:
    return gr.Error(str(err), print_exception=False)


# ---------------------------------------------------------------- generate


def optional_seed(seed: float | None) -> int | None:
    """The page's number box: empty or negative means "draw a fresh one"."""
    return None if seed is None or seed < 0 else int(seed)


def resolve_seed(seed: float | None, randomize: bool) -> int:
    chosen = None if randomize else optional_seed(seed)
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
            temperature=float(temperature),
            length=int(length),
            top_k=int(top_k),
            top_p=float(top_p),
            num_samples=int(num_samples),
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
            length=int(length),
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
    progress=gr.Progress(),
):
    """Train on the upload; stream the loss plot, samples and status; register the model in this session."""
    sid = session_id(request)
    session = registry().session(sid)
    try:
        documents = read_upload(path, column)
        config = app_train_config(level, size, min(float(minutes), MAX_TRAIN_MINUTES), prompt or "")
        data = prepare_data(documents, config)
    except USER_ERRORS as err:
        raise user_error(err) from None
    name = f"{Path(path).stem}-{level}-{size}-{len(session.models) + 1}"
    out_dir = session.directory / name
    info = {"corpus": Path(path).name, "title": name}
    trainer = Trainer(config, data, out_dir=out_dir, info=info, resumable=False)  # the page never resumes
    session.stop_requested = False
    history: list[dict] = []
    train_losses: list[float] = []
    last = 0.0
    for event in trainer.run():
        trainer.stop_requested = session.stop_requested
        if isinstance(event, Progress):
            train_losses.append(event.train_loss)
            progress(min(trainer.progress_fraction(), 1.0), desc=f"step {event.step}")
            if time.monotonic() - last > 1.0:
                last = time.monotonic()
                yield (
                    gr.skip(),
                    gr.skip(),
                    f"training… step {event.step}, loss {event.train_loss:.3f}",
                    gr.skip(),
                    gr.skip(),
                )
        elif isinstance(event, Evaluation):
            history.append({"step": event.step, "loss": sum(train_losses) / len(train_losses), "split": "train"})
            history.append({"step": event.step, "loss": event.val["loss"], "split": "validation"})
            train_losses.clear()
            samples = "\n".join(f"T={t}: {s}" for t, s in event.samples.items())
            status = f"step {event.step}: validation {event.val['bits_per_char']:.3f} bits/char" + (
                " (best so far)" if event.is_best else ""
            )
            yield pd.DataFrame(history), samples, status, gr.skip(), gr.skip()
        elif isinstance(event, Finished):
            registry().add(sid, name, load_folder(out_dir, registry().device))
            status = (
                f"**{name}** is ready ({event.reason}): {event.best['bits_per_char']:.3f} bits/char on held-out text "
                f"(unigram baseline {event.unigram['bits_per_char']:.3f}). Pick it in Generate."
            )
            archive = str(zip_model(out_dir, session.directory))
            yield gr.skip(), gr.skip(), status, gr.update(choices=registry().choices(sid), value=name), archive


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
    except (HubError, CheckpointError) as err:
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
    with gr.Blocks(title="textgen studio") as demo:
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
                    length = gr.Slider(1, MAX_LENGTH, value=200, step=1, label=I18N("length"))
                    with gr.Accordion(I18N("advanced"), open=False):
                        top_k = gr.Number(value=0, precision=0, minimum=0, label=I18N("top_k"))
                        top_p = gr.Slider(0.05, 1, value=1.0, step=0.05, label=I18N("top_p"))
                        num_samples = gr.Slider(1, MAX_SAMPLES, value=1, step=1, label=I18N("num_samples"))
                        seed = gr.Number(value=new_seed(), precision=0, label=I18N("seed"), elem_id="seed")
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
                status = gr.Markdown(label=I18N("status"), elem_id="train-status")
                loss_plot = gr.LinePlot(x="step", y="loss", color="split", label=I18N("loss_plot"))
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
        train_button.click(
            train,
            [upload, column, level, size, minutes, sample_prompt],
            [loss_plot, samples, status, model, archive],
            api_name="train",
            concurrency_id="train",
            concurrency_limit=TRAIN_CONCURRENCY,
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
        max_file_size=f"{MAX_UPLOAD_MB:g}mb", i18n=I18N, **kwargs
    )


demo = build_demo()

if __name__ == "__main__":
    launch(demo)

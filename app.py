"""textgen studio: pick a model, type a seed, watch an LSTM write; train one on your own text.

Run `python app.py` (host and port from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT). This file is the
server's settings (environment variables), the models it serves, the one call that needs a GPU, and
the page put together from its tabs (textgen/page: one module per tab). The page speaks the browser's
language (textgen/locales).
"""

from __future__ import annotations

# On a ZeroGPU Space `spaces` must be imported before anything touches CUDA; elsewhere it does nothing.
import spaces  # isort: skip

import atexit
import os
import signal
import sys
from pathlib import Path

import gradio as gr
import torch

from textgen import ModelRegistry, TextgenError
from textgen.device import resolve_device
from textgen.jobs import ZEROGPU_DEFAULT_MINUTES, ZEROGPU_MAX_MINUTES, TrainingJob, run_job
from textgen.model import MAX_MODEL_MB_ENV
from textgen.page.chat_tab import chat_api, chat_tab
from textgen.page.common import I18N, PAGE_CSS, Page
from textgen.page.explore_tab import explore_tab
from textgen.page.generate_tab import generate_tab, next_tokens_api
from textgen.page.train_tab import train_tab

ROOT = Path(__file__).resolve().parent
CHECKPOINT_DIR = Path(os.environ.get("TEXTGEN_CHECKPOINTS", ROOT / "checkpoints"))
DEFAULT_MODEL = os.environ.get("TEXTGEN_DEFAULT_MODEL", "nyt-char")
MAX_UPLOAD_MB = float(os.environ.get("TEXTGEN_MAX_UPLOAD_MB", "10"))
# On ZeroGPU only a decorated call may touch CUDA (the main process is told a GPU exists, but using
# it raises): models load and generate on the CPU there, and training runs in `train_on_device`, each
# run on a GPU of its own, declared as its budget and the work around it (jobs.py). The budgets there
# follow the visitors' daily quotas: the default run is admitted for anyone, three for a free account.
ZERO_GPU = os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true")
DEVICE = "cpu" if ZERO_GPU else os.environ.get("TEXTGEN_DEVICE", "auto")
MAX_TRAIN_MINUTES = float(os.environ.get("TEXTGEN_MAX_TRAIN_MINUTES", ZEROGPU_MAX_MINUTES if ZERO_GPU else 10))
DEFAULT_TRAIN_MINUTES = min(ZEROGPU_DEFAULT_MINUTES if ZERO_GPU else 1.0, MAX_TRAIN_MINUTES)
# Generation requests mostly wait for their model's engine, which steps them together, so many may
# be in flight; the engine caps the rows it steps at once (TEXTGEN_MAX_BATCH_ROWS) and queues the rest.
# 128 of each: 100 users at once see their first text within 0.85 s at p95 on 2 cores, where 64 left
# 36 of them queued behind the others' whole calls (1.6-2.6 s; BENCHMARKS.md, section 2b).
GENERATE_CONCURRENCY = int(os.environ.get("TEXTGEN_GENERATE_CONCURRENCY", "128"))
MAX_BATCH_ROWS = int(os.environ.get("TEXTGEN_MAX_BATCH_ROWS", "128"))
TRAIN_CONCURRENCY = int(os.environ.get("TEXTGEN_TRAIN_CONCURRENCY", "4" if ZERO_GPU else "1"))
SESSION_TTL_MINUTES = float(os.environ.get("TEXTGEN_SESSION_TTL_MINUTES", "60"))
# The weights' precision for generating: auto is bf16 on a CPU that does bf16 natively (twice the
# streams per second there, for 0.0001 bits/char: BENCHMARKS.md), else fp32.
DECODING_PRECISION = os.environ.get("TEXTGEN_DECODING_PRECISION", "auto")
# On a Hugging Face Space, users sign in with Hugging Face to push (README front matter: hf_oauth).
# Elsewhere a LoginButton would make Gradio ask the Hub for a local token at start, which fails
# offline: local runs keep the token box instead.
ON_SPACE = bool(os.environ.get("SPACE_ID"))

# Memory a public server can live with. A model a visitor brings (a zip, a Hub id) may be as large
# as the largest the page trains with room to spare: a medium (512-wide) word model on a 10 MB upload
# is about 110 MB (24,383 words in 2.7 MB of our corpora make 56 MB; a vocabulary grows about as the
# square root of the text). All visitors' models together stay within a budget, the least recently
# used let go first; the Hub cache is trimmed; Gradio keeps at most so many sessions' state.
os.environ.setdefault(MAX_MODEL_MB_ENV, "256")
VISITOR_MODELS_MB = float(os.environ.get("TEXTGEN_VISITOR_MODELS_MB", "2048"))
HUB_CACHE_MB = float(os.environ.get("TEXTGEN_HUB_CACHE_MB", "2048"))
MAX_SESSIONS = int(os.environ.get("TEXTGEN_MAX_SESSIONS", "1000"))

# Shipped models for everyone, trained and uploaded ones private to a browser session.
REGISTRY = ModelRegistry(
    CHECKPOINT_DIR,
    resolve_device(DEVICE),
    session_ttl=60 * SESSION_TTL_MINUTES,
    max_batch_rows=MAX_BATCH_ROWS,
    decoding_precision=DECODING_PRECISION,
    visitor_models_bytes=int(VISITOR_MODELS_MB * 2**20),
    hub_cache_bytes=int(HUB_CACHE_MB * 2**20),
)


@spaces.GPU(duration=lambda job: job.gpu_seconds())
def train_on_device(job: TrainingJob):
    """The one call that needs a GPU: on ZeroGPU it holds one in a worker process (the job and every
    event pickled across); elsewhere it runs here, on whatever device this machine has."""
    try:
        yield from run_job(job)
    except TextgenError as err:  # from ZeroGPU's worker only a gr.Error comes back as itself
        raise gr.Error(err.render(job.locale), print_exception=False) from None


PAGE = Page(
    REGISTRY,
    train_on_device,
    max_train_minutes=MAX_TRAIN_MINUTES,
    default_train_minutes=DEFAULT_TRAIN_MINUTES,
    train_concurrency=TRAIN_CONCURRENCY,
    generate_concurrency=GENERATE_CONCURRENCY,
    session_ttl_minutes=SESSION_TTL_MINUTES,
    on_space=ON_SPACE,
)


def build_demo() -> gr.Blocks:
    models = REGISTRY.choices(None)
    default_model = DEFAULT_MODEL if DEFAULT_MODEL in models else None
    # Gradio keeps uploads and returned files (zips) in its cache: remove those older than a session.
    cache_seconds = int(60 * SESSION_TTL_MINUTES)
    with gr.Blocks(title="textgen studio", delete_cache=(min(600, cache_seconds), cache_seconds)) as demo:
        gr.Markdown(I18N("title"))
        if ON_SPACE:  # a visitor can run a copy of their own (on their own quota and hardware)
            gr.DuplicateButton(I18N("duplicate"), size="sm")
        with gr.Tab(I18N("generate_tab")):
            generate_model = generate_tab(PAGE, models, default_model)
        with gr.Tab(I18N("train_tab")):
            train_tab(PAGE, models, generate_model)
        with gr.Tab(I18N("chat_tab")):
            chat_tab(PAGE)
        with gr.Tab(I18N("explore_tab")):
            explore_tab(PAGE, models, default_model)
        gr.api(next_tokens_api(PAGE), api_name="next_tokens")
        gr.api(chat_api(PAGE), api_name="chat")
        owner = gr.BrowserState(None, storage_key="textgen-owner")
        demo.load(PAGE.claim_owner, owner, owner, api_name=False, queue=False)
        demo.unload(PAGE.forget_page)
    return demo


def launch(demo: gr.Blocks, **kwargs):
    # One thread per torch op: a training run and a generation then share the 2 cores instead of
    # oversubscribing them (which slowed both by 10x and more when measured).
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    REGISTRY.expire_every(min(60.0, 60 * SESSION_TTL_MINUTES / 4))
    # Stopped (Ctrl+C, or SIGTERM from a supervisor): the sessions' folders go with the server.
    atexit.register(REGISTRY.close)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return demo.queue(default_concurrency_limit=GENERATE_CONCURRENCY).launch(
        max_file_size=int(MAX_UPLOAD_MB * 2**20),
        i18n=I18N,
        css=PAGE_CSS,
        max_threads=GENERATE_CONCURRENCY + 16,
        state_session_capacity=MAX_SESSIONS,
        **kwargs,
    )


demo = build_demo()

if __name__ == "__main__":
    launch(demo)

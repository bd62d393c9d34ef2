"""textgen: LSTM language models that train fast, sample statefully and save as safetensors.

The public API: `app.py`, `train.py` and the benchmarks import from here only.
"""

from .card import RunInfo
from .checkpoints import (
    LoadedModel,
    TrainedModel,
    document_hash,
    load_folder,
    load_run,
    save_checkpoint,
    save_run,
)
from .config import TrainConfig
from .corpus import (
    SUPPORTED_SUFFIXES,
    Corpus,
    CorpusStream,
    Reading,
    csv_columns,
    iter_documents,
    load_corpus,
    read_documents,
    read_upload,
    stream_corpus,
)
from .cowrite import CoWriter, next_tokens_html
from .cowrite import shown as shown_token
from .data import prepare_data
from .device import resolve_device
from .distributed import backend as distributed_backend
from .distributed import rank_and_world
from .distributed import start as start_distributed
from .distributed import stop as stop_distributed
from .errors import CheckpointError, CorpusError, GenerationError, HubError, TextgenError, TrainingError
from .events import Evaluation, Finished, Progress
from .explore import CorpusStats, corpus_stats
from .finetune import FINE_TUNE_LR, fine_tune_setup
from .hub import check_push, is_repo_ref, load_hub_model, load_model, push_folder, push_space, quiet_hub_logging
from .jobs import PageUpdate, TrainingJob, follow, run_job
from .labelled import Labels, labelled_prompt
from .messages import LOCALES, labels, locale_of, translate
from .metrics import Metrics, evaluate, unigram_metrics
from .model import LSTMConfig, LSTMLanguageModel
from .plaintext import LAYOUTS, Layout
from .sampling import (
    MAX_LENGTH,
    MAX_PROMPT_CHARS,
    MAX_SAMPLES,
    MAX_TOKENS_PER_REQUEST,
    SAMPLE_TEMPERATURES,
    NextTokens,
    Step,
    check_prompt,
    finite_number,
    generate,
    generate_steps,
    new_seed,
    next_tokens,
    optional_seed,
    page_settings,
    prime_text,
    stream_texts,
    validate_settings,
    whole_number,
)
from .studio import SIZE_PRESETS, ModelRegistry, app_train_config, unpack_model_zip, zip_model
from .textfile import read_text
from .tokencache import default_cache_dir
from .tokenizer import CharTokenizer, Tokenizer, WordTokenizer, fit_tokenizer, load_tokenizer
from .training import Trainer, TrainerState, run_and_save
from .views import (
    GeneratedRun,
    TrainingView,
    confidence_html,
    explore_summary,
    generated_documents,
    histogram_frame,
    novelty_markdown,
    reading_summary,
    recording,
    samples_text,
    series_name,
    speakers_frame,
    top_tokens_frame,
)
from .webpage import export_web

__all__ = [
    "FINE_TUNE_LR",
    "LAYOUTS",
    "LOCALES",
    "MAX_LENGTH",
    "MAX_PROMPT_CHARS",
    "MAX_SAMPLES",
    "MAX_TOKENS_PER_REQUEST",
    "SAMPLE_TEMPERATURES",
    "SIZE_PRESETS",
    "SUPPORTED_SUFFIXES",
    "CharTokenizer",
    "CheckpointError",
    "CoWriter",
    "Corpus",
    "CorpusError",
    "CorpusStats",
    "CorpusStream",
    "Evaluation",
    "Finished",
    "GeneratedRun",
    "GenerationError",
    "HubError",
    "LSTMConfig",
    "LSTMLanguageModel",
    "Labels",
    "Layout",
    "LoadedModel",
    "Metrics",
    "ModelRegistry",
    "NextTokens",
    "PageUpdate",
    "Progress",
    "Reading",
    "RunInfo",
    "Step",
    "TextgenError",
    "Tokenizer",
    "TrainConfig",
    "TrainedModel",
    "Trainer",
    "TrainerState",
    "TrainingError",
    "TrainingJob",
    "TrainingView",
    "WordTokenizer",
    "app_train_config",
    "check_prompt",
    "check_push",
    "confidence_html",
    "corpus_stats",
    "csv_columns",
    "default_cache_dir",
    "distributed_backend",
    "document_hash",
    "evaluate",
    "explore_summary",
    "export_web",
    "fine_tune_setup",
    "finite_number",
    "fit_tokenizer",
    "follow",
    "generate",
    "generate_steps",
    "generated_documents",
    "histogram_frame",
    "is_repo_ref",
    "iter_documents",
    "labelled_prompt",
    "labels",
    "load_corpus",
    "load_folder",
    "load_hub_model",
    "load_model",
    "load_run",
    "load_tokenizer",
    "locale_of",
    "new_seed",
    "next_tokens",
    "next_tokens_html",
    "novelty_markdown",
    "optional_seed",
    "page_settings",
    "prepare_data",
    "prime_text",
    "push_folder",
    "push_space",
    "quiet_hub_logging",
    "rank_and_world",
    "read_documents",
    "read_text",
    "read_upload",
    "reading_summary",
    "recording",
    "resolve_device",
    "run_and_save",
    "run_job",
    "samples_text",
    "save_checkpoint",
    "save_run",
    "series_name",
    "shown_token",
    "speakers_frame",
    "start_distributed",
    "stop_distributed",
    "stream_corpus",
    "stream_texts",
    "top_tokens_frame",
    "translate",
    "unigram_metrics",
    "unpack_model_zip",
    "validate_settings",
    "whole_number",
    "zip_model",
]

"""textgen: LSTM language models that train fast, sample statefully and save as safetensors.

The public API: `app.py`, `train.py` and the benchmarks import from here only.
"""

from .checkpoints import LoadedModel, RunInfo, document_hash, load_folder, save_checkpoint
from .config import TrainConfig
from .corpus import (
    SUPPORTED_SUFFIXES,
    Corpus,
    CorpusStream,
    csv_columns,
    iter_documents,
    load_corpus,
    read_documents,
    stream_corpus,
)
from .data import prepare_data
from .device import resolve_device
from .distributed import rank_and_world
from .distributed import start as start_distributed
from .distributed import stop as stop_distributed
from .errors import CheckpointError, CorpusError, GenerationError, HubError, TextgenError, TrainingError
from .explore import CorpusStats, corpus_stats
from .finetune import FINE_TUNE_LR, fine_tune_setup
from .hub import check_push, is_repo_ref, load_hub_model, load_model, push_folder, quiet_hub_logging
from .messages import LOCALES, labels, locale_of, translate
from .metrics import Metrics, evaluate, unigram_metrics
from .model import LSTMConfig, LSTMLanguageModel
from .sampling import (
    MAX_LENGTH,
    MAX_PROMPT_CHARS,
    MAX_SAMPLES,
    MAX_TOKENS_PER_REQUEST,
    SAMPLE_TEMPERATURES,
    Step,
    generate,
    generate_steps,
    new_seed,
    stream_texts,
    validate_settings,
)
from .studio import SIZE_PRESETS, ModelRegistry, app_train_config, unpack_model_zip, zip_model
from .textfile import read_text
from .tokencache import default_cache_dir
from .tokenizer import CharTokenizer, Tokenizer, WordTokenizer, fit_tokenizer, load_tokenizer
from .training import Evaluation, Finished, Progress, Trainer, TrainerState
from .views import (
    TrainingView,
    confidence_html,
    generated_documents,
    histogram_frame,
    novelty_markdown,
    top_tokens_frame,
)

__all__ = [
    "FINE_TUNE_LR",
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
    "Corpus",
    "CorpusError",
    "CorpusStats",
    "CorpusStream",
    "Evaluation",
    "Finished",
    "GenerationError",
    "HubError",
    "LSTMConfig",
    "LSTMLanguageModel",
    "LoadedModel",
    "Metrics",
    "ModelRegistry",
    "Progress",
    "RunInfo",
    "Step",
    "TextgenError",
    "Tokenizer",
    "TrainConfig",
    "Trainer",
    "TrainerState",
    "TrainingError",
    "TrainingView",
    "WordTokenizer",
    "app_train_config",
    "check_push",
    "confidence_html",
    "corpus_stats",
    "csv_columns",
    "default_cache_dir",
    "document_hash",
    "evaluate",
    "fine_tune_setup",
    "fit_tokenizer",
    "generate",
    "generate_steps",
    "generated_documents",
    "histogram_frame",
    "is_repo_ref",
    "iter_documents",
    "labels",
    "load_corpus",
    "load_folder",
    "load_hub_model",
    "load_model",
    "load_tokenizer",
    "locale_of",
    "new_seed",
    "novelty_markdown",
    "prepare_data",
    "push_folder",
    "quiet_hub_logging",
    "rank_and_world",
    "read_documents",
    "read_text",
    "resolve_device",
    "save_checkpoint",
    "start_distributed",
    "stop_distributed",
    "stream_corpus",
    "stream_texts",
    "top_tokens_frame",
    "translate",
    "unigram_metrics",
    "unpack_model_zip",
    "validate_settings",
    "zip_model",
]

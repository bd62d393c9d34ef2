"""textgen: LSTM language models that train fast, sample statefully and save as safetensors.

The public API: `app.py`, `train.py` and the benchmarks import from here only.
"""

from .checkpoints import LoadedModel, document_hash, load_folder, save_checkpoint
from .corpus import SUPPORTED_SUFFIXES, Corpus, csv_columns, load_corpus, read_documents, read_text
from .errors import CheckpointError, CorpusError, GenerationError, HubError, TextgenError, TrainingError
from .explore import CorpusStats, corpus_stats
from .hub import is_repo_ref, load_hub_model, load_model, push_folder, quiet_hub_logging
from .metrics import evaluate, unigram_metrics
from .model import LSTMConfig, LSTMLanguageModel
from .sampling import (
    MAX_LENGTH,
    MAX_PROMPT_CHARS,
    MAX_SAMPLES,
    MAX_TOKENS_PER_REQUEST,
    Step,
    generate,
    generate_steps,
    new_seed,
    stream_texts,
    validate_settings,
)
from .studio import (
    SIZE_PRESETS,
    ModelRegistry,
    TrainingView,
    app_train_config,
    confidence_spans,
    novelty_marks,
    zip_model,
)
from .tokenizer import CharTokenizer, Tokenizer, WordTokenizer, fit_tokenizer, load_tokenizer
from .training import (
    Evaluation,
    Finished,
    Progress,
    TrainConfig,
    Trainer,
    TrainerState,
    prepare_data,
    resolve_device,
)

__all__ = [
    "MAX_LENGTH",
    "MAX_PROMPT_CHARS",
    "MAX_SAMPLES",
    "MAX_TOKENS_PER_REQUEST",
    "SIZE_PRESETS",
    "SUPPORTED_SUFFIXES",
    "CharTokenizer",
    "CheckpointError",
    "Corpus",
    "CorpusError",
    "CorpusStats",
    "Evaluation",
    "Finished",
    "GenerationError",
    "HubError",
    "LSTMConfig",
    "LSTMLanguageModel",
    "LoadedModel",
    "ModelRegistry",
    "Progress",
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
    "confidence_spans",
    "corpus_stats",
    "csv_columns",
    "document_hash",
    "evaluate",
    "fit_tokenizer",
    "generate",
    "generate_steps",
    "is_repo_ref",
    "load_corpus",
    "load_folder",
    "load_hub_model",
    "load_model",
    "load_tokenizer",
    "new_seed",
    "novelty_marks",
    "prepare_data",
    "push_folder",
    "quiet_hub_logging",
    "read_documents",
    "read_text",
    "resolve_device",
    "save_checkpoint",
    "stream_texts",
    "unigram_metrics",
    "validate_settings",
    "zip_model",
]

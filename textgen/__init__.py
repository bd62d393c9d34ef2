"""textgen: LSTM language models that train fast, sample statefully and save as safetensors."""

from .checkpoints import CheckpointError, LoadedModel, document_hash, load_folder, save_checkpoint
from .corpus import Corpus, CorpusError, load_corpus, read_documents, read_text
from .metrics import evaluate, unigram_metrics
from .model import LSTMConfig, LSTMLanguageModel
from .sampling import GenerationError, Step, generate, generate_steps, new_seed, stream_texts
from .tokenizer import CharTokenizer, Tokenizer, WordTokenizer, fit_tokenizer, load_tokenizer
from .training import (
    Evaluation,
    Finished,
    Progress,
    TrainConfig,
    Trainer,
    TrainingError,
    prepare_data,
    resolve_device,
)

__all__ = [
    "CharTokenizer",
    "CheckpointError",
    "Corpus",
    "CorpusError",
    "Evaluation",
    "Finished",
    "GenerationError",
    "LSTMConfig",
    "LSTMLanguageModel",
    "LoadedModel",
    "Progress",
    "Step",
    "Tokenizer",
    "TrainConfig",
    "Trainer",
    "TrainingError",
    "WordTokenizer",
    "document_hash",
    "evaluate",
    "fit_tokenizer",
    "generate",
    "generate_steps",
    "load_corpus",
    "load_folder",
    "load_tokenizer",
    "new_seed",
    "prepare_data",
    "read_documents",
    "read_text",
    "resolve_device",
    "save_checkpoint",
    "stream_texts",
    "unigram_metrics",
]

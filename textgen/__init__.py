"""textgen: LSTM language models that train fast, sample statefully and save as safetensors.

What a program that uses textgen as a library needs: read a corpus, train, load, sample, score,
share. The faces (app.py, train.py, the `textgen` command, the page) and the benchmarks import the
modules they use directly.
"""

from .checkpoints import LoadedModel, load_folder, save_run
from .config import TrainConfig
from .corpus import Corpus, load_corpus, read_upload, stream_corpus
from .cowrite import CoWriter, next_tokens
from .data import TrainingData, prepare_data
from .errors import CheckpointError, CorpusError, GenerationError, HubError, TextgenError, TrainingError
from .events import Evaluation, Finished, Progress
from .hub import load_model, push_folder
from .metrics import Metrics, evaluate
from .model import LSTMConfig, LSTMLanguageModel
from .registry import ModelRegistry
from .runinfo import RunInfo
from .sampling import SamplingSettings, generate, generate_steps
from .tokenizer import CharTokenizer, Tokenizer, WordTokenizer, fit_tokenizer
from .training import Trainer, prepare_run, run_and_save
from .webpage import export_web

__all__ = [
    "CharTokenizer",
    "CheckpointError",
    "CoWriter",
    "Corpus",
    "CorpusError",
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
    "SamplingSettings",
    "TextgenError",
    "Tokenizer",
    "TrainConfig",
    "Trainer",
    "TrainingData",
    "TrainingError",
    "WordTokenizer",
    "evaluate",
    "export_web",
    "fit_tokenizer",
    "generate",
    "generate_steps",
    "load_corpus",
    "load_folder",
    "load_model",
    "next_tokens",
    "prepare_data",
    "prepare_run",
    "push_folder",
    "read_upload",
    "run_and_save",
    "save_run",
    "stream_corpus",
]

"""A model's record, training.json: where it came from and how well it does. The model card renders
from it (card.py), and `--resume` reads how its corpus was read from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from .conversations import ConversationReading
from .labelled import Labels
from .metrics import Metrics


@dataclass
class RunInfo:
    """training.json: where a model came from and how well it does; the model card renders from it."""

    corpus: str = "an unnamed corpus"
    title: str = ""
    level: str = "char"
    command: str = ""  # the command that made it, shown on the card
    corpus_args: dict = field(default_factory=dict)  # how train.py read the corpus, for --resume
    dataset_id: str | None = None  # a Hub dataset id, for the card's metadata (only one that is on the Hub)
    source: str = ""  # where the corpus came from, for the card's prose (a Markdown link, say)
    license: str = "unknown"  # a Hub license id (hub-docs repositories-licenses.md), for the card
    language: str | None = None
    metrics: Metrics | None = None  # the best held-out evaluation
    unigram: Metrics | None = None  # a model that ignores context, on the same split
    train_config: dict = field(default_factory=dict)
    train_documents: int = 0
    val_documents: int = 0
    step: int = 0
    best_step: int = 0  # the step of the kept weights
    training_seconds: float = 0.0
    stopped_because: str | None = None
    samples: dict[str, str] = field(default_factory=dict)  # temperature -> text
    parent: str | None = None  # the model it was fine-tuned from (a folder name or a Hub reference)
    split: str = "documents"  # or "stretches": the held-out set is stretches of text (too few documents)
    eval_sample_documents: int = 0  # held-out documents scored at each evaluation (metrics: all of them)
    evaluation_precision: str = "fp32"  # the arithmetic of the evaluations: a bf16 run scores in bf16
    labels: Labels | None = None  # trained with labels (labelled.py): their field and documents
    conversations: ConversationReading | None = None  # trained on whole conversations (its labels: speakers)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunInfo:
        """A run's record from JSON anyone may have written: fields of the wrong type are left out."""
        values = {}
        for f in fields(cls):
            value = data.get(f.name)
            if f.name in ("metrics", "unigram"):
                value = Metrics.from_dict(value)
            elif f.name == "labels":
                value = Labels.from_dict(value)
            elif f.name == "conversations":
                value = ConversationReading.from_dict(value)
            elif f.name in ("train_documents", "val_documents", "step", "best_step", "eval_sample_documents"):
                value = value if isinstance(value, int) and not isinstance(value, bool) else None
            elif f.name == "training_seconds":
                value = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            elif f.name in ("corpus_args", "train_config"):
                value = value if isinstance(value, dict) else None
            elif f.name == "samples":
                value = {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None
            else:
                value = value if isinstance(value, str) else None
            if value is not None:
                values[f.name] = value
        return cls(**values)

"""Held-out metrics on one scale for char and word models, and the unigram baseline.

`bits_per_char` = total nats / ln 2 / characters scored, where the characters scored are each
document's characters plus one for its end (the newline a char model predicts as `<eos>`). A char
model's tokens are exactly those characters, so its bits per char is its loss / ln 2; a word
model's total is spread over the same characters, so the two compare directly.

A word model's `<unk>` stands for every rare word at once, so predicting it costs far less than
writing the word out. For bits per char, each `<unk>` therefore also pays for spelling its word
under the tokenizer's character model of the training words; without that, even a word unigram
"beat" a char LSTM here. `loss` and `perplexity` stay the usual per-token numbers (with `<unk>`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from .model import LSTMLanguageModel
from .tokenizer import Tokenizer
from .tokens import ScoringSet, TokenStream
from .windows import pieces, plan_groups, plan_windows


def count_characters(documents: list[str]) -> int:
    return sum(len(doc) + 1 for doc in documents)


def unknown_spelling_nats(tokenizer: Tokenizer, documents: list[str]) -> float:
    """What `<unk>` hides: the nats to spell each unknown word (word level; 0 for characters)."""
    spelling = tokenizer.spelling_costs(documents)
    return 0.0 if spelling is None else float(spelling.sum())


@dataclass(frozen=True)
class Metrics:
    """How well a model predicts a set of documents, each scored from where sampling starts."""

    loss: float  # nats per token
    perplexity: float  # per token
    bits_per_char: float  # on every character of each document plus its end: char and word models alike
    tokens: int
    characters: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> Metrics | None:
        """Metrics from JSON someone else may have written: None unless every field is a number."""
        if not isinstance(data, dict):
            return None
        values = {}
        try:
            for f in fields(cls):
                values[f.name] = int(data[f.name]) if f.type == "int" else float(data[f.name])
        except (KeyError, TypeError, ValueError, OverflowError):
            return None
        return cls(**values)


def summarize(total_nats: float, tokens: int, characters: int, spelling_nats: float = 0.0) -> Metrics:
    loss = total_nats / max(tokens, 1)
    return Metrics(
        loss=loss,
        perplexity=math.exp(min(loss, 700.0)),
        bits_per_char=(total_nats + spelling_nats) / math.log(2) / max(characters, 1),
        tokens=tokens,
        characters=characters,
    )


# A run scores in its own batch shapes (Trainer passes its batch size and sequence length; these are
# TrainConfig's defaults): oneDNN keeps a primitive for every (rows, columns) shape it meets, so
# scoring in shapes of its own grows memory (BENCHMARKS.md, "Cost against corpus size").
SCORING_BATCH_SIZE, SCORING_SEQ_LEN = 32, 64


@torch.inference_mode()
def document_nats(
    model: LSTMLanguageModel,
    stream: TokenStream,
    batch_size: int = SCORING_BATCH_SIZE,
    seq_len: int = SCORING_SEQ_LEN,
    bf16: bool = False,
) -> float:
    """Total negative log-likelihood (nats) of every document's tokens and its closing `<eos>`.

    Each document is scored from the zero state with `<eos>` as its first input, exactly as the
    sampler starts one, so the total is a sum over documents: it does not depend on how they are
    batched (`batch_size` rows of `seq_len` tokens at a time), nor on which other documents are scored.
    """
    model.eval()
    total = 0.0
    table = pieces(stream)
    state = None
    for window in plan_windows(
        stream, table, plan_groups(table.lengths, batch_size * seq_len, seq_len), seq_len, 0
    ):
        with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=bf16):
            logits, state = model(window.inputs.to(model.device), None if window.fresh else state)
        targets = window.targets.to(model.device)
        total += F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), reduction="sum").item()
    return total


def score(
    model: LSTMLanguageModel,
    documents: ScoringSet,
    batch_size: int = SCORING_BATCH_SIZE,
    seq_len: int = SCORING_SEQ_LEN,
    bf16: bool = False,
) -> Metrics:
    """The metrics of `documents`; `bf16`: under bf16 autocast, as a run that trains in bf16 scores
    (1.7x faster on a CPU with native bf16; measured within 0.0002 bits/char of fp32: BENCHMARKS.md)."""
    nats = document_nats(model, documents.stream, batch_size=batch_size, seq_len=seq_len, bf16=bf16)
    return summarize(nats, documents.stream.num_targets, documents.characters, documents.spelling_nats)


def evaluate(
    model: LSTMLanguageModel, tokenizer: Tokenizer, documents: list[str], batch_size: int = SCORING_BATCH_SIZE
) -> Metrics:
    """loss (nats/token), perplexity, bits_per_char, tokens, characters on `documents`."""
    return score(model, ScoringSet.of(tokenizer, documents), batch_size)


def target_counts(documents: ScoringSet, vocab_size: int) -> np.ndarray:
    """How often each token is a target (every token of the stream but the first): counted when the
    set was tokenized, else now."""
    counts = documents.token_counts
    if counts is None:
        counts = np.bincount(documents.stream.tokens[1:], minlength=vocab_size)
    return np.pad(counts, (0, max(0, vocab_size - len(counts))))[:vocab_size]


def unigram_metrics(tokenizer: Tokenizer, train: ScoringSet | list[str], val: ScoringSet | list[str]) -> Metrics:
    """A model that ignores context: add-one smoothed token frequencies of the training set (or
    documents), scored on the held-out set (or documents)."""
    train = train if isinstance(train, ScoringSet) else ScoringSet.of(tokenizer, train)
    val = val if isinstance(val, ScoringSet) else ScoringSet.of(tokenizer, val)
    counts = target_counts(train, len(tokenizer)) + 1
    log_probs = np.log(counts) - np.log(counts.sum())
    nats = -float(target_counts(val, len(tokenizer)) @ log_probs)
    return summarize(nats, val.stream.num_targets, val.characters, val.spelling_nats)

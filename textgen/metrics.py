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

from .batches import TokenStream, group_windows, pieces, plan_groups, select
from .model import LSTMLanguageModel
from .tokenizer import Tokenizer


def count_characters(documents: list[str]) -> int:
    return sum(len(doc) + 1 for doc in documents)


def unknown_spelling_nats(tokenizer: Tokenizer, documents: list[str]) -> float:
    """What `<unk>` hides: the nats to spell each unknown word (word level; 0 for characters)."""
    spell = getattr(tokenizer, "spelling_nats", None)
    if spell is None:
        return 0.0
    return sum(spell(word) for doc in documents for word in tokenizer.unknown_tokens(doc))


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


@torch.inference_mode()
def document_nats(
    model: LSTMLanguageModel, stream: TokenStream, batch_size: int = 16, seq_len: int = 256
) -> float:
    """Total negative log-likelihood (nats) of every document's tokens and its closing `<eos>`.

    Each document is scored from the zero state with `<eos>` as its first input, exactly as the
    sampler starts one, so the total is a sum over documents: it does not depend on how they are
    batched (`batch_size` rows of `seq_len` tokens at a time), nor on which other documents are scored.
    """
    model.eval()
    all_pieces = pieces(stream)
    total = 0.0
    for group in plan_groups(all_pieces.lengths, batch_size * seq_len, seq_len):
        state = None
        for window in group_windows(stream, select(all_pieces, group), seq_len, pad_id=0):
            logits, state = model(window.inputs.to(model.device), state)
            targets = window.targets.to(model.device)
            total += F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), reduction="sum").item()
    return total


def document_stream(tokenizer: Tokenizer, documents: list[str]) -> TokenStream:
    return TokenStream.from_documents(tokenizer, documents)


@dataclass
class ScoringSet:
    """Documents ready to be scored: encoded once, with what their bits per character divide by and
    add (a training run scores the same samples at every evaluation)."""

    stream: TokenStream
    characters: int
    spelling_nats: float  # word level: what spelling out the `<unk>` words costs

    @classmethod
    def of(cls, tokenizer: Tokenizer, documents: list[str]) -> ScoringSet:
        return cls(
            document_stream(tokenizer, documents),
            count_characters(documents),
            unknown_spelling_nats(tokenizer, documents),
        )


def score(model: LSTMLanguageModel, documents: ScoringSet, batch_size: int = 16) -> Metrics:
    nats = document_nats(model, documents.stream, batch_size=batch_size)
    return summarize(nats, documents.stream.num_targets, documents.characters, documents.spelling_nats)


def evaluate(
    model: LSTMLanguageModel, tokenizer: Tokenizer, documents: list[str], batch_size: int = 16
) -> Metrics:
    """loss (nats/token), perplexity, bits_per_char, tokens, characters on `documents`."""
    return score(model, ScoringSet.of(tokenizer, documents), batch_size)


def unigram_metrics(
    tokenizer: Tokenizer,
    train_documents: list[str],
    val_documents: list[str],
    train_stream: TokenStream | None = None,
    val_set: ScoringSet | None = None,
) -> Metrics:
    """A model that ignores context: add-one smoothed token frequencies from the training set (its
    stream and the held-out set are encoded again only when the caller does not have them)."""
    train_stream = train_stream or document_stream(tokenizer, train_documents)
    val_set = val_set or ScoringSet.of(tokenizer, val_documents)
    counts = np.bincount(train_stream.tokens[1:], minlength=len(tokenizer)) + 1
    log_probs = np.log(counts) - np.log(counts.sum())
    val_ids = val_set.stream.tokens[1:]
    nats = -float(log_probs[val_ids].sum())
    return summarize(nats, len(val_ids), val_set.characters, val_set.spelling_nats)

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
from collections import Counter

import torch
import torch.nn.functional as F

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


def summarize(total_nats: float, tokens: int, characters: int, spelling_nats: float = 0.0) -> dict:
    loss = total_nats / max(tokens, 1)
    return {
        "loss": loss,
        "perplexity": math.exp(min(loss, 700.0)),
        "bits_per_char": (total_nats + spelling_nats) / math.log(2) / max(characters, 1),
        "tokens": tokens,
        "characters": characters,
    }


@torch.inference_mode()
def stream_nats(
    model: LSTMLanguageModel, stream: torch.Tensor, batch_size: int = 16, seq_len: int = 256
) -> tuple[float, int]:
    """Total negative log-likelihood (nats) of every token after the first, and their count.

    The targets are cut into `batch_size` rows scored in parallel, the state carried along each
    row; row r's inputs start one token before its targets, so every target is scored exactly
    once. The last row is padded, and padding is ignored.
    """
    model.eval()
    num_targets = stream.numel() - 1
    row_len = -(-num_targets // batch_size)  # ceil
    padded = torch.full((batch_size * row_len + 1,), -100, dtype=torch.long)
    padded[: stream.numel()] = stream
    inputs_all = padded[:-1].clamp(min=0).view(batch_size, row_len).to(model.device)
    targets_all = padded[1:].view(batch_size, row_len).to(model.device)
    total, state = 0.0, None
    for start in range(0, row_len, seq_len):
        logits, state = model(inputs_all[:, start : start + seq_len], state)
        targets = targets_all[:, start : start + seq_len]
        total += F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), reduction="sum").item()
    return total, num_targets


def evaluate(model: LSTMLanguageModel, tokenizer: Tokenizer, documents: list[str], batch_size: int = 16) -> dict:
    """loss (nats/token), perplexity, bits_per_char, tokens, characters on `documents`."""
    stream = torch.tensor(tokenizer.encode_documents(documents))
    nats, tokens = stream_nats(model, stream, batch_size=batch_size)
    return summarize(nats, tokens, count_characters(documents), unknown_spelling_nats(tokenizer, documents))


def unigram_metrics(tokenizer: Tokenizer, train_documents: list[str], val_documents: list[str]) -> dict:
    """A model that ignores context: add-one smoothed token frequencies from the training set."""
    counts = Counter(tokenizer.encode_documents(train_documents)[1:])
    total = sum(counts.values()) + len(tokenizer)
    val_ids = tokenizer.encode_documents(val_documents)[1:]
    nats = -sum(math.log((counts[i] + 1) / total) for i in val_ids)
    spelling = unknown_spelling_nats(tokenizer, val_documents)
    return summarize(nats, len(val_ids), count_characters(val_documents), spelling)

"""Start from a trained model: keep its vocabulary and weights, and grow both for what a new corpus adds.

A one-minute run on a 40 KB upload cannot learn a language from nothing; starting from a model
that already knows the language can. The base's tokenizer stays as it is (so its token ids keep
their meaning); characters (or words seen at least `min_count` times) that the new corpus has and
the base lacks are appended, with new embedding rows at the mean of the old ones (plus a little
noise, so they differ) and new output biases at the lowest old bias, so that a new token starts as
rare rather than as likely as any other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

import torch

from .checkpoints import LoadedModel
from .config import PACK_OFF, TrainConfig
from .data import prepare_data
from .model import LSTMConfig, LSTMLanguageModel
from .tokenizer import MAX_TOKEN_CHARS, SPECIALS, CharTokenizer, Tokenizer, WordTokenizer

NEW_ROW_NOISE = 0.01
# Fine-tuning defaults, measured (BENCHMARKS.md, "Starting from a model"): a tenth of the from-scratch
# rate came within 0.02 bits/char of the best rate tried (0.001 to 0.01) on the English and the Korean
# uploads from both the shipped bases and the shorter-trained ones before them; the better trained a
# base, the lower its best rate (0.005 before, 0.001 to 0.002 now).
FINE_TUNE_LR = 2e-3


def new_tokens(base: Tokenizer, documents: Iterable[str], min_count: int = 2) -> list[str]:
    """What `documents` have that the base's vocabulary lacks, most frequent first."""
    counts = Counter(piece for doc in documents for piece in base.split(base.prepare(doc)))
    least = 1 if base.level == "char" else min_count
    missing = [
        token
        for token, n in counts.items()
        if n >= least and token not in base.index and token not in SPECIALS and len(token) <= MAX_TOKEN_CHARS
    ]
    return sorted(missing, key=lambda token: (-counts[token], token))


def extended_tokenizer(base: Tokenizer, added: list[str], documents: Iterable[str]) -> Tokenizer:
    vocab = base.vocab + added
    if isinstance(base, WordTokenizer):
        # The spelling model of <unk> words learns the new corpus's characters too.
        fresh = WordTokenizer.fit(documents, lowercase=base.lowercase, min_count=1).char_counts
        merged = Counter(base.char_counts) + Counter(fresh)
        return type(base)(vocab, lowercase=base.lowercase, min_count=base.min_count, char_counts=dict(merged))
    return CharTokenizer(vocab, lowercase=base.lowercase)


@torch.no_grad()
def grown_model(
    base: LSTMLanguageModel, added: int, seed: int = 0, dropout: float | None = None
) -> LSTMLanguageModel:
    """A copy of `base` with `added` more tokens: the old weights kept, new rows as described above."""
    dropout = base.config.dropout if dropout is None else dropout
    config = replace(base.config, vocab_size=base.config.vocab_size + added, dropout=dropout)
    config = LSTMConfig.from_dict(config.to_dict())  # checked again: the limits apply to the grown size
    model = LSTMLanguageModel(config)
    old_state = base.state_dict()
    state = model.state_dict()
    generator = torch.Generator().manual_seed(seed)
    for name, tensor in state.items():
        old = old_state[name]
        if tensor.shape == old.shape:
            tensor.copy_(old)
            continue
        rows = old.shape[0]  # the vocabulary dimension comes first: embedding, head weight and bias
        tensor[:rows] = old
        if name == "head.bias":
            tensor[rows:] = old.min()
        else:
            noise = torch.randn(tensor.shape[0] - rows, *old.shape[1:], generator=generator) * NEW_ROW_NOISE
            tensor[rows:] = old.mean(0) + noise
    model.load_state_dict(state)  # a tied head stays tied: it is the embedding's own parameter
    return model


def fine_tune_setup(base: LoadedModel, documents: Iterable[str], config: TrainConfig, progress: bool = False):
    """(config, data, model) to train `base` further on `documents`: its architecture and
    tokenizer, grown for what the training documents add, at FINE_TUNE_LR unless `config` chose a rate.
    The model is a copy: the base (perhaps a shipped model others use) stays as it was."""
    architecture = base.model.config
    config = replace(
        config,
        lr=FINE_TUNE_LR if config.lr is None else config.lr,
        level=base.tokenizer.level,
        lowercase=base.tokenizer.lowercase,
        hidden_size=architecture.hidden_size,
        embedding_dim=architecture.embedding_dim,
        num_layers=architecture.num_layers,
        dropout=architecture.dropout if config.dropout is None else config.dropout,
        # The regularisers were measured training from scratch only: a fine-tuned run goes without them
        # unless they are asked for (what BENCHMARKS.md's "Starting from a model" measured).
        **{name: value for name, value in PACK_OFF.items() if getattr(config, name) is None},
    )

    def grown_tokenizer(train_documents: Iterable[str]) -> Tokenizer:  # read twice: once per pass
        added = new_tokens(base.tokenizer, train_documents, config.min_count)
        return extended_tokenizer(base.tokenizer, added, train_documents)

    data = prepare_data(documents, config, tokenizer=grown_tokenizer, progress=progress)
    model = grown_model(base.model, len(data.tokenizer) - len(base.tokenizer), config.seed, config.dropout)
    return config, data, model

"""From documents to what training reads: the split by document (fixed by the seed), the tokenizer
fitted on the training part, the token stream, and fixed samples of documents for evaluation."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .batches import TokenStream, split_documents
from .config import TrainConfig
from .errors import TrainingError
from .tokencache import cached_stream
from .tokenizer import Tokenizer, fit_tokenizer


@dataclass
class TrainingData:
    train_documents: list[str]
    val_documents: list[str]
    tokenizer: Tokenizer
    train_stream: TokenStream = field(repr=False)
    cache_hit: bool | None = None  # with a token cache: read from it (True) or stored by this run (False)


def prepare_data(
    documents: list[str],
    config: TrainConfig,
    tokenizer: Tokenizer | Callable[[list[str]], Tokenizer] | None = None,
    cache_dir: Path | None = None,
) -> TrainingData:
    """Split by document (fixed by the seed), fit the tokenizer on the training part, check size.

    `tokenizer`: one to use as it is (a resumed run's), or a function that makes one from the
    training documents (a base model's, grown for a new corpus); None fits a new one.
    `cache_dir`: keep the fitted tokenizer and the training tokens there (see tokencache), so a
    second run on the same corpus and settings starts at once and reads its tokens from a map."""
    if len(documents) < 2:
        raise TrainingError("the corpus needs at least 2 documents (one is held out for validation)")
    train_docs, val_docs = split_documents(documents, config.val_fraction, config.seed)

    def encode() -> tuple[Tokenizer, TokenStream]:
        if tokenizer is None:
            fitted = fit_tokenizer(config.level, train_docs, config.lowercase, config.min_count)
        elif isinstance(tokenizer, Tokenizer):
            fitted = tokenizer
        else:
            fitted = tokenizer(train_docs)
        return fitted, TokenStream.from_documents(fitted, train_docs)

    cache_hit = None
    if cache_dir is not None and (tokenizer is None or isinstance(tokenizer, Tokenizer)):
        settings = {
            "level": config.level,
            "lowercase": config.lowercase,
            "min_count": config.min_count,
            "seed": config.seed,
            "val_fraction": config.val_fraction,
            "tokenizer": tokenizer.to_dict() if tokenizer is not None else None,
        }
        cached = cached_stream(cache_dir, documents, settings, encode)
        tokenizer, train_stream, cache_hit = cached.tokenizer, cached.stream, cached.hit
    else:
        tokenizer, train_stream = encode()
    num_tokens = train_stream.num_targets + 1
    needed = config.batch_size * (config.seq_len + 1)
    if num_tokens < needed:
        raise TrainingError(
            "the corpus is too small: {tokens} training tokens, but batch size {batch} × sequence length "
            "{seq_len} needs at least {needed} characters (lower them, or add text)"
            if config.level == "char"
            else "the corpus is too small: {tokens} training tokens, but batch size {batch} × sequence length "
            "{seq_len} needs at least {needed} words (lower them, or add text)",
            tokens=num_tokens,
            batch=config.batch_size,
            seq_len=config.seq_len,
            needed=needed,
        )
    return TrainingData(train_docs, val_docs, tokenizer, train_stream, cache_hit)


def sample_documents(documents: list[str], sizes: list[int], budget: float, seed: int) -> list[str]:
    """A fixed random sample of documents whose sizes add up to about `budget` (all, if they fit),
    in their original order: the same documents at every evaluation, so the curve is comparable."""
    if sum(sizes) <= budget:
        return list(documents)
    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)
    chosen, size = [], 0
    for i in order:
        if size >= budget:
            break
        chosen.append(i)
        size += sizes[i]
    return [documents[i] for i in sorted(chosen)]

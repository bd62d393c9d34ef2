"""The held-out figure predicts what a user gets when sampling from a fresh start.

One briefly trained model (tiny Shakespeare as a user uploads it, the app's "small" size, stopped
at its first evaluation) answers three questions: does it write text like its corpus from an empty
seed; is the held-out figure a sum over documents; does it depend on the evaluation batch size.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import replace

import pytest
from conftest import corpus_path

from textgen import Evaluation, Finished, SamplingSettings, Trainer, evaluate, generate, load_corpus, prepare_data
from textgen.registry import app_train_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def briefly_trained():
    documents = load_corpus(str(corpus_path("tinyshakespeare.txt"))).documents
    config = replace(app_train_config("char", "small", minutes=5), eval_every=50, eval_tokens=None, max_steps=50)
    data = prepare_data(documents, config)
    trainer = Trainer(config, data)
    events = list(trainer.run())  # ended at its first evaluation (step 50), as by a user's Stop
    assert sum(isinstance(e, Evaluation) for e in events) == 1 and isinstance(events[-1], Finished)
    return trainer, data  # trainer.model: the weights kept (with `ema`, the average's), in eval mode


class CharBigram:
    """Add-one character bigram of the training text: how much a text looks like the corpus."""

    def __init__(self, documents: list[str]):
        text = "\n" + "\n".join(documents) + "\n"
        self.pairs = Counter(itertools.pairwise(text))
        self.firsts = Counter(text[:-1])
        self.alphabet = len(set(text)) + 1

    def bits_per_char(self, texts: list[str]) -> float:
        nats, count = 0.0, 0
        for text in texts:
            text = "\n" + text
            for a, b in itertools.pairwise(text):
                nats -= math.log((self.pairs[a, b] + 1) / (self.firsts[a] + self.alphabet))
                count += 1
        return nats / math.log(2) / count


def test_a_briefly_trained_model_writes_like_its_corpus_from_an_empty_seed(briefly_trained):
    trainer, data = briefly_trained
    bigram = CharBigram(data.train_documents)
    held_out = bigram.bits_per_char(data.val_documents)
    samples = generate(
        trainer.model, data.tokenizer, "", SamplingSettings.of(temperature=0.5, length=200, num_samples=8, seed=1)
    )
    written = bigram.bits_per_char(samples)
    # Junk such as "DZZEVEV3333&&&&$$" scores several bits per character worse than real text does.
    assert written < held_out + 0.5, (written, held_out, samples[:3])


def test_the_held_out_figure_is_additive_over_documents(briefly_trained):
    trainer, data = briefly_trained
    documents = data.val_documents
    whole = evaluate(trainer.model, data.tokenizer, documents)
    parts = [documents[: len(documents) // 3], documents[len(documents) // 3 : 500], documents[500:]]
    scored = [evaluate(trainer.model, data.tokenizer, part) for part in parts]
    weighted = sum(p.bits_per_char * p.characters for p in scored) / sum(p.characters for p in scored)
    assert whole.bits_per_char == pytest.approx(weighted, abs=0.01)
    single = [evaluate(trainer.model, data.tokenizer, [doc]) for doc in documents[:40]]
    together = evaluate(trainer.model, data.tokenizer, documents[:40])
    assert sum(s.loss * s.tokens for s in single) == pytest.approx(together.loss * together.tokens, rel=1e-4)


def test_the_held_out_figure_does_not_depend_on_the_batch_size(briefly_trained):
    trainer, data = briefly_trained
    figures = [evaluate(trainer.model, data.tokenizer, data.val_documents, batch_size=b) for b in (1, 4, 16, 64)]
    bits = [f.bits_per_char for f in figures]
    assert max(bits) - min(bits) < 0.01, bits
    # and it is the figure the run reported at that evaluation, scored in the run's arithmetic (bf16
    # where the CPU has it natively), and within 0.001 bits per char of it in fp32
    from textgen.metrics import score
    from textgen.tokens import ScoringSet

    reported = trainer.state.best_metrics.bits_per_char
    again = score(trainer.model, ScoringSet.of(data.tokenizer, data.val_documents), bf16=trainer.bf16)
    assert again.bits_per_char == pytest.approx(reported, abs=1e-6)
    assert bits[2] == pytest.approx(reported, abs=1e-3)

"""Auto settings follow the corpus and the budget the way textgen/sizing.py says: properties of the
choice over a grid of corpora and budgets, not the tuned numbers themselves (BENCHMARKS.md has those)."""

import itertools

import pytest

from textgen import TrainConfig
from textgen.config import LR, PACK_OFF
from textgen.sizing import (
    PACK_FROM_PASSES,
    eval_interval,
    fit_to_corpus,
    regularization_for,
    size_for,
    tokens_read,
)

CORPORA = (2_000, 23_000, 40_000, 150_000, 320_000, 1_000_000, 20_000_000)  # training tokens
MINUTES = (0.25, 1, 1.5, 2, 5, 10, 70)


def passes(train_tokens: int, minutes: float | None, epochs: int = 1000) -> float:
    return tokens_read(train_tokens, minutes, epochs) / train_tokens


@pytest.mark.parametrize("train_tokens", CORPORA)
def test_more_time_never_makes_the_model_narrower(train_tokens):
    widths = [size_for(train_tokens, minutes, 1000)[0] for minutes in MINUTES]
    assert widths == sorted(widths) and set(widths) <= {256, 512}


@pytest.mark.parametrize("minutes", MINUTES)
def test_a_corpus_read_more_often_gets_at_least_as_much_dropout(minutes):
    """Among corpora of one kind (below or above the wide model's size), more passes: more dropout."""
    for corpora in (CORPORA[:4], CORPORA[4:]):
        chosen = sorted((passes(t, minutes), size_for(t, minutes, 1000)[1]) for t in corpora)
        dropouts = [dropout for _, dropout in chosen]
        assert dropouts == sorted(dropouts), chosen


@pytest.mark.parametrize(("train_tokens", "minutes"), itertools.product(CORPORA, MINUTES))
def test_the_regularisers_come_on_exactly_where_a_run_reads_its_text_often(train_tokens, minutes):
    chosen = regularization_for(train_tokens, minutes, 1000)
    often = passes(train_tokens, minutes) >= PACK_FROM_PASSES
    assert (chosen["ema"] > 0) == often and chosen["weight_decay"] > PACK_OFF["weight_decay"]
    if not often:
        assert {name: value for name, value in chosen.items() if name != "weight_decay"} == {
            name: value for name, value in PACK_OFF.items() if name != "weight_decay"
        }
    dropout = size_for(train_tokens, minutes, 1000)[1]
    assert (dropout > 0) == often  # dropout and the pack switch together


def test_settings_given_are_kept_and_the_rest_filled_in():
    config = fit_to_corpus(TrainConfig(max_minutes=1, ema=0.5, hidden_size=64, lr=0.003), 23_000, 100)
    assert (config.ema, config.hidden_size, config.lr) == (0.5, 64, 0.003)
    assert config.dropout is not None and config.weight_drop is not None and config.eval_every is not None
    assert fit_to_corpus(TrainConfig(max_minutes=1), 23_000, 100).lr == LR


def test_small_corpora_are_evaluated_at_most_once_per_pass_within_bounds():
    for steps_per_epoch in (1, 3, 40, 499, 5000, 10**6):
        interval = eval_interval(steps_per_epoch)
        assert 10 <= interval <= 500 and (interval <= steps_per_epoch or steps_per_epoch < 10)


def test_a_run_saved_before_the_regularisers_resumes_without_them():
    saved = {"hidden_size": 256, "dropout": 0.1, "lr": 0.02}  # a train_config from an older training.json
    assert {name: getattr(TrainConfig.from_dict(saved), name) for name in PACK_OFF} == PACK_OFF
    assert TrainConfig.from_dict({**saved, "weight_drop": None}).ema is None  # a new one leaves them to sizing

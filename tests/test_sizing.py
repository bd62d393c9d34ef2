"""Auto sizes follow the corpus and the budget as measured (textgen/sizing.py's notes)."""

import pytest

from textgen import TrainConfig
from textgen.config import PACK_OFF
from textgen.sizing import PACK_ON, WIDE_PACK, eval_interval, fit_to_corpus, regularization_for, size_for


@pytest.mark.parametrize(
    ("train_tokens", "minutes", "epochs", "expected"),
    [
        (23_000, 1, 1000, (256, 0.5)),  # 25 KB of sayings, a minute in the app: read ~100 times
        (6_900, 1, 1000, (256, 0.5)),  # a month of headlines at word level
        (320_000, 1, 1000, (256, 0.0)),  # the NYT headlines in a minute: few passes, a fast model
        (320_000, 1.5, 1000, (256, 0.0)),  # ... in 90 s: about eleven passes, still none
        (320_000, 5, 1000, (512, 0.1)),  # ... in five minutes: wider, a little dropout
        (320_000, 70, 1000, (512, 0.1)),  # ... in 70: no more (dropout 0.5 held it back)
        (1_000_000, 5, 1000, (512, 0.0)),  # tiny Shakespeare in five minutes: twelve passes
        (1_000_000, 10, 1000, (512, 0.1)),  # ... in ten: twenty-four
        (320_000, None, 20, (256, 0.1)),  # train.py's default: 20 epochs, no time budget
        (1_000_000, None, 20, (512, 0.1)),
    ],
)
def test_sizes_follow_compute_and_passes(train_tokens, minutes, epochs, expected):
    assert size_for(train_tokens, minutes, epochs) == expected


def test_small_corpora_are_evaluated_once_per_pass():
    assert eval_interval(3) == 10 and eval_interval(40) == 40 and eval_interval(5000) == 500


@pytest.mark.parametrize(
    ("train_tokens", "minutes", "epochs", "on"),
    [
        (23_000, 1, 1000, True),  # 25 KB of sayings in a minute: overfits, the pack pays (BENCHMARKS.md)
        (40_000, 1, 1000, True),  # 40 KB of quotes
        (1_000_000, 2, 1000, False),  # tiny Shakespeare in two minutes: five passes, all but weight decay cost
        (320_000, 1.5, 1000, False),  # the NYT headlines in 90 s: about eleven passes, they cost too
        (150_000, None, 20, True),  # train.py's 20 epochs
    ],
)
def test_the_regularisers_come_on_where_a_run_reads_its_text_fifteen_times(train_tokens, minutes, epochs, on):
    chosen = regularization_for(train_tokens, minutes, epochs)
    assert chosen == (PACK_ON if on else {**PACK_OFF, "weight_decay": 0.1})  # weight decay paid everywhere
    config = fit_to_corpus(TrainConfig(max_minutes=minutes, epochs=epochs), train_tokens, 100)
    assert (config.weight_drop, config.ema, config.locked_dropout) == (
        (0.3, 0.99, True) if on else (0.0, 0.0, False)
    )
    given = fit_to_corpus(TrainConfig(max_minutes=minutes, epochs=epochs, ema=0.5), train_tokens, 100)
    assert given.ema == 0.5  # a setting given is kept


def test_a_run_saved_before_the_regularisers_resumes_without_them():
    saved = {"hidden_size": 256, "dropout": 0.1, "lr": 0.02}  # a train_config from an older training.json
    assert {name: getattr(TrainConfig.from_dict(saved), name) for name in PACK_OFF} == PACK_OFF
    assert TrainConfig.from_dict({**saved, "weight_drop": None}).ema is None  # a new one leaves them to sizing


@pytest.mark.parametrize(("minutes", "epochs"), [(6, 1000), (70, 1000), (None, 20)])
def test_a_corpus_for_the_wide_model_gets_the_average_and_dropconnect_only(minutes, epochs):
    """The NYT headlines at char level: the whole pack held the 512 back (BENCHMARKS.md, 4b)."""
    assert regularization_for(320_000, minutes, epochs) == WIDE_PACK
    config = fit_to_corpus(TrainConfig(max_minutes=minutes, epochs=epochs), 320_000, 100)
    assert (config.dropout, config.weight_drop, config.ema, config.activation_reg, config.locked_dropout) == (
        0.1,
        0.2,
        0.99,
        0.0,
        False,
    )

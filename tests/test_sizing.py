"""Auto sizes follow the corpus and the budget as measured (textgen/sizing.py's notes)."""

import pytest

from textgen.sizing import eval_interval, size_for


@pytest.mark.parametrize(
    ("train_tokens", "minutes", "epochs", "expected"),
    [
        (23_000, 1, 1000, (256, 0.5)),  # 25 KB of sayings, a minute in the app: read ~100 times
        (6_900, 1, 1000, (256, 0.5)),  # a month of headlines at word level
        (320_000, 1, 1000, (256, 0.0)),  # the NYT headlines in a minute: few passes, a fast model
        (320_000, 5, 1000, (512, 0.1)),  # ... in five minutes: wider, a little dropout
        (1_000_000, 5, 1000, (512, 0.1)),  # tiny Shakespeare in five minutes
        (320_000, None, 20, (256, 0.1)),  # train.py's default: 20 epochs, no time budget
        (1_000_000, None, 20, (512, 0.1)),
    ],
)
def test_sizes_follow_compute_and_passes(train_tokens, minutes, epochs, expected):
    assert size_for(train_tokens, minutes, epochs) == expected


def test_small_corpora_are_evaluated_once_per_pass():
    assert eval_interval(3) == 10 and eval_interval(40) == 40 and eval_interval(5000) == 500

"""The training loop's clocks: when it evaluates, and its learning rate."""

import pytest

from textgen.schedule import TRAINING_PER_EVALUATION, EvaluationClock, RunLength, learning_rate


def test_without_a_budget_steps_alone_decide():
    clock = EvaluationClock(every_steps=50)
    assert [step for step in range(1, 201) if clock.due(step, elapsed=step * 10.0)] == [50, 100, 150, 200]


def test_a_budget_evaluates_at_its_first_twentieth_without_waiting_for_a_cost_estimate():
    clock = EvaluationClock(every_steps=10_000, budget_seconds=60.0)  # a one-minute run on a big corpus
    assert not clock.due(step=1, elapsed=2.9)
    assert clock.due(step=2, elapsed=3.0)  # 5% of the budget: the plot has a held-out point at once


def test_evaluations_wait_twelve_times_as_long_as_the_last_took():
    clock = EvaluationClock(every_steps=10, budget_seconds=600.0)  # ticks every 30 s, and every 10 steps
    clock.evaluated(elapsed=30.0, took=4.0)  # an expensive evaluation
    assert not clock.due(step=20, elapsed=60.0)  # the tick and the step count say yes, the spacing no
    assert clock.due(step=30, elapsed=30.0 + TRAINING_PER_EVALUATION * 4.0)
    clock.evaluated(elapsed=78.0, took=0.1)  # a cheap one: the step count decides again
    assert clock.due(step=40, elapsed=80.0) and not clock.due(step=41, elapsed=80.5)


def test_a_resumed_runs_clock_counts_from_where_it_stood():
    clock = EvaluationClock(every_steps=10_000, budget_seconds=600.0, last_end=100.0)
    assert not clock.due(step=5, elapsed=110.0) and clock.due(step=6, elapsed=120.0)  # the next tick: 120 s


def test_the_learning_rate_warms_up_then_decays_to_a_tenth():
    assert learning_rate(0.02, step=0, warmup_steps=20, fraction=0.0) == pytest.approx(0.001)
    assert learning_rate(0.02, step=19, warmup_steps=20, fraction=0.0) == pytest.approx(0.02)
    assert learning_rate(0.02, step=500, warmup_steps=20, fraction=0.5) == pytest.approx(0.011)
    assert learning_rate(0.02, step=900, warmup_steps=20, fraction=1.0) == pytest.approx(0.002)
    assert learning_rate(0.02, step=901, warmup_steps=20, fraction=1.7) == pytest.approx(0.002)  # past the end


def test_a_run_is_as_far_along_as_its_steps_or_its_budget_say_whichever_is_further():
    by_steps = RunLength(total_steps=1000)
    assert by_steps.fraction(250, 999.0) == 0.25
    assert by_steps.remaining(250, 50.0) == 150.0  # 750 steps left at 0.2 s a step
    budgeted = RunLength(total_steps=1000, budget_seconds=60.0)
    assert budgeted.fraction(100, 30.0) == 0.5
    assert budgeted.fraction(900, 30.0) == 0.9
    assert budgeted.remaining(100, 30.0) == 30.0  # the budget ends it before its steps would
    assert budgeted.remaining(900, 30.0) == pytest.approx(3.333, abs=1e-3)  # its steps end it first
    assert budgeted.fraction(1000, 90.0) == 1.0 and budgeted.remaining(10, 90.0) == 0.0

"""The app's logic that needs no server: what the Train tab shows as a run goes."""

from __future__ import annotations

from textgen import Evaluation, Finished
from textgen.studio import TrainingView


def evaluation(step: int, val_bits: float, train_bits: float, is_best: bool) -> Evaluation:
    return Evaluation(
        step=step,
        total_steps=1000,
        epoch=0,
        train_loss=1.0,
        val={"bits_per_char": val_bits},
        train={"bits_per_char": train_bits},
        best_val_loss=0.0,
        is_best=is_best,
        samples={0.5: "ROMEO:\nI will."},
        elapsed=float(step),
    )


def test_the_plot_shows_train_and_held_out_in_bits_per_char_beside_the_unigram():
    view = TrainingView(unigram_bits=4.5, patience=3)
    view.add(evaluation(50, 3.2, 3.1, is_best=True))
    view.add(evaluation(100, 2.8, 2.6, is_best=True))
    plot = view.plot()
    assert list(plot.columns) == ["step", "bits_per_char", "split"]
    held_out = plot[plot.split == "validation"]
    assert held_out.step.tolist() == [50, 100] and held_out.bits_per_char.tolist() == [3.2, 2.8]
    assert plot[plot.split == "train"].bits_per_char.tolist() == [3.1, 2.6]
    unigram = plot[plot.split == "unigram"]
    assert unigram.step.tolist() == [0, 100] and set(unigram.bits_per_char) == {4.5}  # spans the run
    assert "T=0.5: ROMEO:\nI will." in view.samples


def test_the_status_line_has_progress_time_step_best_and_explains_early_stopping():
    view = TrainingView(unigram_bits=4.5, patience=3)
    view.add(evaluation(50, 3.2, 3.1, is_best=True))
    view.add(evaluation(100, 3.3, 2.9, is_best=False))
    line = view.status(0.25, 120, elapsed=15, remaining=45)
    assert '<progress value="0.250" max="1">' in line and "25%" in line
    assert "step 120" in line and "0:15 elapsed" in line and "about 0:45 left" in line
    assert "best 3.200 bits/char at step 50 (unigram 4.500)" in line
    assert "no improvement in the last 1 evaluation(s); it stops early after 3" in line
    assert "<script" not in TrainingView(4.5, 3).status(0.1, 1, 1, None)


def test_the_end_says_why_it_stopped_and_warns_when_it_learned_little():
    view = TrainingView(unigram_bits=3.897, patience=4)
    view.add(evaluation(50, 3.817, 3.5, is_best=True))
    done = Finished(
        step=80, reason="early stop", best={"bits_per_char": 3.817}, unigram={"bits_per_char": 3.897}, elapsed=60
    )
    text = view.finished(done, "jan-word-tiny-1")
    assert "did not improve for 4 evaluations (early stop)" in text and "best model at step 50 was kept" in text
    assert "It learned little" in text and "ignores context (3.897)" in text
    good = Finished(
        step=80, reason="time budget", best={"bits_per_char": 2.1}, unigram={"bits_per_char": 3.9}, elapsed=60
    )
    assert "learned little" not in view.finished(good, "m") and "time budget ran out" in view.finished(good, "m")

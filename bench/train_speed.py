"""Training speed: the tutorial method vs textgen on the NYT headlines, side by side in one process.

    python bench/train_speed.py [--baseline-seconds 450] [--device cpu]

Both train on the same lowercased training headlines and are scored on the same held-out ones.
Prints: the baseline's best held-out loss and when it got there, when textgen reached that loss,
their ratio, and held-out bits per character of each after 60 s and 300 s of training.
"""

from __future__ import annotations

import argparse

import torch
from common import nyt_split, nyt_training_data, report
from tutorial_baseline import TutorialLSTM, encode, nats_to_bits, train, windows

from textgen import Evaluation, TrainConfig, Trainer
from textgen.training import TrainingData


def run_baseline(train_docs, val_docs, seconds: float) -> list[tuple[float, float]]:
    train_text = "\n".join(d.lower() for d in train_docs) + "\n"
    val_text = "\n".join(d.lower() for d in val_docs) + "\n"
    chars = sorted(set(train_text))
    torch.manual_seed(0)
    model = TutorialLSTM(len(chars))
    curve = []
    train_windows, val_windows = windows(encode(train_text, chars)), windows(encode(val_text, chars))
    for elapsed, loss in train(model, train_windows, val_windows, seconds):
        curve.append((elapsed, loss))
        print(f"baseline {elapsed:6.1f} s: held-out {loss:.4f} nats/char", flush=True)
    return curve


def run_textgen(data: TrainingData, seconds: float, device: str) -> list[tuple[float, float]]:
    config = TrainConfig(
        lowercase=True,
        max_minutes=seconds / 60,
        epochs=1000,
        eval_every=25,
        patience=1000,
        sample_length=1,
        device=device,
    )
    trainer = Trainer(config, data)
    curve = []
    for event in trainer.run():
        if isinstance(event, Evaluation):
            curve.append((event.elapsed, event.val["loss"]))
    print(f"textgen {seconds:.0f} s budget: best {min(loss for _, loss in curve):.4f} nats/char", flush=True)
    return curve


def best_within(curve: list[tuple[float, float]], seconds: float) -> float | None:
    losses = [loss for elapsed, loss in curve if elapsed <= seconds + 1e-9]
    return min(losses) if losses else None


def bits(nats: float | None) -> float | None:
    return None if nats is None else round(nats_to_bits(nats), 4)


def first_reaching(curve: list[tuple[float, float]], target: float) -> float | None:
    return next((elapsed for elapsed, loss in curve if loss <= target), None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-seconds", type=float, default=450)
    parser.add_argument(
        "--budgets",
        type=float,
        nargs=2,
        default=(60, 300),
        metavar=("SHORT", "LONG"),
        help="textgen's two training budgets in seconds, compared at equal wall time",
    )
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    short, long = args.budgets

    train_docs, val_docs = nyt_split()
    config = TrainConfig(lowercase=True)
    data = nyt_training_data(config)

    baseline = run_baseline(train_docs, val_docs, args.baseline_seconds)
    target = min(loss for _, loss in baseline)
    baseline_time = first_reaching(baseline, target)
    ours = {budget: run_textgen(data, budget, args.device) for budget in (short, long)}
    ours_time = first_reaching(ours[short], target) or first_reaching(ours[long], target)
    results = {
        "command": f"python bench/train_speed.py --baseline-seconds {args.baseline_seconds:g} "
        f"--budgets {short:g} {long:g}",
        "held_out_headlines": len(val_docs),
        "baseline_best_nats_per_char": round(target, 4),
        "baseline_seconds_to_best": round(baseline_time, 1),
        "textgen_seconds_to_baseline_best": ours_time and round(ours_time, 1),
        "speedup_to_baseline_best": ours_time and round(baseline_time / ours_time, 1),
        f"bits_per_char_at_{short:g}s": {
            "baseline": bits(best_within(baseline, short)),
            "textgen": bits(best_within(ours[short], short)),
        },
        f"bits_per_char_at_{long:g}s": {
            "baseline": bits(best_within(baseline, long)),
            "textgen": bits(best_within(ours[long], long)),
        },
        "curves": {"baseline": baseline, f"textgen_{short:g}s": ours[short], f"textgen_{long:g}s": ours[long]},
    }
    report("train_speed", results)


if __name__ == "__main__":
    main()

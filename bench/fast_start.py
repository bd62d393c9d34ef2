"""How soon a run gets useful: time to a target held-out loss and the loss at the end of a short run,
for variants of the training settings, each run twice (the spread between runs is large).

    python bench/fast_start.py [--seconds 90] [--target 1.9114] [--repeats 2] [--variants NAME ...]

A variant changes the settings (VARIANTS) or the built model's initialisation (INITS).

On the lowercased NYT headlines at char level (the tutorial method's corpus, bench/train_speed.py's
split). The target defaults to the tutorial method's best held-out loss in the issue's run (1.9114
nats/char). Each run evaluates every 10 steps (the training clock stands still meanwhile), so the
time to the target is measured finely; the end figure scores every held-out headline.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace

import torch
from common import nyt_training_data, report

from textgen import Evaluation, Finished, TrainConfig, Trainer
from textgen.config import PACK_OFF

NONE = {**PACK_OFF, "dropout": 0.0}  # every regulariser off, dropout too
# Each variant changes the defaults (what `sizing.py` chooses for the budget) in one way.
VARIANTS = {
    "defaults": {},
    "lr 0.03": {"lr": 0.03},
    "lr 0.01": {"lr": 0.01},
    "no warm-up": {"warmup_steps": 1},
    "batch 16": {"batch_size": 16},
    "batch 64": {"batch_size": 64},
    "seq 32": {"seq_len": 32},
    "seq 128": {"seq_len": 128},
    "no regularisers": NONE,
    "no dropout": {"dropout": 0.0},
    "weight decay 0.1 only": {**NONE, "weight_decay": 0.1},
    "no regularisers, no warm-up": {**NONE, "warmup_steps": 1},
    # sizing.py's choice before it moved the regularisers from ten to fifteen passes
    "before (dropout 0.1, DropConnect 0.2, EMA)": {
        "dropout": 0.1,
        "weight_drop": 0.2,
        "ema": 0.99,
        "weight_decay": 0.1,
    },
}


def forget_gate_bias(model, value: float = 1.0) -> None:
    """The forget gates' bias at `value` (Jozefowicz et al. 2015; nn.LSTM's gates are i, f, g, o)."""
    hidden = model.lstm.hidden_size
    for layer in range(model.lstm.num_layers):
        getattr(model.lstm, f"bias_ih_l{layer}")[hidden : 2 * hidden] = value
        getattr(model.lstm, f"bias_hh_l{layer}")[hidden : 2 * hidden] = 0.0


def orthogonal_recurrence(model) -> None:
    """Each gate's recurrent weights an orthogonal matrix (Saxe et al. 2014) instead of uniform."""
    hidden = model.lstm.hidden_size
    for layer in range(model.lstm.num_layers):
        weights = getattr(model.lstm, f"weight_hh_l{layer}")
        for gate in range(4):
            torch.nn.init.orthogonal_(weights[gate * hidden : (gate + 1) * hidden])


# Variants of the model's initialisation, on the default settings: each changes the built model
# before its first step.
INITS = {
    "forget-gate bias 1": forget_gate_bias,
    "orthogonal recurrence": orthogonal_recurrence,
    "both inits": lambda model: (forget_gate_bias(model), orthogonal_recurrence(model)),
}


def run(config: TrainConfig, data, init=None) -> dict:
    trainer = Trainer(config, data)
    if init is not None:
        with torch.no_grad():
            init(trainer.model)
            if trainer.averaged is not None:
                trainer.averaged.module.load_state_dict(trainer.model.state_dict())
    curve, end = [], None
    for event in trainer.run():
        if isinstance(event, Evaluation):
            curve.append((round(event.elapsed, 2), round(event.val.loss, 4), event.step))
        elif isinstance(event, Finished):
            end = event
    return {
        "curve": curve,
        "steps": end.step,
        "end_nats_per_char": round(end.best.loss, 4),
        "settings": {
            name: getattr(trainer.config, name)
            for name in ("hidden_size", "dropout", "lr", "batch_size", "seq_len", "weight_drop", "ema")
        },
    }


def first_reaching(curve: list, target: float) -> tuple[float, int] | tuple[None, None]:
    """(training seconds, steps) when the held-out loss first reached `target`."""
    return next(((elapsed, step) for elapsed, loss, step in curve if loss <= target), (None, None))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--target", type=float, default=1.9114, help="held-out nats per character")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=[*VARIANTS, *INITS])
    parser.add_argument("--name", default="fast_start")
    args = parser.parse_args(argv)

    minutes = args.seconds / 60
    base = TrainConfig(lowercase=True, max_minutes=minutes, eval_every=10, patience=10**6, sample_length=1)
    data = nyt_training_data(base)
    runs: dict[str, list[dict]] = {name: [] for name in args.variants}
    for repeat in range(args.repeats):  # round-robin, so the machine's drift spreads over every variant
        for name in args.variants:
            result = run(replace(base, **VARIANTS.get(name, {})), data, INITS.get(name))
            result["seconds_to_target"], result["steps_to_target"] = first_reaching(result["curve"], args.target)
            runs[name].append(result)
            print(
                f"{name:16} run {repeat}: target at {result['seconds_to_target']} s (step "
                f"{result['steps_to_target']}), "
                f"end {result['end_nats_per_char']:.4f} nats/char after {result['steps']} steps",
                flush=True,
            )

    def mean(values):
        values = [v for v in values if v is not None]
        return round(sum(values) / len(values), 3) if values else None

    table = {
        name: {
            "seconds_to_target": [r["seconds_to_target"] for r in results],
            "steps_to_target": [r["steps_to_target"] for r in results],
            "end_nats_per_char": [r["end_nats_per_char"] for r in results],
            "mean_seconds_to_target": mean(r["seconds_to_target"] for r in results),
            "mean_end_nats_per_char": mean(r["end_nats_per_char"] for r in results),
            "steps": [r["steps"] for r in results],
        }
        for name, results in runs.items()
    }
    for name, row in table.items():
        print(f"{name:16} to target {row['seconds_to_target']} s, end {row['end_nats_per_char']}", flush=True)
    report(
        args.name,
        {
            "command": shlex.join(["python", "bench/fast_start.py", *(sys.argv[1:] if argv is None else argv)]),
            "target_nats_per_char": args.target,
            "seconds": args.seconds,
            "table": table,
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()

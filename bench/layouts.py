"""How training should start documents: the layouts compared in one process, scored the same way.

    python bench/layouts.py [--corpus nyt shakespeare] [--budgets 60 300] [--target 1.825]

- "stream" (textgen before this benchmark): all training documents joined into one stream, cut
  into 32 rows, the state carried along each row for a whole epoch; a row starts from the zero
  state once per epoch, mostly in the middle of a document.
- "documents" (textgen now): every row starts a document (or a piece of a long one) from the zero
  state with `<eos>` as input, as sampling does; rows of similar length are stacked together.

Both are scored by textgen's held-out evaluation (each document from the zero state, as the
sampler starts), with textgen's defaults otherwise. Prints, per corpus, layout and budget: steps,
held-out nats/char at the end of the budget, the best, and the first time the target was reached.
The NYT corpus is lowercased (the speed benchmark's setting); tiny Shakespeare is read as a user's
upload is (one document per paragraph) and split 90/10 by document.
"""

from __future__ import annotations

import argparse
import json

import torch
from common import SHAKESPEARE, nyt_training_data, report

from textgen import Evaluation, TrainConfig, Trainer, load_corpus, prepare_data
from textgen.batches import Window


class StreamTrainer(Trainer):
    """The earlier layout: one stream of documents, `batch_size` rows, the state carried all epoch."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps_per_epoch = len(list(self.epoch_windows(0)))
        self.total_steps = self.steps_per_epoch * self.config.epochs

    def epoch_windows(self, epoch: int):
        stream = self.data.train_stream
        rng = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        order = torch.randperm(stream.num_documents, generator=rng).tolist()
        tokens = [int(stream.tokens[0])]
        for i in order:
            tokens.extend(stream.tokens[stream.starts[i] + 1 : stream.starts[i + 1] + 1].tolist())
        flat = torch.tensor(tokens)
        columns = flat.numel() // self.config.batch_size
        rows = flat[: columns * self.config.batch_size].view(self.config.batch_size, columns)
        for start in range(0, columns - 1, self.config.seq_len):
            length = min(self.config.seq_len, columns - 1 - start)
            inputs = rows[:, start : start + length]
            targets = rows[:, start + 1 : start + 1 + length]
            yield Window(inputs, targets, fresh=start == 0)


def corpus_data(name: str, config: TrainConfig):
    if name == "nyt":
        return nyt_training_data(config)
    return prepare_data(load_corpus(str(SHAKESPEARE)).documents, config)


def run(name: str, layout: str, seconds: float, target: float, eval_every: int) -> dict:
    config = TrainConfig(
        lowercase=name == "nyt",
        max_minutes=seconds / 60,
        epochs=1000,
        eval_every=eval_every,
        hidden_size=256,  # the layouts were compared at the fixed default of the time, not the auto sizes
        dropout=0.0,
        patience=1000,
        sample_length=1,
    )
    data = corpus_data(name, config)
    trainer = (StreamTrainer if layout == "stream" else Trainer)(config, data)
    curve = [(e.elapsed, e.val.loss) for e in trainer.run() if isinstance(e, Evaluation)]
    result = {
        "corpus": name,
        "layout": layout,
        "budget_s": seconds,
        "bf16": trainer.bf16,
        "steps": trainer.state.step,
        "final": round(curve[-1][1], 4),
        "best": round(min(loss for _, loss in curve), 4),
        "seconds_to_target": next((round(t, 1) for t, loss in curve if loss <= target), None),
        "curve": [(round(t, 1), round(loss, 4)) for t, loss in curve],
    }
    print(json.dumps({k: v for k, v in result.items() if k != "curve"}), flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", choices=("nyt", "shakespeare"), default=["nyt", "shakespeare"])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60, 300])
    parser.add_argument("--layouts", nargs="+", choices=("stream", "documents"), default=["stream", "documents"])
    parser.add_argument("--target", type=float, default=1.825, help="held-out nats/char (the tutorial's best)")
    parser.add_argument("--long-eval-every", type=int, default=50, help="steps between evaluations past 60 s")
    args = parser.parse_args(argv)
    results = []
    for name in args.corpus:
        for seconds in args.budgets:
            for layout in args.layouts:  # alternated, so the machine's drift touches both alike
                every = 10 if seconds <= 60 else args.long_eval_every
                results.append(run(name, layout, seconds, args.target, eval_every=every))
    report("layouts", {"command": "python bench/layouts.py " + " ".join(argv or []), "runs": results})


if __name__ == "__main__":
    main()

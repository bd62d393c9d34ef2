"""Where a CPU training step goes: oneDNN on/off, 1 vs 2 threads, and the top ops.

    python bench/profile_lstm.py [--hidden-size 256]

One textgen training step (1 x LSTM, batch 32 x 64 tokens, AdamW), timed over 20 steps.
"""

from __future__ import annotations

import argparse
import time

import common  # noqa: F401  (puts the repo on sys.path)
import torch
import torch.nn.functional as F

from textgen import LSTMConfig, LSTMLanguageModel


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden-size", type=int, default=256)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    model = LSTMLanguageModel(
        LSTMConfig(vocab_size=117, embedding_dim=args.hidden_size, hidden_size=args.hidden_size)
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    tokens = torch.randint(0, 117, (32, 65))

    def step():
        logits, _ = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for threads in (2, 1):
        torch.set_num_threads(threads)
        for onednn in (True, False):
            with torch.backends.mkldnn.flags(enabled=onednn):
                for _ in range(3):
                    step()
                started = time.perf_counter()
                for _ in range(20):
                    step()
                seconds = (time.perf_counter() - started) / 20
            print(
                f"threads={threads} oneDNN={onednn}: {seconds * 1000:.1f} ms/step, "
                f"{32 * 64 / seconds / 1000:.0f}k tokens/s"
            )
    torch.set_num_threads(2)
    with torch.autograd.profiler.profile() as profile:
        step()
    print(profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=5))


if __name__ == "__main__":
    main()

"""Where a CPU training step goes: oneDNN on/off, threads, bf16 autocast, fused AdamW, the top ops.

    python bench/profile_lstm.py [--hidden-size 256]

One textgen training step (1 x LSTM, batch 32 x 64 tokens, AdamW, gradient clipping), timed over
20 steps in each setting, all in one process so that the ratios are comparable.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from textgen import LSTMConfig, LSTMLanguageModel, TrainConfig
from textgen.device import native_bf16


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden-size", type=int, default=256)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    model = LSTMLanguageModel(
        LSTMConfig(vocab_size=117, embedding_dim=args.hidden_size, hidden_size=args.hidden_size)
    )
    tokens = torch.randint(0, 117, (32, 65))

    def make_step(bf16: bool, fused: bool):
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=fused)

        def step():
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits, _ = model(tokens[:, :-1])
                loss = F.cross_entropy(logits.flatten(0, 1).float(), tokens[:, 1:].flatten())
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), TrainConfig.grad_clip)
            optimizer.step()

        return step

    def timed(step) -> float:
        for _ in range(3):
            step()
        started = time.perf_counter()
        for _ in range(20):
            step()
        return (time.perf_counter() - started) / 20

    def show(label: str, seconds: float, reference: float) -> None:
        print(
            f"{label}: {seconds * 1000:.1f} ms/step, {32 * 64 / seconds / 1000:.0f}k tokens/s, "
            f"{reference / seconds:.2f}x the first row",
            flush=True,
        )

    print(f"AMX bf16 on this CPU: {native_bf16(torch.device('cpu'))}")
    settings = [(2, True, False, False)]  # threads, oneDNN, bf16, fused AdamW: the old default first
    settings += [(2, False, False, False), (1, True, False, False), (2, True, False, True), (2, True, True, True)]
    reference = None
    for threads, onednn, bf16, fused in settings:
        torch.set_num_threads(threads)
        with torch.backends.mkldnn.flags(enabled=onednn):
            seconds = timed(make_step(bf16, fused))
        reference = reference or seconds
        show(f"threads={threads} oneDNN={onednn} bf16={bf16} fused={fused}", seconds, reference)
    torch.set_num_threads(2)
    step = make_step(native_bf16(torch.device("cpu")), True)
    step()
    with torch.autograd.profiler.profile() as profile:
        step()
    print(profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=6))


if __name__ == "__main__":
    main()

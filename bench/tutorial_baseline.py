"""The classic char-RNN tutorial method (Keras `lstm_text_generation` and its copies), in PyTorch.

Lowercased text; overlapping 40-character windows with stride 3; one-hot inputs; one LSTM(128);
a dense softmax on the last step only (one target per window); RMSprop at lr 0.01, batch 128.
Generation re-runs the whole 40-character window for every character, one character at a time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

MAXLEN = 40
STEP = 3


@dataclass
class Windows:
    starts: torch.Tensor  # first index of each window in `ids`
    ids: torch.Tensor  # the character stream


def encode(text: str, chars: list[str]) -> torch.Tensor:
    index = {c: i for i, c in enumerate(chars)}
    return torch.tensor([index[c] for c in text if c in index])


def windows(ids: torch.Tensor, step: int = STEP) -> Windows:
    return Windows(torch.arange(0, ids.numel() - MAXLEN, step), ids)


class TutorialLSTM(nn.Module):
    def __init__(self, vocab_size: int, hidden_size: int = 128):
        super().__init__()
        self.vocab_size = vocab_size
        self.lstm = nn.LSTM(vocab_size, hidden_size, batch_first=True)
        self.dense = nn.Linear(hidden_size, vocab_size)

    def forward(self, window_ids: torch.Tensor) -> torch.Tensor:
        one_hot = F.one_hot(window_ids, self.vocab_size).float()  # (batch, 40, vocab)
        output, _ = self.lstm(one_hot)
        return self.dense(output[:, -1])  # the last step only: (batch, vocab)


def batch(data: Windows, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    offsets = starts.unsqueeze(1) + torch.arange(MAXLEN)
    return data.ids[offsets], data.ids[starts + MAXLEN]


@torch.inference_mode()
def held_out_loss(model: TutorialLSTM, data: Windows, batch_size: int = 1024) -> float:
    """Mean nats per character of the next character after each 40-character window."""
    total = 0.0
    for i in range(0, data.starts.numel(), batch_size):
        inputs, targets = batch(data, data.starts[i : i + batch_size])
        total += F.cross_entropy(model(inputs), targets, reduction="sum").item()
    return total / data.starts.numel()


def train(
    model: TutorialLSTM,
    train_data: Windows,
    val_data: Windows,
    seconds: float,
    eval_every: float = 10.0,
    seed: int = 0,
) -> Iterator[tuple[float, float]]:
    """Yield (training seconds, held-out loss) every `eval_every` training seconds, until `seconds`."""
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(seed)
    elapsed, next_eval = 0.0, eval_every
    while elapsed < seconds:
        order = train_data.starts[torch.randperm(train_data.starts.numel(), generator=generator)]
        for i in range(0, order.numel(), 128):
            started = time.perf_counter()
            inputs, targets = batch(train_data, order[i : i + 128])
            loss = F.cross_entropy(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            elapsed += time.perf_counter() - started
            if elapsed >= next_eval or elapsed >= seconds:
                model.eval()
                yield elapsed, held_out_loss(model, val_data)
                model.train()
                next_eval += eval_every
            if elapsed >= seconds:
                return


@torch.inference_mode()
def generate(model: TutorialLSTM, seed_ids: list[int], length: int, temperature: float, generator) -> list[int]:
    """The tutorial's loop: predict from the last 40 characters, append, repeat."""
    ids = list(seed_ids)
    for _ in range(length):
        window = torch.tensor([ids[-MAXLEN:]])
        logits = model(window)[0]
        if temperature == 0:
            ids.append(int(logits.argmax()))
        else:
            probs = F.softmax(logits / temperature, dim=-1)
            ids.append(int(torch.multinomial(probs, 1, generator=generator)))
    return ids[len(seed_ids) :]


def nats_to_bits(nats: float) -> float:
    return nats / math.log(2)

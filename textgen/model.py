"""The LSTM language model: embedding -> multi-layer nn.LSTM -> linear head, with the small-data
regularisers of AWD-LSTM (Merity et al. 2017) for training: DropConnect on the recurrent weights,
embedding dropout, locked (variational) dropout. None of them touch the weights a model saves, so
the one-step sampling path and an ONNX export compute exactly what was evaluated."""

from __future__ import annotations

import copy
import os
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

State = tuple[torch.Tensor, torch.Tensor]

# Far above anything we train, far below what would exhaust memory when a config is hostile.
MAX_VOCAB_SIZE = 500_000
MAX_WIDTH = 8192
MAX_LAYERS = 16
BYTES_PER_PARAMETER = 4  # float32
MAX_MODEL_MB_ENV = "TEXTGEN_MAX_MODEL_MB"
DEFAULT_MAX_MODEL_MB = 1024  # the shipped models are 7-9 MB; a 3 x 1024 LSTM is about 100 MB


def max_model_bytes() -> int:
    """The memory a model's weights may take, from TEXTGEN_MAX_MODEL_MB (default 1024)."""
    try:
        megabytes = float(os.environ.get(MAX_MODEL_MB_ENV, DEFAULT_MAX_MODEL_MB))
    except ValueError:
        megabytes = DEFAULT_MAX_MODEL_MB
    return int(megabytes * 2**20)


@dataclass
class LSTMConfig:
    vocab_size: int
    embedding_dim: int = 256
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.0
    tie_weights: bool = True

    def __post_init__(self) -> None:
        # Checked before any tensor is allocated, so a hostile config.json costs nothing.
        for name, limit in (
            ("vocab_size", MAX_VOCAB_SIZE),
            ("embedding_dim", MAX_WIDTH),
            ("hidden_size", MAX_WIDTH),
            ("num_layers", MAX_LAYERS),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
                raise ValueError(f"config {name}={value!r} is outside 1..{limit}")
        dropout = self.dropout
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"config dropout={dropout!r} is not a number in [0, 1)")
        if not isinstance(self.tie_weights, bool):
            raise ValueError(f"config tie_weights={self.tie_weights!r} is not true or false")
        size = self.num_parameters() * BYTES_PER_PARAMETER
        if size > max_model_bytes():
            raise ValueError(
                f"config describes {self.num_parameters():,} parameters ({size / 2**20:,.0f} MB), over "
                f"this server's limit of {max_model_bytes() / 2**20:,.0f} MB ({MAX_MODEL_MB_ENV})"
            )

    @property
    def tied(self) -> bool:
        """Tie the head to the embedding when their sizes allow it."""
        return self.tie_weights and self.embedding_dim == self.hidden_size

    def num_parameters(self) -> int:
        v, e, h, n = self.vocab_size, self.embedding_dim, self.hidden_size, self.num_layers
        lstm = 4 * h * (e + h + 2) + (n - 1) * 4 * h * (2 * h + 2)
        head = v + (0 if self.tied else v * h)  # the bias, and the weight unless tied to the embedding
        return v * e + lstm + head

    @classmethod
    def from_dict(cls, data: dict) -> LSTMConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"config has unknown keys: {', '.join(sorted(unknown))}")
        if "vocab_size" not in data:
            raise ValueError("config has no vocab_size")
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Regularization:
    """What training adds to `dropout`: set by the Trainer, off at inference, never saved."""

    weight_drop: float = 0.0  # DropConnect on the LSTM's hidden-to-hidden weights, a fresh mask per batch
    embedding_dropout: float = 0.0  # whole token vectors dropped (the same token everywhere in a batch)
    locked: bool = False  # `dropout`'s mask the same at every time step of a row (variational dropout)


class LSTMLanguageModel(nn.Module):
    """Saved, loaded and pushed through checkpoints.py and hub.py (not a Hub mixin), so that every
    load goes through the same checks: config first, sizes, dtypes, finite weights."""

    def __init__(self, config: LSTMConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.lstm = nn.LSTM(
            config.embedding_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.dropout = nn.Dropout(config.dropout)
        if config.tied:
            # Built on the meta device and then tied: the (vocab x hidden) weight is never allocated
            # twice, so the memory is exactly what num_parameters() counted.
            self.head = nn.Linear(config.hidden_size, config.vocab_size, device="meta")
            self.head.weight = self.embedding.weight
            self.head.bias = nn.Parameter(torch.zeros(config.vocab_size))
        else:
            self.head = nn.Linear(config.hidden_size, config.vocab_size)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.zeros_(self.head.bias)
        self.regularization = Regularization()

    def forward(self, tokens: torch.Tensor, state: State | None = None, outputs: bool = False):
        """tokens (batch, time) -> logits (batch, time, vocab) and the LSTM's (h, c); with `outputs`, also
        the LSTM's output before and after dropout (batch, time, hidden_size), for AR/TAR."""
        training = self.regularization if self.training else Regularization()
        weight = self.embedding.weight
        if training.embedding_dropout:
            keep = 1 - training.embedding_dropout
            weight = weight * weight.new_empty(weight.size(0), 1).bernoulli_(keep) / keep
        embedded = self._drop(F.embedding(tokens, weight), training.locked)  # (batch, time, embedding_dim)
        lstm_weights = {}
        if training.weight_drop:  # the recurrent weights with a fresh DropConnect mask, for this batch
            lstm_weights = {
                name: F.dropout(getattr(self.lstm, name), training.weight_drop)
                for name in (f"weight_hh_l{layer}" for layer in range(self.config.num_layers))
            }
        lstm = (lambda *inputs: functional_call(self.lstm, lstm_weights, inputs)) if lstm_weights else self.lstm
        if embedded.is_cuda and torch.is_autocast_enabled("cuda"):
            # Autocast casts a cuDNN LSTM to fp16 whatever dtype it was asked for (AutocastRNN.cpp), and
            # fp16 without a loss scaler underflows: the LSTM runs in fp32 (TF32 on tensor cores) and
            # autocast keeps the rest (the head's large matmul) in the precision it was asked for.
            with torch.autocast("cuda", enabled=False):
                output, state = lstm(embedded.float(), state)
        else:
            output, state = lstm(embedded, state)  # (batch, time, hidden_size)
        dropped = self._drop(output, training.locked)
        logits = self.head(dropped)
        return (logits, state, (output, dropped)) if outputs else (logits, state)

    def _drop(self, x: torch.Tensor, locked: bool) -> torch.Tensor:
        p = self.dropout.p
        if not self.training or p == 0 or not locked:
            return self.dropout(x)
        mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p) / (1 - p)  # one mask for all steps
        return x * mask

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One time step for sampling: tokens (batch,) -> logits (batch, vocab) and the new state.

        The same weights and math as `forward` on a length-1 sequence, through the fused LSTM cell
        op: nn.LSTM's per-call overhead made a one-token step 3x slower on CPU (measured). Inference
        only (no dropout).
        """
        x = self.embedding(tokens)  # (batch, embedding_dim)
        h, c = state
        hs, cs = [], []
        for layer in range(self.config.num_layers):
            weights = [
                getattr(self.lstm, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            ]
            x, cell = torch.lstm_cell(x, (h[layer], c[layer]), *weights)
            hs.append(x)
            cs.append(cell)
        return self.head(x), (torch.stack(hs), torch.stack(cs))

    def prime(
        self, tokens: torch.Tensor, chunk: int = 512, state: State | None = None
    ) -> tuple[torch.Tensor, State]:
        """Read a seed text (1, time) for sampling, from `state` (None: the start): the logits after its
        last token (1, vocab), the state.

        In chunks, and only the last position goes through the head: a long seed costs LSTM time,
        not a (time x vocab) matrix of logits. Inference only (no dropout).
        """
        for start in range(0, tokens.size(1), chunk):
            output, state = self.lstm(self.embedding(tokens[:, start : start + chunk]), state)
        return self.head(output[:, -1]), state

    def for_decoding(self, dtype: torch.dtype = torch.float32) -> LSTMLanguageModel:
        """The model for generating with weights in `dtype`: itself (in eval mode) for float32, else
        a copy, so that training and saving keep the float32 weights."""
        if dtype == self.head.weight.dtype:
            return self.eval()
        return copy.deepcopy(self).to(dtype).eval()

    def initial_state(self, batch_size: int) -> State:
        shape = (self.config.num_layers, batch_size, self.config.hidden_size)
        weight = self.head.weight
        return (weight.new_zeros(shape), weight.new_zeros(shape))

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

"""A training run's settings, in one record (nanoGPT's way): train.py's flags, the app's presets and
a resumed run's saved state all become a TrainConfig."""

from __future__ import annotations

from dataclasses import dataclass, fields

LR = 2e-2  # AdamW's peak learning rate for a new model (a tied LSTM learns fastest per second at it)


@dataclass
class TrainConfig:
    level: str = "char"
    lowercase: bool = False
    min_count: int = 2  # word level: rarer words become <unk>
    embedding_dim: int = 0  # 0: same as hidden_size (so the head can be tied to the embedding)
    # Defaults measured on a 2-core CPU (BENCHMARKS.md): a tied LSTM at a high learning rate learns
    # fastest per second; its width, dropout and evaluation interval follow the corpus size and the
    # time budget when left to auto (None, sizing.py). Clipping at 0.1 instead of 1.0 trained tiny
    # Shakespeare (equal time) and a Korean novel (equal steps) better.
    hidden_size: int | None = None
    num_layers: int = 1
    dropout: float | None = None
    # Small-data regularisers (AWD-LSTM's; measured in BENCHMARKS.md): None leaves them to sizing.py.
    weight_drop: float | None = None  # DropConnect on the recurrent weights
    embedding_dropout: float | None = None  # whole token vectors dropped
    locked_dropout: bool | None = None  # `dropout` with one mask per row for all its time steps
    activation_reg: float | None = None  # AR: this times the mean square of the (dropped) LSTM outputs
    temporal_reg: float | None = None  # TAR: this times the mean square of their change from step to step
    ema: float | None = None  # the weights evaluated and saved: an exponential moving average (0: off)
    batch_size: int = 32
    seq_len: int = 64
    lr: float | None = None  # None: LR from scratch, finetune.FINE_TUNE_LR when starting from a model
    weight_decay: float | None = None  # AdamW's; None: 0.01, or 0.1 with the regularisers
    grad_clip: float = 0.1
    warmup_steps: int = 20
    epochs: int = 20
    max_minutes: float | None = None
    max_steps: int | None = None  # stop after this many optimizer steps (tests, smoke runs)
    eval_every: int | None = None  # steps (None: once per pass, and every 1/20 of a time budget); and at the end
    eval_tokens: int | None = 100_000  # held-out tokens scored at each evaluation (None: all); all at the end
    max_piece: int = 1024  # tokens: longer documents train as pieces that each start from the zero state
    patience: int = 4  # evaluations clearly worse than the best (training.clearly_worse) before stopping
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"
    bf16: bool | None = None  # None: where the hardware does bf16 natively and it works (native_bf16)
    sample_length: int = 120
    sample_prompt: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        if "weight_drop" not in data:  # saved before the regularisers existed: a resumed run goes on without
            data = {**PACK_OFF, **data}
        return cls(**{k: v for k, v in data.items() if k in names})


# The small-data regularisers switched off, and AdamW's weight decay as it was before them.
PACK_OFF = {
    "weight_drop": 0.0,
    "embedding_dropout": 0.0,
    "locked_dropout": False,
    "activation_reg": 0.0,
    "temporal_reg": 0.0,
    "ema": 0.0,
    "weight_decay": 0.01,
}

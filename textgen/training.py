"""The training loop: truncated BPTT, held-out evaluation, best checkpoint, early stop, resume.

`Trainer.run()` yields progress events; the CLI prints them with tqdm and the app turns them into
a progress bar, a loss plot and samples. One loop, two faces.
"""

from __future__ import annotations

import copy
import functools
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .batches import (
    TokenStream,
    Window,
    group_windows,
    num_group_windows,
    pieces,
    plan_groups,
    select,
    split_documents,
)
from .card import render_card
from .checkpoints import (
    CARD_FILE,
    RunInfo,
    atomic_write,
    load_folder,
    load_training_state,
    read_training_progress,
    save_checkpoint,
    save_training_state,
    write_info,
)
from .errors import TrainingError
from .metrics import Metrics, evaluate, unigram_metrics
from .model import LSTMConfig, LSTMLanguageModel
from .sampling import SAMPLE_TEMPERATURES, generate
from .sizing import EVALUATIONS_PER_BUDGET, fit_to_corpus
from .tokenizer import Tokenizer, fit_tokenizer


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
    batch_size: int = 32
    seq_len: int = 64
    lr: float = 2e-2
    weight_decay: float = 0.01
    grad_clip: float = 0.1
    warmup_steps: int = 20
    epochs: int = 20
    max_minutes: float | None = None
    max_steps: int | None = None  # stop after this many optimizer steps (tests, smoke runs)
    eval_every: int | None = None  # steps (None: once per pass, and every 1/20 of a time budget); and at the end
    max_piece: int = 1024  # tokens: longer documents train as pieces that each start from the zero state
    patience: int = 4  # evaluations without improvement before stopping
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"
    bf16: bool | None = None  # None: where the hardware does bf16 natively and it works (native_bf16)
    sample_length: int = 120
    sample_prompt: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Progress:
    step: int
    total_steps: int
    epoch: int
    train_loss: float
    lr: float
    elapsed: float


@dataclass
class Evaluation:
    step: int
    total_steps: int
    epoch: int
    train_loss: float
    val: Metrics  # on the held-out documents
    train: Metrics  # on a fixed sample of training documents, scored the same way (overfitting: a gap)
    best_val_loss: float
    is_best: bool
    samples: dict[float, str]  # temperature -> text
    elapsed: float


@dataclass
class Finished:
    step: int
    reason: str  # "epochs", "time budget", "early stop", "stopped"
    best: Metrics | None  # the best evaluation (None if the run stopped before its first)
    unigram: Metrics  # a model that ignores context, on the same split
    elapsed: float


@dataclass
class TrainingData:
    train_documents: list[str]
    val_documents: list[str]
    tokenizer: Tokenizer
    train_stream: TokenStream = field(repr=False)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise TrainingError("unknown device {name!r}; use auto, cpu or cuda", name=name) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda was asked for, but no CUDA GPU is available")
    return device


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 autocast is the better choice here: the hardware does bf16 natively and it works.

    Measured (bench/profile_lstm.py): AMX (Xeon Sapphire Rapids and later) and AVX512-BF16 (AMD
    Zen 4) run oneDNN's bf16 LSTM 1.6-2x faster than fp32; a CPU with AVX-512 but no bf16
    instructions runs it about 2x slower (emulated), and one with AVX2 only cannot run it at all.
    """
    if device.type == "cuda":
        fast = torch.cuda.is_bf16_supported()
    elif device.type == "cpu":
        # torch exposes these hardware checks only privately, hence the getattr.
        fast = any(
            getattr(torch.cpu, check, lambda: False)()
            for check in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
        )
    else:
        fast = False
    return fast and bf16_works(device.type)


@functools.cache
def bf16_works(device_type: str) -> bool:
    """A real probe: one LSTM forward and backward step under bf16 autocast on this device.

    A flag check is not enough: the kernels may lack a bf16 path here (oneDNN on an AVX2-only CPU,
    or capped by ONEDNN_MAX_CPU_ISA) and fail with "could not create a primitive descriptor".
    """
    lstm = nn.LSTM(8, 8, batch_first=True).to(device_type)
    inputs = torch.zeros(2, 3, 8, device=device_type)
    try:
        with torch.autocast(device_type, dtype=torch.bfloat16):
            output, _ = lstm(inputs)
        output.float().sum().backward()
    except RuntimeError:
        return False
    return True


def prepare_data(
    documents: list[str],
    config: TrainConfig,
    tokenizer: Tokenizer | Callable[[list[str]], Tokenizer] | None = None,
) -> TrainingData:
    """Split by document (fixed by the seed), fit the tokenizer on the training part, check size.

    `tokenizer`: one to use as it is (a resumed run's), or a function that makes one from the
    training documents (a base model's, grown for a new corpus); None fits a new one."""
    if len(documents) < 2:
        raise TrainingError("the corpus needs at least 2 documents (one is held out for validation)")
    train_docs, val_docs = split_documents(documents, config.val_fraction, config.seed)
    if tokenizer is None:
        tokenizer = fit_tokenizer(config.level, train_docs, config.lowercase, config.min_count)
    elif not isinstance(tokenizer, Tokenizer):
        tokenizer = tokenizer(train_docs)
    train_stream = TokenStream.from_ids((tokenizer.encode(doc) for doc in train_docs), tokenizer.eos_id)
    num_tokens = train_stream.num_targets + 1
    needed = config.batch_size * (config.seq_len + 1)
    if num_tokens < needed:
        raise TrainingError(
            "the corpus is too small: {tokens} training tokens, but batch size {batch} × sequence length "
            "{seq_len} needs at least {needed} characters (lower them, or add text)"
            if config.level == "char"
            else "the corpus is too small: {tokens} training tokens, but batch size {batch} × sequence length "
            "{seq_len} needs at least {needed} words (lower them, or add text)",
            tokens=num_tokens,
            batch=config.batch_size,
            seq_len=config.seq_len,
            needed=needed,
        )
    return TrainingData(train_docs, val_docs, tokenizer, train_stream)


def training_sample(train_documents: list[str], val_documents: list[str], seed: int) -> list[str]:
    """A fixed sample of training documents about as large as the held-out set, scored the same way."""
    wanted = sum(len(doc) + 1 for doc in val_documents)
    order = list(range(len(train_documents)))
    random.Random(seed).shuffle(order)
    sample, size = [], 0
    for i in order:
        if size >= wanted:
            break
        sample.append(train_documents[i])
        size += len(train_documents[i]) + 1
    return sample


def build_model(config: TrainConfig, vocab_size: int) -> LSTMLanguageModel:
    model_config = LSTMConfig(
        vocab_size=vocab_size,
        embedding_dim=config.embedding_dim or config.hidden_size,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        dropout=config.dropout,
    )
    return LSTMLanguageModel(model_config)


@dataclass
class TrainerState:
    """Where a run stands; saved with the latest weights and optimizer for --resume."""

    step: int = 0
    epoch: int = 0
    window: int = 0  # next window within the epoch
    elapsed: float = 0.0  # training seconds, carried across resumes
    best_val_loss: float = math.inf
    best_metrics: Metrics | None = None

    @classmethod
    def from_dict(cls, data: dict) -> TrainerState:
        return cls(**{**data, "best_metrics": Metrics.from_dict(data.get("best_metrics"))})

    bad_evaluations: int = 0  # since the best


class Trainer:
    def __init__(
        self,
        config: TrainConfig,
        data: TrainingData,
        out_dir: str | Path | None = None,
        info: RunInfo | None = None,
        model: LSTMLanguageModel | None = None,
        resumable: bool = True,  # also save the latest weights and optimizer at each evaluation
    ):
        self.data = data
        self.pieces = pieces(data.train_stream, config.max_piece)
        self.tokens_per_step = config.batch_size * config.seq_len
        self.steps_per_epoch = num_group_windows(
            self.pieces.lengths, self._groups(0, config.seed, config.seq_len), config.seq_len
        )
        # Settings left to auto follow the corpus and the budget; evaluations then also come every
        # 1/20 of a time budget, so that a long run on a large corpus is watched as often as a short one.
        auto_eval = config.eval_every is None and config.max_minutes is not None
        self.eval_seconds = 60 * config.max_minutes / EVALUATIONS_PER_BUDGET if auto_eval else None
        config = fit_to_corpus(config, data.train_stream.num_targets, self.steps_per_epoch)
        self.config = config
        self.resumable = resumable
        self.out_dir = Path(out_dir) if out_dir else None
        self.info = info or RunInfo()
        self.device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        self.model = (model or build_model(config, len(data.tokenizer))).to(self.device)
        self.bf16 = native_bf16(self.device) if config.bf16 is None else config.bf16
        if self.bf16 and not bf16_works(self.device.type):
            raise TrainingError(
                "bf16 was asked for, but this {device}'s LSTM kernels cannot run bf16 (oneDNN needs AVX-512 "
                "or AMX); train without --bf16 (fp32)",
                device=self.device.type.upper(),
            )
        # Fused AdamW: one kernel over all parameters instead of a loop (a few percent on a CPU step).
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=config.lr,
            weight_decay=config.weight_decay,
            fused=self.device.type in ("cpu", "cuda"),
        )
        self.total_steps = self.steps_per_epoch * config.epochs
        if config.max_steps is not None:
            self.total_steps = min(self.total_steps, config.max_steps)
        self.state = TrainerState()
        self.best_weights: dict | None = None
        self.stop_requested = False
        self.train_sample = training_sample(data.train_documents, data.val_documents, config.seed)
        self.unigram = unigram_metrics(data.tokenizer, data.train_documents, data.val_documents)

    # ------------------------------------------------------------------ schedule
    def _groups(self, epoch: int, seed: int, seq_len: int) -> list:
        """This epoch's groups of pieces, fixed by (seed, epoch) so that a resumed run sees the same."""
        rng = np.random.default_rng([seed, epoch])
        return plan_groups(self.pieces.lengths, self.tokens_per_step, seq_len, rng)

    def epoch_windows(self, epoch: int) -> Iterator[Window]:
        for group in self._groups(epoch, self.config.seed, self.config.seq_len):
            yield from group_windows(
                self.data.train_stream, select(self.pieces, group), self.config.seq_len, self.data.tokenizer.eos_id
            )

    def progress_fraction(self) -> float:
        by_steps = self.state.step / max(self.total_steps, 1)
        if self.config.max_minutes:
            return max(by_steps, self.state.elapsed / (60 * self.config.max_minutes))
        return by_steps

    def learning_rate(self) -> float:
        """Linear warm-up, then cosine decay to a tenth, over steps or the time budget."""
        if self.state.step < self.config.warmup_steps:
            return self.config.lr * (self.state.step + 1) / self.config.warmup_steps
        fraction = min(1.0, self.progress_fraction())
        return self.config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * fraction)))

    # ------------------------------------------------------------------ steps
    def train_step(self, window: Window, state):
        """One optimizer step on a window; `state` is the previous window's, unless this one starts fresh."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        inputs, targets = window.inputs.to(self.device), window.targets.to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            logits, state = self.model(inputs, None if window.fresh else state)
            # Padding targets are PAD_TARGET (-100), cross_entropy's ignore_index: not scored.
            loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.state.step += 1
        # Keep the state's values but cut the graph: gradients flow back seq_len steps only.
        return loss.item(), tuple(s.detach() for s in state)

    def evaluate(self, train_loss: float) -> Evaluation:
        metrics = evaluate(self.model, self.data.tokenizer, self.data.val_documents)
        train_metrics = evaluate(self.model, self.data.tokenizer, self.train_sample)
        run = self.state
        is_best = metrics.loss < run.best_val_loss
        if is_best:
            run.best_val_loss, run.best_metrics = metrics.loss, metrics
            self.best_weights = copy.deepcopy(self.model.state_dict())
            run.bad_evaluations = 0
        else:
            run.bad_evaluations += 1
        samples = self.samples()
        self.model.train()
        event = Evaluation(
            run.step,
            self.total_steps,
            run.epoch,
            train_loss,
            metrics,
            train_metrics,
            run.best_val_loss,
            is_best,
            samples,
            run.elapsed,
        )
        if self.out_dir:
            self.save(event)
        return event

    def samples(self) -> dict[float, str]:
        texts = generate(
            self.model,
            self.data.tokenizer,
            self.config.sample_prompt,
            temperature=list(SAMPLE_TEMPERATURES),
            length=self.config.sample_length,
            stop_at_eos=True,
            seed=self.config.seed + self.state.step,
        )
        return {t: self.config.sample_prompt + text.rstrip("\n") for t, text in zip(SAMPLE_TEMPERATURES, texts)}

    def run(self) -> Iterator[Progress | Evaluation | Finished]:
        """Train, evaluating every `eval_every` steps and once more at the end if the last step was not."""
        config, run = self.config, self.state
        self.model.train()
        self._clock = time.perf_counter() - run.elapsed
        loss = None  # stays None when a resumed run has nothing left to do
        next_eval_time = (run.elapsed // self.eval_seconds + 1) * self.eval_seconds if self.eval_seconds else None
        while run.epoch < config.epochs:
            state = None
            for index, window in enumerate(self.epoch_windows(run.epoch)):
                if index < run.window:
                    continue  # resuming mid-epoch (mid-group, the state restarts from zero)
                loss, state = self.train_step(window, state)
                run.window = index + 1
                run.elapsed = time.perf_counter() - self._clock
                yield Progress(run.step, self.total_steps, run.epoch, loss, self.learning_rate(), run.elapsed)
                out_of_time = config.max_minutes is not None and run.elapsed >= 60 * config.max_minutes
                out_of_steps = config.max_steps is not None and run.step >= config.max_steps
                due = run.step % config.eval_every == 0 or (next_eval_time and run.elapsed >= next_eval_time)
                if due or out_of_time or out_of_steps or self.stop_requested:
                    if next_eval_time:
                        next_eval_time = (run.elapsed // self.eval_seconds + 1) * self.eval_seconds
                    yield self.timed_evaluation(loss)
                    reason = self.stop_reason(out_of_time, out_of_steps)
                    if reason:
                        yield self.finish(reason)
                        return
            run.epoch, run.window = run.epoch + 1, 0
        if loss is not None and run.step % config.eval_every:
            yield self.timed_evaluation(loss)
        yield self.finish("epochs")

    def timed_evaluation(self, train_loss: float) -> Evaluation:
        """Evaluate with the training clock paused: evaluation does not eat the time budget."""
        paused = time.perf_counter()
        event = self.evaluate(train_loss)
        self._clock += time.perf_counter() - paused
        return event

    def stop_reason(self, out_of_time: bool, out_of_steps: bool = False) -> str | None:
        if self.stop_requested:
            return "stopped"
        if out_of_time:
            return "time budget"
        if out_of_steps:
            return "step limit"
        if self.state.bad_evaluations >= self.config.patience:
            return "early stop"
        return None

    def finish(self, reason: str) -> Finished:
        if self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        self.model.eval()
        self.info.unigram, self.info.stopped_because = self.unigram, reason
        if self.out_dir and self.best_weights is not None:
            self.save_summary()
        run = self.state
        return Finished(run.step, reason, run.best_metrics, self.unigram, run.elapsed)

    # ------------------------------------------------------------------ saving and resuming
    def model_info(self) -> RunInfo:
        return replace(
            self.info,
            level=self.data.tokenizer.level,
            metrics=self.state.best_metrics,
            train_config=asdict(self.config),
            train_documents=len(self.data.train_documents),
            val_documents=len(self.data.val_documents),
            step=self.state.step,
            training_seconds=round(self.state.elapsed, 1),
        )

    def save_best(self, samples: dict[float, str]) -> None:
        current = copy.deepcopy(self.model.state_dict())
        self.model.load_state_dict(self.best_weights)
        self.info.samples = {str(t): s for t, s in samples.items()}
        info = self.model_info()
        save_checkpoint(
            self.out_dir,
            self.model,
            self.data.tokenizer,
            info,
            self.data.train_documents,
            card=render_card(info, self.model.config, model_ref=str(self.out_dir)),
        )
        self.model.load_state_dict(current)

    def save_summary(self) -> None:
        """At the end: add the unigram baseline and why it stopped to the saved card (weights unchanged)."""
        info = self.model_info()
        card = render_card(info, self.model.config, model_ref=str(self.out_dir))
        write_info(self.out_dir, info)
        atomic_write(self.out_dir / CARD_FILE, card.encode("utf-8"))

    def save(self, event: Evaluation) -> None:
        """The best model (when it improved) and the latest state for --resume."""
        if event.is_best:
            self.save_best(event.samples)
        if self.resumable:
            progress = {"state": asdict(self.state), "config": asdict(self.config), "info": self.info.to_dict()}
            save_training_state(self.out_dir, self.model, self.optimizer, progress)

    @staticmethod
    def saved_info(directory: str | Path) -> RunInfo:
        """The record (corpus arguments, command) saved with a run, to rebuild its corpus."""
        return RunInfo.from_dict(read_training_progress(Path(directory)).get("info", {}))

    @staticmethod
    def saved_elapsed(directory: str | Path) -> float:
        """Training seconds a saved run has had so far."""
        return float(read_training_progress(Path(directory))["state"]["elapsed"])

    @classmethod
    def resume(cls, directory: str | Path, documents: list[str], overrides: dict | None = None) -> Trainer:
        """Continue a run saved in `directory` from its last evaluation: weights, optimizer, step."""
        directory = Path(directory)
        progress = read_training_progress(directory)
        config = TrainConfig.from_dict({**progress["config"], **(overrides or {})})
        loaded = load_folder(directory)
        data = prepare_data(documents, config, tokenizer=loaded.tokenizer)
        info = RunInfo.from_dict(progress.get("info", {}))
        trainer = cls(config, data, out_dir=directory, info=info, model=loaded.model)
        trainer.best_weights = copy.deepcopy(loaded.model.state_dict())
        load_training_state(directory, trainer.model, trainer.optimizer)  # the latest weights, not the best
        trainer.state = TrainerState.from_dict(progress["state"])
        return trainer

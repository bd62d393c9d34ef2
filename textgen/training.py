"""The training loop: truncated BPTT, held-out evaluation, the best weights, early stopping.

`Trainer.run()` yields events that carry everything a face shows (the CLI prints them with tqdm,
the page turns them into a progress bar, a plot and samples, even when training runs in another
process); the run's end carries the trained model itself, as CPU tensors. Saving and resuming are
checkpoints.py's (`save_run`, `load_run`); when to evaluate and the learning rate, schedule.py's.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel

from .chat import conversation_samples
from .checkpoints import LoadedModel, ResumePoint, SavedRun, TrainedModel, load_run, save_run
from .config import TrainConfig
from .conversations import shown
from .data import TrainingData, prepare_data, sample_indices
from .device import bf16_works, native_bf16, resolve_device
from .distributed import from_rank0, rank_and_world, weights_agree
from .errors import TrainingError
from .events import STOP_REASONS, Evaluation, Finished, Progress
from .finetune import fine_tune_setup
from .metrics import Metrics, score, unigram_metrics
from .model import LSTMConfig, LSTMLanguageModel, Regularization
from .runinfo import RunInfo
from .sampling import SAMPLE_TEMPERATURES, SamplingSettings, generate
from .schedule import EvaluationClock, RunLength, learning_rate
from .sizing import evaluation_tokens, fit_to_corpus
from .tokens import ScoringSet
from .windows import Window, epoch_plan, pieces, plan_windows

# Early stopping counts an evaluation against the run only when its held-out loss is this much (as a
# fraction) above the best: see `clearly_worse`.
STOP_MARGIN = 0.01


def prepare_run(
    documents: Iterable[str],
    config: TrainConfig,
    base: LoadedModel | None = None,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> tuple[TrainConfig, TrainingData, LSTMLanguageModel | None]:
    """(config, data, model) a run starts from: `documents` tokenized for a new model (None: the
    trainer builds it), or for `base` grown to what they add (finetune.py)."""
    if base is not None:
        return fine_tune_setup(base, documents, config, progress)
    return config, prepare_data(documents, config, cache_dir=cache_dir, progress=progress), None


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
    best_step: int = 0
    bad_evaluations: int = 0  # since the best
    evaluations: int = 0
    first_evaluation_step: int = 0

    @classmethod
    def from_dict(cls, data: dict) -> TrainerState:
        known = {name: value for name, value in data.items() if name in cls.__dataclass_fields__}
        return cls(**{**known, "best_metrics": Metrics.from_dict(data.get("best_metrics"))})


def ema_average(decay: float):
    """AveragedModel's update for an exponential moving average with the usual warm-up: the decay
    grows as (1 + n) / (10 + n) up to `decay`, so a short run's average is not mostly its first steps."""

    def average(averaged: torch.Tensor, current: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        rate = ((1 + count) / (10 + count)).clamp(max=decay)
        return averaged * rate + current * (1 - rate)

    return average


def clearly_worse(loss: float, best: float) -> bool:
    """Worse than the best by more than an evaluation's noise. Early stopping counts only these: on
    a plateau at a high learning rate the held-out loss wanders just above its best (at most 0.6% in
    BENCHMARKS.md, section 13), and a run stopped there gave up the gain its decaying learning rate
    was still to bring; a held-out loss that keeps rising clearly has run out of things to learn."""
    return loss > best * (1 + STOP_MARGIN)


class Trainer:
    def __init__(
        self,
        config: TrainConfig,
        data: TrainingData,
        info: RunInfo | None = None,
        model: LSTMLanguageModel | None = None,
    ):
        self.data, self.info = data, info or RunInfo()
        self.rank, self.world = rank_and_world()  # torchrun's process, or 0 of 1
        self.pieces = pieces(data.train.stream, config.max_piece)
        self.tokens_per_step = config.batch_size * config.seq_len
        self.steps_per_epoch = self._plan(0, config)[1]
        auto_spacing = config.eval_every is None and config.max_minutes is not None
        self.config = config = fit_to_corpus(config, data.train.stream.num_targets, self.steps_per_epoch)
        self.device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        self.model = (model or build_model(config, len(data.tokenizer))).to(self.device)
        self.model.regularization = Regularization(
            config.weight_drop, config.embedding_dropout, config.locked_dropout
        )
        # With `ema`, evaluations, samples and the saved model use the moving average of the weights.
        self.averaged = None
        if config.ema:
            self.averaged = AveragedModel(self.model, avg_fn=ema_average(config.ema))
        # Under torchrun the step goes through DDP (gradients averaged across ranks); evaluation and
        # sampling use the plain model, on rank 0.
        self.net = DistributedDataParallel(self.model) if self.world > 1 else self.model
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
        self.length = RunLength(self.total_steps, 60 * config.max_minutes if config.max_minutes else None)
        self.state = TrainerState()
        self.best_weights: dict | None = None
        # Periodic evaluations score a fixed sample of held-out documents and a training sample as large
        # in characters (read once, scored at every evaluation); the whole held-out set at the end.
        budget = evaluation_tokens(config)
        sample = sample_indices(data.val.sizes(), budget, config.seed)
        self.val_sample_set = data.val if len(sample) == data.val.num_documents else data.val.subset(sample)
        train_sample = sample_indices(data.train.document_characters, self.val_sample_set.characters, config.seed)
        self.train_sample_set = data.train.subset(train_sample)
        budget_seconds = 60 * config.max_minutes if auto_spacing else None
        self.clock = EvaluationClock(config.eval_every, budget_seconds)
        self.unigram = unigram_metrics(data.tokenizer, data.train, data.val)
        self.tokens_per_character = data.train.stream.num_targets / max(data.train.characters, 1)

    # ------------------------------------------------------------------ schedule
    def _plan(self, epoch: int, config: TrainConfig):
        lengths = self.pieces.lengths
        return epoch_plan(lengths, self.tokens_per_step, config.seq_len, config.seed, epoch, self.rank, self.world)

    def epoch_windows(self, epoch: int) -> Iterator[Window]:
        plan, count = self._plan(epoch, self.config)
        stream, pad = self.data.train.stream, self.data.tokenizer.eos_id
        windows = plan_windows(stream, self.pieces, plan, self.config.seq_len, pad)
        yield from itertools.islice(windows, count)

    def progress_fraction(self) -> float:
        return self.length.fraction(self.state.step, self.state.elapsed)

    def remaining(self) -> float:
        return self.length.remaining(self.state.step, self.state.elapsed)

    def learning_rate(self) -> float:
        config = self.config
        return learning_rate(config.lr, self.state.step, config.warmup_steps, self.progress_fraction())

    # ------------------------------------------------------------------ steps
    def train_step(self, window: Window, state):
        """One optimizer step on a window; `state` is the previous window's, unless this one starts fresh."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        inputs, targets = window.inputs.to(self.device), window.targets.to(self.device)
        config = self.config
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            logits, state, (output, dropped) = self.net(inputs, None if window.fresh else state, outputs=True)
            # Padding targets are PAD_TARGET (-100), cross_entropy's ignore_index: not scored.
            loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())
            penalty = 0.0
            if config.activation_reg:
                penalty = penalty + config.activation_reg * dropped.float().pow(2).mean()
            if config.temporal_reg:
                penalty = penalty + config.temporal_reg * (output[:, 1:] - output[:, :-1]).float().pow(2).mean()
        self.optimizer.zero_grad(set_to_none=True)
        (loss + penalty).backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
        self.optimizer.step()
        if self.averaged is not None:
            self.averaged.update_parameters(self.model)
        self.state.step += 1
        # Keep the state's values but cut the graph: gradients flow back seq_len steps only.
        return loss.item(), tuple(s.detach() for s in state)

    @property
    def evaluated(self) -> LSTMLanguageModel:
        """The weights evaluations score and a run keeps: the moving average's, or the model's own."""
        return self.averaged.module if self.averaged is not None else self.model

    def score(self, documents: ScoringSet) -> Metrics:
        """In the run's arithmetic and its own batch shapes, so scoring adds none to oneDNN's cache."""
        config = self.config
        return score(self.evaluated, documents, config.batch_size, config.seq_len, bf16=self.bf16)

    def evaluate(self, train_loss: float) -> Evaluation:
        """Score the held-out and training samples, keep the best weights, write samples."""
        metrics, train_metrics = self.score(self.val_sample_set), self.score(self.train_sample_set)
        run = self.state
        run.evaluations += 1
        run.first_evaluation_step = run.first_evaluation_step or run.step
        is_best = metrics.loss < run.best_val_loss
        if is_best:
            run.best_val_loss, run.best_metrics, run.best_step = metrics.loss, metrics, run.step
            self.best_weights = copy.deepcopy(self.evaluated.state_dict())
            self.info.samples = {}  # the kept model's samples, filled below
            run.bad_evaluations = 0
        elif clearly_worse(metrics.loss, run.best_val_loss):
            run.bad_evaluations += 1
        samples = self.samples()
        if is_best:
            self.info.samples = {str(t): text for t, text in samples.items()}
        self.model.train()
        return Evaluation(
            run.step,
            self.total_steps,
            run.epoch,
            train_loss,
            metrics,
            train_metrics,
            run.best_val_loss,
            run.best_step,
            is_best,
            run.bad_evaluations,
            self.unigram,
            samples,
            run.elapsed,
            self.progress_fraction(),
            self.remaining(),
        )

    def samples(self) -> dict[float, str]:
        config = self.config
        settings = SamplingSettings.of(
            SAMPLE_TEMPERATURES, config.sample_length, stop_at_eos=True, seed=config.seed + self.state.step
        )
        labels = self.info.labels
        if self.info.conversations is not None and labels is not None:  # each turn after its speaker's name
            written = conversation_samples(self.evaluated, self.data.tokenizer, settings)
            return {t: shown(text, labels, "\n") for t, text in zip(SAMPLE_TEMPERATURES, written)}
        texts = generate(self.evaluated, self.data.tokenizer, config.sample_prompt, settings)
        return {t: config.sample_prompt + text.rstrip("\n") for t, text in zip(SAMPLE_TEMPERATURES, texts)}

    def run(
        self, stop_requested: Callable[[], bool] = lambda: False
    ) -> Iterator[Progress | Evaluation | Finished]:
        """Train until the epochs, the budget, the step limit, early stopping or a stop request end it
        (`stop_requested()` is asked after every step), evaluating when the clock says so and once at
        the end."""
        config, run = self.config, self.state
        self.model.train()
        start = time.perf_counter() - run.elapsed
        self.clock.last_end = run.elapsed
        loss, reason = None, None  # loss stays None when a resumed run has nothing left to do
        while run.epoch < config.epochs and reason is None:
            state = None
            windows = self.epoch_windows(run.epoch)
            for index, window in enumerate(windows):
                if index < run.window:
                    continue  # resuming mid-epoch (mid-group, the state restarts from zero)
                loss, state = self.train_step(window, state)
                run.window = index + 1
                run.elapsed = time.perf_counter() - start
                yield Progress(
                    run.step,
                    self.total_steps,
                    run.epoch,
                    loss,
                    loss * self.tokens_per_character / math.log(2),
                    self.learning_rate(),
                    run.elapsed,
                    self.progress_fraction(),
                    self.remaining(),
                )
                out_of_time = config.max_minutes is not None and run.elapsed >= 60 * config.max_minutes
                out_of_steps = config.max_steps is not None and run.step >= config.max_steps
                due, stop = self.clock.due(run.step, run.elapsed), stop_requested()
                if self.world > 1:  # every rank follows rank 0's clock and decisions
                    due, out_of_time, out_of_steps, stop, run.elapsed = from_rank0(
                        [due, out_of_time, out_of_steps, stop, run.elapsed]
                    )
                if due or out_of_time or out_of_steps or stop:
                    if self.rank == 0:
                        paused = time.perf_counter()
                        yield self.evaluate(loss)
                        took = time.perf_counter() - paused
                        start += took  # the training clock stands still while it evaluates
                        self.clock.evaluated(run.elapsed, took)
                    reason = self.agreed_reason(self.stop_reason(bool(stop), out_of_time, out_of_steps))
                    if reason:
                        break
            windows.close()  # the epoch's plan goes before the whole held-out set is scored
            if reason is None:
                run.epoch, run.window = run.epoch + 1, 0
        if reason is None and loss is not None and run.step % config.eval_every and self.rank == 0:
            yield self.evaluate(loss)
        yield self.finish(reason or "epochs")

    def stop_reason(self, stop: bool, out_of_time: bool, out_of_steps: bool = False) -> str | None:
        if stop:
            return "stopped"
        if out_of_time:
            return "time budget"
        if out_of_steps:
            return "step limit"
        if self.state.bad_evaluations >= self.config.patience:
            return "early stop"
        return None

    def agreed_reason(self, reason: str | None) -> str | None:
        """Rank 0's reason to stop (it alone evaluates, so it alone knows about early stopping)."""
        if self.world == 1:
            return reason
        (code,) = from_rank0([STOP_REASONS.index(reason)])
        return STOP_REASONS[int(code)]

    def finish(self, reason: str) -> Finished:
        """Keep the best weights and score them on every held-out document."""
        ranks_agree = weights_agree(self.model)  # torchrun: every rank ends with the same weights
        if self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        self.averaged = None  # the kept weights (the average's, with `ema`) are the model's own from here
        self.model.eval()
        run = self.state
        if self.rank == 0 and self.val_sample_set is not self.data.val and run.best_metrics is not None:
            run.best_metrics = self.score(self.data.val)  # the whole held-out set, once
        self.info.unigram, self.info.stopped_because = self.unigram, reason
        self.info.eval_sample_documents = self.val_sample_set.num_documents
        self.info.evaluation_precision = "bf16" if self.bf16 else "fp32"
        kept = self.best() if self.rank == 0 and self.best_weights is not None else None
        passes = run.step * self.tokens_per_step / max(self.data.train.stream.num_targets, 1)
        return Finished(
            run.step,
            reason,
            run.best_metrics,
            run.best_step,
            self.unigram,
            run.elapsed,
            kept,
            run.evaluations,
            run.first_evaluation_step,
            passes,
            len(self.data.tokenizer),
            self.data.train.characters,
            ranks_agree,
        )

    # ------------------------------------------------------------------ what is saved
    def model_info(self) -> RunInfo:
        run = self.state
        return replace(
            self.info,
            level=self.data.tokenizer.level,
            metrics=run.best_metrics,
            train_config=asdict(self.config),
            train_documents=self.data.train.num_documents,
            val_documents=self.data.val.num_documents,
            split=self.data.split,
            step=run.step,
            best_step=run.best_step,
            training_seconds=round(run.elapsed, 1),
        )

    def best(self) -> TrainedModel:
        """The best weights so far (CPU copies) with everything their model folder holds."""
        weights = {name: tensor.detach().cpu().clone() for name, tensor in self.best_weights.items()}
        return TrainedModel(
            self.model.config, weights, self.data.tokenizer, self.model_info(), self.data.corpus_files
        )

    def resume_point(self) -> ResumePoint:
        """The latest weights, the optimizer and where the run stands: what --resume needs."""
        progress = {"state": asdict(self.state), "config": asdict(self.config), "info": self.info.to_dict()}
        return ResumePoint(self.model, self.optimizer, progress)

    @classmethod
    def resume(
        cls,
        saved: SavedRun | str | Path,
        documents: Iterable[str],
        overrides: dict | None = None,
        cache_dir: Path | None = None,
        progress: bool = False,
    ) -> Trainer:
        """Continue a saved run (`load_run`'s, or its folder) from its last evaluation: weights,
        optimizer, step."""
        saved = saved if isinstance(saved, SavedRun) else load_run(Path(saved))
        config = TrainConfig.from_dict({**saved.progress["config"], **(overrides or {})})
        data = prepare_data(
            documents, config, tokenizer=saved.best.tokenizer, cache_dir=cache_dir, progress=progress
        )
        info = RunInfo.from_dict(saved.progress.get("info", {}))
        trainer = cls(config, data, info=info, model=saved.best.model)
        trainer.best_weights = copy.deepcopy(saved.best.model.state_dict())
        saved.restore(trainer.model, trainer.optimizer)  # the latest weights, not the best
        trainer.state = TrainerState.from_dict(saved.progress["state"])
        return trainer


def run_and_save(trainer: Trainer, directory: str | Path) -> Iterator[Progress | Evaluation | Finished]:
    """`trainer.run()`'s events, with the run saved in `directory` as they come: at each evaluation the
    best model (when it improved) and the state --resume continues from, at the end the final record
    (every held-out document scored, why it stopped). Only rank 0 writes."""
    for event in trainer.run():
        if trainer.rank == 0 and isinstance(event, Evaluation):
            save_run(directory, trainer.best() if event.is_best else None, trainer.resume_point())
        elif isinstance(event, Finished) and event.model is not None:
            save_run(directory, event.model)
        yield event

"""The training loop: truncated BPTT, held-out evaluation, best checkpoint, early stop, resume.

`Trainer.run()` yields progress events; the CLI prints them with tqdm and the app turns them into
a progress bar, a loss plot and samples. One loop, two faces.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from .batches import GroupPlan, Window, group_windows, pieces, plan_groups, select
from .card import render_card
from .checkpoints import (
    CARD_FILE,
    CorpusFiles,
    RunInfo,
    atomic_write,
    load_folder,
    load_training_state,
    read_training_progress,
    save_checkpoint,
    save_training_state,
    write_info,
)
from .config import TrainConfig
from .data import TrainingData, prepare_data, sample_indices
from .device import bf16_works, native_bf16, resolve_device
from .distributed import from_rank0, rank_and_world, weights_agree
from .errors import TrainingError
from .memory import release_free_memory
from .metrics import Metrics, ScoringSet, score, unigram_metrics
from .model import LSTMConfig, LSTMLanguageModel
from .sampling import SAMPLE_TEMPERATURES, generate
from .sizing import EVALUATIONS_PER_BUDGET, fit_to_corpus

STOP_REASONS = (None, "stopped", "time budget", "step limit", "early stop")
# With the evaluation spacing left to auto, training runs at least this many times as long as the
# last evaluation took before the next one: evaluations then take at most a twelfth of the training
# time, under the tenth we promise with room for the one at the end of the budget.
TRAINING_PER_EVALUATION = 12
RELEASE_EVERY_STEPS = 100  # give freed memory back this often (about 1 ms, against 100 steps' 1.4 s)


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
    reason: str  # "epochs", or one of STOP_REASONS
    best: Metrics | None  # the best evaluation (None if the run stopped before its first)
    unigram: Metrics  # a model that ignores context, on the same split
    elapsed: float


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
    bad_evaluations: int = 0  # since the best

    @classmethod
    def from_dict(cls, data: dict) -> TrainerState:
        return cls(**{**data, "best_metrics": Metrics.from_dict(data.get("best_metrics"))})


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
        self.rank, self.world = rank_and_world()  # torchrun's process, or 0 of 1
        self.pieces = pieces(data.train_stream, config.max_piece)
        self.tokens_per_step = config.batch_size * config.seq_len
        self._plan: tuple[tuple, GroupPlan] | None = None  # the last epoch's plan, by (epoch, seed, seq_len)
        self.steps_per_epoch = self._shares(0, config.seed, config.seq_len)[1]
        # Settings left to auto follow the corpus and the budget; evaluations then also come every
        # 1/20 of a time budget, so that a long run on a large corpus is watched as often as a short one.
        auto_eval = config.eval_every is None and config.max_minutes is not None
        self.eval_seconds = 60 * config.max_minutes / EVALUATIONS_PER_BUDGET if auto_eval else None
        config = fit_to_corpus(config, data.train_stream.num_targets, self.steps_per_epoch)
        self.config = config
        self.resumable = resumable
        self.out_dir = Path(out_dir) if out_dir and self.rank == 0 else None  # rank 0 alone writes
        self.info = info or RunInfo()
        self.device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        self.model = (model or build_model(config, len(data.tokenizer))).to(self.device)
        # Under torchrun the training step goes through DDP (gradients averaged across ranks);
        # evaluation and sampling use the plain model, on rank 0.
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
        self.state = TrainerState()
        self.best_weights: dict | None = None
        self.stop_requested = False
        # Periodic evaluations score a fixed sample of held-out documents (at most eval_tokens tokens)
        # and a training sample as large in characters; the whole held-out set is scored at the end.
        # The samples' tokens are read once here and scored as often as the run evaluates.
        self.val_set = data.val
        budget = math.inf if config.eval_tokens is None else config.eval_tokens
        sample = sample_indices(data.val.sizes(), budget, config.seed)
        self.val_sample_set = data.val if len(sample) == data.val.num_documents else data.val.subset(sample)
        train_sample = sample_indices(data.train.document_characters, self.val_sample_set.characters, config.seed)
        self.train_sample_set = data.train.subset(train_sample)
        self.last_evaluation = (0.0, 0.0)  # (training seconds when it ended, how long it took)
        self._corpus_files: CorpusFiles | None = None
        self.unigram = unigram_metrics(data.tokenizer, data.train, data.val)
        release_free_memory()  # what reading the corpus and planning freed (see textgen.memory)

    # ------------------------------------------------------------------ schedule
    def _groups(self, epoch: int, seed: int, seq_len: int) -> GroupPlan:
        """This epoch's groups of pieces, fixed by (seed, epoch) so that a resumed run sees the same."""
        key = (epoch, seed, seq_len)
        if self._plan is None or self._plan[0] != key:  # made once an epoch (the first also for its size)
            self._plan = None  # the old plan's memory goes before the new one's is taken
            rng = np.random.default_rng([seed, epoch])
            self._plan = (key, plan_groups(self.pieces.lengths, self.tokens_per_step, seq_len, rng))
            release_free_memory()  # the sort's temporaries, freed inside the heap
        return self._plan[1]

    def _shares(self, epoch: int, seed: int, seq_len: int) -> tuple[GroupPlan, int]:
        """This rank's groups of the epoch (every rank's, dealt round) and the windows it takes of them:
        one count for all ranks, so that they step together (DDP averages gradients at each step)."""
        groups = self._groups(epoch, seed, seq_len)
        shares = [groups.share(rank, self.world) for rank in range(self.world)]
        count = min(share.num_windows(seq_len) for share in shares)
        return shares[self.rank], count

    def epoch_windows(self, epoch: int) -> Iterator[Window]:
        groups, count = self._shares(epoch, self.config.seed, self.config.seq_len)
        windows = (
            window
            for group in groups
            for window in group_windows(
                self.data.train_stream, select(self.pieces, group), self.config.seq_len, self.data.tokenizer.eos_id
            )
        )
        yield from itertools.islice(windows, count)

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
            logits, state = self.net(inputs, None if window.fresh else state)
            # Padding targets are PAD_TARGET (-100), cross_entropy's ignore_index: not scored.
            loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.state.step += 1
        # Keep the state's values but cut the graph: gradients flow back seq_len steps only.
        return loss.item(), tuple(s.detach() for s in state)

    def score(self, documents: ScoringSet) -> Metrics:
        """In the run's arithmetic and its own batch shapes, so scoring adds none to oneDNN's cache."""
        config = self.config
        return score(self.model, documents, config.batch_size, config.seq_len, bf16=self.bf16)

    def evaluate(self, train_loss: float) -> Evaluation:
        metrics = self.score(self.val_sample_set)
        train_metrics = self.score(self.train_sample_set)
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
        self._resumed_step, self._resumed_elapsed = run.step, run.elapsed
        loss = None  # stays None when a resumed run has nothing left to do
        next_eval_time = (run.elapsed // self.eval_seconds + 1) * self.eval_seconds if self.eval_seconds else None
        while run.epoch < config.epochs:
            state = None
            for index, window in enumerate(self.epoch_windows(run.epoch)):
                if index < run.window:
                    continue  # resuming mid-epoch (mid-group, the state restarts from zero)
                loss, state = self.train_step(window, state)
                if run.step % RELEASE_EVERY_STEPS == 0:
                    release_free_memory()  # windows of many shapes fragment the heap (textgen.memory)
                run.window = index + 1
                run.elapsed = time.perf_counter() - self._clock
                yield Progress(run.step, self.total_steps, run.epoch, loss, self.learning_rate(), run.elapsed)
                out_of_time = config.max_minutes is not None and run.elapsed >= 60 * config.max_minutes
                out_of_steps = config.max_steps is not None and run.step >= config.max_steps
                due = run.step % config.eval_every == 0 or bool(next_eval_time and run.elapsed >= next_eval_time)
                if self.eval_seconds:  # auto: evaluations take at most a twelfth of the training time
                    ended, took = self.last_evaluation
                    took = took or self.evaluation_estimate()
                    due = due and run.elapsed >= ended + TRAINING_PER_EVALUATION * took
                if self.world > 1:  # every rank follows rank 0's clock and decisions
                    due, out_of_time, out_of_steps, stop, run.elapsed = from_rank0(
                        [due, out_of_time, out_of_steps, self.stop_requested, run.elapsed]
                    )
                    self.stop_requested = bool(stop)
                if due or out_of_time or out_of_steps or self.stop_requested:
                    if next_eval_time:
                        next_eval_time = (run.elapsed // self.eval_seconds + 1) * self.eval_seconds
                    if self.rank == 0:
                        yield self.timed_evaluation(loss)
                    reason = self.agreed_reason(self.stop_reason(out_of_time, out_of_steps))
                    if reason:
                        yield self.finish(reason)
                        return
            run.epoch, run.window = run.epoch + 1, 0
        if loss is not None and run.step % config.eval_every and self.rank == 0:
            yield self.timed_evaluation(loss)
        yield self.finish("epochs")

    def evaluation_estimate(self) -> float:
        """Seconds the first evaluation will take, before there was one: its tokens at the speed
        training has reached (scoring goes faster than training, so this errs on the long side)."""
        scored = self.val_sample_set.stream.num_targets + self.train_sample_set.stream.num_targets
        trained = max(self.state.step - self._resumed_step, 1) * self.tokens_per_step
        return scored * (self.state.elapsed - self._resumed_elapsed) / trained

    def timed_evaluation(self, train_loss: float) -> Evaluation:
        """Evaluate with the training clock paused: evaluation does not eat the time budget."""
        paused = time.perf_counter()
        event = self.evaluate(train_loss)
        self._clock += time.perf_counter() - paused
        self.last_evaluation = (self.state.elapsed, time.perf_counter() - paused)
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

    def agreed_reason(self, reason: str | None) -> str | None:
        """Rank 0's reason to stop (it alone evaluates, so it alone knows about early stopping)."""
        if self.world == 1:
            return reason
        (code,) = from_rank0([STOP_REASONS.index(reason)])
        return STOP_REASONS[int(code)]

    def finish(self, reason: str) -> Finished:
        self.ranks_agree = weights_agree(self.model)  # torchrun: every rank ends with the same weights
        if self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        self.model.eval()
        if self.rank == 0 and self.val_sample_set is not self.val_set:  # the whole held-out set, once
            self.state.best_metrics = self.score(self.val_set)
        self.info.unigram, self.info.stopped_because = self.unigram, reason
        self.info.eval_sample_documents = self.val_sample_set.num_documents
        self.info.evaluation_precision = "bf16" if self.bf16 else "fp32"
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
            train_documents=self.data.train.num_documents,
            val_documents=self.data.val.num_documents,
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
            self.corpus_files(),
            card=render_card(info, self.model.config, model_ref=str(self.out_dir)),
        )
        self.model.load_state_dict(current)

    def corpus_files(self) -> CorpusFiles:
        if self._corpus_files is None:
            self._corpus_files = CorpusFiles.from_hashes(self.data.store.novelty, self.data.store.stats)
        return self._corpus_files

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
    def resume(
        cls,
        directory: str | Path,
        documents: Iterable[str],
        overrides: dict | None = None,
        cache_dir: Path | None = None,
        progress: bool = False,
    ) -> Trainer:
        """Continue a run saved in `directory` from its last evaluation: weights, optimizer, step."""
        directory = Path(directory)
        saved = read_training_progress(directory)
        config = TrainConfig.from_dict({**saved["config"], **(overrides or {})})
        loaded = load_folder(directory)
        data = prepare_data(documents, config, tokenizer=loaded.tokenizer, cache_dir=cache_dir, progress=progress)
        info = RunInfo.from_dict(saved.get("info", {}))
        trainer = cls(config, data, out_dir=directory, info=info, model=loaded.model)
        trainer.best_weights = copy.deepcopy(loaded.model.state_dict())
        load_training_state(directory, trainer.model, trainer.optimizer)  # the latest weights, not the best
        trainer.state = TrainerState.from_dict(saved["state"])
        return trainer

"""Train an LSTM language model from the command line and save (and optionally push) it.

python train.py --corpus nyt --level char --out checkpoints/nyt-char
python train.py --corpus my_chat.csv --column text --where user=alice --level word --out runs/alice
python train.py --resume runs/alice --max-minutes 5
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import os
import shlex
import sys
import time
import traceback
from dataclasses import fields
from pathlib import Path

import numpy as np
from tqdm import tqdm

from textgen import (
    Corpus,
    Evaluation,
    Finished,
    Progress,
    RunInfo,
    TextgenError,
    TrainConfig,
    Trainer,
    load_model,
    prepare_run,
    push_folder,
    run_and_save,
    stream_corpus,
)
from textgen.checkpoints import load_run
from textgen.config import LR
from textgen.conversations import DEFAULT_GAP_MINUTES, ConversationReading
from textgen.corpus import NYT_URL, SUPPORTED_SUFFIXES
from textgen.distributed import backend as distributed_backend
from textgen.distributed import rank_and_world
from textgen.distributed import start as start_distributed
from textgen.distributed import stop as stop_distributed
from textgen.finetune import FINE_TUNE_LR
from textgen.hub import check_push, quiet_hub_logging
from textgen.plaintext import Layout
from textgen.sizing import PACK_FROM_PASSES
from textgen.tokencache import default_cache_dir
from textgen.views import reading_summary, unescape_markdown

DEFAULTS = TrainConfig()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument(
        "--corpus",
        nargs="+",
        help=f"'nyt' (NYT headlines) or a {'/'.join(SUPPORTED_SUFFIXES)} file or folder; several: a mix",
    )
    data.add_argument("--column", help="CSV column (or JSON field) holding the text")
    data.add_argument(
        "--where",
        metavar="FIELD=VALUE",
        help="keep only the records whose FIELD is VALUE: a CSV column, a JSON field (nested by dotted path: "
        "fromUser.username), or `speaker` in a chat export (Telegram, WhatsApp, Discord, Slack, Gitter)",
    )
    data.add_argument(
        "--label-column",
        metavar="FIELD",
        help="train one model on every record with its FIELD as a label (a CSV column, a JSON field, or "
        "`speaker` in a chat export), to write as any of them: generate --label VALUE",
    )
    data.add_argument(
        "--conversations",
        action="store_true",
        help="read a chat (or a play) as whole conversations, each message after its speaker's label, so "
        "that the model learns to answer: textgen chat, or the page's Chat tab",
    )
    data.add_argument(
        "--conversation-gap",
        type=float,
        metavar="MINUTES",
        help=f"a silence this long ends a conversation (default {DEFAULT_GAP_MINUTES:g}; implies --conversations)",
    )
    data.add_argument(
        "--speaker-pattern",
        metavar="REGEX",
        help="a text of speeches: the line that opens one, its group (?P<speaker>...) naming who speaks "
        "(default: a play's 'ROMEO:' lines; implies --conversations)",
    )
    data.add_argument(
        "--documents",
        default="auto",
        metavar="auto|paragraphs|lines|separator=STR",
        help="how a .txt file divides into documents (default: measured from the file)",
    )
    data.add_argument("--data-dir", help="folder with the NYT Articles*.csv files (or TEXTGEN_DATA_DIR)")
    data.add_argument(
        "--corpus-name",
        help="the corpus's name on the model card and in the page's Corpus list (default: the files')",
    )
    data.add_argument(
        "--level", choices=("char", "word"), help=f"default {DEFAULTS.level}; with --init-from, the base's"
    )
    data.add_argument(
        "--license",
        default="unknown",
        metavar="ID",
        help="the model card's license, a Hub license id (cc0-1.0 for public-domain text; default unknown)",
    )
    data.add_argument("--lowercase", action="store_true")
    data.add_argument(
        "--min-count", type=int, default=DEFAULTS.min_count, help="word level: rarer words are <unk>"
    )
    data.add_argument("--val-fraction", type=float, default=DEFAULTS.val_fraction)
    data.add_argument(
        "--token-cache",
        metavar="DIR",
        help="keep the tokenized corpus here for the next run (default $TEXTGEN_TOKEN_CACHE or "
        "~/.cache/textgen/tokens; 'off' tokenizes in memory every time)",
    )

    model = parser.add_argument_group("model")
    model.add_argument("--hidden-size", type=int, help="default: from the corpus size and the time budget")
    model.add_argument("--embedding-dim", type=int, help="default: the hidden size (tied to the head)")
    model.add_argument("--num-layers", type=int, help=f"default {DEFAULTS.num_layers}")
    model.add_argument(
        "--init-from",
        metavar="MODEL",
        help="start from a trained model (a folder or a Hub repo id): its vocabulary, grown for this corpus, "
        "and its weights",
    )
    model.add_argument("--dropout", type=float, help="default: from the corpus size and the time budget")
    pack = parser.add_argument_group(
        "small-data regularisers",
        f"each left out: all on where the run reads its text {PACK_FROM_PASSES:g} times or more, off below but "
        "weight decay (BENCHMARKS.md)",
    )
    pack.add_argument("--weight-drop", type=float, help="DropConnect on the LSTM's recurrent weights (0.3)")
    pack.add_argument("--embedding-dropout", type=float, help="whole token vectors dropped (0.1)")
    pack.add_argument(
        "--locked-dropout", action=argparse.BooleanOptionalAction, help="one dropout mask per row, all steps"
    )
    pack.add_argument("--activation-reg", type=float, help="AR: penalty on the LSTM outputs' size (2)")
    pack.add_argument("--temporal-reg", type=float, help="TAR: penalty on their change from step to step (1)")
    pack.add_argument("--weight-decay", type=float, help="AdamW's (0.1 for a new model, 0.01 when fine-tuning)")
    pack.add_argument("--ema", type=float, help="keep a moving average of the weights, this decay (0.99; 0: off)")

    run = parser.add_argument_group("training")
    run.add_argument("--out", help="model folder to write (the best model by validation loss)")
    run.add_argument("--overwrite", action="store_true", help="allow --out to replace an existing model")
    run.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    run.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"default {DEFAULTS.epochs}, or as many as --max-minutes allows; with --resume, as saved",
    )
    run.add_argument(
        "--max-minutes", type=float, help="time budget for training; with --resume, minutes more than the run had"
    )
    run.add_argument("--max-steps", type=int, help="stop after this many steps (a smoke run)")
    run.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    run.add_argument("--seq-len", type=int, default=DEFAULTS.seq_len, help="truncated BPTT length")
    run.add_argument("--lr", type=float, help=f"default {LR:g}; {FINE_TUNE_LR:g} with --init-from")
    run.add_argument(
        "--eval-every",
        type=int,
        help="steps between evaluations (default: once per pass over the text, and every 1/20 of --max-minutes)",
    )
    run.add_argument(
        "--eval-tokens",
        type=int,
        default=DEFAULTS.eval_tokens,
        help="held-out tokens scored at each evaluation: a fixed sample (the whole split is scored at the end)",
    )
    run.add_argument(
        "--patience",
        type=int,
        default=DEFAULTS.patience,
        help="stop early after this many evaluations whose held-out loss is clearly (1%%) above the best",
    )
    run.add_argument("--seed", type=int, default=DEFAULTS.seed)
    run.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    run.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        help="bf16 autocast; default: on where the hardware does bf16 natively (CUDA, or AMX or AVX512-BF16)",
    )
    run.add_argument("--sample-prompt", default="", help="seed text for the samples printed while training")

    hub = parser.add_argument_group("Hugging Face Hub")
    hub.add_argument("--push-to-hub", metavar="USER/REPO", help="push the model folder when training ends")
    hub.add_argument("--private", action="store_true")
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace, writer: bool = True) -> None:
    for name in (
        "epochs",
        "max_steps",
        "hidden_size",
        "num_layers",
        "batch_size",
        "seq_len",
        "eval_every",
        "eval_tokens",
        "patience",
    ):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.max_minutes is not None and args.max_minutes <= 0:
        parser.error("--max-minutes must be more than 0")
    if args.dropout is not None and not 0 <= args.dropout < 1:
        parser.error("--dropout must be in [0, 1)")
    if not 0 < args.val_fraction < 1:
        parser.error("--val-fraction must be between 0 and 1")
    if args.lr is not None and args.lr <= 0:
        parser.error("--lr must be more than 0")
    if args.where and "=" not in args.where:
        parser.error("--where takes FIELD=VALUE")
    try:
        Layout.parse(args.documents)
    except TextgenError as err:
        parser.error(f"--documents: {err}")
    if args.push_to_hub:  # before training, not after it
        try:
            check_push(args.push_to_hub)
        except TextgenError as err:
            parser.error(f"--push-to-hub: {err}")
    if args.init_from:
        given = [
            f"--{n.replace('_', '-')}"
            for n in ("level", "hidden_size", "embedding_dim", "num_layers")
            if getattr(args, n) is not None
        ]
        if args.resume:
            parser.error("--init-from starts a new run; --resume continues one: use one of them")
        if given:
            parser.error(f"--init-from takes the base model's level and size; leave out {', '.join(given)}")
    if args.resume:
        if args.out and Path(args.out).resolve() != Path(args.resume).resolve():
            parser.error("--resume continues in its own folder; leave out --out")
        args.out = args.resume
        return
    if not args.corpus:
        parser.error("--corpus is required (nyt, or a file or folder)")
    if not args.out:
        parser.error("--out is required: the folder the model is saved to")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out} is a file, not a folder")
    if writer and out.is_dir() and any(out.iterdir()) and not args.overwrite:  # torchrun: rank 0 writes
        parser.error(f"--out {out} is not empty; pick a new folder, --resume it, or pass --overwrite")


def token_cache_dir(args: argparse.Namespace) -> Path | None:
    if args.token_cache == "off":
        return None
    return Path(args.token_cache) if args.token_cache else default_cache_dir()


UNBOUNDED_EPOCHS = 1000  # with a time budget and no --epochs, the budget (or early stopping) ends the run


def train_config(args: argparse.Namespace) -> TrainConfig:
    names = {f.name for f in fields(TrainConfig)}
    given = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.max_minutes is not None and args.epochs is None:
        given["epochs"] = UNBOUNDED_EPOCHS
    return TrainConfig(**given)


def corpus_args(args: argparse.Namespace) -> dict:
    where = tuple(args.where.split("=", 1)) if args.where else None
    source = args.corpus[0] if len(args.corpus) == 1 else args.corpus  # one corpus, or a mix of several
    return {
        "source": source,
        "column": args.column,
        "where": where,
        "data_dir": args.data_dir,
        "documents": args.documents,
        "label_column": args.label_column,
        "conversations": conversation_reading(args),
    }


def conversation_reading(args: argparse.Namespace) -> dict | None:
    if not (args.conversations or args.conversation_gap is not None or args.speaker_pattern):
        return None
    gap = DEFAULT_GAP_MINUTES if args.conversation_gap is None else args.conversation_gap
    return ConversationReading(gap, args.speaker_pattern).to_dict()  # checked here: one clear line


def open_corpus(
    source: str | list[str],
    column=None,
    where=None,
    data_dir=None,
    documents: str = "auto",
    label_column=None,
    conversations: dict | None = None,
):
    """The corpus train.py reads, as saved in a run's record (so that --resume reads it the same way)."""
    where = tuple(where) if where else None
    reading = ConversationReading.from_dict(conversations) if conversations else None
    return stream_corpus(source, column, where, data_dir, Layout.parse(documents), label_column, reading)


def make_trainer(args: argparse.Namespace) -> Trainer:
    if args.resume:
        saved = load_run(Path(args.resume))
        source = dict(RunInfo.from_dict(saved.progress.get("info", {})).corpus_args)
        if args.corpus:
            source.update(corpus_args(args))
        corpus = open_corpus(**source)
        # A resumed run keeps its saved settings; only the flags given now change them.
        given = {"epochs": args.epochs, "max_steps": args.max_steps, "device": args.device}
        overrides = {name: value for name, value in given.items() if value is not None}
        if args.max_minutes is not None:  # minutes more: the budget counts the run's training time so far
            overrides["max_minutes"] = float(saved.progress["state"]["elapsed"]) / 60 + args.max_minutes
        return Trainer.resume(saved, corpus, overrides, cache_dir=token_cache_dir(args), progress=True)
    # Read from the files at every pass, never held: a corpus may be far larger than memory.
    corpus = open_corpus(**corpus_args(args))
    base = load_model(args.init_from) if args.init_from else None
    started = time.perf_counter()
    config, data, model = prepare_run(corpus, train_config(args), base, token_cache_dir(args), progress=True)
    timing("tokenize", time.perf_counter() - started)
    if rank_and_world()[0] == 0:
        print(corpus_summary(corpus, data))
    info = RunInfo(
        corpus=args.corpus_name or corpus.name,
        corpus_args=corpus_args(args),
        command="python train.py " + shlex.join(sys.argv[1:]),
        labels=corpus.labels,
        conversations=ConversationReading.from_dict(corpus_args(args)["conversations"]),
        license=args.license,
    )
    if args.corpus == ["nyt"]:  # a Kaggle dataset, not a Hub one: linked in the card's prose
        info.source, info.language = f"[Kaggle aashita/nyt-comments]({NYT_URL})", "en"
    info.parent = args.init_from
    return Trainer(config, data, info=info, model=model)


def corpus_summary(corpus, data) -> str:
    """What reading the corpus found (documents, how they were read and decoded, what was removed, who
    speaks), counted over all of it, in plain text."""
    if data.split == "stretches":  # the store's units are stretches: the documents are counted again
        lengths = [len(document) for document in corpus]
    else:
        lengths = np.concatenate([data.train.document_characters, data.val.document_characters]) - 1
    reading = data.reading or corpus.reading  # the tokenizing pass's, or the cached corpus's record of it
    read = Corpus(corpus.name, list(itertools.islice(corpus, 2)), reading, corpus.labels)
    text = reading_summary(read, examples=2, lengths=lengths)
    text = text.replace("**", "").replace("\n\n> ", "\n  example: ").replace("\n\n", "\n")
    return unescape_markdown(html.unescape(text))  # a terminal shows names and examples as they are


TIMING_KINDS = {
    "Progress": "step",
    "Evaluation": "evaluation",
    "Finished": "final evaluation",
    "prepare": "prepare",
    "tokenize": "tokenize",
}


def timing(kind: str, seconds: float) -> None:
    """With TEXTGEN_TIMINGS set, one line per step and evaluation for bench/scale.py to read."""
    if os.environ.get("TEXTGEN_TIMINGS"):
        print("timing " + json.dumps({"kind": TIMING_KINDS[kind], "seconds": seconds}), flush=True)


def report(trainer: Trainer, out: Path) -> Finished:
    """Print the run's events as it is saved in `out`."""
    bar = tqdm(
        total=trainer.total_steps, initial=trainer.state.step, unit="step", dynamic_ncols=True, disable=None
    )
    last = time.perf_counter()
    for event in run_and_save(trainer, out):
        now = time.perf_counter()
        timing(type(event).__name__, now - last)
        last = now
        if isinstance(event, Progress):
            bar.update(1)
            bar.set_postfix(loss=f"{event.train_loss:.3f}", lr=f"{event.lr:.1e}")
        elif isinstance(event, Evaluation):
            val = event.val
            bar.write(
                f"step {event.step}: val loss {val.loss:.4f}, perplexity {val.perplexity:.2f}, "
                f"{val.bits_per_char:.4f} bits/char (train sample {event.train.bits_per_char:.4f})"
                + ("  (best, saved)" if event.is_best else "")
            )
            for temperature, text in event.samples.items():
                bar.write(f"  T={temperature}: {text[:160]!r}")
        elif isinstance(event, Finished):
            bar.close()
            return event
    raise RuntimeError("training ended without a Finished event")


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    distributed = start_distributed()  # under torchrun: one of several processes
    rank, world = rank_and_world()
    check_args(parser, args, writer=rank == 0)
    quiet_hub_logging()
    try:
        started = time.perf_counter()
        trainer = make_trainer(args)
        if rank == 0:
            timing("prepare", time.perf_counter() - started)
            launched = f"; {world} processes (torchrun, backend {distributed_backend()})" if distributed else ""
            print(describe(trainer) + launched)
            finished = report(trainer, Path(args.out))
            best, unigram = finished.best, finished.unigram
            print(
                f"done ({finished.reason}) after {finished.step} steps, {finished.elapsed:.0f} s: best val "
                f"{best.bits_per_char:.4f} bits/char, perplexity {best.perplexity:.2f} "
                f"(unigram: {unigram.bits_per_char:.4f} bits/char). Saved to {args.out}"
            )
            if distributed:
                agree = "identical" if finished.ranks_agree else "DIFFERENT (a bug: please report it)"
                print(f"the {world} processes ended with {agree} weights")
            if args.push_to_hub:
                print("pushed:", push_folder(args.out, args.push_to_hub, private=args.private))
        else:
            for _ in trainer.run():  # rank 0 reports and writes
                pass
    except TextgenError as err:
        parser.exit(2, f"train.py: error: {err}\n")
    except KeyboardInterrupt:
        parser.exit(
            130, f"\ninterrupted; the best model so far is in {args.out} (resume with --resume {args.out})\n"
        )
    finally:
        stop_distributed()
        if distributed:
            leave_without_finalizing()


def leave_without_finalizing() -> None:
    """End a torchrun worker at once, with its output flushed and its exit status kept.

    Gloo's worker threads may free the last collective's tensors while Python is shutting down,
    which aborts the process (measured: 1 run in 16 to 24 here; pytorch/pytorch#179291): the model
    and files are written by now, so the interpreter's shutdown is skipped."""
    error = sys.exc_info()[1]
    if error is not None and not isinstance(error, SystemExit):
        traceback.print_exception(error)
    sys.stdout.flush()
    sys.stderr.flush()
    if isinstance(error, SystemExit):  # as the interpreter would: None is success, a message is printed
        if error.code is not None and not isinstance(error.code, int):
            print(error.code, file=sys.stderr, flush=True)
        os._exit(0 if error.code is None else error.code if isinstance(error.code, int) else 1)
    os._exit(0 if error is None else 1)


def describe(trainer: Trainer) -> str:
    data, model, config = trainer.data, trainer.model.config, trainer.config
    return (
        f"{data.tokenizer.level} level, {len(data.tokenizer)} tokens, {data.train.num_documents:,} training"
        f" / {data.val.num_documents:,} validation documents; {model.num_layers} x LSTM({model.hidden_size}),"
        f" dropout {model.dropout:g}, {model.num_parameters():,} parameters on {trainer.device}"
        + (" (bf16)" if trainer.bf16 else "")
        + {True: "; tokens read from the cache", False: "; tokens cached for the next run", None: ""}[
            data.cache_hit
        ]
        + f"; evaluating every {config.eval_every} steps"
        + (f" and every {trainer.clock.interval:g} s" if trainer.clock.interval else "")
    )


if __name__ == "__main__":
    main()

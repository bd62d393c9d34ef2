"""`textgen generate | chat | next | evaluate | export | push | deploy` (or `python -m textgen ...`): thin
argparse faces over the package."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

from .chat import ANYONE, MAX_REPLY_TOKENS, Chat, check_speaker, speakers_of
from .checkpoints import load_folder
from .conversations import OTHERS
from .corpus import SUPPORTED_SUFFIXES, read_documents
from .cowrite import next_tokens, prime_text
from .deploy import HARDWARE, deploy_space
from .device import DECODING_PRECISIONS, decoding_dtype, resolve_device
from .errors import CorpusError, GenerationError, TextgenError, listed
from .export import export_onnx, writable_out_dir
from .hub import check_push, load_model, push_folder, push_space, quiet_hub_logging
from .metrics import evaluate
from .sampling import SamplingSettings, check_prompt, generate_steps, new_seed
from .webpage import export_web
from .write_as import label_random, prompt_as


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textgen", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="write text with a model")
    gen.add_argument("--model", required=True, help="model folder or Hub repo id user/name[@revision]")
    gen.add_argument("--prompt", default="", help="seed text the model continues")
    gen.add_argument("--label", default="", help="write as this label (a model trained with --label-column)")
    gen.add_argument("--temperature", type=float, default=0.8, help="0 = always the likeliest token")
    gen.add_argument("--length", type=int, default=200, help="tokens to generate per sample")
    gen.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest (0 = off)")
    gen.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1 = off)")
    gen.add_argument("--num-samples", type=int, default=1)
    gen.add_argument("--seed", type=int, default=None, help="reproduce a result (printed if not given)")
    gen.add_argument("--stop-at-eos", action="store_true", help="end each sample at the end of a document")
    gen.add_argument("--device", default="auto")
    gen.add_argument(
        "--precision",
        choices=DECODING_PRECISIONS,
        default="auto",
        help="weights' precision for generating: auto: bf16 on a CPU with native bf16 (as in the app), else fp32",
    )

    chat = commands.add_parser("chat", help="talk with a conversation model (trained with --conversations)")
    chat.add_argument("--model", required=True, help="model folder or Hub repo id user/name[@revision]")
    chat.add_argument(
        "--as",
        dest="you",
        default=None,
        help=f"who you are: one of its speakers (default: {OTHERS}, if it has one)",
    )
    chat.add_argument(
        "--reply-as", default=ANYONE, help="who answers: one of its speakers (default: whoever the model says)"
    )
    chat.add_argument("--message", help="say this, print the one reply and exit (for scripts)")
    chat.add_argument("--temperature", type=float, default=0.8)
    chat.add_argument("--seed", type=int, default=None)
    chat.add_argument("--device", default="auto")

    nxt = commands.add_parser("next", help="the likeliest next tokens after a text, and the entropy (JSON)")
    nxt.add_argument("--model", required=True, help="model folder or Hub repo id user/name[@revision]")
    nxt.add_argument("--text", default="", help="the text so far")
    nxt.add_argument("--label", default="", help="written as this label (a model trained with --label-column)")
    nxt.add_argument("--temperature", type=float, default=1.0)
    nxt.add_argument("--top-k", type=int, default=10, help="how many tokens to list")
    nxt.add_argument("--device", default="auto")

    ev = commands.add_parser("evaluate", help="held-out metrics of a model on a text file")
    ev.add_argument("--model", required=True)
    ev.add_argument("--text", required=True, help=f"a {'/'.join(SUPPORTED_SUFFIXES)} file or folder")
    ev.add_argument("--column", default=None, help="CSV column or JSON field to read")
    ev.add_argument(
        "--label-column",
        default=None,
        metavar="FIELD",
        help="a model trained with labels: read each record's label from FIELD, as in training",
    )
    ev.add_argument("--device", default="auto")

    export = commands.add_parser("export", help="write a model for other runtimes (ONNX)")
    export.add_argument("--model", required=True, help="model folder or Hub repo id user/name[@revision]")
    export.add_argument("out", help="folder to write into")
    export.add_argument(
        "--format",
        choices=("onnx", "web"),
        default="onnx",
        help="onnx: model.onnx, tokenizer.json, config.json, README.md; web: all that and a page that writes "
        "in the browser (a static Space)",
    )
    export.add_argument("--force", action="store_true", help="write into a folder that holds files already")

    push = commands.add_parser("push", help="push a model folder to the Hugging Face Hub (or as a web page)")
    push.add_argument("directory", help="a model folder")
    push.add_argument("repo_id", nargs="?", help="user/name: the model repo")
    push.add_argument("--space", metavar="USER/NAME", help="publish the model as a web page: a static Space")
    push.add_argument("--private", action="store_true")

    deploy = commands.add_parser(
        "deploy",
        help="deploy this checkout's studio as a Gradio Space (ZeroGPU by default) through the upload API",
    )
    deploy.add_argument("space_id", metavar="USER/NAME", help="the Space: created if it does not exist")
    deploy.add_argument(
        "--hardware",
        choices=HARDWARE,
        default="zero-a10g",
        help="zero-a10g: ZeroGPU, free for a personal account (2 Spaces); cpu-basic needs a paid plan",
    )
    deploy.add_argument("--private", action="store_true")
    return parser


def run_generate(args: argparse.Namespace) -> None:
    settings = SamplingSettings.of(
        args.temperature, args.length, args.top_k, args.top_p, args.num_samples, args.stop_at_eos, args.seed
    )
    check_prompt(args.prompt)  # before the model loads, and before any of it is printed
    device = resolve_device(args.device)
    loaded = load_model(args.model, device)
    unknown = sorted({token.strip() for token in loaded.tokenizer.unknown_tokens(args.prompt)} - {""})
    if unknown:
        print(f"note: the model has never seen {unknown[:10]}; they read as <unk>", file=sys.stderr)
    seed = new_seed() if settings.seed is None else settings.seed
    steps = generate_steps(
        loaded.model.for_decoding(decoding_dtype(device, args.precision)),
        loaded.tokenizer,
        prompt_as(loaded, args.label, args.prompt, label_random(seed)),
        settings.with_seed(seed),
    )
    if args.num_samples == 1:  # stream as it is written
        print(args.prompt, end="", flush=True)
        for step in steps:
            print(step.pieces[0], end="", flush=True)
        print()
    else:
        texts = [args.prompt] * args.num_samples
        for step in steps:
            texts = [text + piece for text, piece in zip(texts, step.pieces)]
        for i, text in enumerate(texts, 1):
            print(f"--- sample {i}\n{text.rstrip()}")
    print(f"(seed {seed})", file=sys.stderr)


def run_chat(args: argparse.Namespace) -> None:
    """One reply to --message, or a conversation in the terminal: each line you type is a message, and
    the model answers it (an empty line or end of input ends it)."""
    settings = SamplingSettings.of(args.temperature, MAX_REPLY_TOKENS, seed=args.seed)
    loaded = load_model(args.model, resolve_device(args.device))
    labels = speakers_of(loaded)
    if args.you is None and OTHERS not in labels.documents:
        raise GenerationError("say who you are: --as NAME, one of {known}", known=listed(labels.names))
    you = check_speaker(labels, args.you or OTHERS, "--as must be one of the model's speakers: {known}")
    if args.reply_as != ANYONE:
        check_speaker(labels, args.reply_as, "--reply-as must be one of the model's speakers: {known}")
    chat = Chat.start(args.model, "", loaded)
    messages = [args.message] if args.message is not None else iter(lambda: input(f"{you}: "), "")
    seed = new_seed() if args.seed is None else args.seed
    try:
        for number, message in enumerate(messages):
            chat.say(loaded, you, message)
            reply_settings = settings.with_seed(seed + number)
            *_, text = chat.reply(loaded, args.reply_as, reply_settings, you=you)
            print(f"{chat.turns[-1].speaker}: {text}", flush=True)
    except EOFError:
        pass
    print(f"(seed {seed})", file=sys.stderr)


def run_next(args: argparse.Namespace) -> None:
    SamplingSettings.of(temperature=args.temperature, length=1, top_k=args.top_k)  # before the model loads
    check_prompt(args.text)
    loaded = load_model(args.model, resolve_device(args.device))
    text = prompt_as(loaded, args.label, args.text)
    logits, _ = prime_text(loaded.model, loaded.tokenizer, text)
    view = next_tokens(logits, loaded.tokenizer, args.temperature, args.top_k)
    print(json.dumps(view.to_dict(), ensure_ascii=False))


def run_evaluate(args: argparse.Namespace) -> None:
    loaded = load_model(args.model, resolve_device(args.device))
    labels = loaded.info.labels
    if args.label_column and labels is None:
        raise GenerationError("the model was trained without labels; evaluate without --label-column")
    if labels is not None and not args.label_column:
        print(
            f"note: the model was trained with labels ({labels.column}); these documents are scored "
            f"without them (--label-column {labels.column} scores them as it was trained)",
            file=sys.stderr,
        )
    labelling = (args.label_column, labels) if args.label_column else None
    documents = read_documents(args.text, column=args.column, labels=labelling)
    if not documents:
        raise CorpusError("no text to evaluate on").within(args.text)
    print(json.dumps(evaluate(loaded.model, loaded.tokenizer, documents).to_dict()))


def run_push(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The model to its repo, or as a web page to a static Space, or both (the page's card then names
    the model repo, and the model's page lists the Space)."""
    if args.repo_id is None and args.space is None:
        parser.error("push to a model repo (REPO_ID), as a web page (--space USER/NAME), or both")
    if args.space is not None:
        check_push(args.space)  # before any work
    if args.repo_id is not None:
        print(push_folder(args.directory, args.repo_id, private=args.private))
    if args.space is None:
        return
    with tempfile.TemporaryDirectory(prefix="textgen-web-") as folder:
        export_web(load_folder(args.directory), folder, name=Path(args.directory).name, model_repo=args.repo_id)
        print(push_space(folder, args.space, private=args.private))


def run_deploy(args: argparse.Namespace) -> None:
    commit, settings = deploy_space(args.space_id, hardware=args.hardware, private=args.private)
    print(commit)
    hardware = "ZeroGPU" if args.hardware == "zero-a10g" else "CPU basic"
    print(
        f"The Space builds on {hardware}; its settings page ({settings}) changes the hardware, and takes "
        "HF_TOKEN as a secret only if the Space itself must push (visitors push as themselves after signing in)."
    )


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet_hub_logging()
    # Half the cores, as the app: one stream's small matrices gain little from more threads, and on
    # a busy machine every extra thread waits (a 10,000-character `next` took 17 s on all of a busy
    # 2-core box's cores, 2.7 s on one).
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    try:
        if args.command == "generate":
            run_generate(args)
        elif args.command == "evaluate":
            run_evaluate(args)
        elif args.command == "next":
            run_next(args)
        elif args.command == "chat":
            run_chat(args)
        elif args.command == "deploy":
            run_deploy(args)
        elif args.command == "export":
            out = writable_out_dir(args.out, args.force)  # before the model loads
            export = export_web if args.format == "web" else export_onnx
            print(export(load_model(args.model), out, name=Path(args.model).name))
        else:
            run_push(parser, args)
    except TextgenError as err:
        parser.exit(2, f"textgen: error: {err}\n")
    except KeyboardInterrupt:
        parser.exit(130, "\ninterrupted\n")

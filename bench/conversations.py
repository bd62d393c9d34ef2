"""What a conversation's context buys: a model trained on whole conversations (`--conversations`),
scored on held-out conversations, each message given the conversation before it against the same
message alone, and its guess of who speaks next against two baselines.

    python bench/conversations.py [--monero DIR] [--minutes 5] [--steps 2500]

Corpora: tiny Shakespeare's speeches (../shared/corpora, read as a play), and the Monero Research
Lab's IRC meeting logs, a real chat none of us wrote (BSD-3-Clause; `git clone
https://github.com/monero-project/research-lab` and check out 1cd195b94c45eebbf72ff0ca54eb5cac3eddcab6,
the last commit with `meta/research-meeting-logs/`; pass that folder as --monero).

For each corpus one char model is trained as the page sizes a run of `--minutes` (seed 0, a tenth of
the conversations held out), stopped after `--steps` steps. On every held-out conversation, for
every message after the first:

- bits per character of its text (each character; its speaker's label is read, not scored) given
  the whole conversation before it, and given only its speaker's label at the start of a
  conversation (the message alone); the same for its first 20 characters;
- whether the model's likeliest next label (among the speakers) is the one who spoke, against
  always guessing the most frequent speaker and against guessing whoever spoke two messages back.

Then samples: two held-out conversations' first two messages, and three replies by whoever the
model says speaks next (T=0.7).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import torch
from common import report

from textgen import Finished, SamplingSettings, Trainer, load_corpus, prepare_data
from textgen.chat import ANYONE, Chat, Turn
from textgen.conversations import ConversationReading, turns_of
from textgen.labelled import FIRST, LABEL_CHARACTERS
from textgen.registry import app_train_config
from textgen.runinfo import RunInfo

SHAKESPEARE = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "tinyshakespeare.txt"
FIRST_CHARACTERS = 20


def train(corpus, minutes: float, steps: int, window: tuple[int, int] | None = None):
    """A page-sized char run on the conversations, cut at `steps` (`window`: batch size and sequence
    length instead of the page's): (LoadedModel, val documents, Finished)."""
    config = replace(app_train_config("char", "auto", minutes), seed=0)
    config = replace(config, max_steps=steps, max_minutes=10 * minutes)  # the steps decide, not the clock
    if window is not None:
        config = replace(config, batch_size=window[0], seq_len=window[1])
    data = prepare_data(corpus.documents, config)
    info = RunInfo(labels=corpus.labels, conversations=ConversationReading())
    finished = next(event for event in Trainer(config, data, info=info).run() if isinstance(event, Finished))
    loaded = finished.model.loaded()
    loaded.model.eval()
    return loaded, data.val_documents, finished


@torch.inference_mode()
def token_nats(loaded, text: str) -> torch.Tensor:
    """-log p of each character of `text` after `<eos>` and the characters before it (char level)."""
    ids = [loaded.tokenizer.eos_id, *loaded.tokenizer.encode(text)]
    logits, _ = loaded.model(torch.tensor([ids[:-1]]), None)
    log_probs = logits[0].float().log_softmax(-1)
    return -log_probs[torch.arange(len(ids) - 1), torch.tensor(ids[1:])], log_probs


def loaded_window(window: tuple[int, int] | None) -> str:
    return "the page's (32 x 64)" if window is None else f"{window[0]} x {window[1]}"


def share(count: int, of: int) -> str:
    return f"{count}/{of} ({100 * count / max(of, 1):.1f}%)"


def one_corpus(name: str, path: str, minutes: float, steps: int, window: tuple[int, int] | None = None) -> dict:
    corpus = load_corpus(path, conversations=ConversationReading())
    loaded, val, finished = train(corpus, minutes, steps, window)
    labels, tokenizer = corpus.labels, loaded.tokenizer
    label_ids = [tokenizer.index[chr(FIRST + i)] for i in range(len(labels.names))]
    train_counts = Counter(labels.documents)
    commonest = next(iter(train_counts))
    nats = {"context": 0.0, "alone": 0.0, "context, first": 0.0, "alone, first": 0.0}
    characters = first_characters = messages = right = right_common = right_back = 0
    for document in val:
        scored, log_probs = token_nats(loaded, document)
        starts = [found.start() for found in LABEL_CHARACTERS.finditer(document)]
        ends = [*starts[1:], len(document)]
        speakers = [name for name, _ in turns_of(document, labels)]
        for index, (start, end) in enumerate(zip(starts, ends)):
            if index == 0 or end - start < 2:
                continue
            text = document[start + 1 : end]
            nats["context"] += float(scored[start + 1 : end].sum())  # position p scores character p
            alone, _ = token_nats(loaded, document[start:end])
            nats["alone"] += float(alone[1:].sum())
            characters += len(text)
            opening = min(FIRST_CHARACTERS, len(text))  # where an answer depends most on what it answers
            nats["context, first"] += float(scored[start + 1 : start + 1 + opening].sum())
            nats["alone, first"] += float(alone[1 : 1 + opening].sum())
            first_characters += opening
            messages += 1
            guess = labels.names[int(log_probs[start][label_ids].argmax())]
            right += guess == speakers[index]
            right_common += commonest == speakers[index]
            right_back += index >= 2 and speakers[index - 2] == speakers[index]
    samples = []
    for document in val[:2]:
        turns = [Turn(speaker, text) for speaker, text in turns_of(document, labels)[:2]]
        chat = Chat.start(name, "", loaded, turns)
        for number in range(3):
            *_, _ = chat.reply(loaded, ANYONE, SamplingSettings.of(0.7, 300, seed=number))
        samples.append([f"{turn.speaker}: {turn.text[:160]}" for turn in chat.turns])
    bits = {
        key: value / math.log(2) / max(first_characters if "first" in key else characters, 1)
        for key, value in nats.items()
    }
    return {
        "corpus": name,
        "conversations (train + held out)": len(corpus.documents),
        "speakers labelled": len(labels.names),
        "held-out conversations": len(val),
        "held-out messages scored": messages,
        "bits/char, each message given the conversation before it": round(bits["context"], 4),
        "bits/char, the same message alone (its speaker's label only)": round(bits["alone"], 4),
        "context saves, bits/char": round(bits["alone"] - bits["context"], 4),
        "context saves, percent": round(100 * (bits["alone"] - bits["context"]) / bits["alone"], 2),
        f"bits/char of each message's first {FIRST_CHARACTERS} characters, given the conversation": round(
            bits["context, first"], 4
        ),
        f"bits/char of each message's first {FIRST_CHARACTERS} characters, alone": round(bits["alone, first"], 4),
        "who speaks next: model right": share(right, messages),
        f"who speaks next: always {commonest}": share(right_common, messages),
        "who speaks next: whoever spoke two messages back": share(right_back, messages),
        "batch size x sequence length": f"{loaded_window(window)}",
        "steps": finished.step,
        "stopped": finished.reason,
        "best held-out bits/char (training's own, labels counted)": round(finished.best.bits_per_char, 4),
        "samples (two held-out messages, then three replies)": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--monero", help="research-lab's meta/research-meeting-logs folder (see above)")
    parser.add_argument("--minutes", type=float, default=5.0, help="the page-sized budget the model is sized for")
    parser.add_argument("--steps", type=int, default=2500, help="training steps of each model")
    parser.add_argument("--name", default="conversations")
    parser.add_argument(
        "--window",
        metavar="BATCHxLENGTH",
        help="batch size and sequence length instead of the page's 32x64 (8x256: as many tokens a step)",
    )
    args = parser.parse_args()
    window = tuple(int(n) for n in args.window.split("x")) if args.window else None
    corpora = [("tiny Shakespeare (speeches)", str(SHAKESPEARE))]
    if args.monero:
        corpora.append(("Monero Research Lab IRC meetings", args.monero))
    else:
        print("no --monero folder: the IRC logs are left out", file=sys.stderr)
    rows = []
    for name, path in corpora:
        row = one_corpus(name, path, args.minutes, args.steps, window)
        print(row, flush=True)
        rows.append(row)
    report(args.name, {"command": "python bench/conversations.py " + " ".join(sys.argv[1:]), "corpora": rows})


if __name__ == "__main__":
    main()

"""What a label buys: one model trained with labels against one trained without, same minutes.

    python bench/labels.py [--settings nyt-newDesk-5 chat-user-1] [--steps 1500]

For each setting (corpus, label field, minutes) it trains two models on the same documents and the
same held-out split (train.py's: seed 0, a tenth held out): one with the label as a control token in
front of each document (`--label-column`), one without; sized as the page sizes a run of those
minutes, and both stopped after the same number of steps (or early), so that a busy machine cannot
give one more training than the other. On every held-out document that carries a
label it reports bits per character of the text alone (each character and the end; the label's own
token is read, not scored):

- the labelled model given the right label, and given a wrong one (the next label in the list);
- the labelled model's probability of the text itself, summed over the labels (each label's own
  probability as a document's first token, times the text's given it): what it knows of the text
  when nobody says whose it is, comparable with
- the model trained without labels.

Then, for the most frequent labels, it writes samples as each label (T=0.8, one document each) and
scores every sample under every label: how often the label it was written as scores it likeliest,
and by how many bits per character on average over the others.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from dataclasses import replace

import torch
from common import DEFAULT_DATA_DIR, ROOT, report

from textgen import Finished, SamplingSettings, Trainer, load_corpus, prepare_data
from textgen.labelled import FIRST, labelled_prompt, text_of
from textgen.registry import app_train_config
from textgen.sampling import generate
from textgen.write_as import label_scores

CORPORA = {"nyt": ("nyt", None), "chat": (str(ROOT / "examples" / "chat.csv"), "text")}


def train(documents: list[str], minutes: float, steps: int, seed: int = 0):
    """A page run ("auto" size, sizing's regularisers) on these documents, cut at `steps`:
    (LoadedModel, val documents, Finished)."""
    config = replace(app_train_config("char", "auto", minutes), seed=seed)
    config = replace(config, max_steps=steps, max_minutes=10 * minutes)  # the steps decide, not the clock
    data = prepare_data(documents, config)
    trainer = Trainer(config, data)
    finished = next(event for event in trainer.run() if isinstance(event, Finished))
    loaded = finished.model.loaded()
    loaded.model.eval()
    return loaded, data.val_documents, finished


def marginal_nats(loaded, label_ids: list[int], text: str) -> float:
    """-log sum over labels L of p(L | <eos>) p(text, end | <eos>, L)."""
    ids = [*loaded.tokenizer.encode(text), loaded.tokenizer.eos_id]
    return float(-torch.logsumexp(label_scores(loaded, label_ids, ids).double(), 0))


@torch.inference_mode()
def text_nats(loaded, prefix: str, text: str) -> float:
    """Nats of `text` and its end after `<eos>` and `prefix` (read, not scored)."""
    tokenizer = loaded.tokenizer
    prefix_ids = tokenizer.encode(prefix) if prefix else []
    ids = [tokenizer.eos_id, *prefix_ids, *tokenizer.encode(text), tokenizer.eos_id]
    logits, _ = loaded.model(torch.tensor([ids[:-1]]), None)
    log_probs = logits[0].float().log_softmax(-1)
    targets = torch.tensor(ids[1:])
    nats = -log_probs[torch.arange(len(targets)), targets]
    return float(nats[len(prefix_ids) :].sum())


def bits_per_char(pairs: list[tuple[float, str]]) -> float:
    return sum(n for n, _ in pairs) / math.log(2) / sum(len(t) + 1 for _, t in pairs)


def one_setting(corpus: str, field: str, minutes: float, steps: int, samples: int, labels_tried: int) -> dict:
    source, column = CORPORA[corpus]
    labelled_corpus = load_corpus(source, column, data_dir=DEFAULT_DATA_DIR, label_column=field)
    labels = labelled_corpus.labels
    documents = labelled_corpus.documents
    labelled, val, finished_labelled = train(documents, minutes, steps)
    plain, plain_val, finished_plain = train([text_of(d) for d in documents], minutes, steps)
    assert [text_of(d) for d in val] == plain_val, "the two runs hold out different documents"

    names = labels.names
    scored = [(ord(d[0]) - FIRST, d[1:]) for d in val if d and FIRST <= ord(d[0]) < FIRST + len(names)]
    label_ids = [labelled.tokenizer.index[chr(FIRST + index)] for index in range(len(names))]
    right, anyone, wrong, without = [], [], [], []
    for index, text in scored:
        right.append((text_nats(labelled, chr(FIRST + index), text), text))
        anyone.append((marginal_nats(labelled, label_ids, text), text))
        wrong.append((text_nats(labelled, chr(FIRST + (index + 1) % len(names)), text), text))
        without.append((text_nats(plain, "", text), text))

    rng = random.Random(0)
    tried = names[:labels_tried]
    wins, margins = 0, []
    for label in tried:
        prompt = labelled_prompt(labels, label, "")
        for _ in range(samples):
            seed = rng.randrange(2**31)
            settings = SamplingSettings.of(temperature=0.8, length=300, stop_at_eos=True, seed=seed)
            (text,) = generate(labelled.model, labelled.tokenizer, prompt, settings)
            text = text.strip()
            if not text:
                continue
            nats = {other: text_nats(labelled, labelled_prompt(labels, other, ""), text) for other in tried}
            wins += min(nats, key=nats.get) == label
            others = [nats[other] for other in tried if other != label]
            margins.append((sum(others) / len(others) - nats[label]) / math.log(2) / (len(text) + 1))
    return {
        "corpus": corpus,
        "label field": field,
        "minutes": minutes,
        "labels": len(names),
        "held-out labelled documents": len(scored),
        "bits/char, labelled model, right label": round(bits_per_char(right), 4),
        "bits/char, labelled model, summed over the labels": round(bits_per_char(anyone), 4),
        "bits/char, labelled model, wrong label": round(bits_per_char(wrong), 4),
        "bits/char, model trained without labels": round(bits_per_char(without), 4),
        "steps (labelled, without)": [finished_labelled.step, finished_plain.step],
        "stopped (labelled, without)": [finished_labelled.reason, finished_plain.reason],
        "samples written": len(margins),
        "labels tried": tried,
        "written-as label scores its own samples likeliest": f"{wins}/{len(margins)}",
        "mean margin over the other labels, bits/char": round(sum(margins) / max(len(margins), 1), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="+", default=["nyt-newDesk-5", "chat-user-1"])
    parser.add_argument("--steps", type=int, default=1500, help="training steps of each model")
    parser.add_argument("--samples", type=int, default=20, help="samples written as each label tried")
    parser.add_argument("--labels-tried", type=int, default=5, help="the most frequent labels")
    parser.add_argument("--name", default="labels")
    args = parser.parse_args()
    rows = []
    for setting in args.settings:
        corpus, field, minutes = setting.split("-")
        row = one_setting(corpus, field, float(minutes), args.steps, args.samples, args.labels_tried)
        print(row, flush=True)
        rows.append(row)
    report(args.name, {"command": "python bench/labels.py " + " ".join(sys.argv[1:]), "settings": rows})


if __name__ == "__main__":
    main()

"""Quality: held-out metrics of the shipped models beside a unigram and a Kneser-Ney trigram on the
same split; how often generated headlines copy a training headline; tiny Shakespeare on nanoGPT's
split (last 10% held out), to place our LSTM beside nanoGPT's published char-level val loss 1.4697.

    python bench/quality.py [--shakespeare-minutes 5] [--samples 200] [--device cpu]
"""

from __future__ import annotations

import argparse
import math

from common import ROOT, SHAKESPEARE_CONFIG, nyt_split, report, shakespeare_data
from kneser_ney import KneserNeyTrigram

from textgen import Evaluation, Metrics, SamplingSettings, TrainConfig, Trainer, evaluate, generate
from textgen.hashes import document_hash
from textgen.hub import load_model
from textgen.metrics import count_characters, summarize, unigram_metrics, unknown_spelling_nats

NANOGPT_VAL_LOSS = 1.4697


def trigram_metrics(tokenizer, train_docs, val_docs) -> Metrics:
    train_ids = tokenizer.encode_documents(train_docs)
    model = KneserNeyTrigram(len(tokenizer)).fit(train_ids)
    val_ids = tokenizer.encode_documents(val_docs)
    nats = model.nats(val_ids[1:], (tokenizer.eos_id, tokenizer.eos_id))
    spelling = unknown_spelling_nats(tokenizer, val_docs)
    return summarize(nats, len(val_ids) - 1, count_characters(val_docs), spelling)


def copies(loaded, temperature: float, samples: int, batch: int = 50) -> dict:
    texts = []
    for start in range(0, samples, batch):  # the sampler takes at most 64 samples per call
        texts += generate(
            loaded.model,
            loaded.tokenizer,
            "",
            SamplingSettings.of(
                temperature=temperature,
                length=300,
                num_samples=min(batch, samples - start),
                stop_at_eos=True,
                seed=start,
            ),
        )
    headlines = [t.strip() for t in texts if t.strip()]
    copied = sum(document_hash(h) in loaded.novelty for h in headlines)
    return {"generated": len(headlines), "verbatim_copies": copied}


def shakespeare(minutes: float, device: str) -> dict:
    config = TrainConfig(
        **SHAKESPEARE_CONFIG,
        epochs=1000,
        max_minutes=minutes,
        eval_every=250,
        patience=1000,
        sample_length=1,
        device=device,
    )
    data = shakespeare_data()
    trainer = Trainer(config, data)
    best = math.inf
    for event in trainer.run():
        if isinstance(event, Evaluation):
            best = min(best, event.val.loss)
            print(f"shakespeare step {event.step}: val {event.val['loss']:.4f}", flush=True)
    return {
        "model": "2 x LSTM(512), dropout 0.2",
        "minutes": minutes,
        "steps": trainer.state.step,
        "val_loss": round(best, 4),
        "nanogpt_val_loss": NANOGPT_VAL_LOSS,
        "note": "val loss in nats per character over the last 10% of the text, as nanoGPT reports it",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shakespeare-minutes", type=float, default=5)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    train_docs, val_docs = nyt_split()
    results: dict = {"command": f"python bench/quality.py --shakespeare-minutes {args.shakespeare_minutes:g}"}
    for name in ("nyt-char", "nyt-word"):
        loaded = load_model(str(ROOT / "checkpoints" / name), args.device)
        tokenizer = loaded.tokenizer
        results[name] = {
            "lstm": evaluate(loaded.model, tokenizer, val_docs).to_dict(),
            "unigram": unigram_metrics(tokenizer, train_docs, val_docs).to_dict(),
            "kneser_ney_trigram": trigram_metrics(tokenizer, train_docs, val_docs).to_dict(),
            "copies_at_0.5": copies(loaded, 0.5, args.samples),
            "copies_at_1.0": copies(loaded, 1.0, args.samples),
        }
        print(name, {k: v.get("bits_per_char", v) for k, v in results[name].items()}, flush=True)
    if args.shakespeare_minutes > 0:
        results["tiny_shakespeare"] = shakespeare(args.shakespeare_minutes, args.device)
    report("quality", results)


if __name__ == "__main__":
    main()

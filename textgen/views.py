"""What the page shows, built from plain data so that it can be tested without a server: the
training view (plot, status line, samples), the confidence shading, the novelty check and the
Explore plots. Every string goes through `translate`, in the page's language."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pandas as pd

from .checkpoints import LoadedModel, document_hash
from .explore import CorpusStats
from .messages import translate
from .metrics import Metrics
from .sampling import Step
from .training import Evaluation, Finished, Progress

LEARNED_LITTLE = 0.9  # a best model within 10% of the unigram baseline has learned little context
VISIBLE_WHITESPACE = {" ": "␣", "\n": "⏎", "\t": "⇥"}  # glyphs common fonts have (␠ is rarer)


def clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


# ------------------------------------------------------------------ training


@dataclass
class TrainingView:
    """The Train tab while a run goes: the loss plot (bits per character: the training loss as it
    steps, the training and held-out samples at each evaluation, and the unigram reference), a status
    line with its own progress bar, and the latest samples. Built from the run's events alone."""

    patience: int
    locale: str = "en"
    unigram: Metrics | None = None
    points: list[dict] = field(default_factory=list)
    best: Evaluation | None = None
    bad_evaluations: int = 0
    samples: str = ""

    def progress(self, event: Progress) -> None:
        """A step's training loss (a running mean over the steps since the last): a point at once."""
        self.points.append({"step": event.step, "bits_per_char": event.train_bits_per_char, "split": "running"})

    def add(self, event: Evaluation) -> None:
        self.unigram = event.unigram
        for split, metrics in (("train", event.train), ("validation", event.val)):
            self.points.append({"step": event.step, "bits_per_char": metrics.bits_per_char, "split": split})
        if event.is_best:
            self.best = event
        self.bad_evaluations = event.bad_evaluations
        self.samples = "\n".join(f"T={t}: {text}" for t, text in event.samples.items())

    def plot(self) -> pd.DataFrame:
        last = max((point["step"] for point in self.points), default=1)
        reference = []
        if self.unigram is not None:
            reference = [
                {"step": step, "bits_per_char": self.unigram.bits_per_char, "split": "unigram"}
                for step in (0, last)
            ]
        return pd.DataFrame(self.points + reference, columns=["step", "bits_per_char", "split"])

    def status(self, event: Progress | Evaluation) -> str:
        """One line: a progress bar, the step, elapsed and remaining time, the best so far."""
        say = self._say
        parts = [say("step {step}", step=event.step), say("{time} elapsed", time=clock(event.elapsed))]
        if event.remaining is not None:
            parts.append(say("about {time} left", time=clock(event.remaining)))
        if self.best is not None and self.unigram is not None:
            parts.append(
                say(
                    "best {bits:.3f} bits/char at step {step} (unigram {unigram:.3f})",
                    bits=self.best.val.bits_per_char,
                    step=self.best.step,
                    unigram=self.unigram.bits_per_char,
                )
            )
        if self.bad_evaluations:
            parts.append(
                say(
                    "no improvement in the last {count} evaluation(s); it stops early after {patience}",
                    count=self.bad_evaluations,
                    patience=self.patience,
                )
            )
        percent = min(max(event.fraction, 0.0), 1.0)
        return (
            f'<div class="train-status"><progress value="{percent:.3f}" max="1"></progress> '
            f"{percent:.0%} · {html.escape(' · '.join(parts))}</div>"
        )

    def finished(self, event: Finished, name: str, note: str = "") -> str:
        """The end, as HTML for the status box: what was kept and why it stopped, a plain warning
        when it learned little, then `note`."""
        say = self._say
        why = {
            "time budget": say("the time budget ran out"),
            "epochs": say("it finished its passes over the text"),
            "early stop": say(
                "the held-out loss did not improve for {patience} evaluations (early stop)", patience=self.patience
            ),
            "stopped": say("you stopped it"),
            "step limit": say("it reached its step limit"),
        }.get(event.reason, event.reason)
        best, unigram = event.best.bits_per_char, event.unigram.bits_per_char
        text = say(
            "**{name}** is ready: {bits:.3f} bits/char on held-out text (unigram baseline {unigram:.3f}). "
            "It stopped because {why}; the best model (step {step}) was kept. Pick it in Generate.",
            name=name,
            bits=best,
            unigram=unigram,
            why=why,
            step=event.best_step,
        )
        if best > LEARNED_LITTLE * unigram:
            text += "\n\n" + say(
                "**It learned little:** {bits:.3f} bits/char is barely better than a model that ignores "
                "context ({unigram:.3f}). Try a longer time budget, a smaller size, the char level instead "
                "of word, or more text.",
                bits=best,
                unigram=unigram,
            )
        return status_html(text + ("\n\n" + note if note else ""))

    def _say(self, template: str, **values) -> str:
        return translate(template, self.locale, **values)


def status_html(text: str) -> str:
    """Messages written with **bold** and blank-line paragraphs, escaped, as the status box's HTML
    (it is an HTML component, for the progress bar: Markdown would show as typed)."""
    paragraphs = [BOLD.sub(r"<strong>\1</strong>", html.escape(part)) for part in text.split("\n\n")]
    return '<div class="train-status">' + "".join(f"<p>{part}</p>" for part in paragraphs) + "</div>"


BOLD = re.compile(r"\*\*(.+?)\*\*")


# ------------------------------------------------------------------ generated text


@dataclass
class GeneratedRun:
    """One generation, kept for the confidence and novelty views of the sample a user picks."""

    model: str
    session: str
    prompt: str
    steps: list[Step]


def recording(batches: Iterable[list[Step]], steps: list[Step]) -> Iterator[list[Step]]:
    """A generation's batches of steps as they come, each step also kept in `steps` for the views."""
    for batch in batches:
        steps.extend(batch)
        yield batch


def samples_text(texts: list[str]) -> str:
    """Several samples in one text box, numbered; one sample as it is."""
    if len(texts) == 1:
        return texts[0]
    return "\n\n".join(f"[{i}] {text.rstrip()}" for i, text in enumerate(texts, 1))


def confidence_html(prompt: str, steps: list[Step], sample: int = 0) -> str:
    """The seed text, then each generated token shaded by the model's probability of it: whole words
    stay together (no gaps between a word's tokens) and line breaks stay (pre-wrap)."""
    spans = [f'<span class="seed">{html.escape(prompt)}</span>'] if prompt else []
    for step in steps:
        piece, probability = step.pieces[sample], step.probabilities[sample]
        if not piece:
            continue  # this sample had finished
        color = "#fff" if probability > 0.6 else "inherit"
        spans.append(
            f'<span title="{probability:.0%}" style="background:rgba(79,70,229,{probability:.2f});'
            f'color:{color}">{html.escape(piece)}</span>'
        )
    return f'<div class="confidence" style="white-space:pre-wrap;line-height:1.6">{"".join(spans)}</div>'


@dataclass
class Document:
    text: str
    status: str  # "new", "copy" (of a training document) or "cut" (ended by the length, not checked)


def generated_documents(loaded: LoadedModel, prompt: str, steps: list[Step], sample: int = 0) -> list[Document]:
    """One sample's text split where the model ended a document (`<eos>`), each marked new or copy;
    a last document that the length cut off is marked "cut" and not checked."""
    documents, current = [], prompt
    eos = loaded.tokenizer.eos_id
    for step in steps:
        token, piece = step.token_ids[sample], step.pieces[sample]
        if not piece:
            break  # finished at its end
        if token == eos:
            text = current.strip()
            if text:
                documents.append(Document(text, "copy" if document_hash(text) in loaded.novelty else "new"))
            current = ""
        else:
            current += piece
    if current.strip():
        documents.append(Document(current.strip(), "cut"))
    return documents


def novelty_markdown(loaded: LoadedModel, documents: list[Document], locale: str = "en") -> str:
    if not loaded.novelty:
        return translate("(this model ships no training-document hashes, so copies cannot be checked)", locale)
    labels = {
        "new": translate("new", locale),
        "copy": translate("**COPY** of a training document", locale),
        "cut": translate("cut off by the length (not checked)", locale),
    }
    lines = [f"- {labels[d.status]}: {html.escape(d.text[:120])}" for d in documents]
    return "\n".join(lines) or translate("(nothing generated)", locale)


# ------------------------------------------------------------------ explore


def histogram_frame(stats: CorpusStats) -> pd.DataFrame:
    """Document lengths as bars, one per bin (" 40–59"), from 0 up."""
    return pd.DataFrame(stats.length_bins, columns=["length", "documents"])


def top_tokens_frame(stats: CorpusStats, level: str) -> pd.DataFrame:
    """The most frequent characters or words, with spaces and line breaks made visible."""
    top = stats.top_words if level == "word" else stats.top_chars
    shown = [("".join(VISIBLE_WHITESPACE.get(ch, ch) for ch in token), count) for token, count in top]
    return pd.DataFrame(shown, columns=["token", "count"])


def explore_summary(stats: CorpusStats, name: str, level: str, locale: str = "en") -> str:
    """One line over the Explore plots: documents, characters and distinct tokens of a corpus."""
    summary = translate(
        "**{name}**: {documents:,} documents, {characters:,} characters, {vocabulary:,} distinct {unit}",
        locale,
        name=name,
        documents=stats.documents,
        characters=stats.characters,
        vocabulary=stats.vocabulary(level),
        unit=translate("words" if level == "word" else "characters", locale),
    )
    if level == "word" and stats.words_from_characters:  # a corpus too large to count all its words
        summary += translate(
            " (words counted in its first {characters:,} characters)",
            locale,
            characters=stats.words_from_characters,
        )
    return summary

"""What the page shows, built from plain data so that it can be tested without a server: the
training view (plot, status line, samples), the confidence shading, the novelty check and the
Explore plots. Every string goes through `translate`, in the page's language."""

from __future__ import annotations

import functools
import html
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .checkpoints import LoadedModel
from .config import TrainConfig
from .conversations import shown as conversation_shown
from .corpus import Corpus
from .corpusstats import CorpusStats
from .cowrite import NextTokens
from .events import Evaluation, Finished, Progress
from .hashes import document_hash
from .labelled import clean_label, text_of
from .messages import translate
from .metrics import Metrics
from .sampling import Step
from .tokenizer import Tokenizer

LEARNED_LITTLE = 0.9  # a best model within 10% of the unigram baseline has learned little context
PLOT_SERIES = ("running", "train", "validation", "unigram")
FEW_DOCUMENTS = 20  # fewer than this cannot be split by document: stretches of text are held out
EARLY_BEST = 0.2  # a fine-tuned run whose best step is this early may still write like its base
RARE_VOCABULARY = 500  # above this many tokens, fewer than 100 characters of text each is too few
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

    def _named(self, rows: list[dict]) -> list[dict]:
        return [{**row, "split": series_name(row["split"], self.locale)} for row in rows]

    def add(self, event: Evaluation) -> None:
        self.unigram = event.unigram
        for split, metrics in (("train", event.train), ("validation", event.val)):
            self.points.append({"step": event.step, "bits_per_char": metrics.bits_per_char, "split": split})
        if event.is_best:
            self.best = event
        self.bad_evaluations = event.bad_evaluations
        self.samples = "\n".join(f"T={t}: {text}" for t, text in event.samples.items())

    def plot(self) -> pd.DataFrame:
        """The points so far, and every series from the first frame: a chart keeps the series (and
        colours) of its first data, so the ones to come are there as an empty point each."""
        last = max((point["step"] for point in self.points), default=1)
        reference = []
        if self.unigram is not None:
            reference = [
                {"step": step, "bits_per_char": self.unigram.bits_per_char, "split": "unigram"}
                for step in (0, last)
            ]
        seen = {point["split"] for point in self.points + reference}
        waiting = [
            {"step": 0, "bits_per_char": math.nan, "split": split} for split in PLOT_SERIES if split not in seen
        ]
        rows = self._named(self.points + reference + waiting)
        return pd.DataFrame(rows, columns=["step", "bits_per_char", "split"])

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
                    "{count} evaluation(s) clearly worse than the best; it stops early at {patience}",
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
                "the held-out loss was clearly above its best in {patience} evaluations (early stop)",
                patience=self.patience,
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
        advice = self.advice(event)
        if best > LEARNED_LITTLE * unigram:
            text += "\n\n" + say(
                "**It learned little:** {bits:.3f} bits/char is barely better than a model that ignores "
                "context ({unigram:.3f}).",
                bits=best,
                unigram=unigram,
            )
        if advice:
            text += "\n\n" + " ".join(advice)
        if event.model is not None and event.model.info.parent and event.best_step <= EARLY_BEST * event.step:
            kept = event.model.info.samples.get("0.5") or next(iter(event.model.info.samples.values()), "")
            text += "\n\n" + say(
                "It kept step {step} of {steps}, early: it may still write like its base ({parent}). "
                "Its samples at T=0.5: “{sample}”. A longer budget, or more text, moves it further from the base.",
                step=event.best_step,
                steps=event.step,
                parent=event.model.info.parent,
                sample=kept[:160],
            )
        return status_html(text + ("\n\n" + note if note else ""))

    def advice(self, event: Finished) -> list[str]:
        """Why a run learned little or stopped early, from what it knows; only what applies to it."""
        say, found = self._say, []
        info = event.model.info if event.model is not None else None
        if info is not None and info.val_documents < FEW_DOCUMENTS:
            found.append(
                say(
                    "Its held-out set is {count} documents: the figure is a rough one, and early stopping "
                    "follows its noise.",
                    count=info.val_documents,
                )
            )
        if event.vocabulary > RARE_VOCABULARY and event.train_characters < 100 * event.vocabulary:
            found.append(
                say(
                    "{vocabulary:,} distinct tokens in {characters:,} characters of training text: most appear "
                    "too rarely to learn; more text helps most.",
                    vocabulary=event.vocabulary,
                    characters=event.train_characters,
                )
            )
        if event.reason == "time budget" and event.passes < 1:
            found.append(
                say(
                    "In its time it read {share:.0%} of the text once: a longer time budget would help.",
                    share=event.passes,
                )
            )
        if event.reason == "early stop" and event.best_step == event.first_evaluation_step:
            found.append(
                say(
                    "Its held-out loss was best at the first evaluation (step {step}) and only grew after: it "
                    "memorizes this text quickly. More text, or a smaller size, would help.",
                    step=event.best_step,
                )
            )
        return found

    def _say(self, template: str, **values) -> str:
        return translate(template, self.locale, **values)


def series_name(series: str, locale: str = "en") -> str:
    """A loss plot series' name in the page's language."""
    names = {
        "running": translate("training loss as it steps", locale),
        "train": translate("training sample", locale),
        "validation": translate("held-out", locale),
        "unigram": translate("unigram", locale),
    }
    return names[series]


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
    steps: Sequence[Step]  # as they stream, then `CompactSteps`


class CompactSteps(Sequence[Step]):
    """A finished generation's steps in 9 bytes per token (its ids, probabilities and ends as arrays;
    Python's lists of Steps took 13 times that, measured on 5,000 x 4 tokens), each Step made again
    when a view reads it: a page session keeps its last run for the views, and an API client's
    session keeps it too."""

    def __init__(self, steps: Sequence[Step], tokenizer: Tokenizer):
        self.ids = np.array([step.token_ids for step in steps], dtype=np.int32).reshape(len(steps), -1)
        self.probabilities = np.array([step.probabilities for step in steps], dtype=np.float32).reshape(
            self.ids.shape
        )
        self.finished = np.array([step.finished for step in steps], dtype=bool).reshape(self.ids.shape)
        self.tokenizer = tokenizer

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = range(len(self))[index]
        ids = self.ids[index].tolist()
        ended = self.finished[index - 1].tolist() if index else [False] * len(ids)
        before = self.ids[index - 1].tolist() if index else [None] * len(ids)
        pieces = ["" if done else self.tokenizer.piece(i, b) for i, b, done in zip(ids, before, ended)]
        return Step(ids, pieces, self.probabilities[index].tolist(), self.finished[index].tolist())


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


def confidence_html(prompt: str, steps: list[Step], sample: int = 0, locale: str = "en") -> str:
    """Under a heading, the seed text, then each generated token shaded by the model's probability of
    it: whole words stay together (no gaps between a word's tokens) and line breaks stay (pre-wrap)."""
    heading = translate(
        "How confident the model was (darker = more probable; hover a token for its probability)", locale
    )
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
    body = "".join(spans)
    return (
        f'<p class="confidence-heading">{html.escape(heading)}</p>'
        f'<div class="confidence" style="white-space:pre-wrap;line-height:1.6">{body}</div>'
    )


@dataclass
class Document:
    text: str
    status: str  # "new", "copy" (of a training document) or "cut" (ended by the length, not checked)


def generated_documents(loaded: LoadedModel, prompt: str, steps: list[Step], sample: int = 0) -> list[Document]:
    """One sample's text split where the model ended a document (`<eos>`), each marked new or copy;
    a last document that the length cut off is marked "cut" and not checked."""
    documents, current = [], prompt
    eos = loaded.tokenizer.eos_id
    for index, step in enumerate(steps):
        if index and steps[index - 1].finished[sample]:
            break  # it ended at its end (stop at the end): the rest is not its text
        token, piece = step.token_ids[sample], step.pieces[sample]  # a label's token writes ""
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


# ------------------------------------------------------------------ writing with the model


def shown(token: str) -> str:
    """A token with its spaces and line breaks made visible."""
    return "".join(VISIBLE_WHITESPACE.get(ch, ch) for ch in token)


# Each row a grid of three columns (the token, its bar, its probability), so that they line up at any
# width: a phone's too.
NEXT_TOKEN_ROW = (
    "display:grid;grid-template-columns:minmax(3rem,9rem) 1fr 3.5rem;gap:.5rem;align-items:center;margin:.15rem 0"
)
NEXT_TOKEN_TEXT = "overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-family:monospace"
NEXT_TOKEN_P = "text-align:right;font-variant-numeric:tabular-nums"


def next_tokens_html(view: NextTokens, temperature: float, locale: str = "en") -> str:
    """The next-token chart: a bar per token (its probability at this temperature) and the entropy."""
    rows = "".join(
        f'<div class="next-token" style="{NEXT_TOKEN_ROW}">'
        f'<span class="token" style="{NEXT_TOKEN_TEXT}">{html.escape(shown(token))}</span>'
        f'<span class="track" style="background:#eef2ff;height:0.9em">'
        f'<span class="bar" style="display:block;height:100%;background:#4f46e5;'
        f'width:{max(probability * 100, 0.5):.1f}%"></span></span>'
        f'<span class="p" style="{NEXT_TOKEN_P}">{probability:.1%}</span></div>'
        for token, probability in view.tokens
    )
    entropy = translate(
        "Entropy {bits:.2f} bits at T={temperature:g} ({at_one:.2f} bits at T=1): the lower, the surer the "
        "model, and the more it repeats itself; the higher, the more surprising, and the more often broken.",
        locale,
        bits=view.entropy_bits,
        temperature=temperature,
        at_one=view.entropy_bits_at_1,
    )
    return f'<div class="next-tokens">{rows}<p class="entropy">{html.escape(entropy)}</p></div>'


# ------------------------------------------------------------------ explore


def histogram_frame(stats: CorpusStats) -> pd.DataFrame:
    """Document lengths as bars, one per bin (" 40–59"), from 0 up."""
    return pd.DataFrame(stats.length_bins, columns=["length", "documents"])


def speakers_frame(speakers: Counter, top: int = 20) -> pd.DataFrame:
    """A chat's most active speakers, by their messages."""
    return pd.DataFrame(speakers.most_common(top), columns=["speaker", "messages"])


def top_tokens_frame(stats: CorpusStats, level: str) -> pd.DataFrame:
    """The most frequent characters or words, with spaces and line breaks made visible."""
    top = stats.top_words if level == "word" else stats.top_chars
    return pd.DataFrame([(shown(token), count) for token, count in top], columns=["token", "count"])


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


# ------------------------------------------------------------------ what an upload holds

GIANT_DOCUMENT = 20_000  # characters: a reading whose median document is longer looks wrong
# A corpus shorter than this cannot fill one training batch at the page's settings (TrainConfig's
# batch of 32 rows of 64 characters, 90% of the text trained on): data.prepare_data refuses it.
SMALLEST_CORPUS = -(-TrainConfig().batch_size * (TrainConfig().seq_len + 1) * 10 // 9)
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (with a BOM)", "utf-16": "UTF-16", "utf-32": "UTF-32"}
REMOVED = {  # what a chat export's reading removed, by kind (textchats.py): one and several
    "header": ("{count:,} header line", "{count:,} header lines"),
    "date line": ("{count:,} date line", "{count:,} date lines"),
    "system message": ("{count:,} system message", "{count:,} system messages"),
    "media": ("{count:,} media placeholder", "{count:,} media placeholders"),
    "deleted message": ("{count:,} deleted message", "{count:,} deleted messages"),
    "unsent message": (
        "{count:,} unsent message (a draft, a failed send)",
        "{count:,} unsent messages (drafts, failed sends)",
    ),
}


def plural(count: int, one: str, many: str) -> str:
    """The template for `count`: English says one thing once ("1 document"), else many."""
    return one if count == 1 else many


def md(text: str) -> str:
    """A name (a speaker's, a label's) as Markdown shows it literally: no markup, no HTML."""
    return re.sub(r"([\\`*_{}\[\]<>()#+\-.!|~])", r"\\\1", html.escape(text, quote=False))


def unescape_markdown(text: str) -> str:
    """`md`'s escapes undone, for a terminal."""
    return re.sub(r"\\([\\`*_{}\[\]<>()#+\-.!|~])", r"\1", text)


def encoding_name(codec: str) -> str:
    return ENCODING_NAMES.get(codec, codec)


def reading_kind(reading, locale: str) -> str:
    """How a corpus was read, in words: a chat export, a text file's layout, a CSV."""
    if reading.layout is not None:
        return {
            "paragraphs": translate("paragraphs, blank lines between them", locale),
            "lines": translate("one per line", locale),
            "separator": translate(
                "separated by lines “{separator}”", locale, separator=md(reading.layout.separator)
            ),
        }[reading.layout.kind]
    if reading.speakers:
        return translate("{kind} export", locale, kind=reading.kind)
    return translate(reading.kind or "text", locale)


def removed_parts(removed: Counter, locale: str) -> list[str]:
    return [
        translate(plural(removed[kind], *REMOVED[kind]), locale, count=removed[kind])
        for kind in REMOVED
        if removed[kind]
    ]


def reading_summary(corpus: Corpus, locale: str = "en", examples: int = 3, lengths=None) -> str:
    """What reading a corpus found, before training (Markdown): how many documents (or messages) and
    how long, how the file was read and decoded, what was removed, who speaks, a few examples, and a
    warning where the reading looks wrong or the text is too small to train on. `lengths`: every
    document's, where `corpus` holds only the first few."""
    say = functools.partial(translate, locale=locale)
    documents = corpus.documents
    lengths = sorted(map(len, documents) if lengths is None else map(int, lengths))
    reading = corpus.reading
    count, chat = len(lengths), bool(reading.speakers)
    if reading.conversations:
        template = plural(
            count,
            "**{count:,} conversation** of {messages:,} messages ({how})",
            "**{count:,} conversations** of {messages:,} messages ({how})",
        )
    elif chat:
        template = plural(count, "**{count:,} message** ({how})", "**{count:,} messages** ({how})")
    else:
        template = plural(count, "**{count:,} document** ({how})", "**{count:,} documents** ({how})")
    parts = [
        say(template, count=count, messages=sum(reading.speakers.values()), how=reading_kind(reading, locale))
        + say(
            ", median {median:,} characters, longest {longest:,}",
            median=lengths[len(lengths) // 2] if lengths else 0,
            longest=lengths[-1] if lengths else 0,
        )
    ]
    if reading.where:
        field_name, value = reading.where
        template = plural(
            reading.records,
            "kept where {field} is “{value}”: {kept:,} of {records:,} record",
            "kept where {field} is “{value}”: {kept:,} of {records:,} records",
        )
        parts.append(
            say(template, field=md(field_name), value=md(value), kept=reading.kept, records=reading.records)
        )
    if reading.cleaning.encodings:
        codecs = ", ".join(encoding_name(codec) for codec in reading.cleaning.encodings)
        parts.append(say("read as {encodings}", encodings=codecs))
    removed = removed_parts(reading.removed, locale) + reading.cleaning.parts(locale)
    if removed:
        parts.append(say("removed {what}", what=", ".join(removed)))
    if reading.speakers:
        top = ", ".join(f"{md(clean_label(name) or '?')} ({n:,})" for name, n in reading.speakers.most_common(6))
        speakers = len(reading.speakers)
        parts.append(
            say(plural(speakers, "{count:,} speaker: {top}", "{count:,} speakers: {top}"), count=speakers, top=top)
        )
    if corpus.labels and not reading.conversations:  # a conversation's labels are its speakers, said above
        column, counts = corpus.labels.column, corpus.labels.documents
        top = ", ".join(f"{md(name)} ({n:,})" for name, n in list(counts.items())[:8])
        labels = len(counts)
        template = plural(labels, "{count:,} label from {column}: {top}", "{count:,} labels from {column}: {top}")
        parts.append(say(template, count=labels, column=md(column), top=top))
    text = "; ".join(parts) + "."
    characters = sum(lengths)
    if lengths and characters < SMALLEST_CORPUS:
        text += "\n\n" + say(
            "**Too small to train on:** {characters:,} characters; a model needs at least about {needed:,}.",
            characters=characters,
            needed=SMALLEST_CORPUS,
        )
    elif lengths and len(lengths) < FEW_DOCUMENTS:
        text += "\n\n" + say(
            "Only {count} documents: too few to hold some out, so stretches of the text are held out "
            "instead. If the file has one document per line or per separator line, choose that reading.",
            count=len(lengths),
        )
    elif lengths and lengths[len(lengths) // 2] > GIANT_DOCUMENT:
        text += "\n\n" + say(
            "The documents are very long (median {median:,} characters): if the file has one document "
            "per line or per separator line, choose that reading.",
            median=lengths[len(lengths) // 2],
        )
    if reading.conversations:  # a conversation's start, each message after its speaker's name
        documents = [conversation_shown(document, corpus.labels) for document in documents]
    shown = [text_of(document)[:160].replace("\n", " ⏎ ") for document in documents[:examples]]
    return text + "".join(f"\n\n> {html.escape(example)}" for example in shown)

"""Labels: one model that writes as any speaker of a chat, or for any section of a newspaper.

`train.py --label-column user` reads each record's label (a CSV column, a JSON field, a chat's
`speaker`) and puts a control token in front of its document: one character of Unicode's
Supplementary Private Use Area-B (U+100000 on), which reading removes from the text itself, so no
document can contain one by chance. Being a character, a label needs nothing new from the
tokenizers, the token cache, the model, the sampler or the ONNX export: the model reads the label
first and learns the text that follows it (textgenrnn's context labels, as a token), and writing
"as" a label is writing from a seed that starts with it.

The labels kept are the MAX_LABELS most frequent with at least MIN_DOCUMENTS documents (fewer can't
be learnt); the other documents are read without a label. Writing as "any" label: write_as.py.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass

from .errors import CorpusError, GenerationError, listed

FIRST = 0x100000  # U+100000, the first character of Supplementary Private Use Area-B
MAX_LABELS = 64
MIN_DOCUMENTS = 10
MAX_VALUES_COUNTED = 100_000  # a column of unique ids stays a bounded count
LABEL_CHARACTERS = re.compile("[\U00100000-\U0010fffd]")
FIRST_LABEL, LAST_LABEL = chr(FIRST), "\U0010fffd"
MAX_LABEL_CHARACTERS = 100  # a name, a section: a 900 KB "label" is a mistake in the file
# Bidirectional overrides, embeddings and isolates, and C0/C1 control characters (tabs and line
# breaks become spaces first, by split()).
UNSHOWN = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def is_label(token: str) -> bool:
    return len(token) == 1 and FIRST_LABEL <= token <= LAST_LABEL


def without_labels(text: str) -> str:
    """`text` with no label characters: a document's own text, or a sample as it is shown."""
    return text if text.isascii() else LABEL_CHARACTERS.sub("", text)


def text_of(document: str) -> str:
    """A document read with labels, without the label in front of it (the only place one can be).
    One comparison, no call: it runs on every document a corpus is tokenized from."""
    return document[1:] if LAST_LABEL >= document[:1] >= FIRST_LABEL else document


def clean_label(value: str | None) -> str | None:
    """A label as it is kept and shown: no direction overrides or isolates (which reorder the text
    around a name), no control characters or line breaks, at most MAX_LABEL_CHARACTERS."""
    if not value:
        return None
    value = " ".join(UNSHOWN.sub("", value).split())[:MAX_LABEL_CHARACTERS].strip()
    return value or None


def count_label(counts: Counter, value: str | None) -> None:
    if value and (value in counts or len(counts) < MAX_VALUES_COUNTED):
        counts[value] += 1


@dataclass(frozen=True)
class Labels:
    """The labels a model was trained with: the field they came from and how many documents each
    had, most frequent first (the order gives each its character)."""

    column: str
    documents: dict[str, int]

    @classmethod
    def chosen(cls, column: str, counts: Counter) -> Labels:
        """The labels worth learning among the values `counts` found, or an error that says why none are."""
        kept = [(value, n) for value, n in counts.most_common() if n >= MIN_DOCUMENTS][:MAX_LABELS]
        if not kept:
            if not counts:
                raise CorpusError("no record has a field {name!r} to label it with", name=column[:60])
            common = ", ".join(f"{value[:30]} ({n:,})" for value, n in counts.most_common(5))
            raise CorpusError(
                "no value of {name!r} labels {least} documents or more, too few to learn one; its most "
                "frequent: {common}",
                name=column[:60],
                least=MIN_DOCUMENTS,
                common=common,
            )
        return cls(column, dict(kept))

    @property
    def names(self) -> list[str]:
        return list(self.documents)

    @functools.cached_property
    def characters(self) -> dict[str, str]:
        """Each label's control character (looked up for every document read)."""
        return {name: chr(FIRST + index) for index, name in enumerate(self.documents)}

    def character(self, label: str) -> str | None:
        """The label's control character, None for a label the model does not know."""
        return self.characters.get(label)

    def prefix(self, label: str | None) -> str:
        """What goes in front of a document labelled `label`: its character, or nothing."""
        return (self.character(label) if label is not None else None) or ""

    def to_dict(self) -> dict:
        return {"column": self.column, "documents": self.documents}

    @classmethod
    def from_dict(cls, data: object) -> Labels | None:
        """Labels from a training.json anyone may have written: None unless well formed."""
        if not isinstance(data, dict) or not isinstance(data.get("column"), str):
            return None
        documents = data.get("documents")
        if not isinstance(documents, dict) or not 0 < len(documents) <= MAX_LABELS:
            return None
        counts = documents.values()
        if not all(isinstance(k, str) for k in documents) or not all(type(v) is int for v in counts):
            return None
        return cls(data["column"], dict(documents))


@dataclass
class Labelling:
    """Labels documents as one pass over a corpus reads them: counts the values of `column` it sees
    (into `counts`) and, once the labels are chosen, puts each document's character in front."""

    column: str
    counts: Counter
    labels: Labels | None = None

    def label(self, value: str | None, document: str) -> str:
        value = clean_label(value)
        count_label(self.counts, value)
        return (self.labels.prefix(value) if self.labels else "") + document


def labelled_prompt(labels: Labels | None, label: str | None, prompt: str) -> str:
    """The seed text that writes as `label` ("" or None: the seed alone; `prompt_as` draws one)."""
    if not label:
        return prompt
    character = labels.character(label) if labels else None
    if character is None:
        if labels is None:
            raise GenerationError("the model was trained without labels; write as any")
        raise GenerationError(
            "the model knows no label {label!r}; it knows: {known}",
            label=label[:60],
            known=listed(labels.names),
        )
    return character + prompt

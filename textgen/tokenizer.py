"""Character- and word-level tokenizers with `<eos>` and `<unk>`, and a JSON round trip.

Unseen seed text: characters or words the tokenizer has never seen map to `<unk>`, and
`unknown_tokens(text)` lists them so the caller can tell the user. A seed made only of unknowns is
rejected by the sampler.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .labelled import is_label, without_labels

EOS = "<eos>"
UNK = "<unk>"
SPECIALS = (EOS, UNK)

# A word (with inner apostrophes and dots: don't, Trump’s, G.O.P, 3.5, 1,000) or one punctuation
# mark, each with the single space before it; then line breaks, and runs of other whitespace (all
# but a last space, which goes with the next word). Every character lands in exactly one token, so
# joining the tokens gives the text back: "G.O.P.’s Big-Day" -> "G.O.P" "." "’" "s" " Big" "-" "Day".
WORD_PATTERN = re.compile(r" ?\w+(?:['’.,]\w+)*| ?[^\w\s]|\n|[^\S\n]+(?!\S)|[^\S\n]+")
WORD_FORMAT = 2  # tokenizer.json "version" of word tokenizers whose tokens carry their spaces
# A word longer than this is never a token of its own (it is <unk>, spelled out by the spelling model):
# it bounds what a valid tokenizer.json can hold, so that a hostile one is refused before it is parsed.
MAX_TOKEN_CHARS = 32
# Documents are counted and encoded about this much text at a time: large enough for numpy to
# amortize, small enough that no buffer grows the heap (measured: 4 M doubled the peak memory).
BATCH_CHARACTERS = 1_000_000


def document_batches(documents: Iterable[str], characters: int = BATCH_CHARACTERS) -> Iterator[list[str]]:
    """Documents in lists of about `characters` of text."""
    batch, size = [], 0
    for doc in documents:
        batch.append(doc)
        size += len(doc)
        if size >= characters:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class Tokenizer:
    """Shared vocabulary logic; subclasses say how text splits into pieces and joins back."""

    level = ""

    def __init__(self, vocab: list[str], lowercase: bool = False):
        if list(vocab[: len(SPECIALS)]) != list(SPECIALS):
            raise ValueError(f"a vocabulary starts with {SPECIALS}")
        self.vocab = list(vocab)
        self.lowercase = lowercase
        self.index = {token: i for i, token in enumerate(self.vocab)}

    eos_id = SPECIALS.index(EOS)
    unk_id = SPECIALS.index(UNK)

    def __len__(self) -> int:
        return len(self.vocab)

    # subclasses ---------------------------------------------------------------
    def split(self, text: str) -> list[str]:
        raise NotImplementedError

    def join(self, pieces: list[str]) -> str:
        raise NotImplementedError

    # shared -------------------------------------------------------------------
    def prepare(self, text: str) -> str:
        return text.lower() if self.lowercase else text

    def encode(self, text: str) -> list[int]:
        return [self.index.get(piece, self.unk_id) for piece in self.split(self.prepare(text))]

    def encode_batch(self, documents: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every document's ids, concatenated (int32), and each document's length in tokens."""
        encoded = [self.encode(doc) for doc in documents]
        lengths = np.fromiter((len(ids) for ids in encoded), dtype=np.int64, count=len(encoded))
        flat = np.fromiter((i for ids in encoded for i in ids), dtype=np.int32, count=int(lengths.sum()))
        return flat, lengths

    def encode_documents(self, documents: Iterable[str]) -> list[int]:
        """One stream: `<eos>` before the first document and after each, as in training."""
        ids = [self.eos_id]
        for doc in documents:
            ids.extend(self.encode(doc))
            ids.append(self.eos_id)
        return ids

    def unknown_tokens(self, text: str) -> list[str]:
        return [p for p in self.split(self.prepare(text)) if p not in self.index]

    def decode(self, ids: Iterable[int]) -> str:
        return self.join([self.vocab[i] for i in ids])

    def piece(self, token_id: int, previous_id: int | None) -> str:
        """The text one token adds after `previous_id` when streamed (looked up: it runs for every
        token of every stream)."""
        if getattr(self, "_pieces", None) is None:  # a label's control token writes nothing to show
            shown = getattr(self, "_shown_labels", {})
            self._pieces = [
                shown.get(token) or without_labels(self.decode([i])) for i, token in enumerate(self.vocab)
            ]
        return self._pieces[token_id]

    def show_labels(self, shown: dict[str, str]) -> None:
        """Stream these label tokens as this text (a conversation model's speakers' names) instead of
        nothing."""
        self._shown_labels, self._pieces = shown, None

    def spelling_costs(self, documents: list[str]) -> np.ndarray | None:
        """What spelling out each document's `<unk>` words costs in nats (word level; None for characters)."""
        return None

    @functools.cached_property
    def label_ids(self) -> list[int]:
        """The tokens that are labels' control characters (labelled.py)."""
        return [i for i, token in enumerate(self.vocab) if is_label(token)]

    def to_dict(self) -> dict:
        return {"level": self.level, "lowercase": self.lowercase, "vocab": self.vocab}

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def fit(cls, documents: Iterable[str], **kwargs) -> Tokenizer:
        raise NotImplementedError


class CharTokenizer(Tokenizer):
    """Every Unicode code point seen in training is a token; `<eos>` reads as a newline."""

    level = "char"

    def split(self, text: str) -> list[str]:
        return list(text)

    def encode_batch(self, documents: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Vectorized: the documents' code points looked up in one table (hundreds of MB/s, where a
        Python loop per character manages a few)."""
        texts = [self.prepare(doc) for doc in documents]
        codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        table = self._code_table()
        ids = table[np.minimum(codes, len(table) - 1)]  # past the table: its last slot, <unk>
        return ids, np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))

    def _code_table(self) -> np.ndarray:
        """Code point -> token id (`<unk>` where the vocabulary has none, and in one slot past the
        largest code point, for all above it), built once."""
        if getattr(self, "_table", None) is None:
            points = {ord(token): i for i, token in enumerate(self.vocab) if len(token) == 1}
            self._table = np.full(max(points, default=0) + 2, self.unk_id, dtype=np.int32)
            self._table[list(points)] = list(points.values())
        return self._table

    def join(self, pieces: list[str]) -> str:
        return "".join("\n" if p == EOS else ("\ufffd" if p == UNK else p) for p in pieces)

    @classmethod
    def fit(cls, documents: Iterable[str], lowercase: bool = False) -> CharTokenizer:
        """Every character of the documents, in code-point order."""
        characters = CharacterSet(lowercase)
        characters.add(documents)
        return characters.tokenizer()


class CharacterSet:
    """The characters seen in documents, counted in bulk a few MB of text at a time, so that a corpus
    larger than memory streams through; its tokenizer has them in code-point order."""

    def __init__(self, lowercase: bool = False):
        self.lowercase = lowercase
        self.seen = np.zeros(0, dtype=bool)  # by code point

    def add(self, documents: Iterable[str]) -> None:
        for batch in document_batches(documents):
            # Lowered one by one: a final sigma depends on where its document ends.
            self._count([doc.lower() for doc in batch] if self.lowercase else batch)

    def _count(self, texts: list[str]) -> None:
        codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        present = np.bincount(codes) > 0
        if len(present) > len(self.seen):
            self.seen = np.pad(self.seen, (0, len(present) - len(self.seen)))
        self.seen[: len(present)] |= present

    def tokenizer(self) -> CharTokenizer:
        return CharTokenizer(list(SPECIALS) + [chr(code) for code in np.flatnonzero(self.seen)], self.lowercase)


class WordTokenizer(Tokenizer):
    """Words and punctuation marks with their leading space; rarer than `min_count` become `<unk>`.

    Lossless: decode(encode(text)) == text for any text without `<unk>` (lowercased if asked).

    It also keeps the character counts of the training words: a character unigram "spelling model"
    that prices what `<unk>` hides, so bits per character stay honest (see metrics.py).
    """

    level = "word"

    def __init__(
        self,
        vocab: list[str],
        lowercase: bool = False,
        min_count: int = 1,
        char_counts: dict[str, int] | None = None,
    ):
        super().__init__(vocab, lowercase)
        self.min_count = min_count
        self.char_counts = dict(char_counts or {})
        self._char_total = sum(self.char_counts.values())

    def spelling_nats(self, word: str) -> float:
        """-log P(word) spelled character by character, then an end-of-word mark ("" in the counts).

        Add-one smoothing over the characters seen, the end mark and one bucket for unseen characters.
        """
        denominator = self._char_total + len(self.char_counts) + 1
        nats = -math.log((self.char_counts.get("", 0) + 1) / denominator)
        for ch in word:
            nats -= math.log((self.char_counts.get(ch, 0) + 1) / denominator)
        return nats

    def spelling_costs(self, documents: list[str]) -> np.ndarray:
        return np.array(
            [sum(map(self.spelling_nats, self.unknown_tokens(doc))) for doc in documents], dtype=np.float64
        )

    pattern = WORD_PATTERN

    def split(self, text: str) -> list[str]:
        return self.pattern.findall(text)

    def join(self, pieces: list[str]) -> str:
        return "".join("\n" if p == EOS else p for p in pieces)

    def to_dict(self) -> dict:
        return {
            **super().to_dict(),
            "version": WORD_FORMAT,
            "min_count": self.min_count,
            "char_counts": self.char_counts,
        }

    @classmethod
    def fit(cls, documents: Iterable[str], lowercase: bool = False, min_count: int = 2) -> WordTokenizer:
        counts = Counter(
            piece for doc in documents for piece in cls.pattern.findall(doc.lower() if lowercase else doc)
        )
        words = sorted(
            w for w, n in counts.items() if n >= min_count and w not in SPECIALS and len(w) <= MAX_TOKEN_CHARS
        )
        words.sort(key=lambda w: -counts[w])  # frequent first; stable, so ties stay sorted
        char_counts: Counter[str] = Counter()
        for word, n in counts.items():
            char_counts[""] += n  # the end of a word
            for ch in word:
                char_counts[ch] += n
        return cls(list(SPECIALS) + words, lowercase=lowercase, min_count=min_count, char_counts=dict(char_counts))


class LegacyWordTokenizer(WordTokenizer):
    """Word models saved before tokens carried their spaces: words and marks, spaces guessed on join.

    Kept so that those models still load and write; the guess is lossy ("Big - Day").
    """

    pattern = re.compile(r"\w+(?:['’.,]\w+)*|[^\w\s]")
    no_space_before = frozenset(".,;:!?%)]}’”'") | {"...", "…"}
    no_space_after = frozenset("([{$#“‘")

    def join(self, pieces: list[str]) -> str:
        out: list[str] = []
        for piece in pieces:
            previous = out[-1] if out else "\n"
            out.append(self._spaced(previous, "\n" if piece == EOS else piece))
        return "".join(out)

    def _spaced(self, previous: str, piece: str) -> str:
        glued = piece in self.no_space_before or previous in self.no_space_after
        return piece if piece == "\n" or previous.endswith("\n") or glued else " " + piece

    def piece(self, token_id: int, previous_id: int | None) -> str:
        previous = "\n" if previous_id is None or previous_id == self.eos_id else self.vocab[previous_id]
        return self._spaced(previous, "\n" if token_id == self.eos_id else self.vocab[token_id])

    def to_dict(self) -> dict:
        data = super().to_dict()
        del data["version"]
        return data


def tokenizer_from_dict(data: dict) -> Tokenizer:
    """A tokenizer from its JSON, checked: a loaded vocabulary may come from anyone."""
    level, vocab = data.get("level"), data.get("vocab")
    if level not in ("char", "word") or not isinstance(vocab, list):
        raise ValueError(f"not a textgen tokenizer (level {str(level)[:20]!r})")
    if not all(isinstance(token, str) and token for token in vocab):
        raise ValueError("every vocabulary entry must be a non-empty string")
    if any(len(token) > MAX_TOKEN_CHARS for token in vocab):
        raise ValueError(f"a vocabulary entry is longer than {MAX_TOKEN_CHARS} characters")
    if len(set(vocab)) != len(vocab):
        raise ValueError("the vocabulary repeats entries")
    kwargs = {"lowercase": bool(data.get("lowercase", False))}
    if level == "char":
        if any(len(token) != 1 for token in vocab[len(SPECIALS) :]):
            raise ValueError("a character vocabulary must hold single characters")
        return CharTokenizer(vocab, **kwargs)
    try:
        kwargs["min_count"] = int(data.get("min_count", 1))
        kwargs["char_counts"] = {str(k): int(v) for k, v in (data.get("char_counts") or {}).items()}
    except (TypeError, ValueError, AttributeError, OverflowError):
        raise ValueError("min_count and char_counts must be whole numbers") from None
    word_class = WordTokenizer if data.get("version") == WORD_FORMAT else LegacyWordTokenizer
    return word_class(data["vocab"], **kwargs)


def load_tokenizer(path: str | os.PathLike) -> Tokenizer:
    return tokenizer_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def fit_tokenizer(level: str, documents: list[str], lowercase: bool = False, min_count: int = 2) -> Tokenizer:
    if level == "char":
        return CharTokenizer.fit(documents, lowercase=lowercase)
    if level == "word":
        return WordTokenizer.fit(documents, lowercase=lowercase, min_count=min_count)
    raise ValueError(f"level must be 'char' or 'word', not {level!r}")

"""Documents' digests: what a model folder's novelty.txt keeps of its training documents, so that the
page can mark a generated document that copies one without the corpus itself."""

from __future__ import annotations

import hashlib

import numpy as np

from .labelled import text_of


def document_hash_value(text: str) -> int:
    """A document's 8-byte digest as a number (whitespace around it and its label ignored)."""
    text = text_of(text).strip()
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def document_hash(text: str) -> str:
    """The digest as novelty.txt writes it: 16 hex digits."""
    return f"{document_hash_value(text):016x}"


def document_hashes(documents: list[str]) -> np.ndarray:
    """The documents' digests as uint64, in their order."""
    return np.fromiter(map(document_hash_value, documents), dtype=np.uint64, count=len(documents))

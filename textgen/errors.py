"""What the user must fix: one family, so that only these become messages and anything else is a bug.

Each message is one line for the person at the page or the command line: it names the file or the
setting, never a server path, and says what to do where that is not obvious.
"""

from __future__ import annotations


class TextgenError(Exception):
    """Something the user must fix; `str(err)` is the message for them."""


class CorpusError(TextgenError):
    """A corpus that cannot be read."""


class CheckpointError(TextgenError):
    """A model folder or repo that cannot be loaded."""


class HubError(CheckpointError):
    """A Hugging Face Hub call that failed."""


class GenerationError(TextgenError):
    """Settings or a seed text that cannot be sampled from."""


class TrainingError(TextgenError):
    """Settings or data that cannot be trained on."""

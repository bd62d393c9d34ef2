"""What the user must fix: one family, so that only these become messages and anything else is a bug.

A message is one line for the person at the page or the command line: it names the file or the
setting, never a server path, and says what to do where that is not obvious. It is written as an
English template with named values; `str(err)` is the English line (the command line's), and
`err.render(locale)` the same line in the page's language (textgen/locales/*.json).
"""

from __future__ import annotations

from .messages import translate


def listed(names: list[str], limit: int = 12) -> str:
    """Names for a message: the first `limit`, then how many more (a 100,000-column CSV stays short)."""
    shown = ", ".join(name[:40] for name in names[:limit])
    return shown + (f", … ({len(names):,} in all)" if len(names) > limit else "")


class TextgenError(Exception):
    """Something the user must fix; `str(err)` is the message for them."""

    def __init__(self, template: str, **values):
        self.template, self.values, self.context = template, values, ""
        super().__init__(template)

    def within(self, context: str) -> TextgenError:
        """The same error, said of `context` (a file or repo name): "context: message". A context it
        already names (a file's error passed up through its reader) is not said twice."""
        if self.context == context or self.context.startswith(f"{context}: "):
            return self
        self.context = f"{context}: {self.context}" if self.context else context
        return self

    def recast(self, kind: type[TextgenError]) -> TextgenError:
        """The same message as another kind of error (a folder's CheckpointError met on the Hub)."""
        other = kind(self.template, **self.values)
        other.context = self.context
        return other

    def render(self, locale: str = "en") -> str:
        text = translate(self.template, locale, **self.values)
        return f"{self.context}: {text}" if self.context else text

    def __str__(self) -> str:
        return self.render()


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

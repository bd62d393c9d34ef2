"""Writing with the model: the text so far, the model's state after it, and every earlier version, so
that choosing the next token, letting the model write a few more, or undoing costs a step of the
model each, never a re-read of the text."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import torch

from .checkpoints import LoadedModel
from .errors import GenerationError
from .labelled import prompt_as
from .messages import translate
from .model import State
from .sampling import NextTokens, Sampler, check_prompt, next_tokens, prime_text, restart_documents

VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥"}


@dataclass
class Draft:
    """One version of the text: after it, the next token's logits (vocab,) and the model's state."""

    text: str
    logits: torch.Tensor
    state: State


@dataclass
class CoWriter:
    """A text written together with a model; `drafts[-1]` is the current one."""

    model: str  # the model's name, to find it again
    session: str
    drafts: list[Draft] = field(default_factory=list)

    @classmethod
    def start(cls, model: str, session: str, loaded: LoadedModel, text: str, label: str = "") -> CoWriter:
        """Start from `text`, written as `label` (one of the model's; "": the one `text` most likely has)."""
        check_prompt(text)
        logits, state = prime_text(loaded.model, loaded.tokenizer, prompt_as(loaded, label, text))
        return cls(model, session, [Draft(text, logits, state)])

    @property
    def text(self) -> str:
        return self.drafts[-1].text

    def view(self, loaded: LoadedModel, temperature: float, top_k: int = 10) -> NextTokens:
        return next_tokens(self.drafts[-1].logits, loaded.tokenizer, temperature, top_k)

    def choose(self, loaded: LoadedModel, token_id: int) -> None:
        """Append the token `token_id` (one the view listed) to the text: one step of the model."""
        if not 0 <= token_id < len(loaded.tokenizer) or token_id == loaded.tokenizer.unk_id:
            raise GenerationError("pick one of the listed tokens")
        tokenizer, draft = loaded.tokenizer, self.drafts[-1]
        with torch.inference_mode():
            chosen = torch.tensor([token_id], device=loaded.model.device)
            logits, state = loaded.model.step(chosen, restart_documents(chosen, draft.state, tokenizer.eos_id))
        text = draft.text + tokenizer.piece(token_id, None)
        self.drafts.append(Draft(text, logits[0].float(), state))

    def write(self, loaded: LoadedModel, count: int, temperature: float, top_k: int = 0, seed: int | None = None):
        """Let the model write `count` more tokens, sampled as generation samples them (a `Sampler`)."""
        tokenizer, draft = loaded.tokenizer, self.drafts[-1]
        sampler = Sampler(
            tokenizer, temperature=temperature, length=count, top_k=top_k, seed=seed, device=draft.logits.device
        )
        logits, state, text = draft.logits.unsqueeze(0), draft.state, draft.text
        with torch.inference_mode():
            while not sampler.done:
                chosen, step = sampler.choose(logits.clone())
                text += step.pieces[0]
                logits, state = loaded.model.step(chosen, restart_documents(chosen, state, tokenizer.eos_id))
                logits = logits.float()
        self.drafts.append(Draft(text, logits[0], state))

    def undo(self) -> None:
        if len(self.drafts) > 1:
            self.drafts.pop()


def shown(token: str) -> str:
    """A token with its spaces and line breaks made visible."""
    return "".join(VISIBLE.get(ch, ch) for ch in token)


def next_tokens_html(view: NextTokens, temperature: float, locale: str = "en") -> str:
    """The next-token chart: a bar per token (its probability at this temperature) and the entropy."""
    rows = "".join(
        f'<div class="next-token"><span class="token">{html.escape(shown(token))}</span>'
        f'<span class="bar" style="display:inline-block;height:0.9em;background:#4f46e5;'
        f'width:{max(probability * 100, 0.5):.1f}%"></span> <span class="p">{probability:.1%}</span></div>'
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

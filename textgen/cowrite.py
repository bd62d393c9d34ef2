"""Writing with the model: what it would write next after a text (its likeliest tokens and the
entropy, at a temperature), and a text written together with it: the text so far, the model's state
after it, and every earlier version, so that choosing the next token, letting the model write a few
more, or undoing costs a step of the model each, never a re-read of the text."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .checkpoints import LoadedModel
from .errors import GenerationError
from .model import LSTMLanguageModel, State
from .sampling import Sampler, SamplingSettings, check_prompt, encode_prompt, restart_documents, shaped_logits
from .tokenizer import Tokenizer
from .write_as import prompt_as

# A view lists at most this many tokens, whatever it is asked: a word model's whole vocabulary can be
# hundreds of thousands of tokens, an answer of tens of MB.
MAX_LISTED = 200


@dataclass
class NextTokens:
    """What the model would write next after a text: its likeliest tokens and how spread out the
    whole distribution is, at a temperature (`<unk>` left out, as the sampler never writes it, and
    labels' control tokens, as co-writing writes text: the label is chosen before)."""

    tokens: list[tuple[str, float]]  # (text, probability), likeliest first
    entropy_bits: float  # of the whole tempered distribution
    entropy_bits_at_1: float  # of the model's own distribution (temperature 1)
    ids: list[int] = field(default_factory=list)  # the tokens' ids, in the same order

    def to_dict(self) -> dict:
        return {
            "tokens": [{"token": token, "probability": probability} for token, probability in self.tokens],
            "entropy_bits": self.entropy_bits,
            "entropy_bits_at_1": self.entropy_bits_at_1,
        }


def tempered(logits: torch.Tensor, temperature: float, left_out: list[int]) -> torch.Tensor:
    """The distribution (vocab,) the sampler draws from at `temperature` (0: all on the likeliest
    token), without the tokens `left_out`: the sampler's own shaping, in double precision."""
    rows = SamplingSettings.of(temperature=temperature, length=1).rows(logits.device, torch.float64)
    scaled = shaped_logits(logits.double().unsqueeze(0), rows, left_out)[0]
    if temperature == 0:
        return torch.nn.functional.one_hot(scaled.argmax(), scaled.numel()).double()
    return scaled.softmax(-1)


def entropy_bits(probabilities: torch.Tensor) -> float:
    positive = probabilities[probabilities > 0]
    return max(0.0, float(-(positive * positive.log2()).sum()))


def next_tokens(logits: torch.Tensor, tokenizer: Tokenizer, temperature: float, top_k: int = 10) -> NextTokens:
    """The next-token view of `logits` (vocab,): the `top_k` likeliest at `temperature` (0: as many as
    a view lists, MAX_LISTED), the entropies."""
    SamplingSettings.of(temperature=temperature, length=1, top_k=top_k)  # checked as sampling checks them
    left_out = [tokenizer.unk_id, *tokenizer.label_ids]
    probabilities = tempered(logits, temperature, left_out)
    count = min(top_k or MAX_LISTED, MAX_LISTED, len(probabilities))
    values, ids = probabilities.topk(count)
    listed = [(i, float(p)) for i, p in zip(ids.tolist(), values.tolist()) if p > 0]
    tokens = [(tokenizer.piece(i, None), p) for i, p in listed]
    at_one = entropy_bits(tempered(logits, 1.0, left_out))
    return NextTokens(tokens, entropy_bits(probabilities), at_one, [i for i, _ in listed])


@torch.inference_mode()
def prime_text(model: LSTMLanguageModel, tokenizer: Tokenizer, text: str) -> tuple[torch.Tensor, State]:
    """The model after reading `<eos>` and `text`: the next token's logits (vocab,) and the state."""
    ids = encode_prompt(tokenizer, text)
    logits, state = model.prime(torch.tensor([ids], device=model.device))
    return logits[0].float(), state


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
    label: str = ""  # written as this label ("": the one the text most likely has)

    @classmethod
    def start(cls, model: str, session: str, loaded: LoadedModel, text: str, label: str = "") -> CoWriter:
        """Start from `text`, written as `label` (one of the model's; "": the one `text` most likely has)."""
        writer = cls(model, session, [], label)
        writer.retype(loaded, text)
        return writer

    def retype(self, loaded: LoadedModel, text: str) -> None:
        """The text as the user typed it, read whole: a new version (undo goes back to the one before)."""
        check_prompt(text)
        logits, state = prime_text(loaded.model, loaded.tokenizer, prompt_as(loaded, self.label, text))
        self.drafts.append(Draft(text, logits, state))

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

    def write(self, loaded: LoadedModel, settings: SamplingSettings) -> None:
        """Let the model write `settings.length` more tokens (one sample), as generation samples them."""
        if settings.num_samples != 1:
            raise GenerationError("co-writing writes one sample")
        tokenizer, draft = loaded.tokenizer, self.drafts[-1]
        sampler = Sampler(tokenizer, "", settings, device=draft.logits.device)
        logits, state, text = draft.logits.unsqueeze(0), draft.state, draft.text
        with torch.inference_mode():
            while not sampler.done:
                chosen, step = sampler.choose(logits)
                text += step.pieces[0]
                logits, state = loaded.model.step(chosen, restart_documents(chosen, state, tokenizer.eos_id))
                logits = logits.float()
        self.drafts.append(Draft(text, logits[0], state))

    def undo(self) -> None:
        if len(self.drafts) > 1:
            self.drafts.pop()

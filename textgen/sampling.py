"""Stateful sampling: prime the LSTM on the seed once, then one step per generated token.

How a request samples is one record, `SamplingSettings`, whether it comes from the page's widgets,
the command line's flags, an API call or Python: checked in one place, and turned into per-row
tensors (`RowSettings`) that `choose_tokens` applies to one request alone or to a whole batch of
them in the decoding engine.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace

import torch

from .errors import GenerationError
from .model import MAX_VOCAB_SIZE, LSTMLanguageModel, State
from .tokenizer import Tokenizer

MAX_LENGTH = 5000
MAX_SAMPLES = 64
# One request's work: length x samples tokens. 20,000 is 64 samples of 300 tokens or 4 of 5,000;
# on a 2-core CPU that is about a second batched, a few seconds for the widest single stream.
MAX_TOKENS_PER_REQUEST = 20_000
MAX_PROMPT_CHARS = 10_000  # priming reads the seed once; 10,000 characters take well under a second
MAX_SEED = 2**63 - 1
SAMPLE_TEMPERATURES = (0.2, 0.5, 1.0, 1.2)  # samples while training, and the page's "compare temperatures"
# Past 2 the text is noise (the page's slider stops there); the command line keeps the same rule.
MAX_TEMPERATURE = 2.0


@dataclass
class Step:
    """One generated token for each sample; finished samples get an empty piece."""

    token_ids: list[int]
    pieces: list[str]
    probabilities: list[float]  # the model's own probability (temperature 1) of each token
    finished: list[bool]


def new_seed() -> int:
    return random.randrange(2**31)


def whole_number(value: object, message: str) -> int:
    """A number a page or an API client sent (1e400, NaN, text and booleans included) as an int, or
    `message`."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
        if math.isfinite(number) and number == int(number):
            return int(number)
    except (TypeError, ValueError, OverflowError):
        pass
    raise GenerationError(message, value=str(value)[:20])


def finite_number(value: object, message: str) -> float:
    """A number a page or an API client sent as a finite float (not a boolean), or `message`."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        raise GenerationError(message, value=str(value)[:20])
    return number


def text_value(value: object, message: str) -> str:
    """A text a page or an API client sent (None: empty), or `message` for anything else: an object,
    a list, a number (`{value}` names what it was)."""
    if value is None or isinstance(value, str):
        return value or ""
    raise GenerationError(message, value=type(value).__name__)


def optional_seed(seed: object) -> int | None:
    """The page's seed box: empty or negative means "draw a fresh one"."""
    if seed is None or seed == "":
        return None
    seed = whole_number(seed, "the random seed must be a whole number from 0 to 2⁶³-1, not {value}")
    return None if seed < 0 else seed


@dataclass(frozen=True)
class SamplingSettings:
    """How one request samples: a temperature per sample (0 picks the likeliest token; the "compare
    temperatures" view gives each sample its own), how many tokens, top-k (0: off) and top-p (1: off)
    filtering, whether each sample ends at the end of a document, and the random seed (None: a fresh
    one). Checked when made, before any work."""

    temperatures: tuple[float, ...] = (0.8,)
    length: int = 200
    top_k: int = 0
    top_p: float = 1.0
    stop_at_eos: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        self.check()

    @classmethod
    def of(
        cls,
        temperature: float | Sequence[float] = 0.8,
        length: int = 200,
        top_k: int = 0,
        top_p: float = 1.0,
        num_samples: int = 1,
        stop_at_eos: bool = False,
        seed: int | None = None,
    ) -> SamplingSettings:
        """From typed values (Python's, the command line's): one `temperature` for `num_samples`
        samples, or a sequence of them, one per sample."""
        if isinstance(temperature, (int, float)):
            check_samples(num_samples)
            temperatures = (temperature,) * num_samples
        else:
            temperatures = tuple(temperature)
        return cls(temperatures, length, top_k, top_p, stop_at_eos, seed)

    @classmethod
    def from_values(
        cls,
        temperature: object = 0.8,
        length: object = 200,
        top_k: object = 0,
        top_p: object = 1.0,
        num_samples: object = 1,
        seed: object = None,
        stop_at_eos: object = False,
    ) -> SamplingSettings:
        """From the page's widgets or an API call, which can send any JSON (text, NaN, 1e400,
        booleans for numbers): coerced, or refused with one line. An empty or negative seed draws a
        fresh one."""
        if stop_at_eos is not None and not isinstance(stop_at_eos, bool):
            raise GenerationError(
                "stop at the end must be true or false, not {value}", value=str(stop_at_eos)[:20]
            )
        return cls.of(
            finite_number(temperature, "temperature must be a finite number, not {value}"),
            whole_number(length, "length must be a whole number, not {value}"),
            whole_number(top_k, "top-k must be a whole number, not {value}"),
            finite_number(top_p, "top-p must be a finite number, not {value}"),
            whole_number(num_samples, "the number of samples must be a whole number, not {value}"),
            bool(stop_at_eos),
            optional_seed(seed),
        )

    @property
    def num_samples(self) -> int:
        return len(self.temperatures)

    def with_seed(self, seed: int) -> SamplingSettings:
        return replace(self, seed=seed)

    def check(self) -> None:
        """Every setting finite, in range and within a request's budget, or one clear line."""
        temperatures = self.temperatures
        if not all(
            isinstance(t, (int, float))
            and not isinstance(t, bool)
            and math.isfinite(t)
            and 0 <= t <= MAX_TEMPERATURE
            for t in temperatures
        ):
            raise GenerationError(
                "temperature must be a number from 0 to {max:g} (0 always picks the likeliest token)",
                max=MAX_TEMPERATURE,
            )
        for value, message in (
            (self.length, "length must be a whole number"),
            (self.top_k, "top-k must be a whole number"),
        ):
            if not isinstance(value, int) or isinstance(value, bool):
                raise GenerationError(message)
        check_samples(self.num_samples)
        if not 1 <= self.length <= MAX_LENGTH:
            raise GenerationError("length must be between 1 and {max} tokens", max=MAX_LENGTH)
        if not 0 <= self.top_k <= MAX_VOCAB_SIZE:
            raise GenerationError("top-k must be 0 (off) or a number of tokens up to {max:,}", max=MAX_VOCAB_SIZE)
        top_p = self.top_p
        if not (isinstance(top_p, (int, float)) and not isinstance(top_p, bool) and math.isfinite(top_p)):
            raise GenerationError("top-p must be in (0, 1]; 1 turns it off")
        if not 0 < top_p <= 1:
            raise GenerationError("top-p must be in (0, 1]; 1 turns it off")
        if self.length * self.num_samples > MAX_TOKENS_PER_REQUEST:
            raise GenerationError(
                "length × samples is {tokens:,} tokens; one request may write at most {max:,} "
                "(fewer samples or a shorter length)",
                tokens=self.length * self.num_samples,
                max=MAX_TOKENS_PER_REQUEST,
            )
        seed = self.seed
        if seed is not None and not (
            isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_SEED
        ):
            raise GenerationError("the random seed must be a whole number from 0 to {max}", max=MAX_SEED)

    def rows(self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> RowSettings:
        """The settings as per-row tensors, one row per sample (temperatures and top-p in `dtype`)."""
        n = self.num_samples
        return RowSettings(
            torch.tensor(self.temperatures, dtype=dtype, device=device).unsqueeze(1),
            torch.full((n,), self.top_k, dtype=torch.long, device=device),
            torch.full((n,), float(self.top_p), dtype=dtype, device=device),
        )


def check_samples(num_samples: object) -> None:
    """Before anything is made per sample."""
    if not isinstance(num_samples, int) or isinstance(num_samples, bool):
        raise GenerationError("the number of samples must be a whole number")
    if not 1 <= num_samples <= MAX_SAMPLES:
        raise GenerationError("the number of samples must be between 1 and {max}", max=MAX_SAMPLES)


@dataclass
class RowSettings:
    """Sampling settings as tensors, one row per sample: a request's, or a whole batch's (`cat`), each
    row with its own."""

    temperatures: torch.Tensor  # (rows, 1)
    top_k: torch.Tensor  # (rows,)
    top_p: torch.Tensor  # (rows,)

    @classmethod
    def cat(cls, parts: Sequence[RowSettings]) -> RowSettings:
        """The rows of several requests side by side, in order."""
        return cls(*(torch.cat([getattr(part, f.name) for part in parts]) for f in fields(cls)))


def nucleus_mask(scaled: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """Logits with each row's tokens outside its top-k (k 0: off) and outside its top-p nucleus set
    to -inf: the smallest set of most likely tokens whose probability reaches p (1: off).

    Rows with both off come back exactly as they were, whatever the other rows ask for: a request's
    text must not depend on who shares its batch."""
    need_k, need_p = top_k > 0, top_p < 1.0
    if not bool((need_k | need_p).any()):
        return scaled
    vocab = scaled.size(-1)
    sorted_logits, order = torch.sort(scaled, dim=-1, descending=True, stable=True)
    rank = torch.arange(vocab, device=scaled.device)
    keep = rank < torch.where(need_k, top_k, vocab).unsqueeze(1)  # (rows, vocab), in sorted order
    probs = sorted_logits.masked_fill(~keep, float("-inf")).softmax(dim=-1)
    mass_before = probs.cumsum(dim=-1) - probs  # the first token always stays: its mass_before is 0
    keep &= (mass_before < top_p.unsqueeze(1)) | ~need_p.unsqueeze(1)
    drop = (~keep).scatter(-1, order, ~keep)  # back to vocabulary order
    return scaled.masked_fill(drop, float("-inf"))


def shaped_logits(logits: torch.Tensor, rows: RowSettings, left_out: Sequence[int] = ()) -> torch.Tensor:
    """What each row's distribution is drawn from: its logits (rows, vocab) with the tokens `left_out`
    removed, divided by its temperature (0 taken as nearly 0: its argmax is the likeliest token), and
    its top-k and top-p filters applied. Softmax gives the distribution."""
    logits = logits.clone()
    logits[:, list(left_out)] = float("-inf")
    return nucleus_mask(logits / rows.temperatures.clamp(min=1e-6), rows.top_k, rows.top_p)


def choose_tokens(
    logits: torch.Tensor, rows: RowSettings, uniforms: torch.Tensor, unk_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The next token of every row at once, each row with its own settings and its own random number.

    logits (rows, vocab); uniforms (rows,) in [0, 1), drawn from each request's own random stream, so
    that a row's token depends only on its logits, its settings and its own stream (the inverse of its
    distribution's CDF at its number), never on the rows beside it. `<unk>` is a class of rare words,
    never a word to print. Returns the tokens (rows,) and their probability under the model's own
    distribution (rows,).
    """
    probs = logits.softmax(-1)  # the model's own distribution, for the confidence shading
    scaled = shaped_logits(logits, rows, [unk_id])
    cdf = scaled.softmax(-1).double().cumsum(-1)
    total = cdf[:, -1:]
    # Kept below the total, so the search never lands past the last token with any probability.
    target = torch.minimum(uniforms.double().unsqueeze(1) * total, total.nextafter(torch.zeros_like(total)))
    sampled = torch.searchsorted(cdf, target, right=True).squeeze(1)
    chosen = torch.where(rows.temperatures.squeeze(1) == 0, scaled.argmax(-1), sampled)
    return chosen, probs.gather(1, chosen.unsqueeze(1)).squeeze(1)


def check_prompt(prompt: str) -> None:
    if len(prompt) > MAX_PROMPT_CHARS:
        raise GenerationError(
            "the seed text is {chars:,} characters; at most {max:,} (the model reads it once)",
            chars=len(prompt),
            max=MAX_PROMPT_CHARS,
        )


def encode_prompt(tokenizer: Tokenizer, prompt: str) -> list[int]:
    """`<eos>` (start of a document) followed by the prompt's tokens."""
    check_prompt(prompt)
    ids = tokenizer.encode(prompt)
    if ids and all(i == tokenizer.unk_id for i in ids):
        unknown = "".join(tokenizer.unknown_tokens(prompt))[:40]
        if tokenizer.level == "char":
            raise GenerationError(
                "the model knows none of the seed text's characters ({text!r}); try text like its training corpus",
                text=unknown,
            )
        raise GenerationError(
            "the model knows none of the seed text's words ({text!r}); try text like its training corpus",
            text=unknown,
        )
    return [tokenizer.eos_id, *ids]


class Sampler:
    """One request: its settings, its random stream and where its samples stand. It turns the
    model's logits after each token into the next tokens (a `Step`), the same way whether the request
    runs alone (`generate_steps`) or in a batch with others (`engine.DecodingEngine`, which calls
    `choose_tokens` once for every request's rows and hands each request its own)."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        prompt: str = "",
        settings: SamplingSettings | None = None,
        device: torch.device | str = "cpu",
    ):
        settings = settings or SamplingSettings()
        self.tokenizer, self.settings = tokenizer, settings
        self.length, self.num_samples = settings.length, settings.num_samples
        self.stop_at_eos = settings.stop_at_eos
        self.prompt_ids = encode_prompt(tokenizer, prompt)
        # Python's generator, not torch's: drawing a number holds the GIL instead of releasing and
        # retaking it, which in a busy server cost more than the draw (one per request per step).
        self.random = random.Random(new_seed() if settings.seed is None else settings.seed)
        self.rows = settings.rows(device)
        self.finished = [False] * self.num_samples
        self.previous = [self.prompt_ids[-1]] * self.num_samples
        self.produced = 0

    @property
    def done(self) -> bool:
        return self.produced >= self.length or (self.stop_at_eos and all(self.finished))

    def uniforms(self) -> list[float]:
        """This step's random numbers in [0, 1), one per sample, from this request's own stream."""
        return [self.random.random() for _ in range(self.num_samples)]

    def record(self, ids: list[int], probabilities: list[float]) -> Step:
        """The chosen tokens as this request's next `Step` (text pieces, finished samples)."""
        was_finished = self.finished
        pieces = [
            "" if done else self.tokenizer.piece(i, prev)
            for i, prev, done in zip(ids, self.previous, was_finished)
        ]
        if self.stop_at_eos:
            eos = self.tokenizer.eos_id
            self.finished = [done or i == eos for i, done in zip(ids, was_finished)]
        self.previous = ids
        self.produced += 1
        return Step(ids, pieces, probabilities, list(self.finished))

    def choose(self, logits: torch.Tensor) -> tuple[torch.Tensor, Step]:
        """The next token of each sample from their logits (n, vocab)."""
        uniforms = torch.tensor(self.uniforms(), dtype=torch.float64, device=logits.device)
        chosen, probs = choose_tokens(logits, self.rows, uniforms, self.tokenizer.unk_id)
        return chosen, self.record(chosen.tolist(), probs.tolist())


def restart_documents(chosen: torch.Tensor, state: State, eos_id: int) -> State:
    """The state with the rows that just ended a document (chose `<eos>`) back at zero: the next
    document starts as every training document and every held-out one does, from the zero state with
    `<eos>` first. Carrying the state across `<eos>` is something the model never saw (it wrote empty
    lines and lines that open with a space)."""
    ended = (chosen == eos_id).view(1, -1, 1)  # (1, rows, 1)
    if not bool(ended.any()):
        return state
    return state[0].masked_fill(ended, 0), state[1].masked_fill(ended, 0)


@torch.inference_mode()
def prime(model: LSTMLanguageModel, sampler: Sampler) -> tuple[torch.Tensor, State]:
    """Read the sampler's seed text once: logits (n, vocab) in their own memory, and the state, for
    each of its samples."""
    prompt_ids = torch.tensor([sampler.prompt_ids], device=model.device)
    logits, (h, c) = model.prime(prompt_ids)
    n = sampler.num_samples
    return logits.float().repeat(n, 1), (h.repeat(1, n, 1), c.repeat(1, n, 1))


@torch.inference_mode()
def generate_steps(
    model: LSTMLanguageModel, tokenizer: Tokenizer, prompt: str = "", settings: SamplingSettings | None = None
) -> Iterator[Step]:
    """Yield one `Step` per generated token for every sample of one request, batched."""
    model.eval()
    sampler = Sampler(tokenizer, prompt, settings, device=model.device)
    logits, state = prime(model, sampler)
    while not sampler.done:
        chosen, step = sampler.choose(logits)
        yield step
        if sampler.done:
            return
        logits, state = model.step(chosen, restart_documents(chosen, state, tokenizer.eos_id))  # the fused cell
        logits = logits.float()


def stream_texts(batches: Iterable[Iterable[Step]], prompt: str = "") -> Iterator[list[str]]:
    """The texts so far, `prompt` first, after each batch of steps (an engine job's `batches()`, or
    `[generate_steps(...)]` for the texts only at the end). Pieces are joined only on yield."""
    pieces: list[list[str]] = []
    for batch in batches:
        for step in batch:
            if not pieces:
                pieces = [[prompt] for _ in step.pieces]
            for text, piece in zip(pieces, step.pieces):
                text.append(piece)
        yield ["".join(text) for text in pieces]


def generate(
    model: LSTMLanguageModel, tokenizer: Tokenizer, prompt: str = "", settings: SamplingSettings | None = None
) -> list[str]:
    """The generated continuations (without the prompt), one string per sample."""
    *_, texts = stream_texts([generate_steps(model, tokenizer, prompt, settings)])
    return texts

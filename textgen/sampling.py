"""Stateful sampling: prime the LSTM on the seed once, then one step per generated token."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

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
    """A number a page or an API client sent (1e400, NaN and text included) as an int, or `message`."""
    try:
        number = float(value)
        if math.isfinite(number) and number == int(number):
            return int(number)
    except (TypeError, ValueError, OverflowError):
        pass
    raise GenerationError(message, value=str(value)[:20])


def finite_number(value: object, message: str) -> float:
    """A number a page or an API client sent as a finite float, or `message`."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        raise GenerationError(message, value=str(value)[:20])
    return number


def page_settings(
    temperature: object, length: object, top_k: object, top_p: object, num_samples: object, seed: object
) -> dict:
    """A request's settings as the page's widgets (or the REST API) send them, as numbers of the right
    kind: an empty or negative seed means "draw a fresh one" (None). Ranges are checked when it is run."""
    return {
        "temperature": finite_number(temperature, "temperature must be a finite number, not {value}"),
        "length": whole_number(length, "length must be a whole number, not {value}"),
        "top_k": whole_number(top_k, "top-k must be a whole number, not {value}"),
        "top_p": finite_number(top_p, "top-p must be a finite number, not {value}"),
        "num_samples": whole_number(num_samples, "the number of samples must be a whole number, not {value}"),
        "seed": optional_seed(seed),
    }


def optional_seed(seed: object) -> int | None:
    """The page's seed box: empty or negative means "draw a fresh one"."""
    if seed is None or seed == "":
        return None
    seed = whole_number(seed, "the random seed must be a whole number from 0 to 2⁶³-1, not {value}")
    return None if seed < 0 else seed


def validate_settings(
    temperature: float | Sequence[float],
    length: int,
    top_k: int,
    top_p: float,
    num_samples: int,
    seed: int | None = None,
) -> None:
    """Every setting a request can send, checked before any work: finite, in range, within budget."""
    temperatures = [temperature] if isinstance(temperature, (int, float)) else list(temperature)
    if not all(
        isinstance(t, (int, float)) and math.isfinite(t) and 0 <= t <= MAX_TEMPERATURE for t in temperatures
    ):
        raise GenerationError(
            "temperature must be a number from 0 to {max:g} (0 always picks the likeliest token)",
            max=MAX_TEMPERATURE,
        )
    for value, message in (
        (length, "length must be a whole number"),
        (top_k, "top-k must be a whole number"),
        (num_samples, "the number of samples must be a whole number"),
    ):
        if not isinstance(value, int) or isinstance(value, bool):
            raise GenerationError(message)
    if not 1 <= length <= MAX_LENGTH:
        raise GenerationError("length must be between 1 and {max} tokens", max=MAX_LENGTH)
    if not 0 <= top_k <= MAX_VOCAB_SIZE:
        raise GenerationError("top-k must be 0 (off) or a number of tokens up to {max:,}", max=MAX_VOCAB_SIZE)
    if not (isinstance(top_p, (int, float)) and math.isfinite(top_p) and 0 < top_p <= 1):
        raise GenerationError("top-p must be in (0, 1]; 1 turns it off")
    if not 1 <= num_samples <= MAX_SAMPLES:
        raise GenerationError("the number of samples must be between 1 and {max}", max=MAX_SAMPLES)
    if length * num_samples > MAX_TOKENS_PER_REQUEST:
        raise GenerationError(
            "length × samples is {tokens:,} tokens; one request may write at most {max:,} "
            "(fewer samples or a shorter length)",
            tokens=length * num_samples,
            max=MAX_TOKENS_PER_REQUEST,
        )
    if seed is not None and not (isinstance(seed, int) and 0 <= seed <= MAX_SEED):
        raise GenerationError("the random seed must be a whole number from 0 to {max}", max=MAX_SEED)


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


def choose_tokens(
    logits: torch.Tensor,
    temperatures: torch.Tensor,
    top_k: torch.Tensor,
    top_p: torch.Tensor,
    uniforms: torch.Tensor,
    unk_id: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The next token of every row at once, each row with its own settings and its own random number.

    logits (rows, vocab), masked in place; temperatures (rows, 1), 0 picking the likeliest token;
    top_k (rows,), top_p (rows,); uniforms (rows,) in [0, 1), drawn from each request's own
    random stream, so that a row's token depends only on its logits, its settings and its own stream
    (the inverse of its distribution's CDF at its number), never on the rows beside it.
    Returns the tokens (rows,) and their probability under the model's own distribution (rows,).
    """
    probs = logits.softmax(-1)  # the model's own distribution, for the confidence shading
    logits[:, unk_id] = float("-inf")  # `<unk>` is a class of rare words, never a word to print
    scaled = nucleus_mask(logits / temperatures.clamp(min=1e-6), top_k, top_p)
    cdf = scaled.softmax(-1).double().cumsum(-1)
    total = cdf[:, -1:]
    # Kept below the total, so the search never lands past the last token with any probability.
    target = torch.minimum(uniforms.double().unsqueeze(1) * total, total.nextafter(torch.zeros_like(total)))
    sampled = torch.searchsorted(cdf, target, right=True).squeeze(1)
    chosen = torch.where(temperatures.squeeze(1) == 0, logits.argmax(-1), sampled)
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
        *,
        temperature: float | Sequence[float] = 1.0,
        length: int = 200,
        top_k: int = 0,
        top_p: float = 1.0,
        num_samples: int = 1,
        stop_at_eos: bool = False,
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ):
        if not isinstance(temperature, (int, float)):
            num_samples = len(temperature)
        validate_settings(temperature, length, top_k, top_p, num_samples, seed)
        self.tokenizer, self.length = tokenizer, length
        self.num_samples, self.stop_at_eos = num_samples, stop_at_eos
        self.prompt_ids = encode_prompt(tokenizer, prompt)
        # Python's generator, not torch's: drawing a number holds the GIL instead of releasing and
        # retaking it, which in a busy server cost more than the draw (one per request per step).
        self.random = random.Random(new_seed() if seed is None else seed)
        temperatures = [float(temperature)] * num_samples if isinstance(temperature, (int, float)) else temperature
        self.temperatures = torch.tensor(temperatures, dtype=torch.float32, device=device).unsqueeze(1)  # (n, 1)
        self.top_k = torch.full((num_samples,), top_k, dtype=torch.long, device=device)
        self.top_p = torch.full((num_samples,), float(top_p), dtype=torch.float32, device=device)
        self.finished = [False] * num_samples
        self.previous = [self.prompt_ids[-1]] * num_samples
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
        """The next token of each sample from their logits (n, vocab), which it masks in place."""
        chosen, probs = choose_tokens(
            logits,
            self.temperatures,
            self.top_k,
            self.top_p,
            torch.tensor(self.uniforms(), dtype=torch.float64, device=logits.device),
            self.tokenizer.unk_id,
        )
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
def generate_steps(model: LSTMLanguageModel, tokenizer: Tokenizer, prompt: str = "", **settings) -> Iterator[Step]:
    """Yield one `Step` per generated token for every sample of one request, batched.

    Settings as `Sampler`'s: `temperature` may be a list with one value per sample (the "compare
    temperatures" view); 0 picks the likeliest token; `seed` makes a call reproducible (None draws
    a fresh one).
    """
    model.eval()
    sampler = Sampler(tokenizer, prompt, device=model.device, **settings)
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


def generate(model: LSTMLanguageModel, tokenizer: Tokenizer, prompt: str = "", **settings) -> list[str]:
    """The generated continuations (without the prompt), one string per sample."""
    *_, texts = stream_texts([generate_steps(model, tokenizer, prompt, **settings)])
    return texts


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
    """The distribution the sampler draws from at `temperature` (0: all on the likeliest token),
    without the tokens `left_out`."""
    logits = logits.double().clone()
    logits[left_out] = float("-inf")
    if temperature == 0:
        return torch.nn.functional.one_hot(logits.argmax(), logits.numel()).double()
    return (logits / temperature).softmax(-1)


def entropy_bits(probabilities: torch.Tensor) -> float:
    positive = probabilities[probabilities > 0]
    return max(0.0, float(-(positive * positive.log2()).sum()))


def next_tokens(logits: torch.Tensor, tokenizer: Tokenizer, temperature: float, top_k: int = 10) -> NextTokens:
    """The next-token view of `logits` (vocab,): the `top_k` likeliest at `temperature`, the entropies."""
    validate_settings(temperature, 1, top_k, 1.0, 1)
    left_out = [tokenizer.unk_id, *tokenizer.label_ids]
    probabilities = tempered(logits, temperature, left_out)
    count = min(top_k or len(probabilities), len(probabilities))
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

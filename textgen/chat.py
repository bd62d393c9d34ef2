"""Talking with a conversation model (one trained with `--conversations`): the model reads the
conversation so far once, then each new message as it comes (its state carried, one step per
token), and answers as a speaker until the model ends that speaker's turn (it writes the next label,
or `<eos>`).

Who answers is a speaker of the model's, or "whoever would speak next": a label drawn from the
model's own distribution after the conversation, at the reply's temperature, among the speakers
it knows by name (not OTHERS, not the one who just spoke when that is you).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import torch

from .checkpoints import LoadedModel
from .conversations import OTHERS, speaker_label
from .errors import GenerationError, listed
from .labelled import Labels
from .model import LSTMLanguageModel, State
from .sampling import MAX_PROMPT_CHARS, SamplingSettings, choose_tokens, generate_steps, new_seed
from .tokenizer import Tokenizer

MAX_REPLY_TOKENS = 600  # a reply ends with its speaker's turn; this bounds one that would not
MAX_TURNS = 200  # a conversation held in the page or sent to /chat
MAX_MESSAGE_CHARS = 2000
ANYONE = ""  # who answers: whoever the model says would speak next


@dataclass
class Turn:
    speaker: str
    text: str

    def to_dict(self) -> dict:
        return {"speaker": self.speaker, "text": self.text}


def speakers_of(loaded: LoadedModel) -> Labels:
    """The speakers of a conversation model, or why this model cannot chat."""
    labels = loaded.info.labels
    if loaded.info.conversations is None or labels is None:
        raise GenerationError(
            "this model was not trained on conversations; train one with --conversations (or "
            "“Read as conversations” in the Train tab)"
        )
    return labels


def check_speaker(labels: Labels, speaker: str, message: str) -> str:
    """`speaker` if the model knows them, else `message` (which names `{known}`, the speakers)."""
    if speaker not in labels.documents:
        raise GenerationError(message, known=listed(labels.names))
    return speaker


def checked_turns(labels: Labels, turns: list) -> list[Turn]:
    """A conversation as a request sends it (a list of {speaker, text}), checked."""
    if not isinstance(turns, list) or len(turns) > MAX_TURNS:
        raise GenerationError("the conversation is a list of at most {max} messages", max=MAX_TURNS)
    checked = []
    for turn in turns:
        if not isinstance(turn, dict) or not isinstance(turn.get("text"), str):
            raise GenerationError("each message is an object with a speaker and a text")
        checked.append(
            Turn(
                check_speaker(
                    labels,
                    str(turn.get("speaker")),
                    "a message's speaker must be one of the model's speakers: {known}",
                ),
                turn["text"],
            )
        )
    check_length(sum(len(turn.text) for turn in checked))
    return checked


def check_length(characters: int) -> None:
    if characters > MAX_PROMPT_CHARS:
        raise GenerationError(
            "the conversation is {chars:,} characters; at most {max:,} (the model reads it once)",
            chars=characters,
            max=MAX_PROMPT_CHARS,
        )


@dataclass
class Moment:
    """The model after a conversation's turns: the next token's logits (vocab,) and its state."""

    turns: int
    logits: torch.Tensor
    state: State


@dataclass
class Chat:
    """A conversation held with a model; `moments[-1]` is where it stands (undo goes back)."""

    model: str  # the model's name, to find it again
    session: str
    turns: list[Turn] = field(default_factory=list)
    moments: list[Moment] = field(default_factory=list)
    pending: str | None = None  # a reply as it is being written, to show

    @classmethod
    @torch.inference_mode()
    def start(cls, model: str, session: str, loaded: LoadedModel, turns: list[Turn] = ()) -> Chat:
        """A conversation that begins as a document does (`<eos>`), its `turns` read once."""
        labels = speakers_of(loaded)
        ids = [loaded.tokenizer.eos_id, *encoded(loaded.tokenizer, labels, list(turns))]
        logits, state = loaded.model.prime(torch.tensor([ids], device=loaded.model.device))
        return cls(model, session, list(turns), [Moment(len(turns), logits[0].float(), state)])

    def say(self, loaded: LoadedModel, speaker: str, text: str) -> None:
        """A message from `speaker`: the model reads it from where it stands."""
        labels = speakers_of(loaded)
        turn = Turn(
            check_speaker(labels, speaker, "who you are must be one of the model's speakers: {known}"),
            text.strip(),
        )
        if not turn.text:
            raise GenerationError("type a message first")
        if len(turn.text) > MAX_MESSAGE_CHARS:
            raise GenerationError("a message is at most {max:,} characters", max=MAX_MESSAGE_CHARS)
        self._read(loaded, labels, turn)

    def _read(self, loaded: LoadedModel, labels: Labels, turn: Turn) -> None:
        check_length(sum(len(t.text) for t in self.turns) + len(turn.text))
        if len(self.turns) >= MAX_TURNS:
            raise GenerationError("the conversation is {max} messages long: start a new one", max=MAX_TURNS)
        ids = torch.tensor([encoded(loaded.tokenizer, labels, [turn])], device=loaded.model.device)
        with torch.inference_mode():
            logits, state = loaded.model.prime(ids, state=self.moments[-1].state)
        self.turns.append(turn)
        self.moments.append(Moment(len(self.turns), logits[0].float(), state))

    def reply(
        self, loaded: LoadedModel, speaker: str, settings: SamplingSettings, you: str | None = None
    ) -> Iterator[str]:
        """The reply of `speaker` (ANYONE: whoever the model says speaks next, not `you`), streamed as
        the text so far; at the end it is a turn of the conversation (`turns[-1]`)."""
        labels = speakers_of(loaded)
        rng = random.Random(new_seed() if settings.seed is None else settings.seed)
        moment = self.moments[-1]
        if speaker == ANYONE:
            speaker = next_speaker(loaded, labels, moment.logits, settings.temperatures[0], rng, exclude=you)
        check_speaker(labels, speaker, "who answers must be one of the model's speakers: {known}")
        text = ""
        for text in written_turn(loaded, labels, moment.state, speaker, settings, rng):
            yield text
        self._read(loaded, labels, Turn(speaker, text))

    def undo(self) -> None:
        """Back to before the last message (a reply, or what you said)."""
        if len(self.moments) > 1:
            self.moments.pop()
            self.turns.pop()

    def to_dict(self) -> list[dict]:
        return [turn.to_dict() for turn in self.turns]


def encoded(tokenizer: Tokenizer, labels: Labels, turns: list[Turn]) -> list[int]:
    """The turns as the model was trained on them: each text after its speaker's label."""
    return tokenizer.encode("".join(speaker_label(labels, turn.speaker) + turn.text for turn in turns))


def label_ids(tokenizer: Tokenizer, labels: Labels, names: list[str]) -> dict[str, int]:
    found = {name: tokenizer.index.get(labels.character(name) or "") for name in names}
    return {name: i for name, i in found.items() if i is not None}


def next_speaker(
    loaded: LoadedModel,
    labels: Labels,
    logits: torch.Tensor,
    temperature: float,
    rng: random.Random,
    exclude: str | None = None,
) -> str:
    """Who the model says speaks next: a named speaker drawn from its distribution over their labels
    (at `temperature`; 0: the likeliest), `exclude` and OTHERS left out."""
    names = [name for name in labels.names if name not in (OTHERS, exclude)]
    ids = label_ids(loaded.tokenizer, labels, names)
    if not ids:
        raise GenerationError("the model has no other speaker to answer")
    scores = logits.double()[list(ids.values())]
    if temperature == 0:
        return list(ids)[int(scores.argmax())]
    weights = (scores / temperature).softmax(0).tolist()
    return rng.choices(list(ids), weights=weights)[0]


@torch.inference_mode()
def written_turn(
    loaded: LoadedModel, labels: Labels, state: State, speaker: str, settings: SamplingSettings, rng: random.Random
) -> Iterator[str]:
    """`speaker`'s turn written from `state`: its text so far after each token, until the model writes
    a label (the next speaker) or `<eos>`, or `settings.length` tokens (at most MAX_REPLY_TOKENS)."""
    model, tokenizer = loaded.model, loaded.tokenizer
    ends = {tokenizer.eos_id, *tokenizer.label_ids}
    rows = settings.rows(model.device)
    token = torch.tensor([label_ids(tokenizer, labels, [speaker])[speaker]], device=model.device)
    logits, state = model.step(token, state)
    text = ""
    for _ in range(min(settings.length, MAX_REPLY_TOKENS)):
        uniforms = torch.tensor([rng.random()], dtype=torch.float64, device=model.device)
        chosen, _ = choose_tokens(logits.float(), rows, uniforms, tokenizer.unk_id)
        if int(chosen) in ends:
            break
        text += tokenizer.piece(int(chosen), None)
        yield text
        logits, state = model.step(chosen, state)
    if not text:
        yield text


def conversation_samples(model: LSTMLanguageModel, tokenizer: Tokenizer, settings: SamplingSettings) -> list[str]:
    """Conversations the model writes from the start, one per row of `settings` (its labels kept, to
    be shown with their speakers' names): each until `<eos>` or `settings.length` tokens."""
    written: list[list[int]] = [[] for _ in range(settings.num_samples)]
    for step in generate_steps(model, tokenizer, "", replace(settings, stop_at_eos=True)):
        for row, (token, ended) in enumerate(zip(step.token_ids, step.finished)):
            if not ended:
                written[row].append(token)
    return [tokenizer.decode(ids) for ids in written]

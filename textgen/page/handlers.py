"""The page's work as plain functions: each takes the model registry, the session id of the browser
(or API client) asking, and the plain values a request sends, and returns plain data. The tabs lay
out components and wire these to events, turning what they return into component updates; a test
calls them without a server. Errors are TextgenErrors, which the tabs render in the page's language.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..chat import ANYONE, MAX_REPLY_TOKENS, Chat, checked_turns, speakers_of
from ..checkpoints import LoadedModel
from ..conversations import OTHERS, ConversationReading
from ..corpus import Corpus, csv_columns, is_speeches, read_upload
from ..corpusstats import corpus_stats
from ..cowrite import CoWriter, next_tokens, prime_text
from ..engine import DecodingEngine, Job
from ..errors import CorpusError, GenerationError, TrainingError
from ..hub import check_push, push_folder, push_space
from ..jobs import PageUpdate, TrainingJob, follow
from ..messages import translate
from ..modelzip import zip_model
from ..plaintext import Layout
from ..registry import ModelRegistry, app_train_config
from ..runinfo import RunInfo
from ..sampling import (
    SAMPLE_TEMPERATURES,
    SamplingSettings,
    finite_number,
    new_seed,
    optional_seed,
    stream_texts,
    text_value,
)
from ..sampling import whole_number as whole
from ..views import (
    CompactSteps,
    GeneratedRun,
    TrainingView,
    confidence_html,
    explore_summary,
    generated_documents,
    histogram_frame,
    next_tokens_html,
    novelty_markdown,
    reading_summary,
    recording,
    samples_text,
    shown,
    speakers_frame,
    top_tokens_frame,
)
from ..webpage import export_web
from ..write_as import label_random, prompt_as

SCRATCH = "scratch"  # the "Start from" choice that trains a new model
COWRITE_MORE = 20  # tokens "write more" adds
STATUS_SECONDS = 1.0  # between training status updates
MAX_CHAT_REPLIES = 10  # "let them talk": replies in a row

# ------------------------------------------------------------------ choosing a model


def corpus_choices(registry: ModelRegistry, session: str) -> list[str]:
    """The Corpus list: the shipped models' corpora, then this session's own models by name."""
    return [*registry.corpora, *registry.own(session)]


def levels_of(registry: ModelRegistry, corpus: str | None) -> list[str]:
    """The levels a corpus has a shipped model at (none for a model of one's own)."""
    return list(registry.corpora.get(corpus or "", {}))


def pick_corpus(registry: ModelRegistry, corpus: str | None, level: str | None) -> tuple[str | None, str | None]:
    """A corpus chosen: (its level, its model): the model at the level shown (or its first level),
    or one's own model as it is (no level)."""
    levels = registry.corpora.get(corpus or "")
    if levels is None:
        return None, corpus
    level = level if level in levels else next(iter(levels))
    return level, levels[level]


def corpus_and_level(registry: ModelRegistry, session: str, model: str | None) -> tuple[str | None, str | None]:
    """The model set some other way (an example, a training run, a Hub id typed): the Corpus list's
    choice and the level that show it (a model of one's own by its name; any other: neither)."""
    corpus, level = registry.corpus_of(model or "")
    if corpus is None and model in registry.own(session):
        return model, None
    return corpus, level


def label_choices(registry: ModelRegistry, session: str, model: str | None) -> list[tuple[str, int]] | None:
    """ "Write as": the labels the model was trained with and how many documents each had (None: none)."""
    labels = registry.get(model, session).info.labels if model else None
    return None if labels is None else list(labels.documents.items())


# ------------------------------------------------------------------ generating


def resolve_seed(seed: object, randomize: bool) -> int:
    """The seed a generation uses: the one in the box, or a new one when asked (or the box is empty)."""
    chosen = None if randomize else optional_seed(seed)
    return new_seed() if chosen is None else chosen


def unknown_tokens(tokenizer, prompt: str) -> list[str]:
    """The seed's words or characters the model has never seen (they read as `<unk>`)."""
    return sorted({token.strip() for token in tokenizer.unknown_tokens(prompt)} - {""})


@dataclass
class Generation:
    """One generation in its model's decoding engine, which steps it together with every other."""

    run: GeneratedRun  # its steps fill in as it streams
    job: Job
    engine: DecodingEngine
    unknown: list[str]  # seed tokens the model has never seen

    def waiting(self, seconds: float) -> int:
        """How many requests are ahead of this one, if it has not started after `seconds` (else 0)."""
        return 0 if self.job.started.wait(seconds) else self.engine.ahead_of(self.job)

    def texts(self) -> Iterator[str]:
        """The text so far (several samples numbered in one text), as it streams."""
        for texts in stream_texts(recording(self.job.batches(), self.run.steps), self.run.prompt):
            yield samples_text(texts)
        self.run.steps = CompactSteps(self.run.steps, self.engine.tokenizer)  # kept for the views

    def cancel(self) -> None:
        """Stop pressed or the page gone: the engine drops the request at its next step."""
        self.job.cancel()


def start_generation(
    registry: ModelRegistry, session: str, model: str, prompt: str, settings: SamplingSettings, write_as: str = ""
) -> Generation:
    """Queue a generation in the model's engine. `write_as`: one of a labelled model's labels ("": any,
    drawn from the model's posterior given the seed with the request's seed)."""
    prompt = text_value(prompt, "the seed text must be text, not {value}")
    write_as = text_value(write_as, "write as must be one of the model's labels, as text, not {value}")
    loaded = registry.get(model, session)
    engine = registry.engine(model, session)
    seeded = prompt_as(loaded, write_as, prompt, label_random(settings.seed))
    job = engine.submit(seeded, settings)
    return Generation(
        GeneratedRun(model, session, prompt, []), job, engine, unknown_tokens(loaded.tokenizer, prompt)
    )


@dataclass
class SampleView:
    confidence: str  # HTML: each token shaded by the model's probability
    novelty: str  # Markdown: each finished document, new or a copy of a training document
    samples: int  # how many samples the run wrote


def sample_view(registry: ModelRegistry, run: GeneratedRun, chosen: object, locale: str) -> SampleView:
    """The confidence shading and the novelty check of the sample chosen (1-based, clamped)."""
    count = len(run.steps[0].pieces) if run.steps else 0
    if not count:
        return SampleView("", "", 0)
    index = min(max(whole(chosen or 1, "pick a sample by its number"), 1), count) - 1
    loaded = registry.get(run.model, run.session)
    documents = generated_documents(loaded, run.prompt, run.steps, index)
    return SampleView(
        confidence_html(run.prompt, run.steps, index, locale), novelty_markdown(loaded, documents, locale), count
    )


def compare_temperatures(
    registry: ModelRegistry,
    session: str,
    model: str,
    prompt: str,
    length: object,
    seed: object,
    write_as: str = "",
) -> Iterator[list[str]]:
    """The same seed text at each of SAMPLE_TEMPERATURES, in one batched request, the texts as they stream."""
    settings = SamplingSettings.of(
        SAMPLE_TEMPERATURES, whole(length, "length must be a whole number, not {value}"), seed=optional_seed(seed)
    )
    generation = start_generation(registry, session, model, prompt, settings, write_as)
    try:
        yield from stream_texts(generation.job.batches(), prompt)
    finally:
        generation.cancel()


def load_zip(registry: ModelRegistry, session: str, path: str) -> str:
    """A model zip downloaded from the page (or made by train.py), loaded into the session: its name."""
    return registry.add_zip(session, path)


# ------------------------------------------------------------------ writing with the model


@dataclass
class CoWriteView:
    text: str
    chart: str  # HTML: the likeliest next tokens' bars and the entropy
    choices: list[tuple[str, str]]  # (token and probability, its id)


def cowrite_start(
    registry: ModelRegistry, session: str, model: str, seed_text: str, typed: str, write_as: str = ""
) -> CoWriter:
    """Start writing with the model from what was typed in the co-writing box, or else the seed text."""
    seed_text = text_value(seed_text, "the seed text must be text, not {value}")
    typed = text_value(typed, "the text must be text, not {value}")
    write_as = text_value(write_as, "write as must be one of the model's labels, as text, not {value}")
    return CoWriter.start(model, session, registry.get(model, session), typed or seed_text or "", write_as)


def cowrite_view(registry: ModelRegistry, writer: CoWriter, temperature: object, locale: str) -> CoWriteView:
    """The text so far and the model's likeliest next tokens at `temperature`."""
    temperature = finite_number(temperature, "temperature must be a finite number, not {value}")
    view = writer.view(registry.get(writer.model, writer.session), temperature)
    listed = [(f"{shown(token)}  {p:.0%}", str(i)) for (token, p), i in zip(view.tokens, view.ids)]
    return CoWriteView(writer.text, next_tokens_html(view, temperature, locale), listed)


def cowrite_follow(registry: ModelRegistry, writer: CoWriter, typed: str | None) -> None:
    """The text box as the user left it: what they typed becomes the text the model continues."""
    if typed is not None and text_value(typed, "the text must be text, not {value}") != writer.text:
        writer.retype(registry.get(writer.model, writer.session), typed)


def cowrite_pick(registry: ModelRegistry, writer: CoWriter, token: object) -> None:
    writer.choose(registry.get(writer.model, writer.session), whole(token, "pick one of the listed tokens"))


def cowrite_more(
    registry: ModelRegistry, writer: CoWriter, temperature: object, top_k: object, top_p: object
) -> None:
    """Let the model write COWRITE_MORE tokens, sampled as Generate samples them."""
    settings = SamplingSettings.from_values(temperature, COWRITE_MORE, top_k, top_p)
    writer.write(registry.get(writer.model, writer.session), settings)


def next_tokens_for(
    registry: ModelRegistry, session: str, model: str, text: str, temperature: object, top_k: object, label: str
) -> dict:
    """/next_tokens: the model's likeliest next tokens after `text` (written as `label`; "": for a
    labelled model, the label the text most likely has) at `temperature`, and the entropies."""
    temperature = finite_number(temperature, "temperature must be a finite number, not {value}")
    top_k = whole(top_k, "top-k must be a whole number, not {value}")
    SamplingSettings.of(temperature, 1, top_k)  # checked before the model loads
    text = text_value(text, "the text must be text, not {value}")
    label = text_value(label, "the label must be one of the model's labels, as text, not {value}")
    loaded = registry.get(model, session)
    logits, _ = prime_text(loaded.model, loaded.tokenizer, prompt_as(loaded, label, text))
    return next_tokens(logits, loaded.tokenizer, temperature, top_k).to_dict()


# ------------------------------------------------------------------ uploads


@dataclass
class UploadReading:
    """What reading an upload found, for the upload panel: a CSV's columns and the one guessed to
    hold the text, whether it is plain text (its documents' layout can be chosen), a chat's speakers,
    the fields it can be labelled by, and the summary."""

    columns: list[str]
    column: str | None
    plain_text: bool
    speakers: list[tuple[str, int]]  # most active first
    fields: list[str]
    summary: str
    conversational: bool = False  # a chat, or a text of speeches: it can be read as conversations


def upload_corpus(
    path: str | None,
    column: str | None = None,
    documents: str = "auto",
    separator: str = "",
    speaker: str | None = None,
    label: str | None = None,
    conversations: bool = False,
) -> Corpus:
    """The upload read as the panel says: the column, the documents' layout, the speaker, the labels,
    whether a document is a whole conversation (its speakers the labels, or `label`'s values)."""
    column, documents, separator, speaker, label = (
        text_value(value, "the upload's reading settings are text, not {value}")
        for value in (column, documents, separator, speaker, label)
    )
    documents = documents or "auto"
    layout = Layout.parse(f"separator={separator or ''}" if documents == "separator" else documents)
    if conversations is not None and not isinstance(conversations, bool):
        raise CorpusError("read as conversations must be true or false")
    reading = ConversationReading() if conversations else None
    where = ("speaker", speaker) if speaker else None
    return read_upload(path, column, where, None if reading else layout, label, reading)


def inspect_upload(path: str, locale: str) -> UploadReading:
    """An upload read the default way, to fill the panel."""
    suffix = Path(path).suffix.lower()
    columns, guess = csv_columns(path) if suffix in (".csv", ".tsv") else ([], None)
    column = guess or (columns[0] if columns else None)
    corpus = upload_corpus(path, column)
    speakers = corpus.reading.speakers
    fields = [name for name in columns or corpus.reading.fields if name != column] + (
        ["speaker"] if speakers else []
    )
    plain_text = corpus.reading.layout is not None
    return UploadReading(
        columns,
        column,
        plain_text,
        speakers.most_common(),
        fields,
        reading_summary(corpus, locale),
        len(speakers) >= 2 or (plain_text and is_speeches(path)),
    )


# ------------------------------------------------------------------ training


@dataclass
class TrainRequest:
    """What the Train tab sends: the upload and how to read it, and the model to train."""

    path: str | None
    column: str | None = None
    level: str = "char"
    size: str = "auto"
    minutes: object = 1.0
    sample_prompt: str = ""
    start_from: str | None = SCRATCH
    documents: str = "auto"
    separator: str = ""
    speaker: str | None = None
    label: str | None = None
    conversations: bool = False


@dataclass
class TrainingUpdate:
    """One update of the Train tab while a run goes (`page`), or its end: the model's name and zip."""

    page: PageUpdate
    name: str = ""
    archive: Path | None = None


def start_training(
    registry: ModelRegistry, session: str, request: TrainRequest, max_minutes: float, locale: str = "en"
) -> tuple[TrainingJob, str]:
    """The run the request asks for, checked and read before anything trains, and the name its model
    will have."""
    minutes = finite_number(request.minutes, "the time budget must be a finite number, not {value}")
    if minutes <= 0:
        raise TrainingError("the time budget must be more than 0 minutes")
    config = app_train_config(request.level, request.size, min(minutes, max_minutes), request.sample_prompt or "")
    corpus = upload_corpus(
        request.path,
        request.column,
        request.documents,
        request.separator,
        request.speaker,
        request.label,
        request.conversations,
    )
    start_from = request.start_from
    base = None if start_from in (None, "", SCRATCH) else registry.get(start_from, session)
    level = base.tokenizer.level if base else config.level
    name = registry.new_name(Path(request.path).stem, level, request.size)
    parent = None if base is None else start_from
    info = RunInfo(
        corpus=Path(request.path).name,
        title=name,
        parent=parent,
        labels=corpus.labels,
        conversations=ConversationReading() if request.conversations else None,
    )
    job = TrainingJob(corpus.documents, config, info, registry.session(session).start_run(), base, locale)
    return job, name


def train(
    registry: ModelRegistry,
    session: str,
    request: TrainRequest,
    train_on_device: Callable[[TrainingJob], Iterator],
    max_minutes: float,
    kept_minutes: float,
    locale: str = "en",
) -> Iterator[TrainingUpdate]:
    """Train as the request asks (on the device `train_on_device` finds), the page's updates as it goes;
    at the end the model is kept in the session (for `kept_minutes` after its last use), its name and
    zip in the last update."""
    job, name = start_training(registry, session, request, max_minutes, locale)
    kept = registry.session(session)
    view = TrainingView(job.config.patience, locale)
    finished = None
    for update in follow(train_on_device(job), view, STATUS_SECONDS):
        kept.touch()  # a long run keeps its session from expiring
        if update.finished is None:
            yield TrainingUpdate(update)
        else:
            finished = update.finished
    folder = registry.keep_trained(session, name, finished.model)
    stays = translate(
        "It stays here for {minutes:g} minutes after its last use, page reloads included; "
        "download the zip to keep it.",
        locale,
        minutes=kept_minutes,
    )
    status = view.finished(finished, name, stays)
    yield TrainingUpdate(PageUpdate(status=status, finished=finished), name, zip_model(folder, kept.directory))


def stop_training(registry: ModelRegistry, session: str) -> None:
    """Stop: the session's run stops after its next step (keeping its best model)."""
    existing = registry.existing(session)
    if existing is not None:
        existing.stop_file.touch()


# ------------------------------------------------------------------ sharing


def own_model(registry: ModelRegistry, session: str, name: str | None, token: str, signed_in: bool) -> LoadedModel:
    """The session's own model `name`, if there is a token to push it with, or why not. `signed_in`:
    the page signs users in with Hugging Face (on a Space) instead of asking for a token."""
    if name not in registry.own(session):
        raise TrainingError("pick a model you trained or loaded in this session")
    if not token and signed_in:
        raise TrainingError("sign in with Hugging Face first")
    if not token:
        raise TrainingError("paste a Hugging Face token with write access")
    return registry.get(name, session)


def push(
    registry: ModelRegistry, session: str, name: str | None, repo_id: str, token: str, signed_in: bool = False
) -> str:
    """Push one of the session's models to a Hub model repo: the commit's URL."""
    loaded = own_model(registry, session, name, token, signed_in)
    return push_folder(loaded.source, (repo_id or "").strip(), token=token)


def publish(
    registry: ModelRegistry, session: str, name: str | None, space_id: str, token: str, signed_in: bool = False
) -> str:
    """Publish one of the session's models as a web page (a static Space): the commit's URL."""
    loaded = own_model(registry, session, name, token, signed_in)
    space_id = (space_id or "").strip()
    check_push(space_id, token)  # before the export's work
    with tempfile.TemporaryDirectory(prefix="textgen-web-") as folder:
        return push_space(export_web(loaded, folder, name=name), space_id, token=token)


# ------------------------------------------------------------------ chatting


def chat_models(registry: ModelRegistry, session: str) -> list[str]:
    """The models one can chat with: those trained on conversations, shipped or this session's own."""
    return [name for name in registry.choices(session) if registry.is_conversational(name, session)]


@dataclass
class ChatSpeakers:
    """Who can be who in a chat with a model: you (its speakers, OTHERS first when it has one) and who
    answers (whoever speaks next, or one of its named speakers)."""

    you: list[str]
    answers: list[str]


def chat_speakers(registry: ModelRegistry, session: str, model: str | None) -> ChatSpeakers:
    labels = speakers_of(registry.get(model, session)) if model else None
    if labels is None:
        return ChatSpeakers([], [])
    named = [name for name in labels.names if name != OTHERS]
    return ChatSpeakers(([OTHERS] if OTHERS in labels.documents else []) + named, named)


def chat_say(
    registry: ModelRegistry, session: str, chat: Chat | None, model: str | None, you: str, message: str
) -> Chat:
    """Your message in the chat (a new one if there is none, or it was with another model)."""
    you = text_value(you, "who you are must be one of the model's speakers, as text, not {value}")
    message = text_value(message, "the message must be text, not {value}")
    if not model:
        raise GenerationError("pick a model trained on conversations first")
    loaded = registry.get(model, session)
    if chat is None or chat.model != model or chat.session != session:
        chat = Chat.start(model, session, loaded)
    chat.say(loaded, you, message or "")
    return chat


def chat_replies(
    registry: ModelRegistry, chat: Chat, answers: str, settings: SamplingSettings, you: str, turns: object = 1
) -> Iterator[Chat]:
    """`turns` replies in a row (each by `answers`, or whoever the model says speaks next), the chat
    after each piece of text."""
    turns = whole(turns, "the number of replies must be a whole number, not {value}")
    if not 1 <= turns <= MAX_CHAT_REPLIES:
        raise GenerationError("the number of replies must be between 1 and {max}", max=MAX_CHAT_REPLIES)
    loaded = registry.get(chat.model, chat.session)
    seed = new_seed() if settings.seed is None else settings.seed
    for number in range(turns):
        writing = chat.reply(loaded, answers or ANYONE, settings.with_seed(seed + number), you=you)
        for text in writing:
            chat.pending = text
            yield chat
        chat.pending = None
        yield chat


def chat_undo(chat: Chat | None, you: str) -> Chat | None:
    """Back to before your last message (and the replies to it)."""
    if chat is None:
        return None
    while chat.turns and chat.turns[-1].speaker != you:
        chat.undo()
    chat.undo()
    return chat


def chat_retry(chat: Chat | None, you: str) -> int:
    """The replies since your last message taken back, to be written again: how many there were."""
    if chat is None:
        return 0
    taken = 0
    while chat.turns and chat.turns[-1].speaker != you:
        chat.undo()
        taken += 1
    return taken


def chat_api(
    registry: ModelRegistry,
    session: str,
    model: str,
    conversation: object,
    reply_as: str,
    temperature: object,
    seed: object,
) -> dict:
    """/chat: the reply to a conversation (a list of {speaker, text}), by `reply_as` (""; whoever the
    model says speaks next): {speaker, text}."""
    settings = SamplingSettings.from_values(temperature, MAX_REPLY_TOKENS, seed=seed)
    reply_as = text_value(reply_as, "who answers must be one of the model's speakers, as text, not {value}")
    loaded = registry.get(model, session)
    turns = checked_turns(speakers_of(loaded), conversation if conversation is not None else [])
    chat = Chat.start(model, session, loaded, turns)
    you = turns[-1].speaker if turns else None
    *_, text = chat.reply(loaded, reply_as or ANYONE, settings, you=you)
    return {"speaker": chat.turns[-1].speaker, "text": text}


# ------------------------------------------------------------------ exploring


@dataclass
class ExploreView:
    summary: str
    histogram: object  # pandas DataFrames for the plots
    top_tokens: object
    speakers: object | None  # a chat's most active speakers (None: not a chat)


def explore(
    registry: ModelRegistry,
    session: str,
    level: str,
    model: str | None,
    upload: Corpus | None = None,
    upload_name: str = "",
    locale: str = "en",
) -> ExploreView:
    """Statistics of an upload (read as its panel says) or, without one, of the model's training
    corpus (kept with the model)."""
    speakers = None
    if upload is not None:
        stats, name = corpus_stats(upload.documents), upload_name
        if upload.reading.speakers:
            speakers = speakers_frame(upload.reading.speakers)
    else:
        stats = registry.get(model, session).stats
        name = translate("the training corpus of {model}", locale, model=model)
    if stats is None:
        raise CorpusError("this model has no corpus statistics: upload its corpus here")
    summary = explore_summary(stats, name, level, locale)
    return ExploreView(summary, histogram_frame(stats), top_tokens_frame(stats, level), speakers)

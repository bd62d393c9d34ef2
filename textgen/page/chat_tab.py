"""The Chat tab: talk with a model trained on conversations, as one of its speakers or as yourself,
and read the replies stream in, written as one of them (or whoever the model says speaks next);
Retry, Undo, and "let them talk" for several replies in a row. The work is `handlers`'; /chat is the
same for API clients."""

from __future__ import annotations

import gradio as gr

from ..chat import ANYONE, MAX_MESSAGE_CHARS, Chat
from ..conversations import OTHERS
from ..sampling import SamplingSettings
from ..views import md
from . import handlers
from .common import I18N, Page, page_errors

ROLE_YOU, ROLE_THEM = "user", "assistant"


def shown_name(name: str):
    return I18N("someone_else") if name == OTHERS else name


def chat_messages(chat: Chat | None, you: str) -> list[dict]:
    """The conversation as gr.Chatbot shows it: yours on one side, everyone else's on the other, each
    under its speaker's name (written as text, never as Markdown); a reply being written last."""
    if chat is None:
        return []
    turns = [(turn.speaker, turn.text) for turn in chat.turns]
    if chat.pending is not None:
        turns.append(("…", chat.pending))
    return [
        {
            "role": ROLE_YOU if speaker == you else ROLE_THEM,
            "content": f"**{md(speaker if speaker != OTHERS else '…')}**\n\n{md(text)}",
        }
        for speaker, text in turns
    ]


def speaker_choices(found: handlers.ChatSpeakers) -> tuple[list, list]:
    """The "You are" and "Who answers" lists: the visitor's label by its name in the page's language,
    "whoever speaks next" first."""
    you = [(shown_name(name), name) for name in found.you]
    return you, [(I18N("chat_anyone"), ANYONE), *((name, name) for name in found.answers)]


def chat_tab(page: Page) -> None:
    models = handlers.chat_models(page.registry, "")
    found = handlers.chat_speakers(page.registry, "", models[0] if models else None)
    you_choices, answer_choices = speaker_choices(found)
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            model = gr.Dropdown(
                models,
                value=models[0] if models else None,
                label=I18N("chat_model"),
                info=I18N("chat_model_info"),
                elem_id="chat-model",
            )
            you = gr.Dropdown(
                you_choices, value=found.you[0] if found.you else None, label=I18N("chat_you"), elem_id="chat-you"
            )
            answers = gr.Dropdown(answer_choices, value=ANYONE, label=I18N("chat_answers"), elem_id="chat-answers")
            temperature = gr.Slider(0.0, 2.0, value=0.7, step=0.05, label=I18N("temperature"))
            replies = gr.Slider(1, handlers.MAX_CHAT_REPLIES, value=1, step=1, label=I18N("chat_replies"))
        with gr.Column(scale=2):
            chatbot = gr.Chatbot(
                label=I18N("chat_tab"), height=440, buttons=["copy", "copy_all"], elem_id="chatbot"
            )
            message = gr.Textbox(
                placeholder=I18N("chat_placeholder"),
                show_label=False,
                max_lines=4,
                max_length=MAX_MESSAGE_CHARS,
                elem_id="chat-message",
            )
            with gr.Row():
                send = gr.Button(I18N("chat_send"), variant="primary", elem_id="chat-send")
                retry = gr.Button(I18N("chat_retry"), elem_id="chat-retry")
                undo = gr.Button(I18N("undo"), elem_id="chat-undo")
                clear = gr.Button(I18N("chat_clear"), elem_id="chat-clear")
    # A conversation holds the model's state after each message: gone an idle session's time later.
    state = gr.State(None, time_to_live=int(page.session_ttl_minutes * 60))

    def refresh_models(request: gr.Request):
        return gr.update(choices=handlers.chat_models(page.registry, page.session_id(request)))

    @page_errors
    def pick_model(name: str | None, request: gr.Request = None):
        """A model chosen: its speakers, and a new conversation."""
        found = handlers.chat_speakers(page.registry, page.session_id(request), name)
        you_choices, answer_choices = speaker_choices(found)
        return (
            gr.update(choices=you_choices, value=found.you[0] if found.you else None),
            gr.update(choices=answer_choices, value=ANYONE),
            None,
            [],
        )

    @page_errors
    def send_message(chat, name, speaker, reply_as, text, temp, count, request: gr.Request = None):
        """Your message, then the replies as they are written (the message box empties at once)."""
        sid = page.session_id(request)
        chat = handlers.chat_say(page.registry, sid, chat, name, speaker, text)
        yield chat, chat_messages(chat, speaker), ""
        settings = SamplingSettings.from_values(temp, handlers.MAX_REPLY_TOKENS)
        for now in handlers.chat_replies(page.registry, chat, reply_as, settings, speaker, count):
            yield now, chat_messages(now, speaker), gr.update()

    @page_errors
    def write_again(chat, speaker, reply_as, temp, request: gr.Request = None):
        """The replies since your last message written again (a new draw)."""
        taken = handlers.chat_retry(chat, speaker)
        if chat is None or not chat.turns:
            yield chat, chat_messages(chat, speaker)
            return
        settings = SamplingSettings.from_values(temp, handlers.MAX_REPLY_TOKENS)
        for now in handlers.chat_replies(page.registry, chat, reply_as, settings, speaker, max(taken, 1)):
            yield now, chat_messages(now, speaker)

    def step_back(chat, speaker):
        chat = handlers.chat_undo(chat, speaker)
        return chat, chat_messages(chat, speaker)

    model.focus(refresh_models, None, model, api_name=False, queue=False)
    model.change(pick_model, model, [you, answers, state, chatbot], api_name=False)
    sending = [state, model, you, answers, message, temperature, replies]
    for event in (send.click, message.submit):
        event(send_message, sending, [state, chatbot, message], api_name=False)
    retry.click(write_again, [state, you, answers, temperature], [state, chatbot], api_name=False)
    undo.click(step_back, [state, you], [state, chatbot], api_name=False, queue=False)
    for cleared in (clear.click, chatbot.clear):  # the button, and the chat's own bin
        cleared(lambda: (None, []), None, [state, chatbot], api_name=False, queue=False)
    you.change(lambda chat, speaker: chat_messages(chat, speaker), [state, you], chatbot, api_name=False)


def chat_api(page: Page):
    """/chat for this page's models."""

    @page_errors
    def chat(
        model: str,
        conversation: list[dict] | None = None,
        reply_as: str = "",
        temperature: float = 0.7,
        seed: int | None = None,
        request: gr.Request = None,
    ) -> dict:
        """The reply of `reply_as` (one of the model's speakers; "": whoever the model says speaks next)
        to `conversation`, a list of {"speaker", "text"} messages in order: {"speaker", "text"}. The
        model must have been trained on conversations."""
        sid = page.session_id(request)
        return handlers.chat_api(page.registry, sid, model, conversation, reply_as, temperature, seed)

    return chat

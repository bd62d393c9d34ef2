"""The upload panel the Train and Explore tabs share: a file, how to read it (the CSV column, a text
file's documents, a chat's speaker, a field to label by), and what reading it found, shown at once."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ..corpus import SUPPORTED_SUFFIXES
from ..views import reading_summary
from . import handlers
from .common import I18N, page_errors, page_locale, say

LAYOUT_CHOICES = [  # as plaintext.LAYOUTS
    (I18N("layout_auto"), "auto"),
    (I18N("layout_paragraphs"), "paragraphs"),
    (I18N("layout_lines"), "lines"),
    (I18N("layout_separator"), "separator"),
]


@dataclass
class UploadPanel:
    """An upload and how to read it: the CSV column, a text file's documents (auto, paragraphs, lines
    or between separator lines), a chat's speaker; and what reading it found, shown at once."""

    upload: gr.File
    column: gr.Dropdown
    documents: gr.Radio
    separator: gr.Textbox
    speaker: gr.Dropdown
    label: gr.Dropdown
    summary: gr.Markdown
    conversations: gr.Checkbox

    @property
    def inputs(self) -> list:
        return [
            self.upload,
            self.column,
            self.documents,
            self.separator,
            self.speaker,
            self.label,
            self.conversations,
        ]

    @property
    def reading(self) -> list:
        """How to read it: the inputs after the file and its column, in the API's order."""
        return self.inputs[2:]


def upload_panel(upload_id: str, api_name: str | bool, offer_labels: bool = True) -> UploadPanel:
    upload = gr.File(label=I18N("upload"), file_types=list(SUPPORTED_SUFFIXES), type="filepath", elem_id=upload_id)
    column = gr.Dropdown(label=I18N("column"), visible=False, allow_custom_value=True)
    documents = gr.Radio(LAYOUT_CHOICES, value="auto", label=I18N("documents"), visible=False)
    separator = gr.Textbox(value="", label=I18N("separator"), max_lines=1, visible=False)
    speaker = gr.Dropdown(label=I18N("speaker"), choices=[], value=None, visible=False)
    label = gr.Dropdown(  # the choices are the upload's fields; reading it checks the value
        label=I18N("label_column"),
        info=I18N("label_column_info"),
        elem_id=f"{upload_id}-label",
        choices=[],
        visible=False,
        allow_custom_value=True,
    )
    conversations = gr.Checkbox(
        False,
        label=I18N("conversations"),
        info=I18N("conversations_info"),
        visible=False,
        elem_id=f"{upload_id}-conversations",
    )
    summary = gr.Markdown(elem_id=f"{upload_id}-summary")
    panel = UploadPanel(upload, column, documents, separator, speaker, label, summary, conversations)

    def cleared() -> dict:
        """Nothing of the last file's reading: before a new one is read (if it cannot be, nothing stays)."""
        boxes = (panel.column, panel.documents, panel.separator, panel.speaker, panel.label)
        hidden = {box: gr.update(visible=False) for box in boxes}
        return hidden | {panel.conversations: gr.update(value=False, visible=False), panel.summary: ""}

    @page_errors
    def inspect(
        path,
        column=None,
        documents="auto",
        separator="",
        speaker=None,
        label=None,
        conversations=False,
        request: gr.Request = None,
    ):
        """After an upload: the CSV's columns, the text file's reading, the chat's speakers, the fields
        it could be labelled by, the summary."""
        if not path:
            return cleared()
        found = handlers.inspect_upload(path, page_locale(request))
        speakers = [(say("everyone", request), ""), *((f"{name} ({n:,})", name) for name, n in found.speakers)]
        fields = [(say("no labels", request), ""), *found.fields]
        return {
            panel.column: gr.update(choices=found.columns, value=found.column, visible=bool(found.columns)),
            panel.documents: gr.update(value="auto", visible=found.plain_text),
            panel.separator: gr.update(value="", visible=False),
            panel.speaker: gr.update(choices=speakers, value="", visible=bool(found.speakers)),
            panel.label: gr.update(choices=fields, value="", visible=offer_labels and bool(found.fields)),
            panel.conversations: gr.update(value=False, visible=offer_labels and found.conversational),
            panel.summary: found.summary,
        }

    @page_errors
    def summarize(
        path,
        column=None,
        documents="auto",
        separator="",
        speaker=None,
        label=None,
        conversations=False,
        request: gr.Request = None,
    ):
        separator_box = gr.update(visible=documents == "separator")
        if not path:
            return {panel.summary: "", panel.separator: separator_box}
        corpus = handlers.upload_corpus(path, column, documents, separator, speaker, label, conversations)
        return {panel.summary: reading_summary(corpus, page_locale(request)), panel.separator: separator_box}

    outputs = [column, documents, separator, speaker, label, summary, conversations]
    upload.upload(cleared, None, outputs, queue=False, api_name=False).then(
        inspect, panel.inputs, outputs, api_name=api_name
    )
    upload.clear(cleared, None, outputs, queue=False, api_name=False)
    for control in (
        column.input,
        documents.input,
        separator.submit,
        speaker.input,
        label.input,
        conversations.input,
    ):
        control(summarize, panel.inputs, [summary, separator], api_name=False)
    return panel

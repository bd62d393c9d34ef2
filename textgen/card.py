"""A model's card (README.md), rendered from its record (training.json, `RunInfo`): Hub YAML metadata
with the held-out metrics, then a readable page."""

from __future__ import annotations

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .hubref import is_repo_ref, parse_model_ref
from .model import LSTMConfig
from .runinfo import RunInfo

TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

A {{ info.level }}-level LSTM language model trained with textgen on **{{ info.corpus }}**{% if info.source %} ({{ info.source }}){% endif %}.

| | |
|---|---|
| architecture | embedding {{ config.embedding_dim }} → {{ config.num_layers }} × LSTM({{ config.hidden_size }}) → linear{{ " (tied to the embedding)" if tied else "" }} |
| parameters | {{ "{:,}".format(parameters) }} |
| vocabulary | {{ config.vocab_size }} tokens ({{ info.level }} level, with `<eos>` and `<unk>`) |
| training documents | {{ info.train_documents }} (validation: {{ info.val_documents }}, {{ "split by document" if info.split == "documents" else "stretches of the text: the corpus has too few documents to split by document" }}, seed {{ seed }}) |
| training | {{ info.step }} steps, {{ info.training_seconds }} s, stopped by {{ info.stopped_because or "—" }} |
| regularisation | {{ regularisation }} |
{% if info.parent %}| started from | {{ info.parent }} (fine-tuned: its vocabulary and weights, grown for this corpus) |
{% endif %}| license | {{ license_line }} |

## Held-out metrics

Measured on all {{ info.val_documents }} validation documents, which the model never trained on, each
scored from the start of a document as the sampler starts one{% if info.eval_sample_documents and info.eval_sample_documents < info.val_documents %} (while training, evaluations scored a fixed sample of {{ info.eval_sample_documents }} of them to pick the best model){% endif %}{% if info.evaluation_precision == "bf16" %}, in bf16 arithmetic as it trained (within 0.001 bits per char of fp32){% endif %}.
Bits per character counts every character of each document plus its end, so char and word models
compare directly.

| model | loss (nats/token) | perplexity | bits per char |
|---|---|---|---|
{% if info.metrics %}| this LSTM | {{ "%.4f" % info.metrics.loss }} | {{ "%.2f" % info.metrics.perplexity }} | {{ "%.4f" % info.metrics.bits_per_char }} |
{% endif %}{% if info.unigram %}| unigram (same tokens, add-one) | {{ "%.4f" % info.unigram.loss }} | {{ "%.2f" % info.unigram.perplexity }} | {{ "%.4f" % info.unigram.bits_per_char }} |
{% endif %}
{% if info.conversations %}Each document is a conversation; each message's speaker label is read, and scored, as one character.
{% elif info.labels %}Each labelled document's label is read as its first character, and scored as one.
{% endif %}{% if info.level == "word" %}Words seen fewer than {{ min_count }} times in training are one `<unk>` token. Perplexity is per
word with `<unk>` as usual; bits per character also charge each `<unk>` for spelling its word with a
character model of the training words, so they compare honestly with character-level models.
{% endif %}
{% if info.conversations %}## Conversations

Trained on whole conversations (a silence of {{ "%g" % info.conversations.gap_minutes }} minutes or 50 messages ends one),
each message after its speaker's label, so that it answers as one of them:
`python -m textgen chat --model {{ model_ref }} --as SPEAKER --reply-as SPEAKER`, or the studio's Chat tab.

| speaker | messages |
|---|---|
{% for name, count in info.labels.documents.items() %}| {{ name | replace("|", "\\|") }} | {{ "{:,}".format(count) }} |
{% endfor %}
{% elif info.labels %}## Labels

Trained with the `{{ info.labels.column }}` of each record as a label: a control token in front of
its document. Write as one with `--label LABEL`; without one, a label is drawn from the model's
posterior given the seed text.

| label | documents |
|---|---|
{% for name, count in info.labels.documents.items() %}| {{ name | replace("|", "\\|") }} | {{ "{:,}".format(count) }} |
{% endfor %}
{% endif %}## Samples

{% for temperature, text in info.samples.items() %}- temperature {{ temperature }}: `{{ text | replace("\\n", " ⏎ ") }}`
{% endfor %}
## Use

```bash
python -m textgen generate --model {{ model_ref }} --prompt "..." --temperature 0.5
```

Files: `config.json` (the LSTMConfig), `model.safetensors` (weights; no pickle anywhere),
`tokenizer.json`, `training.json` (everything on this card), `novelty.txt` (hashes of the training
documents, to mark generated text that copies one).

## How it was made

```bash
{{ info.command or "(not recorded)" }}
```
"""


LICENSE_LINES = {
    "unknown": "unknown: the training text's terms are not recorded; check them before you reuse the model",
    "cc0-1.0": "CC0 1.0: trained on public-domain text",
}


def regularisation(train_config: dict) -> str:
    """The regularisers a run used, in words (older runs saved none of the small-data pack's fields)."""
    get = train_config.get
    parts = [f"dropout {get('dropout', 0):g}"]
    if get("weight_drop"):
        parts.append(f"DropConnect {get('weight_drop'):g} on the recurrent weights")
    if get("embedding_dropout"):
        parts.append(f"embedding dropout {get('embedding_dropout'):g}")
    if get("locked_dropout"):
        parts.append("locked dropout")
    if get("activation_reg") or get("temporal_reg"):
        parts.append(f"AR {get('activation_reg') or 0:g} / TAR {get('temporal_reg') or 0:g}")
    if get("weight_decay") is not None:
        parts.append(f"weight decay {get('weight_decay'):g}")
    if get("ema"):
        parts.append(f"weights averaged (EMA {get('ema'):g}), the average kept")
    return ", ".join(parts)


def render_card(info: RunInfo, config: LSTMConfig, model_ref: str = "DIR") -> str:
    """Markdown with YAML front matter for the Hub, from a checkpoint's training.json."""
    title = info.title or f"textgen LSTM ({info.level} level) on {info.corpus}"
    eval_results = [
        EvalResult(
            task_type="text-generation",
            dataset_type=info.dataset_id or "custom",
            dataset_name=info.corpus,
            dataset_split="validation",
            metric_type=metric_type,
            metric_name=name,
            metric_value=round(float(getattr(info.metrics, metric_type)), 4),
        )
        for metric_type, name in (
            ("perplexity", "Perplexity"),
            ("bits_per_char", "Bits per character"),
            ("loss", "Loss (nats/token)"),
        )
        if info.metrics is not None
    ]
    card_data = ModelCardData(
        library_name="textgen",
        pipeline_tag="text-generation",
        license=info.license or "unknown",
        tags=["text-generation", "lstm", "textgen", f"{info.level}-level"],
        datasets=[info.dataset_id] if info.dataset_id else None,
        base_model=parse_model_ref(info.parent)[0] if is_repo_ref(info.parent or "") else None,  # fine-tune tree
        language=info.language,
        model_name=title,
        eval_results=eval_results or None,
    )
    return str(
        ModelCard.from_template(
            card_data,
            template_str=TEMPLATE,
            title=title,
            config=config,
            tied=config.tied,
            parameters=config.num_parameters(),
            info=info,
            seed=info.train_config.get("seed", 0),
            regularisation=regularisation(info.train_config),
            min_count=info.train_config.get("min_count", 1),
            model_ref=model_ref,
            license_line=LICENSE_LINES.get(info.license or "unknown", f"`{info.license}`"),
        )
    )

"""The model card (README.md): Hub YAML metadata with the held-out metrics, then a readable page."""

from __future__ import annotations

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .model import LSTMConfig

TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

A {{ level }}-level LSTM language model trained with textgen on **{{ corpus }}**.

| | |
|---|---|
| architecture | embedding {{ config.embedding_dim }} → {{ config.num_layers }} × LSTM({{ config.hidden_size }}) → linear{{ " (tied to the embedding)" if tied else "" }} |
| parameters | {{ "{:,}".format(parameters) }} |
| vocabulary | {{ config.vocab_size }} tokens ({{ level }} level, with `<eos>` and `<unk>`) |
| training documents | {{ info.train_documents }} (validation: {{ info.val_documents }}, split by document, seed {{ seed }}) |
| training | {{ info.step }} steps, {{ info.training_seconds }} s, stopped by {{ info.stopped_because or "—" }} |

## Held-out metrics

Measured on the validation documents, which the model never trained on. Bits per character
counts every character of each document plus its end, so char and word models compare directly.

| model | loss (nats/token) | perplexity | bits per char |
|---|---|---|---|
| this LSTM | {{ "%.4f" % metrics.loss }} | {{ "%.2f" % metrics.perplexity }} | {{ "%.4f" % metrics.bits_per_char }} |
{% if unigram %}| unigram (same tokens, add-one) | {{ "%.4f" % unigram.loss }} | {{ "%.2f" % unigram.perplexity }} | {{ "%.4f" % unigram.bits_per_char }} |
{% endif %}
{% if level == "word" %}Words seen fewer than {{ min_count }} times in training are one `<unk>` token. Perplexity is per
word with `<unk>` as usual; bits per character also charge each `<unk>` for spelling its word with a
character model of the training words, so they compare honestly with character-level models.
{% endif %}
## Samples

{% for temperature, text in samples.items() %}- temperature {{ temperature }}: `{{ text | replace("\\n", " ⏎ ") }}`
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
{{ command or "(not recorded)" }}
```
"""


def render_card(info: dict, config: LSTMConfig, model_ref: str = "DIR") -> str:
    """Markdown with YAML front matter for the Hub, from a checkpoint's training.json."""
    metrics = info.get("metrics") or {}
    corpus = info.get("corpus", "an unnamed corpus")
    title = info.get("title") or f"textgen LSTM ({info.get('level', 'char')} level) on {corpus}"
    eval_results = []
    for metric_type, name in (
        ("perplexity", "Perplexity"),
        ("bits_per_char", "Bits per character"),
        ("loss", "Loss (nats/token)"),
    ):
        if metric_type in metrics:
            eval_results.append(
                EvalResult(
                    task_type="text-generation",
                    dataset_type=info.get("dataset_id", "custom"),
                    dataset_name=corpus,
                    dataset_split="validation",
                    metric_type=metric_type,
                    metric_name=name,
                    metric_value=round(float(metrics[metric_type]), 4),
                )
            )
    card_data = ModelCardData(
        library_name="textgen",
        pipeline_tag="text-generation",
        tags=["text-generation", "lstm", "textgen", f"{info.get('level', 'char')}-level"],
        datasets=[info["dataset_id"]] if info.get("dataset_id") else None,
        language=info.get("language"),
        model_name=title,
        eval_results=eval_results or None,
    )
    train_config = info.get("train_config", {})
    return str(
        ModelCard.from_template(
            card_data,
            template_str=TEMPLATE,
            title=title,
            level=info.get("level", "char"),
            corpus=corpus,
            config=config,
            tied=config.tied,
            parameters=config.num_parameters(),
            info=_Attrs(info),
            metrics=_Attrs(metrics),
            unigram=_Attrs(info["unigram"]) if info.get("unigram") else None,
            seed=train_config.get("seed", 0),
            min_count=train_config.get("min_count", 1),
            samples=info.get("samples", {}),
            command=info.get("command", ""),
            model_ref=model_ref,
        )
    )


class _Attrs(dict):
    """A dict whose keys read as attributes in the template, missing ones as None."""

    def __getattr__(self, name: str):
        return self.get(name)

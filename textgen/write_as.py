"""Writing as a label: the seed text a request starts from, for a model trained with labels.

Writing as "any" label draws one from the model's own posterior given the seed, p(L | seed) ∝
p(L) p(seed | L) (the model learnt p(L) as the first token of a document): the text is then written
as the model writes labelled text, and a seed that reads like one label leans to it (the seed alone
would start a document as no labelled document in training started).
"""

from __future__ import annotations

import random

import torch

from .checkpoints import LoadedModel
from .errors import GenerationError
from .labelled import Labels, labelled_prompt

POSTERIOR_TOKENS = 200  # the seed's first tokens weigh the labels (enough evidence; a bounded cost)


def label_random(seed: int | None) -> random.Random:
    """The stream "any" label is drawn from: a request's seed reproduces it, apart from the sampler's."""
    return random.Random(None if seed is None else f"label {seed}")


def prompt_as(loaded: LoadedModel, label: str | None, prompt: str, rng: random.Random | None = None) -> str:
    """The seed text that writes `prompt` as `label`, or as "any" ("" or None): for a labelled model,
    a label drawn with `rng` from the model's posterior given the seed (`rng` None: the likeliest,
    for views of one distribution); for a model without labels, the seed as it is."""
    labels = loaded.info.labels
    if label or labels is None:
        return labelled_prompt(labels, label, prompt)
    return labelled_prompt(labels, posterior_label(loaded, labels, prompt, rng), prompt)


@torch.inference_mode()
def posterior_label(loaded: LoadedModel, labels: Labels, prompt: str, rng: random.Random | None) -> str:
    """A label drawn from p(L | seed) ∝ p(L | <eos>) p(seed | <eos>, L), all labels scored in one batch."""
    tokenizer = loaded.tokenizer
    known = [(name, tokenizer.index.get(labels.character(name))) for name in labels.names]
    known = [(name, i) for name, i in known if i is not None]
    if not known:
        raise GenerationError("the model's labels are missing from its vocabulary: its folder is damaged")
    seed = tokenizer.encode(prompt[: 20 * POSTERIOR_TOKENS])[:POSTERIOR_TOKENS]  # a word is under 20 characters
    posterior = label_scores(loaded, [i for _, i in known], seed).double().softmax(0).cpu()
    if rng is None:
        return known[int(posterior.argmax())][0]
    index = int(torch.searchsorted(posterior.cumsum(0), torch.tensor([rng.random()], dtype=torch.float64)))
    return known[min(index, len(known) - 1)][0]


@torch.inference_mode()
def label_scores(loaded: LoadedModel, label_ids: list[int], ids: list[int]) -> torch.Tensor:
    """log p(L | <eos>) + log p(ids | <eos>, L) for each label token L of `label_ids`, in one batch."""
    model = loaded.model.eval()
    rows = torch.tensor([[loaded.tokenizer.eos_id, label, *ids] for label in label_ids], device=model.device)
    log_probs = model(rows[:, :-1], None)[0].float().log_softmax(-1)  # (labels, 1 + len(ids), vocab)
    return log_probs.gather(2, rows[:, 1:].unsqueeze(2)).squeeze(2).sum(1)

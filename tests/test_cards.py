"""Model and Space cards the Hub can link: metadata that huggingface_hub's own card classes parse, a
license on every card, `datasets` only for Hub datasets, `base_model` for a model fine-tuned from a
Hub model, `models:` on a web page's Space card."""

from __future__ import annotations

import pytest
from conftest import ROOT
from huggingface_hub import ModelCard, SpaceCard
from huggingface_hub.repocard_data import model_index_to_eval_results

from textgen.card import render_card
from textgen.checkpoints import load_folder
from textgen.runinfo import RunInfo
from textgen.webpage import space_card

SHIPPED = sorted(path.parent.name for path in (ROOT / "checkpoints").glob("*/config.json"))
PUBLIC_DOMAIN = {"nietzsche-char", "shakespeare-char", "shakespeare-chat"}


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_card_parses_with_a_license_and_no_kaggle_id_as_a_hub_dataset(name):
    card = ModelCard((ROOT / "checkpoints" / name / "README.md").read_text(encoding="utf-8"))
    data = card.data
    assert data.library_name == "textgen" and data.pipeline_tag == "text-generation"
    assert data.license == ("cc0-1.0" if name in PUBLIC_DOMAIN else "unknown")
    assert not data.datasets  # the shipped corpora are not Hub datasets: their sources are linked in prose
    _, results = model_index_to_eval_results(data.to_dict()["model-index"])
    assert {result.metric_type for result in results} == {"perplexity", "bits_per_char", "loss"}
    loaded = load_folder(ROOT / "checkpoints" / name)
    assert loaded.info.source and loaded.info.source.split("(")[0] in card.text  # where the text came from
    assert render_card(loaded.info, loaded.model.config, f"checkpoints/{name}") == str(card)  # as rendered now


def test_a_model_fine_tuned_from_a_hub_model_names_it_as_its_base():
    loaded = load_folder(ROOT / "checkpoints" / "korean-sayings-char")
    from_hub = RunInfo.from_dict({**loaded.info.to_dict(), "parent": "alice/korean-base@v1"})
    card = ModelCard(render_card(from_hub, loaded.model.config))
    assert card.data.base_model == "alice/korean-base"  # a model id: the revision is in the prose
    from_folder = RunInfo.from_dict({**loaded.info.to_dict(), "parent": "korean-char"})
    card = ModelCard(render_card(from_folder, loaded.model.config))
    assert card.data.base_model is None and "| started from | korean-char" in card.text


def test_a_web_pages_space_card_names_its_model_repo():
    loaded = load_folder(ROOT / "checkpoints" / "nyt-char")
    card = SpaceCard(space_card(loaded, "nyt-char", model_repo="alice/nyt-char"))
    assert card.data.models == ["alice/nyt-char"] and card.data.sdk == "static"
    assert "models" not in SpaceCard(space_card(loaded, "nyt-char")).data.to_dict()
    loaded.source = "alice/from-hub@main"  # a model loaded by its Hub id names it itself
    assert SpaceCard(space_card(loaded, "x")).data.models == ["alice/from-hub"]

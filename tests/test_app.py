"""End to end: a real `python app.py` server driven through gradio_client."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
import zipfile

import pytest
from apphelpers import running_app, train_upload
from conftest import CORPORA, ROOT, corpus_path
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from hubstandin import GOOD_TOKEN, StandInHub
from test_labels import two_voices

from textgen.corpus import SUPPORTED_SUFFIXES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def standin_hub():
    with StandInHub() as hub:
        yield hub


@pytest.fixture(scope="module")
def app_log(tmp_path_factory):
    return tmp_path_factory.mktemp("app") / "server.log"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, standin_hub, app_log):
    home = tmp_path_factory.mktemp("hf-home")
    env = {
        "TEXTGEN_DATA_DIR": str(CORPORA / "nyt"),
        "TEXTGEN_MAX_UPLOAD_MB": "1.5",  # a fractional limit once stopped the app at start
        "HF_ENDPOINT": standin_hub.url,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "cache"),
    }
    previous = os.environ.get("TEXTGEN_APP_LOG")
    os.environ["TEXTGEN_APP_LOG"] = str(app_log)
    try:
        with running_app(env) as url:
            yield url
    finally:
        if previous is None:
            os.environ.pop("TEXTGEN_APP_LOG", None)
        else:
            os.environ["TEXTGEN_APP_LOG"] = previous


@pytest.fixture
def client(app_url):
    return Client(app_url, verbose=False)


def test_generate_streams_and_reproduces_with_a_seed(client):
    job = client.submit(
        model="nyt-char", prompt="Trump", temperature=0.5, length=150, seed=42, api_name="/generate"
    )
    final = job.result(timeout=120)
    partials = job.outputs()
    assert len(partials) >= 2, "the text should arrive in pieces"
    assert all(p.startswith("Trump") for p in partials)
    assert len(partials[0]) < len(final)
    assert final.startswith("Trump") and len(final) > len("Trump") + 20
    again = client.predict(
        model="nyt-char", prompt="Trump", temperature=0.5, length=150, seed=42, api_name="/generate"
    )
    assert again == final


def test_top_k_top_p_samples_and_stop_at_eos_reach_the_sampler(client):
    """Through the API as the page sends them: top-k 1 and a tiny top-p leave the likeliest token at
    each step (the greedy text, whatever the temperature and seed); samples are numbered; stop at the
    end leaves one headline per sample however long the length."""
    request = {"model": "nyt-word", "prompt": "The", "length": 30, "api_name": "/generate"}
    greedy = client.predict(**request, temperature=0, seed=1)
    assert client.predict(**request, temperature=0.9, seed=4, top_k=1) == greedy
    assert client.predict(**request, temperature=0.9, seed=4) != greedy
    # The page's smallest top-p, on the char model: its likeliest character always has more than 5%.
    chars = {"model": "nyt-char", "prompt": "The", "length": 60, "api_name": "/generate"}
    assert client.predict(**chars, temperature=0.5, seed=4, top_p=0.05) == client.predict(**chars, temperature=0)
    request["length"] = 200
    free = client.predict(**request, temperature=0.9, num_samples=3, seed=1)
    stopped = client.predict(**request, temperature=0.9, num_samples=3, seed=1, stop_at_eos=True)
    for text, most in ((free, None), (stopped, 1)):
        samples = re.split(r"(?:^|\n\n)\[\d\] ", text)[1:]
        assert len(samples) == 3 and all(sample.startswith("The") for sample in samples)
        lines = [sample.strip().count("\n") + 1 for sample in samples]
        assert (most is None and max(lines) > 1) or lines == [1, 1, 1], (lines, text)


def test_compare_temperatures_in_one_call(client):
    texts = client.predict(model="nyt-char", prompt="How", length=120, seed=3, api_name="/compare")
    assert len(texts) == 4 and all(t.startswith("How") for t in texts)
    assert len(set(texts)) > 1


READING = {"column": None, "documents": "auto", "separator": "", "speaker": None, "api_name": "/inspect_upload"}


def test_an_upload_is_read_at_once_with_its_columns_fields_and_layout(client, tmp_path):
    column, documents, _, speaker, label, summary, conversations = client.predict(
        path=handle_file(str(corpus_path("saying_cp949.txt"))), **READING
    )
    assert not column["visible"] and documents["visible"] and not speaker["visible"]  # plain text
    assert not label["visible"] and not conversations["visible"]  # no fields, no speakers
    assert "**546 documents** (one per line)" in summary
    column, documents, _, _, label, summary, _ = client.predict(
        path=handle_file(str(ROOT / "examples" / "chat.csv")), **READING
    )
    assert column["visible"] is True and column["value"] == "text" and "user" in str(column["choices"])
    assert label["visible"] and [value for _, value in label["choices"]] == ["", "time", "user"]
    assert documents["visible"] is False and "documents** (CSV)" in summary
    quotes = tmp_path / "quotes.json"
    quotes.write_text(
        json.dumps([{"quoteText": f"q {i}", "quoteAuthor": "Ann"} for i in range(30)]), encoding="utf-8"
    )
    *_, json_label, _, _ = client.predict(path=handle_file(str(quotes)), **READING)
    assert [value for _, value in json_label["choices"]] == [
        "",
        "quoteText",
        "quoteAuthor",
    ]  # a JSON file's fields


@pytest.fixture(scope="module")
def korean_run(app_url):
    """A model trained on the Korean sayings (cp949) through /train, in its own browser session."""
    client = Client(app_url, verbose=False)
    status, name, archive = train_upload(client, corpus_path("saying_cp949.txt"), minutes=0.25, prompt="사랑")
    text = client.predict(model=name, prompt="사랑은", temperature=0.5, length=60, seed=0, api_name="/generate")
    return status, name, archive, text


def test_train_on_a_korean_cp949_upload_then_generate(korean_run):
    status, name, archive, text = korean_run
    assert "ready" in status and "bits/char" in status
    assert name.startswith("saying_cp949-char-tiny") and str(archive).endswith(".zip")
    assert text.startswith("사랑은") and sum("가" <= ch <= "힣" for ch in text[3:]) > 10  # it writes Hangul


def test_a_trained_model_is_private_to_its_session(korean_run, app_url):
    _, name, _, _ = korean_run
    stranger = Client(app_url, verbose=False)  # another browser session
    with pytest.raises(AppError, match="no model named"):
        stranger.predict(model=name, prompt="사랑은", length=5, api_name="/generate")
    with pytest.raises(AppError, match="pick a model you trained or loaded in this session"):
        stranger.predict(model=name, repo_id="alice/sayings", token=GOOD_TOKEN, api_name="/push")


def test_the_zip_the_page_offered_loads_back_in_another_session(korean_run, app_url):
    """With every check a Hub model gets, and the same weights: the same text for the same seed."""
    _, _, archive, text = korean_run
    stranger = Client(app_url, verbose=False)
    loaded_name = stranger.predict(path=handle_file(str(archive)), api_name="/load_zip")
    loaded_name = loaded_name if isinstance(loaded_name, str) else loaded_name["value"]
    assert loaded_name.endswith("(zip 1)")
    again = stranger.predict(
        model=loaded_name, prompt="사랑은", temperature=0.5, length=60, seed=0, api_name="/generate"
    )
    assert again == text


def test_push_from_the_page_then_load_by_repo_id(client, standin_hub, app_log):
    _, name, _ = train_upload(client, corpus_path("saying_cp949.txt"), minutes=0.1)
    with pytest.raises(AppError, match=r"token was rejected \(401\)"):
        client.predict(model=name, repo_id="alice/sayings", token="hf_not_valid", api_name="/push")
    message = client.predict(model=name, repo_id="alice/sayings", token=GOOD_TOKEN, api_name="/push")
    assert "pushed" in message and "/commit/" in message
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= set(
        standin_hub.repos["alice/sayings"].files
    )
    text = client.predict(model="alice/sayings", prompt="인생은", length=20, seed=0, api_name="/generate")
    assert text.startswith("인생은") and len(text) > 5
    assert GOOD_TOKEN not in app_log.read_text(errors="replace")  # the token is never logged


def test_explore_an_upload_and_a_shipped_models_corpus_without_its_files(client):
    summary, histogram, top, speakers = client.predict(
        path=handle_file(str(corpus_path("quotes_cp1252.json"))),
        column=None,
        level="word",
        model="nyt-char",
        api_name="/explore",
    )
    assert "5,421 documents" in summary and speakers["visible"] is False
    *_, speakers = client.predict(
        path=handle_file(str(ROOT / "examples" / "whatsapp.txt")),
        column=None,
        level="char",
        model="nyt-char",
        api_name="/explore",
    )
    assert speakers["visible"] is True and [row[0] for row in speakers["value"]["data"]] == [
        "Alice",
        "Bob",
        "Chen",
    ]
    summary, histogram, top, _ = client.predict(
        path=None, column=None, level="char", model="nyt-word", api_name="/explore"
    )
    assert "the training corpus of nyt-word" in summary and "7,710 documents" in summary
    bins = [row[0] for row in histogram["data"]]
    assert (
        bins[0].strip().startswith("0–") and bins == sorted(bins) and all(row[1] >= 0 for row in histogram["data"])
    )
    assert "␣" in [row[0] for row in top["data"]]  # the space, labelled


def test_errors_speak_the_browsers_language(app_url):
    korean = Client(app_url, verbose=False, headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    with pytest.raises(AppError, match="모델이 시작 텍스트의 글자"):
        korean.predict(model="nyt-char", prompt="한국어", length=10, api_name="/generate")
    with pytest.raises(AppError, match=re.escape(f"먼저 {', '.join(SUPPORTED_SUFFIXES)} 파일을 올리세요")):
        korean.predict(path=None, column=None, level="char", size="auto", minutes=1, prompt="", api_name="/train")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty"),
        ("blob.txt", bytes(range(256)) * 40, "binary"),
        ("numbers.csv", b"id,score\n1,2\n3,4\n", "pick a text column; the CSV has: id, score"),
    ],
)
def test_bad_uploads_get_a_clear_message(client, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AppError, match=message):
        train_upload(client, path, minutes=0.1)


def test_oversize_upload_is_refused(client, tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("a line of text\n" * 150_000)  # 2.25 MB, over the 1.5 MB limit set for this server
    with pytest.raises(Exception, match="(?i)size|large|limit"):
        train_upload(client, path, minutes=0.1)


def test_bad_generation_inputs_and_the_app_keeps_serving(client):
    with pytest.raises(AppError, match="knows none of the seed"):
        client.predict(model="nyt-char", prompt="한국어", length=10, api_name="/generate")
    with pytest.raises(AppError, match="no model repo nobody/no-such-model on the Hub"):
        client.predict(model="nobody/no-such-model", prompt="a", length=10, api_name="/generate")
    with pytest.raises(AppError, match="no model named"):
        client.predict(model="not a model", prompt="a", length=10, api_name="/generate")
    assert client.predict(model="nyt-char", prompt="A", length=10, seed=0, api_name="/generate").startswith("A")


def test_generation_is_served_while_someone_trains(app_url):
    trainer_session, visitor = Client(app_url, verbose=False), Client(app_url, verbose=False)
    training = trainer_session.submit(
        path=handle_file(str(corpus_path("saying_cp949.txt"))),
        column=None,
        level="char",
        size="tiny",
        minutes=0.3,
        prompt="",
        api_name="/train",
    )
    while not training.outputs() and not training.done():  # wait until training is under way
        time.sleep(0.05)
    text = visitor.predict(model="nyt-char", prompt="Senate", length=100, seed=5, api_name="/generate")
    assert text.startswith("Senate") and len(text) > 50
    assert not training.done(), "generation should not wait for the training run to finish"
    assert "ready" in training.result(timeout=120)[2]


def rest_call(app_url: str, api: str, data: list) -> str:
    """The plain REST API, as curl would use it: JSON that may hold NaN and 1e400 (gradio_client
    refuses to send those). Returns the event stream's text."""
    body = json.dumps({"data": data}).replace("Infinity", "1e400").encode()  # json writes NaN as is
    request = urllib.request.Request(
        f"{app_url}gradio_api/call/{api}", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{app_url}gradio_api/call/{api}/{event_id}", timeout=60) as response:
        return response.read().decode()


@pytest.mark.parametrize(
    ("position", "value", "message"),
    [
        (2, float("nan"), "temperature must be a finite number"),
        (4, float("inf"), "top-k must be a whole number"),
        (7, float("nan"), "seed must be a whole number"),
        (4, 2**63, "top-k must be 0 (off) or a number of tokens up to"),
        (4, 10**30, "top-k must be 0 (off) or a number of tokens up to"),
        (0, {"name": "nyt-char"}, "pick a model by its name"),  # any JSON can come through the API
    ],
)
def test_nan_and_infinite_numbers_through_the_rest_api_get_a_clear_message(app_url, position, value, message):
    data = ["nyt-char", "A", 0.8, 10, 0, 1.0, 1, 1, False, ""]  # the last: write as (any)
    data[position] = value
    events = rest_call(app_url, "generate", data)
    assert "event: error" in events and message in events, events[:500]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"seed": 1e30}, "seed must be a whole number from 0"),
        ({"length": 5000, "num_samples": 64}, "at most 20,000"),
        ({"prompt": "a" * 1_000_000}, "at most 10,000"),
        ({"model": "alice/good@../../../../tmp/x/victim.txt"}, "no model named"),
        ({"model": "/etc/passwd"}, "no model named"),
    ],
)
def test_hostile_generation_requests_get_a_clear_message(client, settings, message):
    request = {"model": "nyt-char", "prompt": "A", "length": 10, **settings}
    with pytest.raises(AppError, match=message):
        client.predict(**request, api_name="/generate")


def test_upload_errors_never_show_server_paths(client, app_url, tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"\n\n")
    with pytest.raises(AppError) as err:
        train_upload(client, path, minutes=0.1)
    assert "empty.txt" in str(err.value) and "/tmp" not in str(err.value) and "gradio" not in str(err.value)
    events = rest_call(
        app_url, "train", [None, None, "char", "tiny", float("nan"), "", "scratch", "auto", "", None, None, False]
    )
    assert "event: error" in events and "time budget must be a finite number" in events


def test_push_as_a_user_signed_in_with_hugging_face(app_url, standin_hub, app_log):
    """On a Space the page signs users in with Hugging Face (gr.OAuthToken); gradio_client's
    oauth_token plays that part here, against the stand-in Hub: no token box needed."""
    signed_in = Client(app_url, verbose=False, oauth_token=GOOD_TOKEN)
    _, name, _ = train_upload(signed_in, corpus_path("saying_cp949.txt"), minutes=0.1)
    message = signed_in.predict(model=name, repo_id="alice/signed-in", token="", api_name="/push")
    assert "pushed" in message and "config.json" in standin_hub.repos["alice/signed-in"].files
    anonymous = Client(app_url, verbose=False)
    _, name, _ = train_upload(anonymous, corpus_path("saying_cp949.txt"), minutes=0.1)
    with pytest.raises(AppError, match="paste a Hugging Face token"):
        anonymous.predict(model=name, repo_id="alice/nobody", token="", api_name="/push")
    assert GOOD_TOKEN not in app_log.read_text(errors="replace")


def test_train_further_from_a_shipped_model(client, tmp_path):
    """ "Start from": the page fine-tunes a model on an upload; the new model's card names its parent."""
    upload = tmp_path / "headlines.txt"
    upload.write_text((ROOT / "examples" / "held_out.txt").read_text(encoding="utf-8") * 4, encoding="utf-8")
    status, name, archive = train_upload(client, upload, 0.1, level="word", size="auto", start_from="nyt-char")
    assert "ready" in status and name.startswith("headlines-char-")  # the base's level, not the one asked
    with zipfile.ZipFile(archive) as zipped:
        card = zipped.read(f"{name}/README.md").decode("utf-8")
        info = json.loads(zipped.read(f"{name}/training.json"))
    assert info["parent"] == "nyt-char" and "started from | nyt-char" in card
    text = client.predict(model=name, prompt="City", length=40, seed=0, api_name="/generate")
    assert text.startswith("City") and len(text) > 20


def test_train_with_labels_then_write_as_each(client, tmp_path):
    status, name, _ = train_upload(client, two_voices(tmp_path), 0.2, column="text", label="user")
    assert "ready" in status
    for label, letter in (("ann", "a"), ("bo", "b")):
        text = client.predict(
            model=name, prompt="", temperature=0, length=5, stop_at_eos=True, write_as=label, api_name="/generate"
        )
        assert text.strip() and set(text.strip()) == {letter}, (label, text)
        view = client.predict(model=name, text="", temperature=1.0, top_k=2, label=label, api_name="/next_tokens")
        assert view["tokens"][0]["token"] == letter
    with pytest.raises(AppError, match="the model knows no label 'cy'"):
        client.predict(model=name, prompt="", length=5, write_as="cy", api_name="/generate")
    with pytest.raises(AppError, match="trained without labels"):
        client.predict(model="nyt-char", prompt="", length=5, write_as="ann", api_name="/generate")


def test_next_tokens_are_the_models_own_probabilities(client):
    from textgen import load_folder, next_tokens
    from textgen.cowrite import prime_text

    result = client.predict(model="nyt-char", text="Senate", temperature=0.7, top_k=5, api_name="/next_tokens")
    loaded = load_folder(ROOT / "checkpoints" / "nyt-char")
    logits, _ = prime_text(loaded.model, loaded.tokenizer, "Senate")
    expected = next_tokens(logits, loaded.tokenizer, 0.7, 5).to_dict()
    assert [t["token"] for t in result["tokens"]] == [t["token"] for t in expected["tokens"]]
    assert [t["probability"] for t in result["tokens"]] == pytest.approx(
        [t["probability"] for t in expected["tokens"]], abs=1e-4
    )
    assert result["entropy_bits"] == pytest.approx(expected["entropy_bits"], abs=1e-3)
    with pytest.raises(AppError, match="temperature must be a number from 0 to 2"):
        client.predict(model="nyt-char", text="Senate", temperature=5, top_k=5, api_name="/next_tokens")


def test_anonymous_calls_create_no_session_folders(tmp_path):
    """300 REST calls of Stop and a few of Generate, with no state of their own, leave no session
    folder behind; loading a model zip (which stores something) makes one."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    archive = tmp_path / "nyt-char.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for file in (ROOT / "checkpoints" / "nyt-char").iterdir():
            bundle.write(file, file.name)
    with running_app({"TMPDIR": str(scratch)}) as url:
        for _ in range(300):
            assert "event: complete" in rest_call(url, "stop", [])
        for _ in range(3):
            assert "event: complete" in rest_call(
                url, "generate", ["nyt-char", "A", 0.8, 10, 0, 1.0, 1, 1, False, ""]
            )
        assert not list(scratch.glob("textgen-session-*"))
        Client(url, verbose=False).predict(path=handle_file(str(archive)), api_name="/load_zip")
        assert len(list(scratch.glob("textgen-session-*"))) == 1


def test_a_chat_export_trained_as_conversations_answers_through_chat(client, tmp_path):
    """Train tab's "Read as conversations" on a WhatsApp export, then /chat: the reply is Bob's turn,
    with nothing of the chat's machinery in it; a model of single documents cannot chat."""
    found = client.predict(path=handle_file(str(ROOT / "examples" / "whatsapp.txt")), api_name="/inspect_upload")
    conversations_box = found[-1]  # the panel offers the reading for a chat
    assert conversations_box.get("visible") is True
    status, name, archive = train_upload(client, ROOT / "examples" / "whatsapp.txt", 0.15, conversations=True)
    assert "ready" in status
    with zipfile.ZipFile(archive) as zipped:
        info = json.loads(zipped.read(f"{name}/training.json"))
    assert info["conversations"]["gap_minutes"] == 180.0 and list(info["labels"]["documents"]) == [
        "Alice",
        "Bob",
        "Chen",
    ]
    conversation = [{"speaker": "Alice", "text": "Are we still on for lunch?"}]
    reply = client.predict(
        model=name, conversation=conversation, reply_as="Bob", temperature=0.7, seed=2, api_name="/chat"
    )
    assert reply["speaker"] == "Bob" and reply["text"].strip()
    assert not re.search(r"[\U00100000-\U0010fffd]|\d{1,2}/\d{1,2}/\d{2}|Alice:|Chen:", reply["text"])
    with pytest.raises(AppError, match="not trained on conversations"):
        client.predict(model="nyt-char", conversation=conversation, api_name="/chat")

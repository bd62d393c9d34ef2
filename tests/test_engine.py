"""The decoding engine: requests join and leave one running batch, each with its own settings and
random stream, and a seeded request writes the same text alone as among many."""

from __future__ import annotations

import threading

import pytest
import torch
from conftest import ROOT

from textgen import SamplingSettings, generate, load_folder
from textgen.engine import DecodingEngine
from textgen.sampling import stream_texts

SHIPPED_CHAR = ROOT / "checkpoints" / "nyt-char"


@pytest.fixture(scope="module")
def shipped():
    return load_folder(SHIPPED_CHAR)


def read_all(jobs: list, prompts: list[str]) -> list[list[str]]:
    """Each job read by its own thread, as each page's request reads its own."""
    results: list = [None] * len(jobs)

    def reader(i):
        *_, texts = stream_texts(jobs[i].batches(), prompts[i])
        results[i] = texts

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def crowd_settings(i: int) -> dict:
    return {
        "temperature": [0.2, 0.5, 1.0, 1.2][i % 4],
        "length": 40 + 13 * (i % 7),
        "top_k": [0, 5, 20][i % 3],
        "top_p": [1.0, 0.9][i % 2],
        "num_samples": 1 + i % 3,
        "stop_at_eos": i % 5 == 0,
        "seed": 100 + i,
    }


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_a_seeded_request_writes_the_same_alone_and_among_30_others(shipped, dtype):
    """bf16: the weights the app decodes with on a CPU with native bf16 (the engine's own copy)."""
    engine = DecodingEngine(shipped.model, shipped.tokenizer, dtype=dtype)
    model = engine.model
    assert model.head.weight.dtype == dtype and shipped.model.head.weight.dtype == torch.float32
    target = {"temperature": 0.8, "length": 200, "top_k": 40, "num_samples": 2, "seed": 7}
    alone = generate(model, shipped.tokenizer, "Senate", SamplingSettings.of(**target))
    prompts = ["The", "How", "A", "Trump", "New York", "Why"] * 5
    jobs = [engine.submit(p, SamplingSettings.of(**crowd_settings(i))) for i, p in enumerate(prompts[:15])]
    jobs.append(engine.submit("Senate", SamplingSettings.of(**target)))  # joins while the others run
    jobs += [
        engine.submit(p, SamplingSettings.of(**crowd_settings(i))) for i, p in enumerate(prompts[15:], start=15)
    ]
    texts = read_all(jobs, [*prompts[:15], "Senate", *prompts[15:]])
    assert [t[len("Senate") :] for t in texts[15]] == alone
    for i, prompt in enumerate(prompts[:15]):  # the others got theirs too, as if each were alone
        assert texts[i] is not None and all(t.startswith(prompt) for t in texts[i])
        direct = generate(model, shipped.tokenizer, prompt, SamplingSettings.of(**crowd_settings(i)))
        assert [t[len(prompt) :] for t in texts[i]] == direct


def test_a_reader_that_stops_leaves_the_batch_and_the_others_finish(shipped):
    engine = DecodingEngine(shipped.model, shipped.tokenizer)
    leaver = engine.submit("The", SamplingSettings.of(length=500, seed=1))
    stayer = engine.submit("How", SamplingSettings.of(length=120, seed=2))
    for count, _ in enumerate(leaver, 1):
        if count == 5:
            break  # the page closed: the iterator is dropped
    assert leaver.cancelled.is_set()
    *_, texts = stream_texts(stayer.batches(), "How")
    assert texts == [
        "How" + generate(shipped.model, shipped.tokenizer, "How", SamplingSettings.of(length=120, seed=2))[0]
    ]


def test_a_full_batch_makes_later_requests_wait_their_turn(shipped):
    engine = DecodingEngine(shipped.model, shipped.tokenizer, max_rows=4)
    jobs = [engine.submit("The", SamplingSettings.of(length=60, num_samples=2, seed=i)) for i in range(6)]
    assert max(engine.ahead_of(job) for job in jobs) >= 1  # not all fit at once
    texts = read_all(jobs, ["The"] * 6)
    assert all(len(t) == 2 and all(s.startswith("The") for s in t) for t in texts)
    assert texts[5] == [
        "The" + s
        for s in generate(
            shipped.model, shipped.tokenizer, "The", SamplingSettings.of(length=60, num_samples=2, seed=5)
        )
    ]


def test_bad_settings_are_refused_at_submit(shipped):
    from textgen import GenerationError

    engine = DecodingEngine(shipped.model, shipped.tokenizer)
    with pytest.raises(GenerationError, match="temperature"):
        engine.submit("The", SamplingSettings.of(temperature=-1))


def test_a_reader_is_woken_once_per_pace_not_once_per_token(shipped):
    engine = DecodingEngine(shipped.model, shipped.tokenizer)
    job = engine.submit("The", SamplingSettings.of(length=150, seed=3))
    job.pace = lambda: 60.0  # far longer than the request takes: only its end wakes the reader again
    batches = list(job.batches())
    assert 1 <= len(batches) <= 2 and sum(len(batch) for batch in batches) == 150
    *_, texts = stream_texts(batches, "The")
    assert texts == [
        "The" + generate(shipped.model, shipped.tokenizer, "The", SamplingSettings.of(length=150, seed=3))[0]
    ]


def test_the_pace_grows_with_the_crowd(shipped):
    engine = DecodingEngine(shipped.model, shipped.tokenizer)
    alone = engine.pace()
    jobs = [engine.submit("The", SamplingSettings.of(length=2000, seed=i)) for i in range(60)]
    crowded = engine.pace()
    for job in jobs:
        job.cancel()
    assert crowded > alone

"""train.py and `python -m textgen`: output of good runs, one clear line for each bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT, corpus_path

import train
from textgen import cli

SHIPPED_CHAR = str(ROOT / "checkpoints" / "nyt-char")


def run_main(main, argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def assert_one_line_error(code, err, expected):
    assert code == 2
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    assert expected in lines[-1], err
    assert "error:" in lines[-1]


@pytest.mark.parametrize(
    ("content", "name", "extra", "expected"),
    [
        (b"", "empty.txt", [], "the corpus is empty"),
        (b"  \n\t\n  \n", "blank.txt", [], "the corpus is empty"),
        (bytes(range(256)) * 30, "blob.txt", [], "binary"),
        (b"id,score\n1,2\n", "table.csv", [], "pick a text column; the CSV has: id, score"),
        (b"id,text\n1,hello\n", "table.csv", ["--column", "body"], "no column 'body'; it has: id, text"),
        (b"one short line\nanother\n", "small.txt", [], "needs at least 2080 characters"),
    ],
)
def test_train_bad_corpora(tmp_path, capsys, content, name, extra, expected):
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = run_main(train.main, ["--corpus", str(path), "--out", str(tmp_path / "out"), *extra], capsys)
    assert_one_line_error(code, err, expected)
    assert not (tmp_path / "out").exists()  # nothing written for a failed run


def test_train_refuses_to_overwrite_and_bad_numbers(tmp_path, capsys):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    corpus = corpus_path("saying_cp949.txt")
    code, _, err = run_main(train.main, ["--corpus", str(corpus), "--out", str(out)], capsys)
    assert code == 2 and "is not empty" in err
    assert (out / "precious.txt").read_text() == "keep me"
    for flag, value in [("--epochs", "0"), ("--hidden-size", "0"), ("--dropout", "1.5"), ("--max-minutes", "-1")]:
        code, _, err = run_main(
            train.main, ["--corpus", str(corpus), "--out", str(tmp_path / "n"), flag, value], capsys
        )
        assert code == 2 and flag in err
    code, _, err = run_main(
        train.main, ["--corpus", "nyt", "--data-dir", str(tmp_path), "--out", str(tmp_path / "m")], capsys
    )
    assert_one_line_error(code, err, "kaggle.com/datasets/aashita/nyt-comments")


@pytest.mark.slow
def test_train_korean_cp949_then_generate_korean(tmp_path, capsys):
    out = tmp_path / "sayings"
    argv = [
        "--corpus",
        str(corpus_path("saying_cp949.txt")),
        "--out",
        str(out),
        "--epochs",
        "4",
        "--hidden-size",
        "128",
        "--eval-every",
        "50",
        "--sample-prompt",
        "사랑은",
        "--corpus-name",
        "Korean sayings (속담)",
        "--ema",
        "0.9",
    ]
    train.main(argv)
    printed = capsys.readouterr().out
    assert "done (" in printed and "bits/char" in printed
    info = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert info["corpus"] == "Korean sayings (속담)"  # the name the page's Corpus list shows
    # a regulariser given is kept; the rest are sizing's for 4 passes (only the weight decay)
    assert info["train_config"]["ema"] == 0.9 and info["train_config"]["weight_drop"] == 0
    assert info["train_config"]["weight_decay"] == 0.1
    assert info["metrics"]["bits_per_char"] < info["unigram"]["bits_per_char"]
    cli.main(
        [
            "generate",
            "--model",
            str(out),
            "--prompt",
            "사랑은",
            "--temperature",
            "0.5",
            "--length",
            "60",
            "--seed",
            "3",
        ]
    )
    text = capsys.readouterr().out
    assert text.startswith("사랑은")
    assert sum("가" <= ch <= "힣" for ch in text) > 20


def test_generate_shipped_models_and_evaluate(tmp_path, capsys):
    cli.main(["generate", "--model", SHIPPED_CHAR, "--prompt", "Trump", "--temperature", "0", "--length", "40"])
    first = capsys.readouterr().out
    cli.main(["generate", "--model", "nyt-char", "--prompt", "Trump", "--temperature", "0", "--length", "40"])
    assert capsys.readouterr().out == first  # the name the page lists it under
    cli.main(["generate", "--model", SHIPPED_CHAR, "--prompt", "Trump", "--temperature", "0", "--length", "40"])
    assert capsys.readouterr().out == first and first.startswith("Trump")
    cli.main(
        [
            "generate",
            "--model",
            str(ROOT / "checkpoints" / "nyt-word"),
            "--prompt",
            "The",
            "--num-samples",
            "2",
            "--top-k",
            "10",
            "--top-p",
            "0.9",
            "--length",
            "12",
            "--seed",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert out.count("--- sample") == 2
    text = tmp_path / "heldout.txt"
    text.write_text("Senate Passes a Budget Bill\nA New Look at the Old Economy\n", encoding="utf-8")
    cli.main(["evaluate", "--model", SHIPPED_CHAR, "--text", str(text)])
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics) >= {"loss", "perplexity", "bits_per_char", "tokens", "characters"}
    assert metrics["characters"] == len("Senate Passes a Budget Bill") + len("A New Look at the Old Economy") + 2
    code, _, err = run_main(
        cli.main, ["evaluate", "--model", SHIPPED_CHAR, "--text", str(text), "--label-column", "x"], capsys
    )
    assert_one_line_error(code, err, "the model was trained without labels; evaluate without --label-column")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--temperature", "-1"], "temperature must be a number from 0 to 2"),
        (["--temperature", "1000"], "temperature must be a number from 0 to 2"),
        (["--top-k", str(2**63)], "top-k must be 0 (off) or a number of tokens up to 500,000"),
        (["--length", "0"], "length must be between 1 and"),
        (["--length", "1000000"], "length must be between 1 and"),
        (["--top-p", "0"], "top-p must be in (0, 1]"),
        (["--top-p", "1.5"], "top-p must be in (0, 1]"),
        (["--prompt", "한국어만"], "knows none of the seed text"),
    ],
)
def test_generate_bad_settings(capsys, args, expected):
    code, _, err = run_main(cli.main, ["generate", "--model", SHIPPED_CHAR, "--prompt", "a", *args], capsys)
    assert_one_line_error(code, err, expected)


def test_model_folder_missing_files(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    code, _, err = run_main(cli.main, ["generate", "--model", str(tmp_path), "--prompt", "a"], capsys)
    assert_one_line_error(code, err, "missing model.safetensors, tokenizer.json")
    code, _, err = run_main(cli.main, ["generate", "--model", str(tmp_path / "nope"), "--prompt", "a"], capsys)
    assert_one_line_error(code, err, "no such model folder")


@pytest.mark.slow
def test_no_traceback_end_to_end(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    for command in (
        [sys.executable, "train.py", "--corpus", str(empty), "--out", str(tmp_path / "o")],
        [sys.executable, "-m", "textgen", "generate", "--model", SHIPPED_CHAR, "--temperature", "-2"],
    ):
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_resume_keeps_the_saved_settings(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["--corpus", str(corpus_path("saying_cp949.txt")), "--hidden-size", "32", "--eval-every", "5"]
    train.main([*base, "--out", str(out), "--epochs", "2"])
    first = capsys.readouterr().out.splitlines()[-1]
    train.main(["--resume", str(out)])  # no flags: the run was complete, so nothing more to do
    again = capsys.readouterr().out.splitlines()[-1]
    steps = first.split(" after ")[1].split(" steps")[0]
    assert f"after {steps} steps" in again
    train.main(["--resume", str(out), "--epochs", "3"])  # a flag given now extends it
    longer = capsys.readouterr().out.splitlines()[-1]
    assert int(longer.split(" after ")[1].split(" steps")[0]) > int(steps)


def test_train_shows_the_examples_as_the_file_has_them(tmp_path, capsys):
    """The page's summary is Markdown (its examples escaped); the terminal gets the text itself."""
    corpus = tmp_path / "license.txt"
    corpus.write_text(
        "".join(f"Copyright {i} Inc. <https://fsf.org/>\n& friends\n\n" for i in range(30)), encoding="utf-8"
    )
    train.main(
        [
            "--corpus",
            str(corpus),
            "--out",
            str(tmp_path / "m"),
            "--max-steps",
            "1",
            "--hidden-size",
            "16",
            "--batch-size",
            "4",
            "--seq-len",
            "16",
        ]
    )
    printed = capsys.readouterr().out
    assert "30 documents (paragraphs, blank lines between them)" in printed
    assert "example: Copyright 0 Inc. <https://fsf.org/> ⏎ & friends" in printed

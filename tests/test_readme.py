"""The README's command-line examples run as written: outputs go to a temporary folder, training is
cut to 5 steps (--max-steps 5 added), and the two lines that need the real Hub are left out."""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys

import pytest
from conftest import CORPORA, ROOT

pytestmark = pytest.mark.slow


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Command line") :]
    block = section[section.index("```bash") + len("```bash") : section.index("```", section.index("```bash") + 7)]
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_the_readme_lists_its_commands():
    commands = readme_commands()
    assert len(commands) >= 10 and sum(c.startswith("python -m textgen ") for c in commands) >= 4


def test_readme_commands_run_as_written(tmp_path):
    if not CORPORA.exists():
        pytest.skip("the README's NYT and Nietzsche examples read ../shared/corpora")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1", "HF_HUB_OFFLINE": "1"}
    for command in readme_commands():
        if "you/" in command:
            continue  # needs the real Hub (and a token): tested against the stand-in in test_hub.py
        words = shlex.split(
            command.replace("runs/", f"{tmp_path}/runs/").replace("exported/", f"{tmp_path}/exported/")
        )
        if words[0] == "torchrun":
            words = [sys.executable, "-m", "torch.distributed.run", *words[1:]]
        elif words[0] == "python":
            words = [sys.executable, *words[1:]]
        if "train.py" in words and "--resume" not in words:
            words += ["--max-steps", "5"]
        elif "--resume" in words:
            words += ["--max-steps", "10"]
        result = subprocess.run(words, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{command}\n{result.stderr[-2000:]}"


def test_the_library_example_runs_as_written(capsys):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```python", text.index("As a library")) + len("```python")
    exec(compile(text[start : text.index("```", start)], "README.md", "exec"), {})
    texts = ast.literal_eval(capsys.readouterr().out)  # the example prints the list of samples
    assert len(texts) == 2 and all(len(text) > 60 for text in texts) and texts[0] != texts[1]

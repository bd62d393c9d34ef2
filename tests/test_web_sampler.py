"""The exported page's sampler (textgen/web/sampler.js, run by Node) chooses the token Python's
choose_tokens chooses, for the same logits, settings and random number: top-k, top-p, temperature 0,
ties, and `<unk>` never written."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import torch
from conftest import ROOT

from textgen.sampling import RowSettings, choose_tokens

NODE = shutil.which("node")
SAMPLER = ROOT / "textgen" / "web" / "sampler.js"
RUN = """
const { choose } = require(process.argv[1]);
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(cases.map((c) => choose(c.logits, c.temperature, c.topK, c.topP, () => c.u))));
"""


def cases(count: int = 400) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    made = []
    for i in range(count):
        vocab = [5, 30, 300][i % 3]
        logits = torch.randn(vocab, generator=generator, dtype=torch.float64) * [0.5, 2.0, 6.0][i % 5 % 3]
        if i % 7 == 0:
            logits[3:6] = logits.max()  # ties at the top
        made.append(
            {
                "logits": logits.tolist(),
                "temperature": [0.0, 0.3, 1.0, 1.7][i % 4],
                "topK": [0, 1, 3, 20][i // 4 % 4],
                "topP": [1.0, 0.9, 0.5, 0.05][i // 16 % 4],
                "u": float(torch.rand(1, generator=generator, dtype=torch.float64)),
            }
        )
    return made


@pytest.mark.skipif(NODE is None, reason="no Node.js here to run the page's sampler")
def test_the_page_chooses_what_python_chooses():
    given = cases()
    done = subprocess.run(
        [NODE, "-e", RUN, str(SAMPLER)], input=json.dumps(given), capture_output=True, text=True, check=True
    )
    in_the_page = json.loads(done.stdout)
    in_python = []
    for case in given:
        rows = RowSettings(
            torch.tensor([[case["temperature"]]], dtype=torch.float64),
            torch.tensor([case["topK"]]),
            torch.tensor([case["topP"]], dtype=torch.float64),
        )
        logits = torch.tensor([case["logits"]], dtype=torch.float64)
        chosen, _ = choose_tokens(logits, rows, torch.tensor([case["u"]], dtype=torch.float64), unk_id=1)
        in_python.append(int(chosen))
    assert 1 not in in_the_page  # <unk>, never
    assert in_the_page == in_python

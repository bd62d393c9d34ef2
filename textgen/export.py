"""Run a model elsewhere: its one-step function as ONNX (onnxruntime, onnxruntime-web, phones).

The exported graph is what the sampler runs for every token: (tokens, h, c) -> (logits, h, c),
with a dynamic batch, so one file serves one stream or many. Sampling itself (temperature, top-k,
the seed text) stays with the caller: the vocabulary (tokenizer.json) and config.json go beside
it, and README.md there says how to run it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from .checkpoints import CONFIG_FILE, TOKENIZER_FILE, LoadedModel
from .errors import CheckpointError

ONNX_FILE = "model.onnx"
OPSET = 18
USAGE = """# {name} as ONNX

`model.onnx` is one step of the LSTM: inputs `tokens` (int64, [batch]), `h` and `c` (float32,
[{layers}, batch, {hidden}]); outputs `logits` ([batch, {vocab}]) and the new `h_out`, `c_out`.
Start from zeros for `h` and `c` and feed `<eos>` (id {eos}) first, then the seed text's tokens, then
your sampled tokens one step at a time; after writing `<eos>`, set `h` and `c` to zeros again (a new
document starts from the zero state, as in training). `tokenizer.json` maps tokens to text (`vocab`: id -> token;
char level: one character each; word level: each token carries its leading space).

```python
import json, numpy as np, onnxruntime as ort
session = ort.InferenceSession("model.onnx")
vocab = json.load(open("tokenizer.json"))["vocab"]
h = c = np.zeros(({layers}, 1, {hidden}), np.float32)
token, text = np.array([{eos}]), ""
for _ in range(200):
    logits, h, c = session.run(None, {{"tokens": token, "h": h, "c": c}})
    token = logits.argmax(-1)            # greedy; sample from softmax(logits / T) for variety
    if token[0] == {eos}: break
    text += vocab[token[0]]
print(text)
```
"""


class OneStep(nn.Module):
    """The sampler's step as a module with plain tensors in and out, for tracing."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        logits, (h, c) = self.model.step(tokens, (h, c))
        return logits, h, c


def writable_out_dir(out_dir: str | Path, force: bool = False) -> Path:
    """The folder an export may write into: a new or empty one (with `force`, one holding files, which
    are overwritten), never a link to one, which would write wherever it points."""
    out_dir = Path(out_dir)
    if out_dir.is_symlink():
        raise CheckpointError(
            "the output folder is a link (to {target}): export into a real folder", target=os.readlink(out_dir)
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise CheckpointError("the output is a file, not a folder").within(str(out_dir))
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise CheckpointError(
            "the output folder holds files already: export into a new folder, or pass --force to overwrite them"
        ).within(str(out_dir))
    return out_dir


def export_onnx(loaded: LoadedModel, out_dir: str | Path, name: str = "model") -> Path:
    """Write model.onnx, tokenizer.json, config.json and a README.md into `out_dir`."""
    try:
        import onnxscript  # noqa: F401  (torch's dynamo exporter needs it)
    except ImportError:
        raise CheckpointError(
            "ONNX export needs the onnx and onnxscript packages: pip install onnx onnxscript"
        ) from None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = loaded.model.config
    model = loaded.model.float().cpu().eval()
    batch = 2  # an example; the exported batch is dynamic
    state_shape = (config.num_layers, batch, config.hidden_size)
    example = (torch.zeros(batch, dtype=torch.long), torch.zeros(state_shape), torch.zeros(state_shape))
    rows = torch.export.Dim("batch", min=1, max=4096)
    with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals, not the user's to act on
        program = torch.onnx.export(
            OneStep(model).eval(),
            example,
            dynamo=True,
            input_names=["tokens", "h", "c"],
            output_names=["logits", "h_out", "c_out"],
            dynamic_shapes={"tokens": {0: rows}, "h": {1: rows}, "c": {1: rows}},
            opset_version=OPSET,
            verbose=False,
        )
    program.save(str(out_dir / ONNX_FILE))
    (out_dir / TOKENIZER_FILE).write_text(
        json.dumps(loaded.tokenizer.to_dict(), ensure_ascii=False), encoding="utf-8"
    )
    (out_dir / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2), encoding="utf-8")
    usage = USAGE.format(
        name=name,
        layers=config.num_layers,
        hidden=config.hidden_size,
        vocab=config.vocab_size,
        eos=loaded.tokenizer.eos_id,
    )
    (out_dir / "README.md").write_text(usage, encoding="utf-8")
    return out_dir / ONNX_FILE

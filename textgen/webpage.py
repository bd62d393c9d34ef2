"""A model as a web page that writes in the visitor's browser: a folder that is a static Hugging Face
Space (free for everyone), or any static site.

The folder holds the model's one-step function as ONNX (export.py), its tokenizer and config, the
page (index.html, a Web Worker that samples token by token, so the tab never freezes), and
onnxruntime-web's WebAssembly build, taken from its npm package and shipped inside the folder: no
CDN, the page works offline. The npm package is downloaded once, checked against its published
sha512, and kept in the cache (`TEXTGEN_ORT_WEB` names an unpacked copy instead, for machines that
cannot reach the registry).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
import re
import shutil
import tarfile
import urllib.request
from importlib import resources
from pathlib import Path

from .checkpoints import LoadedModel
from .errors import CheckpointError
from .export import export_onnx
from .hubref import is_repo_ref, parse_model_ref
from .sampling import SamplingSettings, generate
from .tokenizer import WORD_FORMAT, LegacyWordTokenizer

ORT_VERSION = "1.31.1"
ORT_TARBALL = f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{ORT_VERSION}.tgz"
ORT_SHA512 = "5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw=="
# The WebAssembly build alone: its script (for a classic worker's importScripts), the loader it
# imports and the binary. Single-threaded: a static Space is not cross-origin isolated.
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
ORT_ENV = "TEXTGEN_ORT_WEB"
DOWNLOAD_SECONDS = 120
PAGE_FILES = ("index.html", "worker.js", "sampler.js")
MAX_SEED_CHARACTERS = 40

SPACE_CARD = """---
title: "{title_yaml}"
emoji: ✍️
colorFrom: indigo
colorTo: gray
sdk: static
app_file: index.html
pinned: false
short_description: An LSTM that writes in your browser (textgen)
{models}---

# {title}

A {level}-level LSTM language model trained with textgen on **{corpus}**, running
in your browser with [onnxruntime-web](https://www.npmjs.com/package/onnxruntime-web) {ort_version}
(MIT License, Microsoft; its WebAssembly build is in `ort/`). Nothing is sent anywhere: the model,
its tokenizer and the runtime are files of this Space.

Open the page, type a seed, pick a temperature and press Write. A link reproduces a text: the
settings can come from the address, e.g. `?seed=The&temperature=0&length=60&autostart=1`
(also `topk`, `topp`, `rseed`, the random seed, and `label` for a model trained with labels). At
temperature 0 it writes the likeliest token each time:
the same text as `textgen generate --model MODEL --prompt The --temperature 0 --length 60 --precision fp32`.

{metrics}
Files: `index.html`, `worker.js` and `sampler.js` (the page and its sampler), `model.onnx` (one step of the LSTM),
`tokenizer.json`, `config.json`, `ort/` (onnxruntime-web).
"""


def ort_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "textgen" / f"onnxruntime-web-{ORT_VERSION}"


def ort_files() -> Path:
    """A folder holding ORT_FILES: $TEXTGEN_ORT_WEB, or the cache, filled from the npm registry once."""
    if os.environ.get(ORT_ENV):
        folder = Path(os.environ[ORT_ENV])
        missing = [name for name in ORT_FILES if not (folder / name).is_file()]
        if missing:
            raise CheckpointError(
                "{folder} lacks {files} (an unpacked onnxruntime-web dist/)",
                folder=ORT_ENV,
                files=", ".join(missing),
            )
        return folder
    folder = ort_cache_dir()
    if all((folder / name).is_file() for name in ORT_FILES):
        return folder
    try:
        with urllib.request.urlopen(ORT_TARBALL, timeout=DOWNLOAD_SECONDS) as response:
            tarball = response.read()
    except OSError as err:
        raise CheckpointError(
            "could not download onnxruntime-web {version} from the npm registry ({reason}); unpack its dist/ "
            "folder somewhere and set {env} to it",
            version=ORT_VERSION,
            reason=getattr(err, "reason", err),
            env=ORT_ENV,
        ) from None
    if base64.b64encode(hashlib.sha512(tarball).digest()).decode() != ORT_SHA512:
        raise CheckpointError(
            "the onnxruntime-web {version} download does not match its published checksum", version=ORT_VERSION
        )
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for name in ORT_FILES:
            member = archive.extractfile(f"package/dist/{name}")
            (staging / name).write_bytes(member.read())
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder


def export_web(
    loaded: LoadedModel, out_dir: str | Path, name: str = "model", model_repo: str | None = None
) -> Path:
    """Write the web page folder for `loaded` into `out_dir`; returns the folder. `model_repo`: the model's
    Hub repo, for the Space's card (the model's own page then lists the Space); a model loaded from the
    Hub names its own."""
    tokenizer = loaded.tokenizer
    if isinstance(tokenizer, LegacyWordTokenizer):
        raise CheckpointError(
            "this word model predates lossless word tokens (format {format}); retrain it to make a web page",
            format=WORD_FORMAT,
        )
    out_dir = Path(out_dir)
    export_onnx(loaded, out_dir, name=name)
    runtime = out_dir / "ort"
    runtime.mkdir(exist_ok=True)
    for file in ORT_FILES:
        shutil.copyfile(ort_files() / file, runtime / file)
    values = {
        "title": html.escape(loaded.info.title or name),
        "corpus": html.escape(loaded.info.corpus),
        "labels": script_json(loaded.info.labels.names if loaded.info.labels else []),
        "seed": html.escape(first_word(loaded)),
    }
    for file in PAGE_FILES:
        text = resources.files("textgen").joinpath("web", file).read_text(encoding="utf-8")
        if file == "index.html":  # in one pass: a value holding "{{corpus}}" is shown, never filled in again
            text = re.sub(r"\{\{(\w+)\}\}", lambda found: values[found[1]], text)
        (out_dir / file).write_text(text, encoding="utf-8")
    (out_dir / "README.md").write_text(space_card(loaded, name, model_repo), encoding="utf-8")
    return out_dir


def first_word(loaded: LoadedModel) -> str:
    """The page's first seed text, in the model's own language: the first word it writes greedily."""
    (text,) = generate(loaded.model, loaded.tokenizer, "", SamplingSettings.of(temperature=0, length=40))
    words = text.split("\n")[0].split()
    return words[0][:MAX_SEED_CHARACTERS] if words else ""


def script_json(value: object) -> str:
    """`value` as a JavaScript literal inside a <script>: JSON with "<" escaped, so that no label can
    close the script."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def space_card(loaded: LoadedModel, name: str, model_repo: str | None = None) -> str:
    """The static Space's README: its front matter and what the page is."""
    info = loaded.info
    repo = model_repo or (parse_model_ref(loaded.source)[0] if is_repo_ref(loaded.source) else None)
    metrics = ""
    if info.metrics is not None:
        metrics = (
            f"Held out: {info.metrics.bits_per_char:.3f} bits per character on {info.val_documents:,} "
            "documents it never trained on.\n"
        )
    title = (info.title or name).replace("\n", " ")
    return SPACE_CARD.format(
        title_yaml=json.dumps(title, ensure_ascii=False)[1:-1],  # a JSON string is a YAML double-quoted one
        title=title,
        level=info.level,
        corpus=info.corpus,
        ort_version=ORT_VERSION,
        metrics=metrics,
        models=f"models:\n- {repo}\n" if repo else "",
    )

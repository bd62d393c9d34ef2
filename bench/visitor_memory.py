"""What visitors can make a public server hold: the app's resident memory (RSS) as one visitor loads
model zips, and as anonymous API clients generate.

    python bench/visitor_memory.py [--generations 100] [--length 500]

It starts `app.py` (offline, its own TMPDIR) and reads the server's RSS from /proc:

1. three 1 MB zips of a 1 GB model of zeros (width 5,760: under the command line's 1,024 MB limit,
   over the page's 256 MB) loaded by one visitor, then a generation;
2. three zips of 176 MB models (under the page's limit) with the visitors' budget set to 400 MB:
   the third lets the first go;
3. `--generations` anonymous /generate calls (a new client each: a new Gradio session each) of
   `--length` tokens x 4 samples: RSS per call.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import torch
from common import ROOT, report
from safetensors.torch import save_file

sys.path.insert(0, str(ROOT / "tests"))
from apphelpers import free_port

from textgen import CharTokenizer, LSTMConfig


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def zero_model_zip(folder: Path, width: int, name: str) -> Path:
    """A model zip whose weights are all zeros (they deflate to almost nothing)."""
    tokenizer = CharTokenizer.fit(["abcdefghijklmnopqrstuvwxyz "])
    config = LSTMConfig(vocab_size=len(tokenizer), embedding_dim=width, hidden_size=width)
    model_dir = folder / name
    model_dir.mkdir(parents=True)
    shapes = {
        "embedding.weight": (config.vocab_size, width),
        "lstm.weight_ih_l0": (4 * width, width),
        "lstm.weight_hh_l0": (4 * width, width),
        "lstm.bias_ih_l0": (4 * width,),
        "lstm.bias_hh_l0": (4 * width,),
        "head.bias": (config.vocab_size,),
    }
    save_file({key: torch.zeros(shape) for key, shape in shapes.items()}, str(model_dir / "model.safetensors"))
    (model_dir / "config.json").write_text(json.dumps(config.to_dict()), encoding="utf-8")
    tokenizer.save(model_dir / "tokenizer.json")
    archive = folder / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for file in model_dir.iterdir():
            zipped.write(file, f"{name}/{file.name}")
    for file in model_dir.iterdir():
        file.unlink()
    return archive


def start_app(tmp: Path, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "TMPDIR": str(tmp),
        "GRADIO_SERVER_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        **env,
    }
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    from gradio_client import Client

    for _ in range(180):
        try:
            Client(f"http://127.0.0.1:{port}/", verbose=False)
            return server, f"http://127.0.0.1:{port}/"
        except Exception:
            time.sleep(1)
    raise RuntimeError("the app did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--length", type=int, default=500)
    args = parser.parse_args()
    from gradio_client import Client, handle_file

    results = {"command": "python bench/visitor_memory.py " + " ".join(sys.argv[1:])}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        zeros = [zero_model_zip(tmp / "zips", 5760, f"zeros{i}") for i in range(3)]
        results["zero-model zip size, MB"] = round(zeros[0].stat().st_size / 2**20, 2)
        server, url = start_app(tmp, {})
        try:
            client = Client(url, verbose=False)
            client.predict(model="nyt-char", prompt="The", length=50, seed=0, api_name="/generate")
            before = rss_mb(server.pid)
            refusals = []
            for archive in zeros:
                try:
                    client.predict(path=handle_file(str(archive)), api_name="/load_zip")
                    refusals.append("loaded")
                except Exception as err:  # the page's one line
                    refusals.append(str(err).splitlines()[0][:160])
            text = client.predict(model="nyt-char", prompt="The", length=50, seed=0, api_name="/generate")
            results["1. three 1 GB zero models"] = {
                "RSS before, MB": round(before, 1),
                "RSS after, MB": round(rss_mb(server.pid), 1),
                "answers": refusals,
                "still generating": len(text) > 40,
            }
            before = rss_mb(server.pid)
            started = time.perf_counter()
            for number in range(args.generations):
                Client(url, verbose=False).predict(
                    model="nyt-char",
                    prompt="The",
                    length=args.length,
                    num_samples=4,
                    seed=number,
                    api_name="/generate",
                )
            after = rss_mb(server.pid)
            results[f"3. {args.generations} anonymous generations of {args.length} x 4 tokens"] = {
                "RSS before, MB": round(before, 1),
                "RSS after, MB": round(after, 1),
                "per generation, MB": round((after - before) / args.generations, 3),
                "seconds": round(time.perf_counter() - started, 1),
            }
        finally:
            server.terminate()
            server.wait(timeout=60)
        results["session folders left after SIGTERM"] = len(list(tmp.glob("textgen-session-*")))

        big = [zero_model_zip(tmp / "big", 2400, f"big{i}") for i in range(3)]  # 2,400 wide: 176 MB
        server, url = start_app(tmp, {"TEXTGEN_VISITOR_MODELS_MB": "400"})
        try:
            client = Client(url, verbose=False)
            client.predict(model="nyt-char", prompt="The", length=50, seed=0, api_name="/generate")
            before = rss_mb(server.pid)
            names, rss = [], []
            for archive in big:
                names.append(client.predict(path=handle_file(str(archive)), api_name="/load_zip"))
                rss.append(round(rss_mb(server.pid), 1))
            try:
                client.predict(model=names[0]["value"], prompt="a", length=5, api_name="/generate")
                first = "still loaded"
            except Exception as err:
                first = str(err).splitlines()[0][:200]
            results["2. three 176 MB models, a 400 MB budget"] = {
                "RSS before, MB": round(before, 1),
                "RSS after each load, MB": rss,
                "the first model, asked for again": first,
            }
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(results)
    report("visitor_memory", results)


if __name__ == "__main__":
    main()

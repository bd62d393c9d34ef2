"""What a page's training run spends beyond its time budget: the seconds a ZeroGPU call must declare
on top of the budget (jobs.OVERHEAD_SECONDS).

    python bench/zerogpu_overhead.py [--minutes 0.5] [--sizes 0.1 1 10]

Runs the page's own training call (jobs.run_job, as app.py's `train_on_device` does inside the GPU
call) on uploads of each size in MB, from scratch and from the shipped English base, and times the
whole call against the training clock it reports: tokenizing the upload, building the model, the
first steps' warm-up, the periodic evaluations, samples, and scoring every held-out document at the
end. The uploads are the shared corpora (Nietzsche, tiny Shakespeare, the NYT headlines) cut or
repeated to size, written as the page receives them: one .txt file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import ROOT, SHAKESPEARE, report

from textgen.checkpoints import load_folder
from textgen.events import Finished
from textgen.jobs import TrainingJob, run_job
from textgen.page.handlers import upload_corpus
from textgen.registry import app_train_config
from textgen.runinfo import RunInfo

CORPORA = ROOT.parent / "shared" / "corpora"


def upload_of(megabytes: float, folder: Path) -> Path:
    """A .txt upload of about `megabytes` MB: the shared English corpora repeated to size."""
    text = "".join((CORPORA / name).read_text(encoding="utf-8") for name in ("nietzsche.txt",))
    text += SHAKESPEARE.read_text(encoding="utf-8")
    size = int(megabytes * 2**20)
    body = (text * (size // len(text) + 1))[:size]
    path = folder / f"upload-{megabytes:g}mb.txt"
    path.write_text(body[: body.rfind("\n") + 1], encoding="utf-8")
    return path


def timed_run(path: Path, minutes: float, base) -> dict:
    """One page run, timed: reading the upload (the page does it before the GPU call), then the call."""
    started = time.perf_counter()
    corpus = upload_corpus(str(path))
    read = time.perf_counter() - started
    config = app_train_config("char", "auto", minutes)
    with tempfile.TemporaryDirectory() as stop:
        job = TrainingJob(corpus.documents, config, RunInfo(corpus=path.name), Path(stop) / "stop", base)
        started = time.perf_counter()
        first_step = None
        for event in run_job(job):
            if first_step is None:
                first_step = time.perf_counter() - started
            if isinstance(event, Finished):
                finished = event
        call = time.perf_counter() - started
    return {
        "upload_mb": round(path.stat().st_size / 2**20, 2),
        "start_from": "english-char" if base is not None else "scratch",
        "budget_seconds": round(60 * minutes, 1),
        "reading_seconds": round(read, 2),
        "call_seconds": round(call, 2),
        "training_seconds": round(finished.elapsed, 2),
        "overhead_seconds": round(call - finished.elapsed, 2),
        "until_first_event_seconds": round(first_step, 2),
        "stopped_because": finished.reason,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=0.5)
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.1, 1.0, 10.0])
    parser.add_argument("--name", default="zerogpu_overhead")
    args = parser.parse_args()
    base = load_folder(ROOT / "checkpoints" / "english-char")
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for megabytes in args.sizes:
            path = upload_of(megabytes, Path(folder))
            for start in (None, base):
                runs.append(timed_run(path, args.minutes, start))
                print(runs[-1], flush=True)
    report(
        args.name,
        {
            "command": f"python bench/zerogpu_overhead.py --minutes {args.minutes:g} --sizes "
            + " ".join(f"{size:g}" for size in args.sizes),
            "runs": runs,
            "largest_overhead_seconds": max(run["overhead_seconds"] for run in runs),
        },
    )


if __name__ == "__main__":
    main()

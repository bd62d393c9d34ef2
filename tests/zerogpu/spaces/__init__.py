"""A stand-in for the `spaces` package with ZeroGPU's contract, for tests/test_zerogpu.py.

With SPACES_ZERO_GPU set, as on a ZeroGPU Space: the main process is told that CUDA is available,
but initialising it raises (and is logged to $ZEROGPU_LOG); a function decorated with `GPU` runs in a
forked worker process, where CUDA is what the machine really has, its arguments and every value it
returns or yields are pickled across, and each call is logged with the worker's and the main
process's ids. Without SPACES_ZERO_GPU the decorator returns the function unchanged, as the real one.

Admission as spaces 0.51.3 does it (zero/client.py `schedule`, zero/configs.json): a call requests its
declared duration times 1.5 (the default `large` GPU's duration_factor) and is refused when the
visitor's quota left is smaller, with spaces' own message, as a gr.Error titled "ZeroGPU quota
exceeded". The quota is $ZEROGPU_QUOTA_SECONDS (unset: unlimited) for the one visitor the tests play,
and each admitted call takes what it requested (the real one takes the time used, which is less).
"""

from __future__ import annotations

import functools
import inspect
import multiprocessing
import os
import pickle
import traceback

import gradio
import torch

ZERO_GPU = os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true")
LOG = os.environ.get("ZEROGPU_LOG")
DURATION_FACTOR = 1.5
QUOTA = {"left": float(os.environ.get("ZEROGPU_QUOTA_SECONDS", "inf"))}
MAIN = os.getpid()
_real = {"is_available": torch.cuda.is_available, "_lazy_init": torch.cuda._lazy_init, "init": torch.cuda.init}


def log(line: str) -> None:
    if LOG:
        with open(LOG, "a", encoding="utf-8") as file:
            file.write(line + "\n")


def _refuse(*args, **kwargs):
    log(f"CUDA initialised in the main process {os.getpid()}")
    raise RuntimeError("ZeroGPU: CUDA must not be initialised outside a @spaces.GPU call")


def _patch_main() -> None:
    torch.cuda.is_available = lambda: True
    torch.cuda._lazy_init = _refuse
    torch.cuda.init = _refuse


def _unpatch() -> None:
    for name, function in _real.items():
        setattr(torch.cuda, name, function)


def _worker(task, args, kwargs, queue, name: str) -> None:
    _unpatch()  # inside the call: the device the machine really has
    log(f"call {name} in worker {os.getpid()} of main {MAIN}; cuda available {torch.cuda.is_available()}")
    try:
        result = task(*args, **kwargs)
        values = result if inspect.isgenerator(result) else [result]
        for value in values:
            queue.put(("value", pickle.dumps(value)))
        queue.put(("end", None))
    except gradio.Error as err:  # the one kind ZeroGPU hands back as it is
        queue.put(("gradio", pickle.dumps(err)))
    except BaseException as err:
        queue.put(("error", pickle.dumps((type(err).__name__, str(err), traceback.format_exc()))))


def GPU(task=None, *, duration=None, size=None):
    if task is None:
        return functools.partial(GPU, duration=duration, size=size)
    if not ZERO_GPU:
        return task

    def calls(*args, **kwargs):
        seconds = duration(*args, **kwargs) if callable(duration) else duration
        requested = round((60 if seconds is None else seconds) * DURATION_FACTOR)
        log(f"schedule {task.__name__} for {seconds} s: {requested} s requested, {QUOTA['left']:g} s left")
        if requested > QUOTA["left"]:
            message = (
                f"You have exceeded your ZeroGPU quota ({requested}s requested vs. {int(QUOTA['left'])}s left). "
                "Try again in 13:02:11. "
            )
            raise gradio.Error(message, title="ZeroGPU quota exceeded", print_exception=False)
        QUOTA["left"] -= requested
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        pickle.dumps((args, kwargs))  # what ZeroGPU sends must pickle
        worker = context.Process(target=_worker, args=(task, args, kwargs, queue, task.__name__), daemon=True)
        worker.start()
        try:
            while True:
                kind, payload = queue.get()
                if kind == "value":
                    yield pickle.loads(payload)
                elif kind == "end":
                    return
                elif kind == "gradio":
                    raise pickle.loads(payload)
                else:
                    name, message, trace = pickle.loads(payload)
                    log(trace)
                    raise RuntimeError(f"ZeroGPU worker error: {name}: {message}")
        finally:
            if worker.is_alive():
                worker.kill()
            worker.join()

    if inspect.isgeneratorfunction(task):
        return functools.wraps(task)(calls)

    @functools.wraps(task)
    def once(*args, **kwargs):
        return next(iter(calls(*args, **kwargs)))

    return once


def gradio_auto_wrap(task):
    """What Gradio calls on every event handler of a Space (SYSTEM=spaces): off unless
    SPACES_GRADIO_AUTO_WRAP is set (spaces' config.py), as here, where it never is."""
    return task


if ZERO_GPU:
    _patch_main()

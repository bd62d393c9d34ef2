"""Where training and generation run and in which precision: the device, whether bf16 autocast
both works and pays off on it, and the weights' precision for generating."""

from __future__ import annotations

import functools

import torch
from torch import nn

from .errors import TrainingError

DECODING_PRECISIONS = ("auto", "fp32", "bf16")


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise TrainingError("unknown device {name!r}; use auto, cpu or cuda", name=name) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda was asked for, but no CUDA GPU is available")
    return device


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 autocast is the better choice here: the hardware does bf16 natively and it works.

    Measured (bench/profile_lstm.py): AMX (Xeon Sapphire Rapids and later) and AVX512-BF16 (AMD
    Zen 4) run oneDNN's bf16 LSTM 1.6-2x faster than fp32; a CPU with AVX-512 but no bf16
    instructions runs it about 2x slower (emulated), and one with AVX2 only cannot run it at all.
    """
    if device.type == "cuda":
        fast = torch.cuda.is_bf16_supported()
    elif device.type == "cpu":
        # torch exposes these hardware checks only privately, hence the getattr.
        fast = any(
            getattr(torch.cpu, check, lambda: False)()
            for check in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
        )
    else:
        fast = False
    return fast and bf16_works(device.type)


@functools.cache
def bf16_works(device_type: str) -> bool:
    """A real probe: one LSTM forward and backward step under bf16 autocast on this device.

    A flag check is not enough: the kernels may lack a bf16 path here (oneDNN on an AVX2-only CPU,
    or capped by ONEDNN_MAX_CPU_ISA) and fail with "could not create a primitive descriptor".
    """
    lstm = nn.LSTM(8, 8, batch_first=True).to(device_type)
    inputs = torch.zeros(2, 3, 8, device=device_type)
    try:
        with torch.autocast(device_type, dtype=torch.bfloat16):
            output, _ = lstm(inputs)
        output.float().sum().backward()
    except RuntimeError:
        return False
    return True


def decoding_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """The weights' dtype for generating: "auto" is bf16 on a CPU that does bf16 natively, else fp32.

    There bf16 weights step a crowd of streams about twice as fast for a negligible change in held-out
    bits per character, and a stream's logits are the same alone or in a batch; without native bf16
    they are slower (BENCHMARKS.md, section 5). int8 dynamic quantization is not offered: it scales
    the activations of a whole batch at once, so a seeded request would write other text in a crowd.
    Not measured on a GPU, so auto keeps fp32 on CUDA.
    """
    if precision not in DECODING_PRECISIONS:  # the CLI and the app check it first
        raise ValueError(f"decoding precision {precision!r} is not one of {DECODING_PRECISIONS}")
    if precision == "bf16" or (precision == "auto" and device.type == "cpu" and native_bf16(device)):
        return torch.bfloat16
    return torch.float32

"""The three run scales every notebook supports.

``smoke``  seconds per notebook, for CI: tiny data, one epoch, small inputs.
``cpu``    minutes on 2 CPU cores: reduced data, inputs and epochs (the default without a GPU).
``paper``  the paper's exact protocol: needs a GPU and the real dataset.
"""

from __future__ import annotations

import os

SCALES: tuple[str, ...] = ("smoke", "cpu", "paper")


def check_scale(scale: str) -> str:
    """Return ``scale`` if it is a known scale name, else raise a ``ValueError`` listing them."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    return scale


def default_scale(data_root: str | os.PathLike | None = None) -> str:
    """``paper`` when CUDA is available and a data root is given, otherwise ``cpu``."""
    import torch

    return "paper" if (data_root and torch.cuda.is_available()) else "cpu"


def default_device() -> str:
    """``cuda`` when available, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX512-BF16 in ``/proc/cpuinfo``'s flags).

    Without them bf16 autocast is emulated and slower than fp32.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = next((line.split(":", 1)[1].split() for line in handle if line.startswith("flags")), [])
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def default_precision(device: str) -> str:
    """The fastest sound precision for ``device``: ``FER_PRECISION`` when set; on CUDA bf16 where the GPU
    supports it, else fp16; on a CPU bf16 where it is native (:func:`cpu_has_fast_bf16`), else fp32."""
    import torch

    chosen = os.environ.get("FER_PRECISION", "").strip()
    if chosen:
        if chosen not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"FER_PRECISION={chosen!r}; expected fp32, bf16 or fp16")
        return chosen
    if str(device).startswith("cuda"):
        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_fast_bf16() else "fp32"

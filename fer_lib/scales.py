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

"""Model outputs: the one rule for finding a model's logits, and the one wrapper for tools that need tensors.

fer_lib models return a logits tensor ``[B, C]`` or a structured output whose ``logits`` field is
the prediction (``PCNNOutput``, ``MANetOutput``: NamedTuples, so also tuples whose first item is
the logits); a second head's predictions, where a model has one, are in ``local_logits``. The
engine, the losses, Grad-CAM and the complexity counters all read outputs through this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn


def logits_of(output: Any) -> torch.Tensor:
    """The prediction logits ``[B, C]`` of a model output.

    Accepted: a tensor; an object with a ``logits`` attribute (NamedTuple, dataclass); a mapping with
    a ``"logits"`` key; a tuple or list whose first item is a tensor. Anything else raises ``TypeError``.
    """
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping):
        if isinstance(output.get("logits"), torch.Tensor):
            return output["logits"]
    elif isinstance(getattr(output, "logits", None), torch.Tensor):
        return output.logits
    elif isinstance(output, Sequence) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise TypeError(
        f"cannot find logits in a model output of type {type(output).__name__}: expected a tensor, an output "
        "with a .logits field or 'logits' key, or a tuple whose first item is the logits"
    )


def local_logits_of(output: Any) -> torch.Tensor | None:
    """A second head's logits (``local_logits`` field or key, or a 2-tuple's second item), else ``None``."""
    if isinstance(output, Mapping):
        return output.get("local_logits")
    if hasattr(output, "local_logits"):
        return output.local_logits
    if isinstance(output, tuple | list) and len(output) == 2 and isinstance(output[0], torch.Tensor):
        return output[1]
    return None


def output_tensors(output: Any) -> list[torch.Tensor]:
    """Every tensor inside an output (tensor, sequence, mapping, dataclass), in a stable order."""
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, tuple | list):
        return [t for item in output for t in output_tensors(item)]
    if isinstance(output, Mapping):
        return [t for key in output for t in output_tensors(output[key])]
    if dataclasses.is_dataclass(output) and not isinstance(output, type):
        return [t for f in dataclasses.fields(output) for t in output_tensors(getattr(output, f.name))]
    return []


class TensorOutput(nn.Module):
    """Wraps a model so its forward returns plain tensors, for tools that need them.

    ``mode="logits"`` returns :func:`logits_of` of the output (Grad-CAM, probability charts);
    ``mode="all"`` returns a tuple of every tensor in it (:func:`output_tensors`), which keeps every
    branch in a traced graph (a tracer could otherwise drop work that does not reach the logits).
    """

    MODES = ("logits", "all")

    def __init__(self, model: nn.Module, mode: str = "logits") -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, got {mode!r}")
        self.model = model
        self.mode = mode

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor | tuple[torch.Tensor, ...]:
        out = self.model(*args, **kwargs)
        if self.mode == "logits":
            return logits_of(out)
        return tuple(output_tensors(out))


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside any number of :class:`TensorOutput` wrappers."""
    while isinstance(model, TensorOutput):
        model = model.model
    return model


__all__ = ["TensorOutput", "local_logits_of", "logits_of", "output_tensors", "unwrap"]

"""Training losses, and the ``build_loss(name, **cfg)`` registry.

Every loss takes ``(output, target)``:

- ``output``: a logits tensor ``[B, C]``, or a structured model output with a ``logits`` field
  (and optionally ``local_logits``), such as :class:`fer_lib.models.pcnn.PCNNOutput`, or a plain
  ``(logits, local_logits)`` tuple.
- ``target``: class indices ``[B]`` (int64) or probability vectors ``[B, C]`` (soft targets,
  rows summing to 1, e.g. FERPlus vote distributions or mixup).

New losses register with :func:`register_loss` (e.g. CM-CNN's soft-label focal loss).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_LOSSES: dict[str, Callable[..., nn.Module]] = {}


def register_loss(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a loss class or builder ``fn(**cfg) -> nn.Module`` under ``name``."""

    def wrap(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _LOSSES and _LOSSES[name] is not builder:
            raise ValueError(f"loss name {name!r} is registered twice")
        _LOSSES[name] = builder
        return builder

    return wrap


def list_losses() -> list[str]:
    """All registered loss names, sorted."""
    return sorted(_LOSSES)


def build_loss(name: str, **cfg: Any) -> nn.Module:
    """Build the registered loss ``name`` with options ``cfg``.

    Built in: ``"ce"`` (cross-entropy), ``"label_smoothing_ce"`` (``smoothing=0.1`` unless given),
    ``"facial_semantic"`` (PCNN's ``alpha * CE(GPN) + beta * CE(LPN)``, ``alpha=12, beta=8``).
    """
    if name not in _LOSSES:
        raise ValueError(f"unknown loss {name!r}; registered losses: {', '.join(list_losses())}")
    try:
        return _LOSSES[name](**cfg)
    except TypeError as err:
        raise ValueError(f"bad options for loss {name!r}: {err}") from err


def split_output(output: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(logits [B, C], local_logits [B, C] | None)`` from a tensor, a structured output or a tuple."""
    if isinstance(output, torch.Tensor):
        return output, None
    if hasattr(output, "logits"):
        return output.logits, getattr(output, "local_logits", None)
    if isinstance(output, (tuple, list)) and len(output) in (1, 2) and isinstance(output[0], torch.Tensor):
        return output[0], (output[1] if len(output) == 2 else None)
    raise TypeError(
        f"expected logits [B, C], an output with a .logits field or a (logits, local_logits) tuple, "
        f"got {type(output).__name__}"
    )


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy of ``logits [B, C]`` against hard ``[B]`` or soft ``[B, C]`` targets."""
    if target.dim() == 2:
        if target.shape != logits.shape:
            raise ValueError(f"soft targets {list(target.shape)} do not match logits {list(logits.shape)}")
        target = target.to(logits.dtype)
    elif target.dim() != 1:
        raise ValueError(
            f"targets must be class indices [B] or probabilities [B, C], got {list(target.shape)}"
        )
    return F.cross_entropy(logits, target, label_smoothing=label_smoothing)


@register_loss("ce")
class CrossEntropy(nn.Module):
    """Cross-entropy on the (main) logits; a structured output's ``local_logits`` are ignored."""

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def forward(self, output: Any, target: torch.Tensor) -> torch.Tensor:
        logits, _ = split_output(output)
        return cross_entropy(logits, target, self.label_smoothing)

    def identity(self) -> dict[str, Any]:
        """What determines this loss (for run-cache keys)."""
        return {"name": "ce", "label_smoothing": self.label_smoothing}


@register_loss("label_smoothing_ce")
def label_smoothing_ce(smoothing: float = 0.1) -> CrossEntropy:
    """Cross-entropy with label smoothing ``smoothing`` (0.1 by default)."""
    return CrossEntropy(label_smoothing=smoothing)


@register_loss("facial_semantic")
class FacialSemanticLoss(nn.Module):
    """PCNN's two-phase facial semantic loss (seed 000, Eq. 5).

    ``L = alpha * CE(logits) + beta * CE(local_logits)``.

    ``logits`` are the GPN's (global) predictions, ``local_logits`` the LPN's (summed region
    predictions). The paper's setting is ``alpha = 12, beta = 8`` (BP); ``alpha = beta = 10`` is
    Table I/II's "certain balance parameters" (CBP). When the output has no local term (plain
    logits, or ``local_logits=None``) or ``beta == 0``, only ``alpha * CE(logits)`` remains.
    ``label_smoothing`` applies to both terms.
    """

    def __init__(self, alpha: float = 12.0, beta: float = 8.0, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if alpha < 0 or beta < 0:
            raise ValueError(f"alpha and beta must be >= 0, got alpha={alpha}, beta={beta}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.label_smoothing = label_smoothing

    def terms(self, output: Any, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """The unweighted terms: ``{"global": CE(logits)}`` plus ``"local": CE(local_logits)`` if present."""
        logits, local = split_output(output)
        out = {"global": cross_entropy(logits, target, self.label_smoothing)}
        if local is not None:
            out["local"] = cross_entropy(local, target, self.label_smoothing)
        return out

    def forward(self, output: Any, target: torch.Tensor) -> torch.Tensor:
        logits, local = split_output(output)
        loss = self.alpha * cross_entropy(logits, target, self.label_smoothing)
        if local is not None and self.beta != 0:
            loss = loss + self.beta * cross_entropy(local, target, self.label_smoothing)
        return loss

    @property
    def weight_sum(self) -> float:
        """``alpha + beta``: how much larger than one CE term this loss (and its gradients) can be."""
        return self.alpha + self.beta

    def identity(self) -> dict[str, Any]:
        """What determines this loss (for run-cache keys)."""
        return {"name": "facial_semantic", "alpha": self.alpha, "beta": self.beta,
                "label_smoothing": self.label_smoothing}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, label_smoothing={self.label_smoothing}"


def loss_identity(loss_fn: Callable | None) -> dict[str, Any]:
    """A JSON-able description of ``loss_fn`` for run-cache keys: ``None`` is plain CE; losses with an
    ``identity()`` method describe themselves; anything else is named by its class or function name, so two
    different custom losses never share a cached run silently unless they share a name."""
    if loss_fn is None:
        return CrossEntropy().identity()
    if hasattr(loss_fn, "identity"):
        return dict(loss_fn.identity())
    if isinstance(loss_fn, nn.Module):
        return {"name": type(loss_fn).__qualname__, "repr": loss_fn.extra_repr()}
    return {"name": getattr(loss_fn, "__qualname__", type(loss_fn).__qualname__)}


def loss_weight_sum(loss_fn: Callable | None) -> float:
    """The sum of a weighted loss's term weights (``alpha + beta`` for PCNN's loss), 1 for plain losses."""
    return float(getattr(loss_fn, "weight_sum", 1.0))


__all__ = [
    "CrossEntropy",
    "FacialSemanticLoss",
    "build_loss",
    "cross_entropy",
    "label_smoothing_ce",
    "list_losses",
    "loss_identity",
    "loss_weight_sum",
    "register_loss",
    "split_output",
]

"""Training losses, and the ``build_loss(name, **cfg)`` registry.

Every loss takes ``(output, target)``:

- ``output``: a logits tensor ``[B, C]``, or a structured model output with a ``logits`` field
  (and optionally ``local_logits``), such as :class:`fer_lib.models.pcnn.PCNNOutput`, or a plain
  ``(logits, local_logits)`` tuple.
- ``target``: class indices ``[B]`` (int64) or probability vectors ``[B, C]`` (soft targets,
  rows summing to 1, e.g. FERPlus vote distributions or mixup).

New losses register with :func:`register_loss` (e.g. CM-CNN's soft-label focal loss); a model family
names its default loss where it is registered (``register_model(..., loss="facial_semantic")``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from fer_lib.models.outputs import local_logits_of, logits_of
from fer_lib.registry import Registry

LOSSES: Registry[nn.Module] = Registry("loss")


def register_loss(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a loss class or builder ``fn(**cfg) -> nn.Module`` under ``name``."""
    return LOSSES.register(name)


def list_losses() -> list[str]:
    """All registered loss names, sorted."""
    return LOSSES.names()


def build_loss(name: str, **cfg: Any) -> nn.Module:
    """Build the registered loss ``name`` with options ``cfg``.

    Built in: ``"ce"`` (cross-entropy), ``"label_smoothing_ce"`` (``smoothing=0.1`` unless given),
    ``"facial_semantic"`` (PCNN's ``alpha * CE(GPN) + beta * CE(LPN)``, ``alpha=12, beta=8``),
    ``"manet"`` (MA-Net's ``beta * CE(local) + (1 - beta) * CE(global)``, ``beta=0.6``).
    """
    return LOSSES.build(name, **cfg)


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
        return cross_entropy(logits_of(output), target, self.label_smoothing)

    def identity(self) -> dict[str, Any]:
        """What determines this loss (for run-cache keys)."""
        return {"name": "ce", "label_smoothing": self.label_smoothing}


@register_loss("label_smoothing_ce")
def label_smoothing_ce(smoothing: float = 0.1) -> CrossEntropy:
    """Cross-entropy with label smoothing ``smoothing`` (0.1 by default)."""
    return CrossEntropy(label_smoothing=smoothing)


@register_loss("poster")
class PosterLoss(nn.Module):
    """POSTER's loss (seed 003, the authors' training): ``smoothed_weight * CE(logits, label smoothing
    smoothing) + plain_weight * CE(logits)``; 2 x CE(0.2) + CE by default."""

    def __init__(self, smoothed_weight: float = 2.0, smoothing: float = 0.2, plain_weight: float = 1.0) -> None:
        super().__init__()
        if smoothed_weight < 0 or plain_weight < 0 or smoothed_weight + plain_weight == 0:
            raise ValueError(f"the weights must be >= 0 and not both 0, got {smoothed_weight} and {plain_weight}")
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothed_weight, self.smoothing, self.plain_weight = float(smoothed_weight), smoothing, float(plain_weight)

    def forward(self, output: Any, target: torch.Tensor) -> torch.Tensor:
        logits = logits_of(output)
        return self.smoothed_weight * cross_entropy(logits, target, self.smoothing) \
            + self.plain_weight * cross_entropy(logits, target, 0.0)

    def identity(self) -> dict[str, Any]:
        """What determines this loss (for run-cache keys)."""
        return {"name": "poster", "smoothed_weight": self.smoothed_weight, "smoothing": self.smoothing,
                "plain_weight": self.plain_weight}


def landmarks_of(output: Any) -> torch.Tensor:
    """The landmark coordinates ``[B, 2 K]`` of a landmark regressor's output: a tensor, or a structured output
    with a ``landmarks`` field (:class:`fer_lib.models.poster.LandmarkOutput`)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(getattr(output, "landmarks", None), torch.Tensor):
        return output.landmarks
    raise TypeError(f"cannot find landmarks in a model output of type {type(output).__name__}: expected a tensor "
                    "or an output with a .landmarks field")


@register_loss("wing")
class WingLoss(nn.Module):
    """The Wing loss of landmark regression (Feng et al., CVPR 2018): ``w ln(1 + |x| / epsilon)`` below ``w``,
    ``|x| - C`` above (``C`` makes it continuous), on each coordinate's error ``x`` in pixels of a ``face_size``
    face. Targets are ``[B, 2 K]`` coordinates normalised to [0, 1] of the face; the log region keeps
    learning from the small errors that an L2 loss all but ignores. Defaults: ``w = 10``, ``epsilon = 2`` at
    112 px (the paper's, at its 128 px faces)."""

    def __init__(self, width: float = 10.0, epsilon: float = 2.0, face_size: int = 112) -> None:
        super().__init__()
        if width <= 0 or epsilon <= 0 or face_size <= 0:
            raise ValueError(f"width, epsilon and face_size must be positive, got {width}, {epsilon}, {face_size}")
        self.width, self.epsilon, self.face_size = float(width), float(epsilon), int(face_size)
        self._offset = self.width - self.width * math.log(1.0 + self.width / self.epsilon)

    def forward(self, output: Any, target: torch.Tensor) -> torch.Tensor:
        predicted = landmarks_of(output).float()
        if predicted.shape != target.shape:
            raise ValueError(f"landmarks {list(predicted.shape)} do not match targets {list(target.shape)}")
        error = (predicted - target.float()).abs() * self.face_size
        small = self.width * torch.log1p(error / self.epsilon)
        return torch.where(error < self.width, small, error - self._offset).mean()

    def identity(self) -> dict[str, Any]:
        """What determines this loss (for run-cache keys)."""
        return {"name": "wing", "width": self.width, "epsilon": self.epsilon, "face_size": self.face_size}


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
        logits, local = logits_of(output), local_logits_of(output)
        out = {"global": cross_entropy(logits, target, self.label_smoothing)}
        if local is not None:
            out["local"] = cross_entropy(local, target, self.label_smoothing)
        return out

    def forward(self, output: Any, target: torch.Tensor) -> torch.Tensor:
        logits, local = logits_of(output), local_logits_of(output)
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


@register_loss("manet")
class MANetLoss(nn.Module):
    """MA-Net's loss: ``beta * CE(local_logits) + (1 - beta) * CE(global_logits)`` (beta = 0.6 in its paper).

    ``loss(output: MANetOutput, target: [B] int64) -> scalar``: CE on each branch, not on the fused logits.
    ``label_smoothing`` is passed to CE.
    """

    def __init__(self, beta: float = 0.6, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {beta}")
        self.beta = beta
        self.label_smoothing = label_smoothing

    def identity(self) -> dict[str, Any]:
        """What determines this loss (for run-cache keys)."""
        return {"name": "manet", "beta": float(self.beta), "label_smoothing": float(self.label_smoothing)}

    def extra_repr(self) -> str:
        return f"beta={self.beta}, label_smoothing={self.label_smoothing}"

    def forward(self, output: Any, target: torch.Tensor) -> torch.Tensor:
        if not hasattr(output, "global_logits"):
            raise TypeError(f"MANetLoss needs an output with local_logits and global_logits (MANetOutput), "
                            f"got {type(output).__name__}")
        local = cross_entropy(output.local_logits, target, self.label_smoothing)
        glob = cross_entropy(output.global_logits, target, self.label_smoothing)
        return self.beta * local + (1.0 - self.beta) * glob


@register_loss("gmslpa")
class GMSLPALoss(nn.Module):
    """GMS-LPA's model-level fusion loss (seed 001, Eqs. 5-6): ``alpha * CE(local) + (1 - alpha) * CE(global)``.

    ``loss(output: GMSLPAOutput, target: [B]) -> scalar``; ``alpha = 0.6`` in the paper (Fig. 9 sweeps it).
    An output with one head only (a single-branch variant, or feature-level fusion's one classifier) is
    trained with ``CE(logits)``.
    """

    def __init__(self, alpha: float = 0.6, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.alpha = float(alpha)
        self.label_smoothing = float(label_smoothing)

    def identity(self) -> dict[str, Any]:
        """What determines this loss (for run-cache keys)."""
        return {"name": "gmslpa", "alpha": self.alpha, "label_smoothing": self.label_smoothing}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, label_smoothing={self.label_smoothing}"

    def forward(self, output: Any, target: torch.Tensor) -> torch.Tensor:
        local, glob = getattr(output, "local_logits", None), getattr(output, "global_logits", None)
        if local is None or glob is None:
            return cross_entropy(logits_of(output), target, self.label_smoothing)
        return (self.alpha * cross_entropy(local, target, self.label_smoothing)
                + (1.0 - self.alpha) * cross_entropy(glob, target, self.label_smoothing))


def gaussian_soft_labels(target: torch.Tensor, num_classes: int, sigma: float,
                         normalise: bool = True) -> torch.Tensor:
    """CM-CNN's soft labels (seed 002, Sect. III-E): over the class indices ``0 .. C-1``, a Gaussian with mean
    the hard label and standard deviation ``sigma``: ``[B] -> [B, C]``.

    ``normalise=True`` divides by the sum (a probability vector); ``False`` keeps the density's values
    (``1 / (sigma sqrt(2 pi))`` at the hard label: 3.99 for the paper's ``sigma = 0.1``). At ``sigma = 0.1`` the
    normalised label puts ``1.9e-22`` on each neighbouring class, below float32's resolution next to 1: the loss
    is the hard-label loss to the last bit (ledger CM-CNN).
    """
    if sigma <= 0:
        return F.one_hot(target, num_classes).to(torch.float32)
    classes = torch.arange(num_classes, device=target.device, dtype=torch.float64)
    weights = torch.exp(-(classes[None, :] - target[:, None].to(torch.float64)) ** 2 / (2.0 * sigma ** 2))
    if normalise:
        weights = weights / weights.sum(dim=1, keepdim=True)
    else:
        weights = weights / (sigma * (2.0 * torch.pi) ** 0.5)
    return weights.to(torch.float32)


@register_loss("soft_focal")
class SoftFocalLoss(nn.Module):
    """CM-CNN's focal loss with Gaussian soft labels (seed 002, Eq. 5): ``gamma = 2``, ``alpha = 1``, ``sigma = 0.1``.

    Eq. 4's output ``F = sigmoid(logits)`` gives each expression its own probability ``p_k``, so the loss is the
    focal loss of [63] per class, the soft label ``q`` (:func:`gaussian_soft_labels`) replacing the one-hot
    target: ``-alpha * sum_k [q_k (1 - p_k)^gamma log p_k + (1 - q_k) p_k^gamma log(1 - p_k)]``, averaged over
    the batch. ``sigma = 0`` is the hard-label focal loss of Table I; ``gamma = 0`` with ``sigma = 0`` the
    per-class binary cross-entropy (Table I's categorical cross-entropy row is the ``ce`` loss).
    """

    def __init__(self, gamma: float = 2.0, alpha: float = 1.0, sigma: float = 0.1,
                 normalise_soft_label: bool = True) -> None:
        super().__init__()
        if gamma < 0 or alpha <= 0 or sigma < 0:
            raise ValueError(f"need gamma >= 0, alpha > 0, sigma >= 0; got {gamma}, {alpha}, {sigma}")
        self.gamma, self.alpha, self.sigma = float(gamma), float(alpha), float(sigma)
        self.normalise_soft_label = bool(normalise_soft_label)

    def identity(self) -> dict[str, Any]:
        """What determines this loss (for run-cache keys)."""
        return {"name": "soft_focal", "gamma": self.gamma, "alpha": self.alpha, "sigma": self.sigma,
                "normalise_soft_label": self.normalise_soft_label}

    def extra_repr(self) -> str:
        return (f"gamma={self.gamma}, alpha={self.alpha}, sigma={self.sigma}, "
                f"normalise_soft_label={self.normalise_soft_label}")

    def forward(self, output: Any, target: torch.Tensor) -> torch.Tensor:
        logits = logits_of(output).float()
        if target.dim() == 2:
            soft = target.float()  # already a distribution (e.g. FERPlus votes)
        else:
            soft = gaussian_soft_labels(target, logits.shape[1], self.sigma, self.normalise_soft_label)
        log_p, log_not_p = F.logsigmoid(logits), F.logsigmoid(-logits)
        positive = soft * torch.exp(self.gamma * log_not_p) * log_p
        negative = (1.0 - soft) * torch.exp(self.gamma * log_p) * log_not_p
        return -self.alpha * (positive + negative).sum(dim=1).mean()


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
    "LOSSES",
    "CrossEntropy",
    "FacialSemanticLoss",
    "GMSLPALoss",
    "MANetLoss",
    "SoftFocalLoss",
    "build_loss",
    "cross_entropy",
    "gaussian_soft_labels",
    "label_smoothing_ce",
    "list_losses",
    "loss_identity",
    "loss_weight_sum",
    "register_loss",
]

"""torchvision ResNet baselines (random init, or weights from a user-given file)."""

from __future__ import annotations

import os

from torch import nn
from torchvision import models as tvm

from fer_lib.models.registry import register_model
from fer_lib.models.weights import load_pretrained

_ARCHS = {"resnet18": tvm.resnet18, "resnet34": tvm.resnet34, "resnet50": tvm.resnet50}


def build_resnet(
    arch: str,
    num_classes: int = 7,
    pretrained_path: str | os.PathLike | None = None,
    in_chans: int = 3,
    drop_rate: float = 0.0,
) -> nn.Module:
    """A torchvision ResNet with a ``num_classes`` head.

    Input ``[B, in_chans, H, W]`` (any H, W >= 32), output logits ``[B, num_classes]``.
    ``pretrained_path``: a state dict file (ImageNet, MS-Celeb-1M ...), loaded before the head is
    replaced so a 1000-way or identity head in the file is simply skipped.
    """
    model = _ARCHS[arch](weights=None)
    if pretrained_path is not None:
        load_pretrained(model, pretrained_path)
    if in_chans != 3:
        # Keep pretrained filters usable on grey input by summing them over the colour axis.
        old = model.conv1
        model.conv1 = nn.Conv2d(in_chans, 64, kernel_size=7, stride=2, padding=3, bias=False)
        if pretrained_path is not None and in_chans == 1:
            model.conv1.weight.data.copy_(old.weight.data.sum(dim=1, keepdim=True))
    features = model.fc.in_features
    model.fc = nn.Sequential(nn.Dropout(drop_rate), nn.Linear(features, num_classes)) if drop_rate else (
        nn.Linear(features, num_classes)
    )
    return model


@register_model("resnet18", loss="ce", recipe="resnet")
def resnet18(num_classes: int = 7, pretrained_path=None, in_chans: int = 3, drop_rate: float = 0.0) -> nn.Module:
    """torchvision ResNet-18 (11.69 M parameters with a 1000-way head; 1.82 GMACs at 224)."""
    return build_resnet("resnet18", num_classes, pretrained_path, in_chans, drop_rate)


@register_model("resnet34", loss="ce", recipe="resnet")
def resnet34(num_classes: int = 7, pretrained_path=None, in_chans: int = 3, drop_rate: float = 0.0) -> nn.Module:
    """torchvision ResNet-34."""
    return build_resnet("resnet34", num_classes, pretrained_path, in_chans, drop_rate)


@register_model("resnet50", loss="ce", recipe="resnet")
def resnet50(num_classes: int = 7, pretrained_path=None, in_chans: int = 3, drop_rate: float = 0.0) -> nn.Module:
    """torchvision ResNet-50."""
    return build_resnet("resnet50", num_classes, pretrained_path, in_chans, drop_rate)

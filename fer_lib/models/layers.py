"""ResNet building blocks shared by the model files: torchvision's initialisation and its stages."""

from __future__ import annotations

from torch import nn
from torchvision.models.resnet import BasicBlock


def init_like_torchvision(module: nn.Module) -> None:
    """torchvision's ResNet initialisation: Kaiming-normal (fan_out, ReLU) convs, BatchNorm 1 / 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 convolution with padding 1 and no bias (ResNet's)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def projection_shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Sequential | None:
    """1x1 conv + BN projection when a residual block changes shape, else ``None`` (identity)."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
        nn.BatchNorm2d(out_channels),
    )


def resnet18_stage(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """A ResNet-18 stage: two torchvision ``BasicBlock``s, the first one strided with a 1x1 projection.

    ``[B, in_channels, H, W] -> [B, out_channels, ceil(H / stride), ceil(W / stride)]``; module names
    (``0.conv1``, ``0.downsample.0`` ...) are torchvision's, so a ResNet-18 ``layerN`` loads into it.
    """
    downsample = projection_shortcut(in_channels, out_channels, stride)
    return nn.Sequential(
        BasicBlock(in_channels, out_channels, stride, downsample), BasicBlock(out_channels, out_channels)
    )


__all__ = ["conv3x3", "init_like_torchvision", "projection_shortcut", "resnet18_stage"]

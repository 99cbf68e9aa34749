"""Toy data and a structured-output model shared by the fer_lib.explain tests (seconds on a CPU)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from PIL import Image
from torch import nn

from fer_lib.data.base import FERDataset
from fer_lib.data.labels import SEVEN_CLASSES

SIZE = 64
PNG = b"\x89PNG\r\n\x1a\n"


class Blobs(FERDataset):
    """Seven classes of coloured squares at class-dependent positions (enough structure for a map)."""

    name = "blobs"
    data_kind = "synthetic"

    def __init__(self, n: int = 14, transform=None) -> None:
        super().__init__(SEVEN_CLASSES, np.arange(n) % 7, transform=transform)

    def load_image(self, index: int) -> Image.Image:
        rng = np.random.default_rng(index)
        img = (rng.random((40, 40, 3)) * 60).astype(np.uint8)
        k = int(self.targets[index])
        img[4 * k : 4 * k + 12, 6:18] = (230, 200, 40)
        return Image.fromarray(img)


class Output(NamedTuple):
    logits: torch.Tensor
    extra: torch.Tensor


class Structured(nn.Module):
    """A tiny conv net returning a NamedTuple, with its own default layer."""

    def __init__(self, num_classes: int = 7, default: str | None = "features") -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1))
        self.head = nn.Linear(8, num_classes)
        if default is not None:
            self.gradcam_target_layer = default

    def forward(self, x: torch.Tensor) -> Output:
        f = torch.relu(self.features(x))
        return Output(self.head(f.mean((2, 3))), f)

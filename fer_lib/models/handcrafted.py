"""Hand-crafted features with a linear classifier: the classic FER baseline (the review, seed 004, Sect. 2; the
hand-crafted rows of CM-CNN's Tables IV-VI: LBP, HOG, GIST ... with an SVM), written as a plain ``nn.Module`` so
it trains, caches and evaluates like every other model.

Architecture (``s`` the input side, ``g`` the cell grid side, ``o`` HOG orientations)::

    images [B, C, s, s]          packed modalities (fer_lib.data.modalities, grey first): channel 0 is read
      |-- HOG: central-difference gradients, unsigned orientation in o bins (linearly split between the two
      |        nearest), magnitude-weighted histograms per cell of a g x g grid, each L2-normalised  [B, g*g*o]
      |-- LBP: the 8 neighbours at radius 1 against the centre, the 59 uniform patterns (Ojala et al.),
      |        a histogram per cell of the same grid, each summing to 1                               [B, g*g*59]
      `-- concatenation -> BatchNorm1d (standardises the features, as an SVM's input scaling) -> Linear -> logits

The features have no parameters: only the standardisation and the linear layer learn, so training with
cross-entropy fits a multinomial logistic regression on fixed hand-crafted features (the role of the SVM in the
papers' rows; the loss differs, the feature space is the point).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from fer_lib.models.registry import register_model

FEATURES: tuple[str, ...] = ("hog", "lbp")
#: LBP's neighbours at radius 1, clockwise from the top-left, as (dy, dx).
_NEIGHBOURS: tuple[tuple[int, int], ...] = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def uniform_lbp_table() -> torch.Tensor:
    """The 256 8-bit LBP codes -> 59 bins: each of the 58 uniform codes (at most two 0/1 transitions around the
    circle) its own bin, in increasing code order, and every non-uniform code bin 58."""
    table = torch.full((256,), 58, dtype=torch.long)
    k = 0
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        if sum(bits[i] != bits[(i + 1) % 8] for i in range(8)) <= 2:
            table[code] = k
            k += 1
    return table


def grey_channel(images: torch.Tensor) -> torch.Tensor:
    """``[B, 1, H, W]``: channel 0, the grey image of a packed modality image (the model's ``modalities`` start
    with ``"gray"``; HOG and LBP are unchanged by the input's affine normalisation)."""
    return images[:, :1]


class HOGFeatures(nn.Module):
    """Histograms of oriented gradients per cell of a ``grid x grid`` grid: ``[B, 1, H, W] -> [B, grid^2 * o]``."""

    def __init__(self, grid: int = 4, orientations: int = 9):
        super().__init__()
        self.grid, self.orientations = grid, orientations
        kernel = torch.tensor([[-1.0, 0.0, 1.0]])
        self.register_buffer("dx", kernel.view(1, 1, 1, 3), persistent=False)
        self.register_buffer("dy", kernel.view(1, 1, 3, 1), persistent=False)

    def forward(self, grey: torch.Tensor) -> torch.Tensor:
        gx = F.conv2d(F.pad(grey, (1, 1, 0, 0), mode="replicate"), self.dx)
        gy = F.conv2d(F.pad(grey, (0, 0, 1, 1), mode="replicate"), self.dy)
        magnitude = torch.sqrt(gx ** 2 + gy ** 2)
        angle = torch.remainder(torch.atan2(gy, gx), torch.pi)  # unsigned, [0, pi)
        position = angle / torch.pi * self.orientations - 0.5  # bin centres at (k + 0.5) * pi / o
        low = torch.floor(position)
        weight_high = position - low
        bins = []
        for k in range(self.orientations):
            share = (torch.remainder(low, self.orientations) == k) * (1 - weight_high) \
                + (torch.remainder(low + 1, self.orientations) == k) * weight_high
            bins.append(share * magnitude)
        histograms = F.adaptive_avg_pool2d(torch.cat(bins, dim=1), self.grid)  # [B, o, g, g]
        histograms = histograms.permute(0, 2, 3, 1).reshape(len(grey), self.grid * self.grid, self.orientations)
        return F.normalize(histograms, dim=2, eps=1e-6).flatten(1)


class LBPFeatures(nn.Module):
    """Uniform LBP histograms per cell of a ``grid x grid`` grid: ``[B, 1, H, W] -> [B, grid^2 * 59]``."""

    def __init__(self, grid: int = 4):
        super().__init__()
        self.grid = grid
        self.register_buffer("table", uniform_lbp_table(), persistent=False)

    def forward(self, grey: torch.Tensor) -> torch.Tensor:
        padded = F.pad(grey, (1, 1, 1, 1), mode="replicate")
        h, w = grey.shape[-2:]
        code = torch.zeros_like(grey, dtype=torch.long)
        for bit, (dy, dx) in enumerate(_NEIGHBOURS):
            neighbour = padded[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
            code |= (neighbour >= grey).long() << bit
        patterns = F.one_hot(self.table[code[:, 0]], 59).permute(0, 3, 1, 2).to(grey.dtype)  # [B, 59, H, W]
        histograms = F.adaptive_avg_pool2d(patterns, self.grid)  # each cell's histogram sums to 1
        return histograms.permute(0, 2, 3, 1).flatten(1)


class HandcraftedLinear(nn.Module):
    """Fixed HOG and / or LBP features + a standardised linear classifier (module docstring).

    ``features``: any of ``"hog"``, ``"lbp"``; ``grid``: the cell grid's side; ``modalities``: the inputs the
    data pack (``fer_lib.data.modalities``; only the grey channel is read), so the same data as CM-CNN's rows.
    Input ``[B, C, s, s]``; output logits ``[B, num_classes]``.
    """

    def __init__(self, num_classes: int = 7, features: Sequence[str] = FEATURES, grid: int = 4,
                 orientations: int = 9, modalities: Sequence[str] = ("gray",)):
        super().__init__()
        features = tuple(features)
        if not features or any(f not in FEATURES for f in features) or len(set(features)) != len(features):
            raise ValueError(f"features must be distinct names among {FEATURES}, got {features}")
        if tuple(modalities)[:1] != ("gray",):
            raise ValueError(f"the hand-crafted features read the grey channel: modalities must start with 'gray', "
                             f"got {tuple(modalities)}")
        self.features, self.modalities = features, tuple(modalities)
        build = {"hog": lambda: HOGFeatures(grid, orientations), "lbp": lambda: LBPFeatures(grid)}
        self.extractors = nn.ModuleDict({f: build[f]() for f in features})
        self.feature_dim = grid * grid * ((orientations if "hog" in features else 0) + (59 if "lbp" in features else 0))
        self.standardise = nn.BatchNorm1d(self.feature_dim)
        self.fc = nn.Linear(self.feature_dim, num_classes)

    def describe_features(self, images: torch.Tensor) -> torch.Tensor:
        """The concatenated hand-crafted features ``[B, feature_dim]`` (before the standardisation)."""
        # Exact comparisons and histograms: never in a reduced precision (the engine may train under autocast).
        with torch.autocast(device_type=images.device.type, enabled=False):
            grey = grey_channel(images.float())
            return torch.cat([self.extractors[f](grey) for f in self.features], dim=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():  # the features have nothing to learn
            features = self.describe_features(images)
        return self.fc(self.standardise(features))


handcrafted = register_model("handcrafted", loss="ce", recipe="cmcnn", data_options=("modalities",))(HandcraftedLinear)

__all__ = ["FEATURES", "HOGFeatures", "HandcraftedLinear", "LBPFeatures", "grey_channel", "uniform_lbp_table"]

"""PCNN, the perception CNN of seed 000 (Tian et al.), and its Table I / Table II ablation variants.

Architecture (names as in the paper)::

    image [B, 3, s, s]
      |-- GFIEB: ResNet-18 conv1..layer3 ----------------------------> global map G [B, 256, g, g]
      |-- LFSIEB: crop regions -> one ResNet-18 conv1..layer3 each ----> region maps R_i [B, 256, h_i, w_i]
      |          -> bilinear-interpolation stitching (BIS) -------------> stitched map L [B, 256, g, g]
      |-- MDIM:  refinement(L) -> localisation -> theta [B, 2, 3] -> affine grid (size of G)
      |          -> grid_sample(L) -> fused F = G + warped L            [B, 256, g, g]
      |-- GPN:   refinement(F) -> pool -> Linear(512, C) ---------------> logits [B, C]
      `-- LPN:   sum_i Linear_i(pool(R_i)), Linear(256, C) each --------> local_logits [B, C]

with ``g = ceil(s / 16)`` and ``r = ceil(s / 32)`` the refinement network's output size. The
refinement network is a ResNet-18 ``layer4`` (two residual blocks, 256 -> 512 channels, stride 2).
As in the authors' code it is ONE module, used twice per forward pass (on L for the localisation
and on F for the GPN) but registered once: registering a shared layer under two parents is what makes
thop report the paper's 14.80 GMACs / 51.00 M parameters instead of the true 3.69 G / 25.9 M.

The STN warp (affine grid and grid_sample) uses ``align_corners=True`` as the authors' code does
(``stn_align_corners``; the paper does not say). Every trunk is built once and registered once.
Region boxes follow the paper's 10:3:7 height rule (eyes+brows / cheeks / mouth) and w1 = w / 2;
they scale with ``image_size`` (see :func:`region_layout`).

Ablations are constructor options: ``crop_strategy`` (Table I), ``use_lfsieb`` / ``use_mdim`` /
``use_lpn`` (Table II). Which options and loss weights each table row uses is an experiment setting:
see :mod:`fer_lib.protocols.pcnn`.
"""

from __future__ import annotations

import copy
import os
import random
from collections import OrderedDict
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from fer_lib.models.layers import init_like_torchvision, resnet18_stage
from fer_lib.models.registry import register_model
from fer_lib.models.weights import load_pretrained, read_state_dict

Box = tuple[int, int, int, int]
"""A crop box ``(top, bottom, left, right)`` in pixels, half-open: ``image[top:bottom, left:right]``."""

CROP_STRATEGIES: tuple[str, ...] = ("none", "two_random", "three_horizontal", "four_grid", "sense_organs")
POOLS: tuple[str, ...] = ("avg", "max")

# Paper, Fig. 3: heights 10:3:7 of h = 20 (eyes+brows, cheeks, mouth); the authors' code: h1 = 0.5, h2 = 0.65.
_EYE_ROWS, _CHEEK_ROWS, _TOTAL_ROWS = 10, 3, 20
_TRUNK_CHANNELS, _REFINED_CHANNELS = 256, 512
_LOCALISATION_HIDDEN = 32


# --------------------------------------------------------------------------------------------------
# Region boxes
# --------------------------------------------------------------------------------------------------
def region_layout(
    strategy: str = "sense_organs", image_size: int = 224, seed: int = 0
) -> tuple[tuple[Box, ...], ...]:
    """The crop boxes of a Table I strategy, grouped in stitching rows (top to bottom, left to right).

    Boxes tile the ``image_size`` x ``image_size`` image without overlap. Boundaries are floors of the
    paper's fractions, which at 224 px gives the authors' boxes exactly.

    - ``sense_organs`` (PCNN): rows ``[eye/brow left, eye/brow right]`` of height ``s*10/20``,
      ``[cheek left, cheek right]`` of height ``s*3/20`` (rows up to ``floor(s*13/20)``), ``[mouth]``
      (the remaining ``s*7/20``); left/right split at ``w1 = s/2``. At 224: 112 / 33 / 79 rows.
    - ``none``: one box, the whole face.
    - ``two_random``: one straight cut into two parts; its orientation (horizontal or vertical) and its
      position (uniform in [s/4, 3s/4]) are drawn from ``random.Random(seed)``, so a model built with a
      seed always crops the same way.
    - ``three_horizontal``: three horizontal bands of (nearly) equal height, one per row.
    - ``four_grid``: the 2 x 2 grid of quadrants.
    """
    s = _check_image_size(image_size)
    half = s // 2
    if strategy == "sense_organs":
        eyes = s * _EYE_ROWS // _TOTAL_ROWS
        cheeks = s * (_EYE_ROWS + _CHEEK_ROWS) // _TOTAL_ROWS
        return (
            ((0, eyes, 0, half), (0, eyes, half, s)),
            ((eyes, cheeks, 0, half), (eyes, cheeks, half, s)),
            ((cheeks, s, 0, s),),
        )
    if strategy == "none":
        return (((0, s, 0, s),),)
    if strategy == "two_random":
        rng = random.Random(seed)
        horizontal = rng.random() < 0.5
        cut = int(round(rng.uniform(0.25, 0.75) * s))
        if horizontal:
            return (((0, cut, 0, s),), ((cut, s, 0, s),))
        return (((0, s, 0, cut), (0, s, cut, s)),)
    if strategy == "three_horizontal":
        a, b = s // 3, 2 * s // 3
        return (((0, a, 0, s),), ((a, b, 0, s),), ((b, s, 0, s),))
    if strategy == "four_grid":
        return (((0, half, 0, half), (0, half, half, s)), ((half, s, 0, half), (half, s, half, s)))
    raise ValueError(f"unknown crop_strategy {strategy!r}; expected one of {', '.join(CROP_STRATEGIES)}")


def region_boxes(strategy: str = "sense_organs", image_size: int = 224, seed: int = 0) -> list[Box]:
    """The crop boxes ``(top, bottom, left, right)`` of a strategy, in region (= trunk) order.

    ``region_boxes("sense_organs", 224)`` is ``[(0, 112, 0, 112), (0, 112, 112, 224),
    (112, 145, 0, 112), (112, 145, 112, 224), (145, 224, 0, 224)]``: eyes+brows left/right,
    cheeks left/right, mouth. See :func:`region_layout` for every strategy.
    """
    return [box for row in region_layout(strategy, image_size, seed) for box in row]


def _check_image_size(image_size: int) -> int:
    if not isinstance(image_size, int) or image_size < 32:
        raise ValueError(f"image_size must be an int >= 32 (got {image_size!r})")
    return image_size


def _out_size(n: int, stride_2_stages: int) -> int:
    """Spatial size after ``stride_2_stages`` ResNet stride-2 stages (conv1, maxpool, layer2, ...).

    Each of them (7x7/2 pad 3, 3x3/2 pad 1) maps ``n`` to ``ceil(n / 2)``.
    """
    for _ in range(stride_2_stages):
        n = (n + 1) // 2
    return n


# --------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------
class ResNetTrunk(nn.Sequential):
    """ResNet-18 conv1..layer3 (the paper's "front 14 layers", its CNN backbone), random init.

    Input ``[B, in_chans, H, W]`` -> output ``[B, 256, ceil(H/16), ceil(W/16)]``. Layers, names and
    initialisation are torchvision's ``resnet18`` (``conv1``, ``bn1``, ``layer1`` ...), so a ResNet-18
    state dict loads directly; only the stages used are built (building a whole ResNet-18 per
    trunk and dropping layer4 would spend 70 % of the construction time on discarded weights).
    """

    def __init__(self, in_chans: int = 3) -> None:
        super().__init__(
            OrderedDict(
                conv1=nn.Conv2d(in_chans, 64, kernel_size=7, stride=2, padding=3, bias=False),
                bn1=nn.BatchNorm2d(64),
                relu=nn.ReLU(inplace=True),
                maxpool=nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
                layer1=resnet18_stage(64, 64, 1),
                layer2=resnet18_stage(64, 128, 2),
                layer3=resnet18_stage(128, _TRUNK_CHANNELS, 2),
            )
        )
        init_like_torchvision(self)


def build_refinement() -> nn.Sequential:
    """ResNet-18 ``layer4``, the refinement network: ``[B, 256, n, n] -> [B, 512, ceil(n/2), ceil(n/2)]``."""
    stage = resnet18_stage(_TRUNK_CHANNELS, _REFINED_CHANNELS, 2)
    init_like_torchvision(stage)
    return stage


def load_resnet18_weights(trunk: ResNetTrunk, refinement: nn.Module | None, path: str | os.PathLike) -> None:
    """Load a ResNet-18 state dict file into a trunk (conv1..layer3) and a refinement network (layer4).

    A 3-channel ``conv1`` is summed over colours for a 1-channel trunk. Raises (naming the file) when
    the file is not a ResNet-18 state dict.
    """
    load_pretrained(trunk, path)
    if trunk.conv1.in_channels == 1:
        conv1 = read_state_dict(path).get("conv1.weight")
        if conv1 is not None and conv1.shape[1] == 3:
            with torch.no_grad():
                trunk.conv1.weight.copy_(conv1.sum(dim=1, keepdim=True))
    if refinement is not None:
        load_pretrained(refinement, path, prefix="layer4.")


def _pool(kind: str) -> nn.Module:
    if kind not in POOLS:
        raise ValueError(f"unknown pool {kind!r}; expected one of {', '.join(POOLS)}")
    return nn.AdaptiveAvgPool2d(1) if kind == "avg" else nn.AdaptiveMaxPool2d(1)


def stitch(row_maps: list[list[torch.Tensor]], size: tuple[int, int]) -> torch.Tensor:
    """Bilinear-interpolation stitching (BIS) of region maps into one map of ``size``.

    ``row_maps``: rows of region maps ``[B, C, h_ij, w_ij]`` (maps of a row share their height).
    Each row's maps are concatenated along the width and resized to the target width (keeping
    the row's height); the rows are concatenated along the height and resized to ``size``.
    All resizing is bilinear with ``align_corners=True`` (as in the authors' code).
    Returns ``[B, C, size[0], size[1]]``.
    """
    height, width = size
    rows = []
    for maps in row_maps:
        row = torch.cat(maps, dim=3) if len(maps) > 1 else maps[0]
        if row.shape[3] != width:
            row = F.interpolate(row, size=(row.shape[2], width), mode="bilinear", align_corners=True)
        rows.append(row)
    out = torch.cat(rows, dim=2) if len(rows) > 1 else rows[0]
    if out.shape[2:] != (height, width):
        out = F.interpolate(out, size=(height, width), mode="bilinear", align_corners=True)
    return out


class LFSIEB(nn.Module):
    """Local facial sense information extraction block: crop, one trunk per region, stitch.

    Input ``[B, C_in, s, s]``; returns ``(stitched [B, 256, g, g], region maps [B, 256, h_i, w_i] list)``
    with ``g = ceil(s/16)``. ``layout`` is :func:`region_layout`'s output.
    """

    def __init__(self, layout: tuple[tuple[Box, ...], ...], trunks: list[ResNetTrunk], map_size: int) -> None:
        super().__init__()
        self.layout = layout
        self.boxes = [box for row in layout for box in row]
        if len(trunks) != len(self.boxes):
            raise ValueError(f"{len(self.boxes)} regions need as many trunks, got {len(trunks)}")
        self.trunks = nn.ModuleList(trunks)
        self.map_size = map_size

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        maps = [
            trunk(x[:, :, t:b, lft:rgt])
            for trunk, (t, b, lft, rgt) in zip(self.trunks, self.boxes, strict=True)
        ]
        rows, i = [], 0
        for row in self.layout:
            rows.append(maps[i : i + len(row)])
            i += len(row)
        return stitch(rows, (self.map_size, self.map_size)), maps


class MDIM(nn.Module):
    """Multi-domain interaction mechanism: an STN registering the stitched local map onto the global one.

    ``forward(global_map [B, 256, g, g], local_map [B, 256, g, g], refinement)`` returns
    ``(fused [B, 256, g, g], theta [B, 2, 3])`` with ``fused = global_map + grid_sample(local_map,
    affine_grid(theta))`` (Eq. 4) and ``theta = localisation(refinement(local_map))``. The
    localisation is Flatten -> Linear(512 * r * r, 32) -> ReLU -> Linear(32, 6), ``r = ceil(g/2)``
    (512*7*7 -> 32 at 224 px, as in the authors' code; the input size fixes ``r``, so no adaptive
    pooling is needed). ``refinement`` (``[B, 256, g, g] -> [B, 512, r, r]``) is passed in rather than
    owned: in the paper configuration it is the GPN's layer4, which must be registered only once.

    ``identity_init``: start the last Linear at the identity transform (weights 0, bias
    ``[1, 0, 0, 0, 1, 0]``), the usual STN initialisation; ``False`` keeps PyTorch's random init, which
    is what the authors' code does.

    ``align_corners``: the pixel convention of the warp (``affine_grid`` and ``grid_sample``, both
    ``[B, 2, 3]`` -> grid ``[B, g, g, 2]`` -> warped ``[B, 256, g, g]``). ``True`` (default, the
    authors' code): the normalised coordinates -1 / +1 are the centres of the corner cells, so a
    translation ``t`` moves the sampling point by ``t * (g - 1) / 2`` cells; ``False``: -1 / +1 are the
    outer edges of the map, a move of ``t * g / 2`` cells. The two agree only for the exact identity
    transform (the paper does not say; see the discrepancy ledger).
    """

    def __init__(self, refined_size: int, identity_init: bool = True, align_corners: bool = True) -> None:
        super().__init__()
        self.align_corners = align_corners
        self.localisation = nn.Sequential(
            nn.Flatten(1),
            nn.Linear(_REFINED_CHANNELS * refined_size * refined_size, _LOCALISATION_HIDDEN),
            nn.ReLU(inplace=True),
            nn.Linear(_LOCALISATION_HIDDEN, 6),
        )
        if identity_init:
            last = self.localisation[-1]
            nn.init.zeros_(last.weight)
            with torch.no_grad():
                last.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))

    def forward(
        self, global_map: torch.Tensor, local_map: torch.Tensor, refinement: nn.Module
    ) -> tuple[torch.Tensor, torch.Tensor]:
        theta = self.localisation(refinement(local_map)).view(-1, 2, 3)
        grid = F.affine_grid(theta, list(global_map.shape), align_corners=self.align_corners)
        warped = F.grid_sample(
            local_map, grid, mode="bilinear", padding_mode="zeros", align_corners=self.align_corners
        )
        return global_map + warped, theta


class GPN(nn.Module):
    """Global prediction network head: pool the refined map and classify.

    ``forward(refined [B, 512, r, r]) -> logits [B, C]``. The refinement network (layer4) that
    produces ``refined`` is owned by :class:`PCNN` (it is shared with the MDIM). ``tap`` is an
    identity placed on the refinement network's output of THIS call, so hooks on it (Grad-CAM)
    see layer4 on the fused map only, not also its call on the stitched map inside the MDIM.
    """

    def __init__(self, num_classes: int, pool: str = "avg") -> None:
        super().__init__()
        self.tap = nn.Identity()
        self.pool = _pool(pool)
        self.fc = nn.Linear(_REFINED_CHANNELS, num_classes)

    def forward(self, refined: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.tap(refined)).flatten(1))


class LPN(nn.Module):
    """Local prediction network: pool each region map, one Linear(256, C) per region, summed.

    ``forward(list of n maps [B, 256, h_i, w_i]) -> local_logits [B, C]``.
    """

    def __init__(self, num_regions: int, num_classes: int, pool: str = "avg") -> None:
        super().__init__()
        self.pool = _pool(pool)
        self.fcs = nn.ModuleList(nn.Linear(_TRUNK_CHANNELS, num_classes) for _ in range(num_regions))

    def forward(self, maps: list[torch.Tensor]) -> torch.Tensor:
        logits = [fc(self.pool(m).flatten(1)) for fc, m in zip(self.fcs, maps, strict=True)]
        return torch.stack(logits, dim=0).sum(dim=0)


class PCNNOutput(NamedTuple):
    """PCNN's forward output: ``logits`` [B, C] from the GPN (the prediction) and ``local_logits``
    [B, C] from the LPN (``None`` when the model has no LPN)."""

    logits: torch.Tensor
    local_logits: torch.Tensor | None


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------
class PCNN(nn.Module):
    """Perception CNN (seed 000) with its ablation options.

    Input ``[B, in_chans, image_size, image_size]`` (the size is fixed at construction because the
    crop boxes and the localisation's Linear depend on it); output :class:`PCNNOutput` with
    ``logits`` [B, C] (GPN) and ``local_logits`` [B, C] (LPN) or ``None``.
    Feature map sizes: ``g = ceil(s/16)`` (trunks), ``r = ceil(s/32)`` (refinement); 14 / 7 at 224.

    The authors' code (REFERENCE.md) is ``PCNN(image_size=224, crop_strategy="sense_organs",
    stn_identity_init=False, stn_align_corners=True, share_refinement=True, pool="avg",
    pretrained_path=<MS-Celeb-1M ResNet-18>)``: with the same weights its forward pass and this one agree
    (``tests/models/test_pcnn_authors.py``). The defaults differ from it only in ``stn_identity_init``
    (True, the usual STN start) and in the weights file (none is shipped).

    Args:
        num_classes: C.
        image_size: s, 224 in the paper; any int >= 32 works (cpu scale: 64, 96, 112 ...).
        crop_strategy: Table I, one of ``CROP_STRATEGIES`` (default the five sense-organ regions).
        crop_seed: seed of the ``two_random`` cut (fixed at construction).
        use_lfsieb: False -> GFIEB only + the 4-layer residual classifier (layer4, pool, FC), i.e. a
            ResNet-18 shaped network (Table II, rows 1-2); implies no MDIM and no LPN.
        use_mdim: False -> the stitched local map is added to the global map directly (Table II
            "GFIEB + LFSIEB").
        use_lpn: False -> no local prediction network (``local_logits`` is None).
        stn_identity_init: identity init of the localisation's last Linear (False: the code's random init).
        stn_align_corners: the STN warp's ``align_corners`` (``affine_grid`` / ``grid_sample`` on the
            ``[B, 256, g, g]`` maps, theta ``[B, 2, 3]``). True (default): the authors' code; False: the
            convention fer_lib used before, which moves a translated sample ``g / (g - 1)`` times as far.
            Identical for the identity transform only. See :class:`MDIM`.
        share_refinement: True (paper/code) -> the MDIM's localisation uses the GPN's layer4;
            False -> the MDIM gets a layer4 of its own.
        pool: ``"avg"`` (the authors' code) or ``"max"`` (the paper's text) pooling in GPN and LPN.
        pretrained_path: a ResNet-18 state dict file (e.g. MS-Celeb-1M) loaded into every trunk and
            every layer4; nothing is ever downloaded. None: random init.
        in_chans: input channels (1 for grey input; pretrained conv1 filters are then summed).
    """

    def __init__(
        self,
        num_classes: int = 7,
        image_size: int = 224,
        crop_strategy: str = "sense_organs",
        crop_seed: int = 0,
        use_lfsieb: bool = True,
        use_mdim: bool = True,
        use_lpn: bool = True,
        stn_identity_init: bool = True,
        stn_align_corners: bool = True,
        share_refinement: bool = True,
        pool: str = "avg",
        pretrained_path: str | os.PathLike | None = None,
        in_chans: int = 3,
    ) -> None:
        super().__init__()
        self.image_size = _check_image_size(image_size)
        if crop_strategy not in CROP_STRATEGIES:
            raise ValueError(
                f"unknown crop_strategy {crop_strategy!r}; expected one of {', '.join(CROP_STRATEGIES)}"
            )
        _pool(pool)  # validate early
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.crop_strategy = crop_strategy
        self.use_lfsieb = use_lfsieb
        self.use_mdim = use_lfsieb and use_mdim
        self.use_lpn = use_lfsieb and use_lpn
        self.map_size = _out_size(image_size, 4)
        self.refined_size = _out_size(self.map_size, 1)

        # GFIEB trunk and the GPN's refinement network: the global ResNet-18 (conv1..layer3, layer4).
        self.gfieb = ResNetTrunk(in_chans)
        self.refinement = build_refinement()
        if pretrained_path is not None:
            load_resnet18_weights(self.gfieb, self.refinement, pretrained_path)

        def new_trunk() -> ResNetTrunk:
            # Region trunks start from the same file (a copy), or from their own random init.
            return copy.deepcopy(self.gfieb) if pretrained_path is not None else ResNetTrunk(in_chans)

        self.lfsieb: LFSIEB | None = None
        self.mdim: MDIM | None = None
        self.mdim_refinement: nn.Module | None = None
        self.lpn: LPN | None = None
        if use_lfsieb:
            layout = region_layout(crop_strategy, image_size, crop_seed)
            n_regions = sum(len(row) for row in layout)
            trunks = [new_trunk() for _ in range(n_regions)]
            self.lfsieb = LFSIEB(layout, trunks, self.map_size)
            if self.use_mdim:
                self.mdim = MDIM(
                    self.refined_size, identity_init=stn_identity_init, align_corners=stn_align_corners
                )
                if not share_refinement:
                    self.mdim_refinement = (
                        copy.deepcopy(self.refinement) if pretrained_path is not None else build_refinement()
                    )
            if self.use_lpn:
                self.lpn = LPN(n_regions, num_classes, pool)
        self.gpn = GPN(num_classes, pool)

    @property
    def boxes(self) -> list[Box]:
        """The region crop boxes ``(top, bottom, left, right)``, one per region trunk ([] without LFSIEB)."""
        return list(self.lfsieb.boxes) if self.lfsieb is not None else []

    @property
    def gradcam_target_layer(self) -> nn.Module:
        """The layer to hook for Grad-CAM(++): the GPN refinement network's output on the fused map.

        This is an identity right after layer4 in the GPN path (``gpn.tap``). Hooking ``refinement``
        (layer4) itself would also capture its second call, on the stitched map inside the MDIM.
        """
        return self.gpn.tap

    def forward(self, x: torch.Tensor) -> PCNNOutput:
        """``x [B, in_chans, s, s]`` -> ``PCNNOutput(logits [B, C], local_logits [B, C] | None)``."""
        if (
            x.dim() != 4
            or x.shape[1] != self.in_chans
            or tuple(x.shape[2:]) != (self.image_size, self.image_size)
        ):
            raise ValueError(
                f"PCNN built for input [B, {self.in_chans}, {self.image_size}, {self.image_size}], "
                f"got {list(x.shape)}; build it with image_size={x.shape[-1] if x.dim() == 4 else '?'}"
            )
        global_map = self.gfieb(x)
        local_logits = None
        fused = global_map
        if self.lfsieb is not None:
            stitched, region_maps = self.lfsieb(x)
            if self.mdim is not None:
                refinement = self.mdim_refinement if self.mdim_refinement is not None else self.refinement
                fused, _ = self.mdim(global_map, stitched, refinement)
            else:
                fused = global_map + stitched
            if self.lpn is not None:
                local_logits = self.lpn(region_maps)
        logits = self.gpn(self.refinement(fused))
        return PCNNOutput(logits, local_logits)


# The class itself is the registry builder: its constructor is the option list create_model checks.
# PCNN trains with its two-phase facial semantic loss and the PCNN recipe family.
pcnn = register_model("pcnn", loss="facial_semantic", recipe="pcnn")(PCNN)


__all__ = [
    "CROP_STRATEGIES",
    "GPN",
    "LFSIEB",
    "LPN",
    "MDIM",
    "PCNN",
    "PCNNOutput",
    "ResNetTrunk",
    "build_refinement",
    "load_resnet18_weights",
    "pcnn",
    "region_boxes",
    "region_layout",
    "stitch",
]

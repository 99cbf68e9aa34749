"""GMS-LPA, the global multiple-scale and local patches attention dual-branch network of seed 001
(pose-invariant FER), with the ablation variants of its Tables 1-4, 6, 8, 10 and Fig. 9 as options.

Architecture at 224 px with the ResNet-50 trunk (names as in the paper; ``s`` = input size)::

    image [B, 3, s, s]
      |-- feature extraction: ResNet-50 conv1 .. layer2 ----------------> mid-level map P [B, 512, s/8, s/8]
      |-- GMS branch: ResNet-50 layer3 (6 units, 1024 ch, stride 2) and layer4 (3 units, 2048 ch, stride 2);
      |     the last two units of each stage carry the symmetrical multiple-scale unit (Eqs. 1-3)
      |     in place of their 3x3 conv (four units) ----------------------> [B, 2048, s/32, s/32] (7x7)
      |     -> GAP -> FC ------------------------------------------------> global_logits [B, C]
      |-- LPA branch: P split into m x m patches P_i (m = 2: four [B, 512, 14, 14]);
      |     one attention network per patch, four patch-attention units each (two at 1024 ch, the
      |     first strided; two at 2048 ch), a unit = a residual unit whose residual branch ends in
      |     the local patch attention of Eq. 4 ----------------------------> [B, 2048, 7, 7] per patch
      |     re-assembled in place ------------------------------------------> [B, 2048, s/16, s/16] (14x14)
      |     -> GAP -> FC ------------------------------------------------> local_logits [B, C]
      `-- model-level fusion: logits = alpha * local_logits + (1 - alpha) * global_logits, alpha = 0.6;
          trained with alpha * CE(local) + (1 - alpha) * CE(global) (Eq. 6, ``losses.GMSLPALoss``)

The paper gives the four maps of ``512 x 14 x 14`` as the LPA module's inputs: they are the 2 x 2 patches of
the ``512 x 28 x 28`` mid-level map. Choices the paper leaves open (which units carry the multiple-scale
unit, the patch networks' depth and strides, the two attention convolutions of Fig. 5, the direction
index of Eq. 2) are listed in ``fer_lib/papers/discrepancies.md`` (GMS-LPA) with the parameter counts
they give beside the paper's (Table 15).

Options (which setting each table row uses is in :mod:`fer_lib.protocols.gmslpa`):

- ``branches``: ``"dual"`` (GMS-LPA), ``"global"`` or ``"local"`` (the single-branch rows of Table 1);
- ``global_unit``: ``"sms"`` (symmetrical multiple-scale, the paper's), ``"ms"`` (Res2Net's one-way
  multiple-scale) or ``"plain"`` (ResNet's 3x3 conv: the baselines, FDB);
- ``local_attention``: the LPA of Eq. 4 (``True``) or plain patches, LP (``False``); ``patch_grid``: m (Table 3);
- ``fusion``: ``"model"`` (Eq. 6) or ``"feature"`` (Table 4: the two pooled vectors concatenated, one FC);
- ``trunk``: ``"resnet50"`` (the paper's), ``"resnet34"`` or ``"resnet18"`` (Tables 6, 8, 10).

With ``branches="global", global_unit="plain"`` the network is ResNet-50 itself (same parameters).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from fer_lib.models.layers import conv3x3, init_like_torchvision, projection_shortcut
from fer_lib.models.registry import register_model
from fer_lib.models.weights import read_state_dict

#: trunk -> (bottleneck units?, units per stage layer1..layer4), as in torchvision.
TRUNKS: dict[str, tuple[bool, tuple[int, int, int, int]]] = {
    "resnet18": (False, (2, 2, 2, 2)),
    "resnet34": (False, (3, 4, 6, 3)),
    "resnet50": (True, (3, 4, 6, 3)),
}
BRANCHES: tuple[str, ...] = ("dual", "global", "local")
GLOBAL_UNITS: tuple[str, ...] = ("sms", "ms", "plain")
FUSIONS: tuple[str, ...] = ("model", "feature")
#: The inner widths of ResNet's four stages (a bottleneck unit's output is 4x its width).
_WIDTHS = (64, 128, 256, 512)
#: Units per stage in each patch's attention network ("four patch-attention units": two per stage).
_PATCH_UNITS_PER_STAGE = 2
#: Units per stage of the GMS branch that carry the multiple-scale unit (the last two: four in all).
_MULTI_SCALE_UNITS_PER_STAGE = 2


def _conv_bn_relu(channels: int) -> nn.Sequential:
    return nn.Sequential(conv3x3(channels, channels), nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


# --------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------


def cascade(subsets: list[torch.Tensor], convs: nn.ModuleList) -> list[torch.Tensor]:
    """Res2Net's hierarchy: ``Y_1 = v_1(X_1)``, ``Y_i = v_i(X_i + Y_{i-1})`` over the subsets in the given order."""
    outs: list[torch.Tensor] = []
    for x, conv in zip(subsets, convs, strict=True):
        outs.append(conv(x if not outs else x + outs[-1]))
    return outs


class SymmetricalMultiScaleUnit(nn.Module):
    """The symmetrical multiple-scale unit (Eqs. 1-3, Fig. 3b). ``[B, C, H, W] -> [B, C, H/stride, W/stride]``.

    The input is split into ``n = scales`` channel subsets ``X_1 .. X_n`` of ``C / n`` channels. Positive
    direction (Eq. 1): ``Y_1 = v_1(X_1)``, ``Y_i = v_i(X_i + Y_{i-1})``; negative direction (Eq. 2, read from
    ``X_n`` down, see the ledger): ``Z_n = u_n(X_n)``, ``Z_i = u_i(X_i + Z_{i+1})``. ``v_i``, ``u_i``: 3x3 conv
    + BN + ReLU, each direction its own. Each direction's subsets are concatenated and passed through its own
    1x1 output conv; the two are summed (Eq. 3). A strided unit average-pools its input first, so the
    cascades run at the output resolution.
    """

    def __init__(self, channels: int, scales: int = 4, stride: int = 1) -> None:
        super().__init__()
        if scales < 2 or channels % scales:
            raise ValueError(f"channels {channels} must split into scales={scales} >= 2 equal subsets")
        width = channels // scales
        self.scales = scales
        self.pool = nn.AvgPool2d(stride, stride, ceil_mode=True) if stride > 1 else nn.Identity()
        self.positive = nn.ModuleList(_conv_bn_relu(width) for _ in range(scales))
        self.negative = nn.ModuleList(_conv_bn_relu(width) for _ in range(scales))
        self.positive_out = nn.Conv2d(channels, channels, 1, bias=False)
        self.negative_out = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        subsets = list(torch.chunk(self.pool(x), self.scales, dim=1))
        positive = cascade(subsets, self.positive)
        # Negative direction: X_n first; the convs are indexed by subset, so both lists are reversed.
        negative = cascade(subsets[::-1], self.negative[::-1])[::-1]
        return self.positive_out(torch.cat(positive, dim=1)) + self.negative_out(torch.cat(negative, dim=1))


class MultiScaleUnit(nn.Module):
    """Res2Net's one-way multiple-scale unit (Table 1's "MS"). ``[B, C, H, W] -> [B, C, H/stride, W/stride]``.

    ``Y_1 = X_1``, ``Y_2 = v_2(X_2)``, ``Y_i = v_i(X_i + Y_{i-1})``, concatenated (the residual unit's own 1x1
    conv follows). ``v_i``: 3x3 conv + BN + ReLU. A strided unit average-pools its input first.
    """

    def __init__(self, channels: int, scales: int = 4, stride: int = 1) -> None:
        super().__init__()
        if scales < 2 or channels % scales:
            raise ValueError(f"channels {channels} must split into scales={scales} >= 2 equal subsets")
        self.scales = scales
        self.pool = nn.AvgPool2d(stride, stride, ceil_mode=True) if stride > 1 else nn.Identity()
        self.convs = nn.ModuleList(_conv_bn_relu(channels // scales) for _ in range(scales - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, *rest = torch.chunk(self.pool(x), self.scales, dim=1)
        return torch.cat([first, *cascade(rest, self.convs)], dim=1)


class LocalPatchAttention(nn.Module):
    """The local patch attention of Eq. 4 and Fig. 5. ``[B, C, H, W] -> [B, C, H, W]``.

    Average- and max-pooling along the channel axis give two ``[B, 1, H, W]`` descriptors; each passes its
    own pooling-level 3x3 conv (stride 1); they are concatenated and the spatial-level 3x3 conv (stride 2,
    padding 1) gives one map of ``ceil(H/2) x ceil(W/2)``, brought back to ``H x W`` (bilinear, the paper's
    "consistent with the input feature maps") and squashed by a sigmoid; the input is multiplied by it.
    """

    def __init__(self, spatial_stride: int = 2) -> None:
        super().__init__()
        self.avg_conv = nn.Conv2d(1, 1, 3, padding=1)
        self.max_conv = nn.Conv2d(1, 1, 3, padding=1)
        self.spatial_conv = nn.Conv2d(2, 1, 3, stride=spatial_stride, padding=1)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The spatial attention ``[B, 1, H, W]`` in (0, 1)."""
        pooled = torch.cat([self.avg_conv(x.mean(dim=1, keepdim=True)),
                            self.max_conv(x.amax(dim=1, keepdim=True))], dim=1)
        logits = self.spatial_conv(pooled)
        if logits.shape[-2:] != x.shape[-2:]:
            logits = F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.sigmoid(logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention_map(x)


class ResidualUnit(nn.Module):
    """A ResNet residual unit (torchvision's ``Bottleneck`` or ``BasicBlock``, same module names, so ResNet
    weights load into it) whose 3x3 conv may be a multiple-scale unit and whose residual branch may end in
    the local patch attention (Fig. 3a-c). ``[B, in_channels, H, W] -> [B, width * e, H/stride, W/stride]``,
    ``e`` = 4 for a bottleneck, else 1.
    """

    def __init__(self, in_channels: int, width: int, stride: int = 1, bottleneck: bool = True,
                 multi_scale: str = "plain", scales: int = 4, attention: bool = False) -> None:
        super().__init__()
        out_channels = width * (4 if bottleneck else 1)
        # The bottleneck strides in its 3x3 conv (torchvision's v1.5); the basic unit in its first conv.
        middle_stride = stride if bottleneck else 1
        if bottleneck:
            self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        else:
            self.conv1 = conv3x3(in_channels, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        if multi_scale == "sms":
            self.conv2: nn.Module = SymmetricalMultiScaleUnit(width, scales, middle_stride)
        elif multi_scale == "ms":
            self.conv2 = MultiScaleUnit(width, scales, middle_stride)
        elif multi_scale == "plain":
            self.conv2 = conv3x3(width, width, middle_stride)
        else:
            raise ValueError(f"multi_scale must be one of {GLOBAL_UNITS}, got {multi_scale!r}")
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False) if bottleneck else None
        self.bn3 = nn.BatchNorm2d(out_channels) if bottleneck else None
        self.attention = LocalPatchAttention() if attention else None
        self.downsample = projection_shortcut(in_channels, out_channels, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.conv3 is not None:
            out = self.bn3(self.conv3(self.relu(out)))
        if self.attention is not None:
            out = self.attention(out)
        return self.relu(out + identity)


def _stage(in_channels: int, width: int, units: int, stride: int, bottleneck: bool,
           multi_scale_units: int = 0, multi_scale: str = "plain", **kw) -> nn.Sequential:
    """``units`` residual units, the first strided; the last ``multi_scale_units`` carry ``multi_scale``."""
    out_channels = width * (4 if bottleneck else 1)
    return nn.Sequential(*(
        ResidualUnit(in_channels if i == 0 else out_channels, width, stride if i == 0 else 1, bottleneck,
                     multi_scale if i >= units - multi_scale_units else "plain", **kw)
        for i in range(units)
    ))


def split_patches(feature_map: torch.Tensor, grid: int) -> list[list[torch.Tensor]]:
    """``[B, C, H, W]`` -> ``grid x grid`` patches (rows of columns), as equal as the size allows."""
    return [list(torch.tensor_split(row, grid, dim=3)) for row in torch.tensor_split(feature_map, grid, dim=2)]


def assemble_patches(rows: list[list[torch.Tensor]]) -> torch.Tensor:
    """The inverse of :func:`split_patches` for processed patches: each put back in its place."""
    return torch.cat([torch.cat(row, dim=3) for row in rows], dim=2)


class GMSLPAOutput(NamedTuple):
    """GMS-LPA's prediction, ``[B, C]`` each.

    ``logits``: the fused prediction (dual-branch) or the one branch's; ``local_logits`` / ``global_logits``:
    each branch's own, ``None`` where the variant has no such head (a single branch, or feature-level
    fusion, which has one classifier for both).
    """

    logits: torch.Tensor
    local_logits: torch.Tensor | None
    global_logits: torch.Tensor | None


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------


class GMSLPA(nn.Module):
    """GMS-LPA. Input ``[B, in_chans, s, s]`` (``s / 8 >= patch_grid``; 224 in the paper), output
    :class:`GMSLPAOutput`.

    Args:
        num_classes: expression classes (6 on BU-3DFE and Multi-PIE, 7 in the wild).
        in_chans: input channels.
        trunk: ``"resnet50"`` (paper), ``"resnet34"``, ``"resnet18"``.
        branches: ``"dual"``, ``"global"`` (GMS alone) or ``"local"`` (LPA alone).
        global_unit: the GMS branch's multiple-scale unit, ``"sms"``, ``"ms"`` or ``"plain"``.
        local_attention: the patch-attention units' spatial attention (LPA); ``False`` is LP.
        patch_grid: m of the m x m patches (1-4 in Table 3).
        fusion: ``"model"`` (fused scores, Eq. 6) or ``"feature"`` (concatenated features, one FC).
        alpha: the local branch's weight in the fused scores (the loss's alpha; 0.6 in the paper).
        scales: n, the channel subsets of a multiple-scale unit (4 in the paper).
        pretrained_path: a torchvision-layout ResNet state dict of the same trunk, loaded after the
            random initialisation: conv1..layer4 fill the stem and the GMS branch (a multiple-scale
            unit keeps its own 3x3 convs), the first two units of layer3 and layer4 every patch network.
            Nothing is ever downloaded.
    """

    def __init__(
        self,
        num_classes: int = 7,
        in_chans: int = 3,
        trunk: str = "resnet50",
        branches: str = "dual",
        global_unit: str = "sms",
        local_attention: bool = True,
        patch_grid: int = 2,
        fusion: str = "model",
        alpha: float = 0.6,
        scales: int = 4,
        pretrained_path: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        for name, value, allowed in (("trunk", trunk, tuple(TRUNKS)), ("branches", branches, BRANCHES),
                                     ("global_unit", global_unit, GLOBAL_UNITS), ("fusion", fusion, FUSIONS)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if not 1 <= patch_grid <= 8:
            raise ValueError(f"patch_grid must be in 1..8, got {patch_grid}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if fusion == "feature" and branches != "dual":
            raise ValueError("feature-level fusion needs both branches (branches='dual')")
        bottleneck, depths = TRUNKS[trunk]
        expansion = 4 if bottleneck else 1
        self.branches, self.fusion, self.alpha, self.patch_grid = branches, fusion, float(alpha), patch_grid

        # Feature extraction: named like torchvision's ResNet so its weights load directly.
        self.conv1 = nn.Conv2d(in_chans, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = _stage(64, _WIDTHS[0], depths[0], 1, bottleneck)
        self.layer2 = _stage(_WIDTHS[0] * expansion, _WIDTHS[1], depths[1], 2, bottleneck)
        mid, features = _WIDTHS[1] * expansion, _WIDTHS[3] * expansion
        self.pool = nn.AdaptiveAvgPool2d(1)

        self.global_branch: nn.Sequential | None = None
        self.local_branch: nn.ModuleList | None = None
        if branches in ("dual", "global"):
            ms = _MULTI_SCALE_UNITS_PER_STAGE if global_unit != "plain" else 0
            self.global_branch = nn.Sequential(OrderedDict(
                layer3=_stage(mid, _WIDTHS[2], depths[2], 2, bottleneck, ms, global_unit, scales=scales),
                layer4=_stage(_WIDTHS[2] * expansion, _WIDTHS[3], depths[3], 2, bottleneck, ms, global_unit,
                              scales=scales),
            ))
        if branches in ("dual", "local"):
            units = _PATCH_UNITS_PER_STAGE
            self.local_branch = nn.ModuleList(
                nn.Sequential(OrderedDict(
                    layer3=_stage(mid, _WIDTHS[2], units, 2, bottleneck, attention=local_attention),
                    layer4=_stage(_WIDTHS[2] * expansion, _WIDTHS[3], units, 1, bottleneck,
                                  attention=local_attention),
                ))
                for _ in range(patch_grid * patch_grid)
            )
        if fusion == "feature":
            self.fused_fc = nn.Linear(2 * features, num_classes)
        else:
            self.global_fc = nn.Linear(features, num_classes) if self.global_branch is not None else None
            self.local_fc = nn.Linear(features, num_classes) if self.local_branch is not None else None
        init_like_torchvision(self)
        if pretrained_path is not None:
            load_resnet_weights(self, pretrained_path)

    @property
    def gradcam_target_layer(self) -> nn.Module:
        """Layer for Grad-CAM: the GMS branch's last unit (7x7 at 224, like ResNet's ``layer4``), or, for
        the LPA branch alone, the mid-level map's last unit (28x28; the patches have a layer each)."""
        if self.global_branch is not None:
            return self.global_branch.layer4[-1]
        return self.layer2[-1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature extraction: ``[B, in_chans, s, s] -> P [B, 512 (128 for ResNet-18/34), s/8, s/8]``."""
        x = self.layer2(self.layer1(self.maxpool(self.relu(self.bn1(self.conv1(x))))))
        if min(x.shape[-2:]) < self.patch_grid:
            raise ValueError(f"the mid-level map {tuple(x.shape[-2:])} is smaller than the {self.patch_grid} x "
                             f"{self.patch_grid} patch grid: use inputs of at least {8 * self.patch_grid} px")
        return x

    def global_features(self, mid: torch.Tensor) -> torch.Tensor:
        """GMS branch: P -> pooled ``[B, 2048]`` (512 for ResNet-18/34)."""
        return self.pool(self.global_branch(mid)).flatten(1)

    def local_map(self, mid: torch.Tensor) -> torch.Tensor:
        """LPA branch before pooling: P -> patches -> one attention network each -> re-assembled
        ``[B, 2048, s/16, s/16]``."""
        networks = iter(self.local_branch)
        rows = [[next(networks)(patch) for patch in row] for row in split_patches(mid, self.patch_grid)]
        return assemble_patches(rows)

    def local_features(self, mid: torch.Tensor) -> torch.Tensor:
        """LPA branch: P -> pooled ``[B, 2048]``."""
        return self.pool(self.local_map(mid)).flatten(1)

    def forward(self, x: torch.Tensor) -> GMSLPAOutput:
        mid = self.features(x)
        glob = self.global_features(mid) if self.global_branch is not None else None
        local = self.local_features(mid) if self.local_branch is not None else None
        if self.fusion == "feature":
            return GMSLPAOutput(self.fused_fc(torch.cat([glob, local], dim=1)), None, None)
        global_logits = self.global_fc(glob) if glob is not None else None
        local_logits = self.local_fc(local) if local is not None else None
        if local_logits is None:
            return GMSLPAOutput(global_logits, None, global_logits)
        if global_logits is None:
            return GMSLPAOutput(local_logits, local_logits, None)
        return GMSLPAOutput(self.alpha * local_logits + (1.0 - self.alpha) * global_logits, local_logits,
                            global_logits)


def load_resnet_weights(model: GMSLPA, path: str | os.PathLike) -> dict[str, list[str]]:
    """Load a torchvision-layout ResNet state dict of ``model``'s trunk (``fc`` aside) into ``model``.

    ``conv1``, ``bn1``, ``layer1``, ``layer2`` fill the feature extraction; ``layer3``/``layer4`` the GMS
    branch; their first two units every patch network. Tensors without a counterpart of the same shape (a
    multiple-scale unit's convs, the attention, the heads) keep their initialisation. Returns the loaded and
    the kept names; raises when nothing matched (another architecture's file).
    """
    state = read_state_dict(path)
    own = model.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    for name, value in state.items():
        targets = [name]
        stage, _, rest = name.partition(".")
        if stage in ("layer3", "layer4"):
            targets = [f"global_branch.{name}"]
            unit = rest.split(".", 1)[0]
            if unit.isdigit() and int(unit) < _PATCH_UNITS_PER_STAGE and model.local_branch is not None:
                targets += [f"local_branch.{k}.{name}" for k in range(len(model.local_branch))]
        for target in targets:
            if target in own and own[target].shape == value.shape:
                mapped[target] = value
    if not mapped:
        raise ValueError(f"no tensor of {path} matches GMS-LPA's trunk (file keys start {sorted(state)[:5]})")
    model.load_state_dict(mapped, strict=False)
    return {"loaded": sorted(mapped), "kept": sorted(set(own) - set(mapped))}


# The class is the registry builder: its constructor is the option list create_model checks.
# Where a recipe pretrains (the cpu scale), the trunk is the architecture the ``trunk`` option names.
gmslpa = register_model("gmslpa", loss="gmslpa", recipe="gmslpa", trunk_option="trunk")(GMSLPA)

__all__ = [
    "GMSLPA",
    "GMSLPAOutput",
    "LocalPatchAttention",
    "MultiScaleUnit",
    "ResidualUnit",
    "SymmetricalMultiScaleUnit",
    "assemble_patches",
    "cascade",
    "load_resnet_weights",
    "split_patches",
]

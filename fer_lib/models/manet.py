"""MA-Net: global multi-scale and local attention features (Zhao, Liu and Wang, IEEE TIP 2021).

Reference [36] of PCNN (seed 000), one row of PCNN's Table X, and the closest public design to
GMS-LPA (seed 001). Built from the paper's description:

- **Shared feature pre-extractor**: ResNet-18 ``conv1 .. layer2`` -> ``[B, 128, H/8, W/8]``
  (28x28 at 224). Module names match torchvision's, so a ResNet-18 state dict loads into it.
- **Local attention branch**: the map is cut into 2x2 non-overlapping patches (14x14 at 224);
  each patch has its own ``layer3`` (2 attention blocks, first with stride 2, 256 ch) and
  ``layer4`` (2 attention blocks, stride 1, 512 ch). An attention block is a ResNet basic block
  whose residual branch ends in CBAM (channel attention with reduction 16, then 7x7 spatial
  attention). The four 512-channel patch maps are put back in place (2x2), average-pooled, and
  classified by ``local_fc``.
- **Global multi-scale branch**: ``layer3`` (256 ch, stride 2) and ``layer4`` (512 ch, stride 2)
  of 2 multi-scale blocks each. A multi-scale block: 3x3 conv + BN + ReLU, then the channels are
  split into 4 groups processed hierarchically (Res2Net-style, each group's 3x3 conv also sees the
  previous group's output) in both directions (groups 1->4 and 4->1); the two directions are
  summed, then the residual is added. Average pool and ``global_fc``.
- **Loss**: ``beta * CE(local) + (1 - beta) * CE(global)`` with ``beta = 0.6``; the prediction
  is the same mixture of the logits (``fer_lib.losses.MANetLoss``, :attr:`MANetOutput.logits`).

Size at 224 (checked by tests): 50.55 M parameters with 7 classes, 63.53 M with the 12,666-way
MS-Celeb identity head of the public model (PCNN's Table X quotes 63.54 M); about 3.66 GMACs
(fvcore). The authors' recipe: SGD lr 0.01, momentum 0.9, weight decay 1e-4, StepLR(15, 0.1),
batch 128, 100 epochs, random resized crop 224 + flip, no input normalisation.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from fer_lib.models.layers import conv3x3, init_like_torchvision, projection_shortcut, resnet18_stage
from fer_lib.models.registry import register_model
from fer_lib.models.weights import load_pretrained


class MANetOutput(NamedTuple):
    """MA-Net's prediction. ``logits`` = ``beta * local_logits + (1 - beta) * global_logits``.

    All three are ``[B, num_classes]``. Being a tuple whose first field is ``logits``, it works
    wherever a model's first output or ``.logits`` is taken as the prediction.
    """

    logits: torch.Tensor
    local_logits: torch.Tensor
    global_logits: torch.Tensor


class CBAM(nn.Module):
    """Channel then spatial attention (Woo et al., ECCV 2018). ``[B, C, H, W] -> [B, C, H, W]``.

    Channel gate: a shared MLP ``C -> C/r -> C`` on the average- and max-pooled vectors, summed,
    sigmoid. Spatial gate: max and mean over channels -> 7x7 conv (no bias) -> BN -> sigmoid.
    """

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))
        self.spatial_conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.spatial_bn = nn.BatchNorm2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(x.mean(dim=(2, 3)))
        mx = self.mlp(x.amax(dim=(2, 3)))
        x = x * torch.sigmoid(avg + mx)[:, :, None, None]
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial_bn(self.spatial_conv(pooled)))


class AttentionBlock(nn.Module):
    """ResNet basic block with CBAM on the residual branch. ``[B, cin, H, W] -> [B, cout, H/s, W/s]``."""

    def __init__(self, cin: int, cout: int, stride: int = 1, reduction: int = 16) -> None:
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.cbam = CBAM(cout, reduction)
        self.downsample = projection_shortcut(cin, cout, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.cbam(self.bn2(self.conv2(out)))
        return F.relu(out + identity)


class MultiScaleBlock(nn.Module):
    """Residual block with a two-way hierarchical multi-scale path. ``[B, cin, H, W] -> [B, cout, H/s, W/s]``.

    After ``conv1`` (3x3, stride ``s``) the ``cout`` channels are split into ``scales`` groups
    ``x_1 .. x_n`` of ``cout / scales`` channels. Forward direction: ``y_1 = f_1(x_1)``,
    ``y_i = f_i(relu(y_{i-1}) + x_i)``; backward direction the same from ``x_n`` down to ``x_1``
    with its own convs ``g_i``. Each ``f_i``/``g_i`` is 3x3 conv + BN. The two concatenations are
    summed and added to the shortcut. Receptive fields grow group by group, so the output mixes
    scales; running both directions lets every group be both small- and large-field.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, scales: int = 4) -> None:
        super().__init__()
        if cout % scales:
            raise ValueError(f"channels {cout} are not divisible by scales={scales}")
        width = cout // scales
        self.scales = scales
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)

        def branch() -> nn.ModuleList:
            return nn.ModuleList(nn.Sequential(conv3x3(width, width), nn.BatchNorm2d(width)) for _ in range(scales))

        self.forward_convs = branch()
        self.backward_convs = branch()
        self.downsample = projection_shortcut(cin, cout, stride)

    def _hierarchy(self, groups: list[torch.Tensor], convs: nn.ModuleList) -> list[torch.Tensor]:
        outs: list[torch.Tensor] = []
        for i, (x, conv) in enumerate(zip(groups, convs, strict=True)):
            outs.append(conv(x if i == 0 else F.relu(outs[-1]) + x))
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        groups = list(torch.chunk(out, self.scales, dim=1))
        fwd = self._hierarchy(groups, self.forward_convs)
        # Backward direction: group n first; convs are indexed by group, so reverse both lists.
        bwd = self._hierarchy(groups[::-1], self.backward_convs[::-1])[::-1]
        return F.relu(torch.cat(fwd, dim=1) + torch.cat(bwd, dim=1) + identity)


def _stage(block: type[nn.Module], cin: int, cout: int, stride: int, depth: int = 2, **kw) -> nn.Sequential:
    return nn.Sequential(block(cin, cout, stride, **kw), *(block(cout, cout, 1, **kw) for _ in range(depth - 1)))


class MANet(nn.Module):
    """MA-Net. Input ``[B, in_chans, H, W]`` (H, W >= 32; 224 in the paper); output :class:`MANetOutput`.

    Intermediate shapes at 224: shared ``[B, 128, 28, 28]``; each local patch ``[B, 128, 14, 14]``
    -> ``[B, 512, 7, 7]``, re-assembled ``[B, 512, 14, 14]``; global ``[B, 512, 7, 7]``.

    Args:
        num_classes: outputs of both heads.
        in_chans: input channels (1 for grey images).
        beta: weight of the local branch in the fused logits (and in :class:`MANetLoss`).
        branches: ``"both"`` (MA-Net), ``"global"`` or ``"local"`` (ablations: the other branch is
            not built and the fused logits are the remaining branch's).
        reduction: CBAM channel reduction.
        scales: channel groups of a multi-scale block.
        pretrained_path: a state dict file, loaded after the random initialisation; a ResNet-18 file
            fills the shared pre-extractor, a fer_lib MA-Net file everything (tensors with another
            shape, e.g. a head, are skipped). Nothing is ever downloaded.
    """

    def __init__(
        self,
        num_classes: int = 7,
        in_chans: int = 3,
        beta: float = 0.6,
        branches: str = "both",
        reduction: int = 16,
        scales: int = 4,
        pretrained_path: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        if branches not in ("both", "global", "local"):
            raise ValueError(f"branches must be 'both', 'global' or 'local', got {branches!r}")
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {beta}")
        self.beta = beta
        self.branches = branches
        # Shared pre-extractor, named like torchvision's ResNet-18 so its weights load directly.
        self.conv1 = nn.Conv2d(in_chans, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = resnet18_stage(64, 64, 1)
        self.layer2 = resnet18_stage(64, 128, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.local_branches: nn.ModuleList | None = None
        self.global_branch: nn.Sequential | None = None
        if branches in ("both", "local"):
            self.local_branches = nn.ModuleList(
                nn.Sequential(
                    _stage(AttentionBlock, 128, 256, 2, reduction=reduction),
                    _stage(AttentionBlock, 256, 512, 1, reduction=reduction),
                )
                for _ in range(4)
            )
            self.local_fc = nn.Linear(512, num_classes)
        if branches in ("both", "global"):
            self.global_branch = nn.Sequential(
                _stage(MultiScaleBlock, 128, 256, 2, scales=scales),
                _stage(MultiScaleBlock, 256, 512, 2, scales=scales),
            )
            self.global_fc = nn.Linear(512, num_classes)
        init_like_torchvision(self)
        if pretrained_path is not None:
            load_pretrained(self, pretrained_path)

    @property
    def gradcam_target_layer(self) -> nn.Module:
        """Layer for Grad-CAM: the last block of the global branch (7x7 at 224, like ResNet's
        ``layer4``), or the shared ``layer2`` (28x28) when only the local branch is built."""
        if self.global_branch is not None:
            return self.global_branch[-1][-1]
        return self.layer2[-1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Shared pre-extractor: ``[B, in_chans, H, W] -> [B, 128, H/8, W/8]``."""
        if x.shape[-1] < 32 or x.shape[-2] < 32:
            raise ValueError(f"MA-Net needs inputs of at least 32x32, got {tuple(x.shape[-2:])}")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer2(self.layer1(x))

    def local_logits(self, feat: torch.Tensor) -> torch.Tensor:
        """Local branch on the shared map ``[B, 128, h, w]`` -> ``[B, num_classes]``."""
        h2, w2 = feat.shape[-2] // 2, feat.shape[-1] // 2
        # 2x2 non-overlapping patches (at 224: [0:14, 0:14], [0:14, 14:28], [14:28, 0:14], [14:28, 14:28]).
        patches = [feat[..., :h2, :w2], feat[..., :h2, w2:], feat[..., h2:, :w2], feat[..., h2:, w2:]]
        outs = [branch(p) for branch, p in zip(self.local_branches, patches, strict=True)]
        top, bottom = torch.cat(outs[:2], dim=3), torch.cat(outs[2:], dim=3)
        return self.local_fc(self.pool(torch.cat([top, bottom], dim=2)).flatten(1))

    def global_logits(self, feat: torch.Tensor) -> torch.Tensor:
        """Global multi-scale branch on the shared map ``[B, 128, h, w]`` -> ``[B, num_classes]``."""
        return self.global_fc(self.pool(self.global_branch(feat)).flatten(1))

    def forward(self, x: torch.Tensor) -> MANetOutput:
        feat = self.features(x)
        local = self.local_logits(feat) if self.local_branches is not None else None
        glob = self.global_logits(feat) if self.global_branch is not None else None
        if local is None:
            return MANetOutput(glob, glob, glob)
        if glob is None:
            return MANetOutput(local, local, local)
        return MANetOutput(self.beta * local + (1.0 - self.beta) * glob, local, glob)


# The class itself is the registry builder: its constructor is the option list create_model checks.
# MA-Net trains with CE on each branch (losses.py "manet"). Its paper's recipe is not in fer_lib.recipes: it
# trains with the baseline (resnet) family's recipe at every scale.
manet = register_model("manet", loss="manet", recipe="resnet")(MANet)

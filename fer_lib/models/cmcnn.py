"""CM-CNN, the cross-modality attention CNN of seed 002: one feature extraction network (FEN) per facial
modality (grey, LBP, depth; HOG and Gabor for the ablation rows), fused by the cross-modality attention
fusion network (CMFN), with the modality subsets and the fusion of its Tables II-III as options.

Architecture at the paper's 148 px (names as in the paper; ``M`` modalities, ``C = 128``)::

    images [B, M, 148, 148]      one grey-level channel per modality, in the order of ``modalities``
                                 (or fer_lib.data.modalities' packed [B, 3, 148, 148]: the first M channels)
      |-- per modality m: its FEN ------------------------------------------> f_m [B, C, 9, 9]
      |     depth: four stages conv -> BN -> PReLU -> max-pool (DeepID-like, Fig. 3(a))
      |     grey / LBP / HOG / Gabor: the same four stages, each followed by a residual conv (Fig. 3(b))
      |-- CMFN, for every ordered pair (m, n), m != n (Eq. 3, Fig. 5):
      |     G1, G2 = 1x1 convs of f_m; D1 = 1x1 conv of f_n               [B, C, N], N = 9 x 9
      |     Att_mn = sigmoid(G1^T D1)                                     [B, N, N]
      |     f_mn = reshape(G2 Att_mn^T) + f_m                              [B, C, 9, 9]
      |   embedding of m: f_Am = concat_n f_mn                            [B, (M - 1) C, 9, 9]
      |-- max-pool and average-pool of every embedding, concatenated -----> f_v [B, 2 (M - 1) C M]
      `-- Fc1 -> PReLU ----------------------------------------------------> logits [B, 6]
          Eq. 4's output F = sigmoid(logits) is taken by the loss (losses.SoftFocalLoss), which needs the
          scores before the sigmoid to compute log F stably; the argmax of F is the argmax of the logits.

The paper's Fig. 3 gives the FENs' channel numbers and kernel sizes, which its text does not; the figure
is not in the text fer_lib works from, so every value below is a choice (``DEPTH_FEN`` / ``TEXTURE_FEN``,
the residual conv of each stage, the head's pooling), recorded in ``fer_lib/papers/discrepancies.md``
(CM-CNN) with the parameter count it gives.

Options (which setting each table row uses is in :mod:`fer_lib.protocols.cmcnn`):

- ``modalities``: any of ``"gray"``, ``"lbp"``, ``"depth"``, ``"hog"``, ``"gabor"`` (Tables II-III: G, L, D,
  H, B and their combinations); one modality is a FEN with its classification head (Fig. 3's red box);
- ``fusion``: ``"cmfn"`` (the paper's) or ``"concat"`` (the rows without "+ CMFN": each FEN's map pooled and
  concatenated, no attention);
- ``attention``: ``"sigmoid"`` (Eq. 3) or ``"softmax"`` (the word the text uses for it, as in SAGAN);
  ``normalise_attention``: divide the sigmoid weights by ``N``. Eq. 3 as printed (``False``) sums ``G2`` over
  all ``N`` positions with weights in (0, 1), so the attention term starts about ``N / 2`` times the size of
  ``f_m`` and training at the paper's lr 0.01 diverges (``tests/models/test_cmcnn.py``; ledger CM-CNN).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from fer_lib.models.layers import conv3x3
from fer_lib.models.registry import register_model

MODALITIES: tuple[str, ...] = ("gray", "lbp", "depth", "hog", "gabor")
#: The modalities whose FEN is the deeper texture network of Fig. 3(b); depth has the shallow one.
TEXTURE_MODALITIES: tuple[str, ...] = ("gray", "lbp", "hog", "gabor")
FUSIONS: tuple[str, ...] = ("cmfn", "concat")
ATTENTIONS: tuple[str, ...] = ("sigmoid", "softmax")
#: (kernel size, output channels) of the four stages, each followed by a 2 x 2 max-pool: 148 -> 74 -> 37 -> 18 -> 9.
#: DeepID's four conv layers (kernels 4, 3, 3, 2; 20-80 channels at 39 x 31) widened for 148 px (fer_lib's choice).
DEPTH_FEN: tuple[tuple[int, int], ...] = ((5, 32), (3, 64), (3, 96), (3, 128))
#: The texture FEN's four stages: the same convs, each stage deepened by a residual 3 x 3 conv (4 added layers).
TEXTURE_FEN: tuple[tuple[int, int], ...] = DEPTH_FEN


# --------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------


class ConvStage(nn.Module):
    """One FEN stage: ``conv(k) -> BN -> PReLU -> 2 x 2 max-pool`` (``[B, c_in, H, W] -> [B, c_out, H/2, W/2]``);
    with ``residual``, then ``x + BN(conv3x3(x))`` through a PReLU (the texture FEN's added layer with its skip
    connection), at the pooled resolution, where it costs a quarter of what it would before the pool."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, residual: bool):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.PReLU(out_channels)
        self.pool = nn.MaxPool2d(2)
        if residual:
            self.res_conv = conv3x3(out_channels, out_channels)
            self.res_bn = nn.BatchNorm2d(out_channels)
            self.res_act = nn.PReLU(out_channels)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.act(self.bn(self.conv(x))))
        if self.residual:
            x = self.res_act(x + self.res_bn(self.res_conv(x)))
        return x


class FeatureExtractionNetwork(nn.Module):
    """A FEN (Fig. 3): one grey-level image ``[B, 1, s, s]`` -> feature map ``[B, C, s/16, s/16]`` (``C`` = the last
    stage's channels; 9 x 9 at 148 px). ``residual=False``: the depth FEN (a); ``True``: the texture FEN (b)."""

    def __init__(self, stages: Sequence[tuple[int, int]], residual: bool):
        super().__init__()
        layers, channels = [], 1
        for kernel_size, out_channels in stages:
            layers.append(ConvStage(channels, out_channels, kernel_size, residual))
            channels = out_channels
        self.stages = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x)


class CrossModalityAttention(nn.Module):
    """Eq. 3 and Fig. 5: modality ``m``'s map guided by modality ``n``'s.

    ``f_m, f_n [B, C, H, W]`` -> ``f_mn = reshape(G2 Att^T) + f_m`` ``[B, C, H, W]``, where ``G1 = conv1x1(f_m)``,
    ``G2 = conv1x1(f_m)``, ``D1 = conv1x1(f_n)`` (each ``[B, C, N]``, ``N = H W``) and ``Att = act(G1^T D1)``
    ``[B, N, N]``: ``Att[i, j]`` relates position ``i`` of ``m`` to position ``j`` of ``n``, and position ``i`` of
    the output gathers ``G2`` over the positions ``j`` that ``n`` marks as related.
    """

    def __init__(self, channels: int, attention: str = "sigmoid", normalise: bool = True):
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, got {attention!r}")
        self.g1 = nn.Conv2d(channels, channels, 1)
        self.g2 = nn.Conv2d(channels, channels, 1)
        self.d1 = nn.Conv2d(channels, channels, 1)
        self.attention = attention
        self.normalise = normalise

    def attention_map(self, f_m: torch.Tensor, f_n: torch.Tensor) -> torch.Tensor:
        """``Att [B, N, N]`` of Eq. 3; with ``normalise``, sigmoid weights are divided by ``N`` (each output
        position a weighted mean of ``G2``, not a sum of up to ``N`` copies: 81 at 148 px)."""
        scores = self.g1(f_m).flatten(2).transpose(1, 2) @ self.d1(f_n).flatten(2)
        if self.attention == "softmax":
            return torch.softmax(scores, dim=-1)
        att = torch.sigmoid(scores)
        return att / scores.shape[-1] if self.normalise else att

    def forward(self, f_m: torch.Tensor, f_n: torch.Tensor) -> torch.Tensor:
        att = self.attention_map(f_m, f_n)
        guided = self.g2(f_m).flatten(2) @ att.transpose(1, 2)
        return guided.view_as(f_m) + f_m


class CMCNNOutput(NamedTuple):
    """CM-CNN's prediction: ``logits`` ``[B, 6]`` (Eq. 4 before its sigmoid) and the fused embedding ``f_v``
    ``[B, D]`` (Fig. 7's t-SNE)."""

    logits: torch.Tensor
    embedding: torch.Tensor


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------


class CMCNN(nn.Module):
    """CM-CNN (seed 002); the options are in the module docstring.

    Input ``[B, M, s, s]`` or a packed image ``[B, 3, s, s]`` (:mod:`fer_lib.data.modalities`): channel ``i`` is
    modality ``modalities[i]``; a packed image's channels beyond ``M`` are its padding and are not read. 148 px
    gives 9 x 9 maps. Output :class:`CMCNNOutput`.
    """

    def __init__(self, num_classes: int = 6, modalities: Sequence[str] = ("gray", "lbp", "depth"),
                 fusion: str = "cmfn", attention: str = "sigmoid", normalise_attention: bool = True):
        super().__init__()
        modalities = tuple(modalities)
        unknown = [m for m in modalities if m not in MODALITIES]
        if unknown or not modalities or len(set(modalities)) != len(modalities):
            raise ValueError(f"modalities must be distinct names among {MODALITIES}, got {modalities}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        self.modalities = modalities
        self.fusion = fusion if len(modalities) > 1 else "none"
        self.fens = nn.ModuleDict({
            m: FeatureExtractionNetwork(TEXTURE_FEN if m in TEXTURE_MODALITIES else DEPTH_FEN,
                                        residual=m in TEXTURE_MODALITIES) for m in modalities})
        channels = {fen.out_channels for fen in self.fens.values()}
        if len(channels) != 1:
            raise ValueError(f"the FENs must end at one channel count for the CMFN, got {sorted(channels)}")
        self.channels = channels.pop()
        # Module names: "<m>_from_<n>" is m's map guided by n's (f_mn of the paper).
        self.cmfn = nn.ModuleDict({f"{m}_from_{n}": CrossModalityAttention(self.channels, attention,
                                                                                   normalise_attention)
                                   for m in modalities for n in modalities if m != n}) \
            if self.fusion == "cmfn" else nn.ModuleDict()
        per_modality = self.channels * (len(modalities) - 1 if self.fusion == "cmfn" else 1)
        self.embedding_dim = 2 * per_modality * len(modalities)  # max- and average-pooled
        self.fc1 = nn.Linear(self.embedding_dim, num_classes)
        self.act = nn.PReLU()
        # What fer_lib's loaders give (the packed image) and, for Grad-CAM, the first modality's FEN; each FEN's
        # stages are under "fens.<modality>.stages" (fer_lib.explain maps each onto its own modality's image).
        self.in_chans = 3
        self.gradcam_target_layer = f"fens.{modalities[0]}"
        self.gradcam_layer_depth = 4

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each modality's FEN map ``{m: [B, C, h, w]}``."""
        if images.dim() != 4 or images.shape[1] not in (len(self.modalities), 3) \
                or images.shape[1] < len(self.modalities):
            raise ValueError(f"CM-CNN with modalities {self.modalities} takes [B, {len(self.modalities)}, H, W] "
                             f"(one channel per modality) or a packed [B, 3, H, W], got {list(images.shape)}")
        return {m: self.fens[m](images[:, i:i + 1]) for i, m in enumerate(self.modalities)}

    def embeddings(self, maps: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each modality's embedding: ``f_Am = concat_n f_mn`` with the CMFN, its own map without."""
        if self.fusion != "cmfn":
            return maps
        return {m: torch.cat([self.cmfn[f"{m}_from_{n}"](maps[m], maps[n]) for n in self.modalities if n != m], 1)
                for m in self.modalities}

    def forward(self, images: torch.Tensor) -> CMCNNOutput:
        embeddings = self.embeddings(self.features(images))
        pooled = [torch.cat([e.amax(dim=(2, 3)), e.mean(dim=(2, 3))], 1) for e in embeddings.values()]
        f_v = torch.cat(pooled, 1)
        return CMCNNOutput(self.act(self.fc1(f_v)), f_v)


cmcnn = register_model("cmcnn", loss="soft_focal", recipe="cmcnn", data_options=("modalities",))(CMCNN)

__all__ = [
    "ATTENTIONS",
    "CMCNN",
    "CMCNNOutput",
    "ConvStage",
    "CrossModalityAttention",
    "DEPTH_FEN",
    "FUSIONS",
    "FeatureExtractionNetwork",
    "MODALITIES",
    "TEXTURE_FEN",
    "TEXTURE_MODALITIES",
]

"""POSTER, the two-stream pyramid cross-fusion transformer of seed 003, and its image-only baseline.

Architecture at the authors' configuration (``D = 512``, 49 tokens a stream; shapes for a batch ``B``)::

    images [B, 3, s, s]
      |-- image stream: resized to 112 -> IR50, its first three stages ------------> [B, 256, 14, 14]
      |     tokens: the map's memory read as 49 rows of 1024 (``token_layout="raw"``, the authors'; or "patch":
      |     each 2 x 2 cell's 256 x 4 values) -> Linear(1024, 512)                   -> x_img [B, 49, 512]
      |-- landmark stream (frozen): resized to 112 -> MobileFaceNet, a 68-point landmark regressor; its last
      |     1 x 1 conv's map [B, 512, 7, 7] read as 49 tokens                       -> x_lm  [B, 49, 512]
      |-- cross-fusion transformer:
      |     each stream gets a class token (the mean of its tokens); the image stream a learned position
      |     embedding; concatenated                                                  -> [B, 100, 512]
      |     the pyramid: Conv1d over the embedding axis (the 100 tokens as channels) -> [B, 100, 256], [B, 100, 128]
      |     ``depth`` pyramid blocks, at each scale one cross-fusion block:
      |         image tokens += MHA(Q = the landmark tokens, K, V = Linear(image tokens)) -> += MLP
      |         landmark tokens += MHA(Q = the image tokens, K, V = Linear(landmark tokens)) -> += MLP
      |         (each stream's own LayerNorms and MLP), then a 1 x 1 Conv1d mixes the 100 tokens;
      |       then top-down: 128 -> ConvTranspose1d -> + 256 -> ConvTranspose1d -> + 512
      |     LayerNorm of the 512 scale; the image class token                        -> [B, 512]
      `-- SE block (Linear, ReLU, Linear, sigmoid gate) -> Linear(512, classes)       -> logits [B, classes]

Options: ``fusion="cross"`` (POSTER) or ``"none"``: the baseline of Table 1 and Figs. 6-7, the image stream and a
plain transformer (pre-norm self-attention blocks over its 50 tokens at one scale, the same depth, heads and MLP
ratio), no landmark stream; ``depth`` 8 ("large", the paper's), 6 ("base") or 4 ("small");
``image_size`` the input side (224 in the paper; the streams resize to 112 themselves); ``stream_size`` the image
stream's side (default 112, the authors', or 56 for inputs under 112 px: a 256 x 7 x 7 map, 49 tokens of 256, at a
quarter of IR50's cost, and FERPlus's faces are 48 px anyway); the landmark stream always runs at 112;
``freeze_trunk`` keeps IR50 as loaded (no gradients, its batch-norm statistics fixed), as the ``cpu`` scale's
pretrained trunk (a frozen trunk's forward pass is a third of its training step). The landmark network's weights
come from ``landmark_weights`` (a file: the authors' ``mobilefacenet_model_best.pth.tar`` or the regressor fer_lib
trains, :mod:`fer_lib.protocols.landmarks`), IR50's from ``pretrained_path`` (the authors' ``ir50.pth``, or the
trunk fer_lib pretrains: :class:`IR50Classifier`); the module names follow the authors' files so either loads.
Neither is downloaded: without them both start from random weights,
which a POSTER with a frozen landmark stream should not be trained with (the model says so when built).

Sizes (``tests/models/test_poster.py``): the authors' 70.84 M trainable parameters include IR50's output layer
(BatchNorm, Linear(25088, 512), BatchNorm: 12.85 M), which their forward pass never runs; fer_lib builds only
what runs (ledger POSTER 7).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from fer_lib.models.registry import register_model
from fer_lib.models.weights import load_pretrained

#: (units, output channels) of IR50's three stages the image stream keeps; each stage's first unit halves the map.
IR50_STAGES: tuple[tuple[int, int], ...] = ((3, 64), (4, 128), (14, 256))
STREAM_SIZE = 112
DEPTHS: dict[str, int] = {"small": 4, "base": 6, "large": 8}
FUSIONS: tuple[str, ...] = ("cross", "none")
TOKEN_LAYOUTS: tuple[str, ...] = ("raw", "patch")


# -- the image stream: IR50 ------------------------------------------------------------------------------------
class IRUnit(nn.Module):
    """IR50's unit: BN -> 3x3 conv -> PReLU -> 3x3 conv (stride) -> BN, plus a shortcut (a strided identity, or a
    1x1 conv + BN where the channels change)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.shortcut_layer = nn.MaxPool2d(1, stride) if in_channels == out_channels else nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))
        self.res_layer = nn.Sequential(
            nn.BatchNorm2d(in_channels), nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=False),
            nn.PReLU(out_channels), nn.Conv2d(out_channels, out_channels, 3, stride, 1, bias=False),
            nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


class IR50Stream(nn.Module):
    """``[B, 3, s, s] -> [B, 256, size / 8, size / 8]``: the input resized to ``size`` (112: 14 x 14), a 3x3 stem,
    IR50's first three stages."""

    def __init__(self, size: int = STREAM_SIZE):
        super().__init__()
        self.size = size
        self.input_layer = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64))
        units, channels = [], 64
        for count, out_channels in IR50_STAGES:
            units += [IRUnit(channels if k == 0 else out_channels, out_channels, 2 if k == 0 else 1)
                      for k in range(count)]
            channels = out_channels
        self.body = nn.Sequential(*units)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(self.input_layer(F.interpolate(images, size=self.size)))


class IR50Classifier(IR50Stream):
    """IR50's three stages as a classifier, ``[B, 3, s, s] -> logits [B, classes]`` (the stream, global average
    pooling, ``fc``): the trunk fer_lib pretrains for POSTER's image stream at the ``cpu`` scale (``make pretrain
    ARCH=ir50``; :mod:`fer_lib.protocols.pretrain`). Without ``fc`` its weights are :class:`IR50Stream`'s, under
    the same names, so POSTER's ``pretrained_path`` loads them."""

    def __init__(self, num_classes: int = 7, image_size: int = 224, stream_size: int | None = None,
                 pretrained_path: str | os.PathLike | None = None):
        super().__init__(stream_size or (STREAM_SIZE if image_size >= STREAM_SIZE else 56))
        self.fc = nn.Linear(IR50_STAGES[-1][1], num_classes)
        self.gradcam_target_layer = "body"
        if pretrained_path is not None:
            load_pretrained(self, pretrained_path)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.fc(super().forward(images).mean(dim=(2, 3)))


# -- the landmark stream: MobileFaceNet --------------------------------------------------------------------
class ConvBlock(nn.Module):
    """conv -> BN (-> PReLU unless ``linear``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 1, stride: int = 1, padding: int = 0,
                 groups: int = 1, linear: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.prelu = nn.Identity() if linear else nn.PReLU(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(self.bn(self.conv(x)))


class DepthWise(nn.Module):
    """MobileFaceNet's bottleneck: 1x1 expansion to ``width``, 3x3 depth-wise (stride), linear 1x1 projection; a
    residual where the shape is kept."""

    def __init__(self, in_channels: int, out_channels: int, width: int, stride: int, residual: bool = False):
        super().__init__()
        self.conv = ConvBlock(in_channels, width)
        self.conv_dw = ConvBlock(width, width, 3, stride, 1, groups=width)
        self.project = ConvBlock(width, out_channels, linear=True)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.conv_dw(self.conv(x)))
        return x + out if self.residual else out


class ResidualStage(nn.Module):
    def __init__(self, channels: int, blocks: int, width: int):
        super().__init__()
        self.model = nn.Sequential(*(DepthWise(channels, channels, width, 1, residual=True) for _ in range(blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LandmarkHead(nn.Module):
    """GDC: a 7 x 7 depth-wise conv to one position, Linear to the 136 landmark coordinates, BN."""

    def __init__(self, outputs: int = 136):
        super().__init__()
        self.conv_6_dw = ConvBlock(512, 512, 7, groups=512, linear=True)
        self.linear = nn.Linear(512, outputs, bias=False)
        self.bn = nn.BatchNorm1d(outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.linear(self.conv_6_dw(x).flatten(1)))


class LandmarkOutput(NamedTuple):
    """MobileFaceNet's output: ``landmarks [B, 136]`` (68 x (x, y), in the units it was trained on: fer_lib's
    landmark runs use coordinates normalised to [0, 1] of the 112 px face) and ``features [B, 512, 7, 7]``."""

    landmarks: torch.Tensor
    features: torch.Tensor


class MobileFaceNet(nn.Module):
    """The 68-point landmark regressor of POSTER's landmark stream: ``[B, 3, s, s]`` (resized to 112) ->
    :class:`LandmarkOutput`. The stages: a stride-2 stem (64), a depth-wise conv, bottlenecks to 64 at 28 x 28,
    to 128 at 14 x 14 and at 7 x 7, a 1 x 1 conv to 512 (the stream's tokens), the GDC landmark head."""

    def __init__(self, num_landmarks: int = 68):
        super().__init__()
        self.conv1 = ConvBlock(3, 64, 3, 2, 1)
        self.conv2_dw = ConvBlock(64, 64, 3, 1, 1, groups=64)
        self.conv_23 = DepthWise(64, 64, 128, 2)
        self.conv_3 = ResidualStage(64, 4, 128)
        self.conv_34 = DepthWise(64, 128, 256, 2)
        self.conv_4 = ResidualStage(128, 6, 256)
        self.conv_45 = DepthWise(128, 128, 512, 2)
        self.conv_5 = ResidualStage(128, 2, 256)
        self.conv_6_sep = ConvBlock(128, 512)
        self.output_layer = LandmarkHead(2 * num_landmarks)

    @torch.no_grad()
    def start_at_shape(self, mean: torch.Tensor, spread: torch.Tensor) -> None:
        """Start the head's output at a mean shape: its final BatchNorm's shift becomes ``mean`` and its scale
        ``spread`` (``[136]`` each, e.g. the training faces' mean and standard deviation per coordinate). From
        BatchNorm's default (shift 0, scale 1) a short training run predicts points spread over the whole image,
        worse in eval mode than in training (measured: 100-2000 % NME after 120 steps on 64 faces, against 5 %
        from the mean shape)."""
        self.output_layer.bn.bias.copy_(torch.as_tensor(mean, dtype=torch.float32).flatten())
        self.output_layer.bn.weight.copy_(torch.as_tensor(spread, dtype=torch.float32).flatten())

    def forward(self, images: torch.Tensor) -> LandmarkOutput:
        x = F.interpolate(images, size=STREAM_SIZE) if images.shape[-1] != STREAM_SIZE else images
        for stage in (self.conv1, self.conv2_dw, self.conv_23, self.conv_3, self.conv_34, self.conv_4, self.conv_45,
                      self.conv_5):
            x = stage(x)
        features = self.conv_6_sep(x)
        return LandmarkOutput(self.output_layer(features), features)


# -- the cross-fusion transformer ----------------------------------------------------------------------------
class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class DropPath(nn.Module):
    """Stochastic depth: drop a residual branch for whole samples with probability ``p`` while training."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty((x.shape[0],) + (1,) * (x.ndim - 1), device=x.device).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d_head)) v`` over ``[B, heads, N, d_head]``, written out: for POSTER's 50-token
    sequences PyTorch's fused CPU kernel (``scaled_dot_product_attention``) makes a training step about twice as
    slow as these three operations (its backward pass alone took 40 % of the step; measured 2026-12-07)."""
    return ((q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)).softmax(-1) @ v


class CrossAttention(nn.Module):
    """Attention with the queries from the other stream: ``queries`` used as they are (no projection, as the
    authors'), keys and values projected from ``tokens``; both ``[B, N, D]``."""

    def __init__(self, dim: int, heads: int, bias: bool = True):
        super().__init__()
        if dim % heads:
            raise ValueError(f"the embedding size {dim} must divide into {heads} heads")
        self.heads = heads
        self.kv = nn.Linear(dim, 2 * dim, bias=bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, queries: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        b, n, d = tokens.shape
        k, v = self.kv(tokens).view(b, n, 2, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q = queries.reshape(b, queries.shape[1], self.heads, d // self.heads).transpose(1, 2)
        out = attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, queries.shape[1], d))


class CrossFusionBlock(nn.Module):
    """One scale's block over ``[B, 2 n, D]`` (image tokens then landmark tokens, ``n`` each): each stream updated
    by attention whose queries are the other stream's (normalised with the whole sequence), then its own MLP;
    a 1 x 1 Conv1d over the 2 n tokens mixes them."""

    def __init__(self, dim: int, tokens: int, heads: int, mlp_ratio: float, drop_path: float):
        super().__init__()
        self.n = tokens
        self.norm1, self.norm2, self.norm3, self.norm4 = (nn.LayerNorm(dim, eps=1e-6) for _ in range(4))
        self.attn_img, self.attn_lm = CrossAttention(dim, heads), CrossAttention(dim, heads)
        self.mlp1, self.mlp2 = Mlp(dim, int(dim * mlp_ratio)), Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path)
        self.conv = nn.Conv1d(2 * tokens, 2 * tokens, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.n
        img, lm = x[:, :n], x[:, n:]
        normed = self.norm1(x)
        img = img + self.drop_path(self.attn_img(normed[:, n:], normed[:, :n]))
        img = img + self.drop_path(self.mlp1(self.norm2(img)))
        normed = self.norm3(x)
        lm = lm + self.drop_path(self.attn_lm(normed[:, :n], normed[:, n:]))
        lm = lm + self.drop_path(self.mlp2(self.norm4(lm)))
        return self.conv(torch.cat([img, lm], dim=1))


class PyramidBlock(nn.Module):
    """A cross-fusion block at each of the three scales (D, D/2, D/4), then the top-down fusion:
    D/4 -> ConvTranspose1d -> + D/2 -> ConvTranspose1d -> + D."""

    def __init__(self, dim: int, tokens: int, heads: int, mlp_ratio: float, drop_path: float):
        super().__init__()
        self.block_l = CrossFusionBlock(dim, tokens, heads, mlp_ratio, drop_path)
        self.block_m = CrossFusionBlock(dim // 2, tokens, heads, mlp_ratio, drop_path)
        self.block_s = CrossFusionBlock(dim // 4, tokens, heads, mlp_ratio, drop_path)
        self.upsample_m = nn.ConvTranspose1d(2 * tokens, 2 * tokens, 2, 2)
        self.upsample_s = nn.ConvTranspose1d(2 * tokens, 2 * tokens, 2, 2)

    def forward(self, scales: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        large, medium, small = self.block_l(scales[0]), self.block_m(scales[1]), self.block_s(scales[2])
        medium = medium + self.upsample_s(small)
        return large + self.upsample_m(medium), medium, small


class SelfAttention(nn.Module):
    """Multi-head self-attention over ``[B, N, D]``: queries, keys and values projected from the tokens (the
    parameters of ``nn.MultiheadAttention``, through :func:`attention`)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"the embedding size {dim} must divide into {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return self.proj(attention(q, k, v).transpose(1, 2).reshape(b, n, d))


class SelfAttentionBlock(nn.Module):
    """The baseline's plain pre-norm transformer block: self-attention and an MLP over ``[B, N, D]``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, drop_path: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn = SelfAttention(dim, heads)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class SEBlock(nn.Module):
    """A squeeze-and-excitation gate on a vector: ``x * sigmoid(Linear(ReLU(Linear(x))))``."""

    def __init__(self, dim: int):
        super().__init__()
        self.linear1, self.linear2 = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.linear2(torch.relu(self.linear1(x))))


class PosterOutput(NamedTuple):
    """``logits [B, classes]`` and ``feature [B, 512]`` (the gated image class token the head reads)."""

    logits: torch.Tensor
    feature: torch.Tensor


class StreamFeatures(NamedTuple):
    """What POSTER's frozen streams give for a batch, which :meth:`POSTER.forward` takes in place of the images:
    ``image_maps [B, 256, s/8, s/8]`` (IR50) and ``landmark_maps [B, 512, 7, 7]`` (MobileFaceNet; ``[B, 0]`` for
    the baseline, which has no landmark stream)."""

    image_maps: torch.Tensor
    landmark_maps: torch.Tensor


class POSTER(nn.Module):
    """POSTER (seed 003) and its baseline; the options are in the module docstring.

    Input ``[B, 3, s, s]`` (normalised RGB faces), or with a frozen trunk the :class:`StreamFeatures`
    :meth:`stream_features` computed for them; output :class:`PosterOutput`. ``gradcam_target_layer`` is the
    image stream's last unit (14 x 14 at the 112 px stream, 7 x 7 at 56); ``gradcam_token_layers`` the transformer
    layers Grad-CAM reads as 7 x 7 maps through ``gradcam_reshape_transform``.
    """

    def __init__(self, num_classes: int = 7, fusion: str = "cross", depth: int = 8, heads: int = 8,
                 mlp_ratio: float = 2.0, drop_path: float = 0.1, embed_dim: int = 512, token_layout: str = "raw",
                 image_size: int = 224, stream_size: int | None = None, freeze_trunk: bool = False,
                 pretrained_path: str | os.PathLike | None = None,
                 landmark_weights: str | os.PathLike | None = None):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        if token_layout not in TOKEN_LAYOUTS:
            raise ValueError(f"token_layout must be one of {TOKEN_LAYOUTS}, got {token_layout!r}")
        if embed_dim % 4 or (embed_dim // 4) % heads:
            raise ValueError(f"embed_dim {embed_dim} / 4 must divide into {heads} heads (the pyramid's smallest scale)")
        if fusion == "cross" and embed_dim != 512:
            raise ValueError(f"cross fusion needs embed_dim 512 (the landmark stream's 512 channels), got {embed_dim}")
        stream_size = stream_size or (STREAM_SIZE if image_size >= STREAM_SIZE else 56)
        if stream_size % 56 or stream_size < 56:
            raise ValueError(f"stream_size must be a multiple of 56 (a 7 x 7 grid of cells), got {stream_size}")
        self.fusion, self.token_layout, self.image_size, self.tokens = fusion, token_layout, image_size, 49
        self.stream_size = stream_size
        self.ir_back = IR50Stream(stream_size)
        # 49 tokens of the 256 x (s/8) x (s/8) map: 1024 values each at the authors' 112 px, 256 at 56 px.
        self.ir_layer = nn.Linear(256 * (stream_size // 8) ** 2 // self.tokens, embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.tokens + 1, embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        rates = torch.linspace(0, drop_path, depth).tolist()
        if fusion == "cross":
            self.face_landback = MobileFaceNet()
            self.face_landback.requires_grad_(False)
            channels = 2 * (self.tokens + 1)
            self.downsample_m = nn.Conv1d(channels, channels, 2, 2)
            self.downsample_s = nn.Conv1d(channels, channels, 4, 4)
            self.blocks = nn.ModuleList(PyramidBlock(embed_dim, self.tokens + 1, heads, mlp_ratio, r) for r in rates)
        else:
            self.blocks = nn.ModuleList(SelfAttentionBlock(embed_dim, heads, mlp_ratio, r) for r in rates)
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.se_block = SEBlock(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)
        self.gradcam_target_layer = "ir_back.body"
        if pretrained_path is not None:
            load_pretrained(self.ir_back, pretrained_path)
        self.freeze_trunk = freeze_trunk
        if freeze_trunk:
            self.ir_back.requires_grad_(False)
        if landmark_weights is not None:
            load_pretrained(self.face_landback, landmark_weights)
        elif fusion == "cross":
            warnings.warn("POSTER built without landmark_weights: its frozen landmark stream has random weights",
                          stacklevel=2)

    def train(self, mode: bool = True) -> POSTER:
        super().train(mode)
        # Frozen streams keep the batch-norm statistics they were trained with.
        if self.fusion == "cross":
            self.face_landback.eval()
        if self.freeze_trunk:
            self.ir_back.eval()
        return self

    @property
    def gradcam_token_layers(self) -> list[str]:
        """The transformer layers Grad-CAM can read as a 7 x 7 map (:meth:`gradcam_reshape_transform`): each block's
        first LayerNorm, whose tokens feed that block's attention (the last block's own outputs reach the logits
        only through the class token, so their gradients are zero)."""
        prefix = ".block_l" if self.fusion == "cross" else ""
        return [f"blocks.{k}{prefix}.norm1" for k in range(len(self.blocks))]

    def gradcam_reshape_transform(self, activations: torch.Tensor) -> torch.Tensor:
        """Grad-CAM's view of a token layer: ``[B, T, D]`` (the image stream's class token first) -> its 49 image
        tokens as ``[B, D, 7, 7]``; a 4-D map passes through. The tokens are places in the face only with
        ``token_layout="patch"``: the authors' raw layout makes each token a slice of the map's channels, so its
        map says which tokens matter, not where in the face."""
        if activations.ndim != 3:
            return activations
        side = int(round(self.tokens**0.5))
        tokens = activations[:, 1 : 1 + self.tokens]
        return tokens.transpose(1, 2).reshape(len(tokens), -1, side, side)

    def stream_features(self, images: torch.Tensor) -> StreamFeatures:
        """The frozen streams' outputs for ``images``, computed once and fed back to :meth:`forward` in their place
        (:class:`fer_lib.data.features.FrozenFeatures`): only a model whose image stream is frozen has them."""
        if not self.freeze_trunk:
            raise ValueError("stream_features needs freeze_trunk=True: a trained image stream changes every step")
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                maps = self.ir_back(images)
                landmarks = (self.face_landback(images).features if self.fusion == "cross"
                             else maps.new_zeros(len(maps), 0))
        finally:
            self.train(was_training)
        return StreamFeatures(maps, landmarks)

    def stream_identity(self) -> dict[str, object]:
        """What determines :meth:`stream_features`: the image stream's side, whether there is a landmark stream, and
        a digest of the frozen weights (batch-norm statistics included)."""
        digest = hashlib.sha1()
        frozen = [self.ir_back] + ([self.face_landback] if self.fusion == "cross" else [])
        for module in frozen:
            for name, value in module.state_dict().items():
                digest.update(name.encode())
                digest.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        return {"stream_size": self.stream_size, "landmark_stream": self.fusion == "cross",
                "weights": digest.hexdigest()[:16]}

    def image_tokens(self, images: torch.Tensor, maps: torch.Tensor | None = None) -> torch.Tensor:
        """The image stream's 49 tokens ``[B, 49, D]`` (of its ``maps``, when already computed)."""
        if maps is None:
            with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_trunk):
                maps = self.ir_back(images)  # [B, 256, 14, 14] at the authors' 112 px
        if self.token_layout == "raw":
            tokens = maps.reshape(len(maps), self.tokens, -1)  # the authors' raw reshape of the memory
        else:
            # each cell of the 7 x 7 grid (2 x 2 positions at 112 px): [B, 49, 1024]
            tokens = F.pixel_unshuffle(maps, self.stream_size // 56).flatten(2).transpose(1, 2)
        return self.ir_layer(tokens)

    def forward(self, images: torch.Tensor | StreamFeatures) -> PosterOutput:
        cached = images if isinstance(images, StreamFeatures) else None
        x = self.image_tokens(images, cached.image_maps if cached is not None else None)
        x = torch.cat([x.mean(1, keepdim=True), x], dim=1) + self.pos_embed  # [B, 50, D]
        if self.fusion == "cross":
            if cached is not None:
                maps = cached.landmark_maps
            else:
                with torch.no_grad():
                    maps = self.face_landback(images).features
            landmarks = maps.flatten(2).transpose(1, 2)  # [B, 49, 512]
            lm = torch.cat([landmarks.mean(1, keepdim=True), landmarks], dim=1)
            sequence = torch.cat([x, lm], dim=1)  # [B, 100, D]
            scales = (sequence, self.downsample_m(sequence), self.downsample_s(sequence))
            for block in self.blocks:
                scales = block(scales)
            x = scales[0]
        else:
            for block in self.blocks:
                x = block(x)
        feature = self.se_block(self.norm(x)[:, 0])
        return PosterOutput(self.head(feature), feature)


@register_model("ir50", trunk="ir50")
def ir50(num_classes: int = 7, image_size: int = 224, stream_size: int | None = None,
         pretrained_path: str | os.PathLike | None = None) -> IR50Classifier:
    """IR50's first three stages with a linear head: POSTER's image-stream trunk, pretrained at the ``cpu`` scale."""
    return IR50Classifier(num_classes, image_size, stream_size, pretrained_path)


@register_model("poster", loss="poster", recipe="poster", trunk="ir50")
def poster(num_classes: int = 7, fusion: str = "cross", depth: int = 8, heads: int = 8, mlp_ratio: float = 2.0,
           drop_path: float = 0.1, embed_dim: int = 512, token_layout: str = "raw", image_size: int = 224,
           stream_size: int | None = None, freeze_trunk: bool = False,
           pretrained_path: str | os.PathLike | None = None,
           landmark_weights: str | os.PathLike | None = None) -> POSTER:
    """POSTER (``fusion="cross"``) or its baseline (``fusion="none"``); the options are :class:`POSTER`'s."""
    return POSTER(num_classes, fusion, depth, heads, mlp_ratio, drop_path, embed_dim, token_layout, image_size,
                  stream_size, freeze_trunk, pretrained_path, landmark_weights)


__all__ = [
    "DEPTHS", "FUSIONS", "IR50_STAGES", "POSTER", "TOKEN_LAYOUTS", "CrossAttention", "CrossFusionBlock",
    "IR50Classifier", "IR50Stream", "SelfAttention", "StreamFeatures", "attention", "ir50",
    "IRUnit", "LandmarkOutput", "MobileFaceNet", "PosterOutput", "PyramidBlock", "SEBlock", "poster",
]  # fmt: skip

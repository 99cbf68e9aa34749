"""fer_lib's PCNN and the authors' forward pass, given the same weights, compute the same thing.

``AuthorsPCNN`` below re-states the forward pass of the authors' public code from its description in
REFERENCE.md ("PCNN (seed 000) — authors' code"); it is written here and shares no code with
``fer_lib.models.pcnn``. The authors' layout: torchvision ResNet-18s, a global one (conv1..layer3 for
the global map, its layer4 shared by the STN and the main head) and five region ones (conv1..layer3)
on the crops ``[0:h1, 0:w1]``, ``[0:h1, w1:]``, ``[h1:h2, 0:w1]``, ``[h1:h2, w1:]``, ``[h2:, :]`` with
``h1 = w1 = 0.5`` and ``h2 = 0.65`` of the side; stitching by bilinear resizing (``align_corners=True``);
localisation layer4 -> flatten -> Linear(32) -> ReLU -> Linear(6); ``affine_grid`` / ``grid_sample``
with ``align_corners=True``; residual add; main head layer4 -> average pool -> Linear(512, C); region
heads average pool -> Linear(256, C), summed.

fer_lib's model is built with the options the code corresponds to (``stn_identity_init=False``,
``pool="avg"``, ``share_refinement=True``) and a clearly non-identity STN transform, because the
identity transform is the one case where the two ``align_corners`` conventions agree.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet18

from fer_lib.models.pcnn import PCNN, region_boxes

SIZE = 96  # small input: global map 6 x 6, refined 3 x 3
CLASSES = 7
TOL = 1e-5
# A transform that scales, shears and translates the stitched map noticeably (added to the STN's bias).
THETA_BIAS = torch.tensor([0.85, 0.1, 0.3, -0.15, 0.9, -0.25], dtype=torch.float64)


pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------ the authors' forward pass
def authors_boxes(size: int) -> list[tuple[int, int, int, int]]:
    """The code's crops ``(top, bottom, left, right)``: w1 = h1 = 0.5, h2 = 0.65 of the side."""
    h1, h2, w1 = int(0.5 * size), int(0.65 * size), int(0.5 * size)
    return [(0, h1, 0, w1), (0, h1, w1, size), (h1, h2, 0, w1), (h1, h2, w1, size), (h2, size, 0, size)]


def _front(net: nn.Module) -> nn.Sequential:
    """conv1..layer3 of a torchvision ResNet-18 (the code's 'front' of each branch)."""
    return nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3)


def _resize(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    return F.interpolate(x, size=(height, width), mode="bilinear", align_corners=True)


class AuthorsPCNN(nn.Module):
    """The authors' PCNN forward pass, restated; ``forward`` returns every intermediate by name."""

    def __init__(self, size: int, num_classes: int, align_corners: bool = True) -> None:
        super().__init__()
        self.boxes = authors_boxes(size)
        self.align_corners = align_corners
        self.base = resnet18(weights=None)  # global branch; its layer4 serves the STN and the main head
        self.regions = nn.ModuleList(resnet18(weights=None) for _ in self.boxes)
        refined = -(-size // 32)
        self.loc = nn.Sequential(nn.Linear(512 * refined * refined, 32), nn.ReLU(), nn.Linear(32, 6))
        self.fc = nn.Linear(512, num_classes)
        self.region_fcs = nn.ModuleList(nn.Linear(256, num_classes) for _ in self.boxes)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        g = _front(self.base)(x)
        height, width = g.shape[-2:]
        crops = [x[:, :, t:b, lft:rgt] for t, b, lft, rgt in self.boxes]
        maps = [_front(net)(crop) for net, crop in zip(self.regions, crops, strict=True)]
        eyes = torch.cat([maps[0], maps[1]], dim=3)
        cheeks = torch.cat([maps[2], maps[3]], dim=3)
        strips = [_resize(m, m.shape[2], width) for m in (eyes, cheeks, maps[4])]
        stitched = _resize(torch.cat(strips, dim=2), height, width)
        theta = self.loc(self.base.layer4(stitched).flatten(1)).view(-1, 2, 3)
        grid = F.affine_grid(theta, list(g.shape), align_corners=self.align_corners)
        warped = F.grid_sample(stitched, grid, mode="bilinear", padding_mode="zeros",
                               align_corners=self.align_corners)
        fused = g + warped
        main = self.fc(self.base.layer4(fused).mean(dim=(2, 3)))
        local = sum(fc(m.mean(dim=(2, 3))) for fc, m in zip(self.region_fcs, maps, strict=True))
        return {"global": g, "crops": crops, "region_maps": maps, "stitched": stitched, "theta": theta,
                "warped": warped, "fused": fused, "main": main, "local": local}


def authors_name(name: str) -> str:
    """Where a fer_lib PCNN parameter lives in ``AuthorsPCNN``."""
    parts = name.split(".")
    if parts[0] == "gfieb":
        return "base." + ".".join(parts[1:])
    if parts[0] == "refinement":
        return "base.layer4." + ".".join(parts[1:])
    if parts[:2] == ["lfsieb", "trunks"]:
        return f"regions.{parts[2]}." + ".".join(parts[3:])
    if parts[:2] == ["mdim", "localisation"]:  # Flatten, Linear, ReLU, Linear -> Linear, ReLU, Linear
        return f"loc.{int(parts[2]) - 1}." + ".".join(parts[3:])
    if parts[:2] == ["gpn", "fc"]:
        return "fc." + ".".join(parts[2:])
    if parts[:2] == ["lpn", "fcs"]:
        return f"region_fcs.{parts[2]}." + ".".join(parts[3:])
    raise KeyError(f"no place for {name} in the authors' layout")


def authors_copy(model: PCNN, align_corners: bool = True) -> AuthorsPCNN:
    """An ``AuthorsPCNN`` holding ``model``'s weights (every used authors' parameter gets one)."""
    authors = AuthorsPCNN(model.image_size, model.num_classes, align_corners).to(torch.float64)
    state = {authors_name(k): v for k, v in model.state_dict().items()}
    result = authors.load_state_dict(state, strict=False)
    assert result.unexpected_keys == []
    # Only what the code builds but never runs stays unloaded: the ResNets' fc, the region ResNets' layer4.
    unused = ("base.fc.",) + tuple(f"regions.{i}.{part}." for i in range(5) for part in ("fc", "layer4"))
    assert [k for k in result.missing_keys if not k.startswith(unused)] == []
    return authors.eval()


# ------------------------------------------------------------------ fer_lib's side
def _randomise_batchnorm(model: nn.Module) -> None:
    """Non-trivial eval-mode BatchNorm (running stats and affine), so a misplaced one would show."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(n))
            m.running_var.copy_(0.5 + torch.rand(n))
            m.weight.data.copy_(0.5 + torch.rand(n))
            m.bias.data.copy_(0.1 * torch.randn(n))


def fer_lib_pcnn(align_corners: bool = True) -> PCNN:
    torch.manual_seed(0)
    model = PCNN(num_classes=CLASSES, image_size=SIZE, stn_identity_init=False, pool="avg",
                 share_refinement=True, stn_align_corners=align_corners)
    with torch.no_grad():
        _randomise_batchnorm(model)
        last = model.mdim.localisation[-1]
        last.weight.mul_(0.05)  # theta = a fixed, clearly non-identity transform + a per-image part
        last.bias.copy_(THETA_BIAS.to(last.bias.dtype))
    return model.to(torch.float64).eval()


def fer_lib_forward(model: PCNN, x: torch.Tensor) -> dict[str, torch.Tensor | list[torch.Tensor]]:
    """fer_lib's forward pass with its intermediates, read by hooks (the model is not changed)."""
    seen: dict = {"crops": []}
    hooks = [trunk.register_forward_pre_hook(lambda _m, args: seen["crops"].append(args[0]))
             for trunk in model.lfsieb.trunks]
    hooks.append(model.gfieb.register_forward_hook(lambda _m, _a, out: seen.__setitem__("global", out)))
    hooks.append(model.lfsieb.register_forward_hook(lambda _m, _a, out: seen.__setitem__("lfsieb", out)))
    hooks.append(model.mdim.register_forward_hook(lambda _m, _a, out: seen.__setitem__("mdim", out)))
    try:
        out = model(x)
    finally:
        for h in hooks:
            h.remove()
    (stitched, maps), (fused, theta) = seen["lfsieb"], seen["mdim"]
    return {"global": seen["global"], "crops": seen["crops"], "region_maps": maps, "stitched": stitched,
            "theta": theta, "warped": fused - seen["global"], "fused": fused, "main": out.logits,
            "local": out.local_logits}


def _max_diff(a, b) -> float:
    if isinstance(a, list):
        return max(_max_diff(u, v) for u, v in zip(a, b, strict=True))
    assert a.shape == b.shape
    return (a - b).abs().max().item()


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return torch.randn(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


# ------------------------------------------------------------------ the tests
def test_the_code_crops_are_fer_libs_boxes() -> None:
    for size in (SIZE, 224):
        assert authors_boxes(size) == region_boxes("sense_organs", size)
    assert authors_boxes(224) == [(0, 112, 0, 112), (0, 112, 112, 224), (112, 145, 0, 112),
                                  (112, 145, 112, 224), (145, 224, 0, 224)]


def test_forward_pass_equals_the_authors(image: torch.Tensor) -> None:
    model = fer_lib_pcnn()
    assert model.mdim.align_corners is True  # the default follows the code
    authors = authors_copy(model)
    with torch.no_grad():
        ours, theirs = fer_lib_forward(model, image), authors(image)
    # The transform is far from the identity (where both conventions would agree), and differs per image.
    identity = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]], dtype=torch.float64)
    assert (theirs["theta"] - identity).abs().amax(dim=(1, 2)).min() > 0.1
    assert (theirs["theta"][0] - theirs["theta"][1]).abs().max() > 1e-4
    for name in ("crops", "global", "region_maps", "stitched", "theta", "warped", "fused", "main", "local"):
        assert _max_diff(ours[name], theirs[name]) < TOL, name
    assert theirs["warped"].abs().max() > 0.1  # the warp moves real content, not zeros


def test_the_old_align_corners_false_warp_is_not_the_authors(image: torch.Tensor) -> None:
    """What fer_lib did before (``stn_align_corners=False``): same crops, stitching, theta and local
    logits, but a different warp and main logits — so the test above would catch a flip back."""
    old = fer_lib_pcnn(align_corners=False)
    authors = authors_copy(fer_lib_pcnn())
    assert torch.equal(old.state_dict()["mdim.localisation.3.bias"], authors.loc[2].bias)
    with torch.no_grad():
        ours, theirs = fer_lib_forward(old, image), authors(image)
    for name in ("crops", "stitched", "theta", "local"):
        assert _max_diff(ours[name], theirs[name]) < TOL, name
    assert _max_diff(ours["warped"], theirs["warped"]) > 1e-2
    assert _max_diff(ours["main"], theirs["main"]) > 1e-4
    # ... and it is exactly the authors' forward pass with the other convention.
    with torch.no_grad():
        other = authors_copy(old, align_corners=False)(image)
    assert _max_diff(ours["main"], other["main"]) < TOL

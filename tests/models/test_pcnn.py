"""PCNN (seed 000): boxes, stitching, MDIM, shapes, variants, pretrained loading, complexity."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fer_lib.complexity import count_used_parameters
from fer_lib.losses import FacialSemanticLoss
from fer_lib.models import create_model, list_models, model_options
from fer_lib.models.outputs import TensorOutput
from fer_lib.models.pcnn import (
    MDIM,
    PCNN,
    PCNNOutput,
    build_refinement,
    region_boxes,
    region_layout,
    stitch,
)

SMALL = 64  # cpu-friendly input size used by most tests


pytestmark = pytest.mark.usefixtures("one_thread")


def _coverage(boxes: list[tuple[int, int, int, int]], size: int) -> torch.Tensor:
    cover = torch.zeros(size, size, dtype=torch.int64)
    for t, b, left, right in boxes:
        assert 0 <= t < b <= size and 0 <= left < right <= size
        cover[t:b, left:right] += 1
    return cover


# ------------------------------------------------------------------ registry and presets
def test_registered_with_its_options() -> None:
    assert "pcnn" in list_models()
    opts = model_options("pcnn")
    for name in (
        "image_size",
        "crop_strategy",
        "use_lfsieb",
        "use_mdim",
        "use_lpn",
        "stn_identity_init",
        "stn_align_corners",
        "pretrained_path",
        "share_refinement",
    ):
        assert name in opts
    with pytest.raises(ValueError, match="crop_strategy"):
        create_model("pcnn", image_size=SMALL, crop_strategy="six_regions")
    with pytest.raises(ValueError, match="image_size"):
        create_model("pcnn", image_size=16)


def test_sense_organ_boxes_at_224_follow_10_3_7() -> None:
    boxes = region_boxes("sense_organs", 224)
    assert boxes == [
        (0, 112, 0, 112),
        (0, 112, 112, 224),
        (112, 145, 0, 112),
        (112, 145, 112, 224),
        (145, 224, 0, 224),
    ]
    heights = [b[1] - b[0] for b in boxes]
    assert heights == [112, 112, 33, 33, 79]  # 10 : 3 : 7 of 224 (33.6 and 78.4 floored at the 0.65 boundary)
    assert [b[3] - b[2] for b in boxes] == [112, 112, 112, 112, 224]  # w1 = w / 2
    assert bool((_coverage(boxes, 224) == 1).all())


@pytest.mark.parametrize("size", [64, 112])
def test_sense_organ_boxes_scale_with_the_input(size: int) -> None:
    boxes = region_boxes("sense_organs", size)
    eyes, cheeks, mouth = boxes[0][1] - boxes[0][0], boxes[2][1] - boxes[2][0], boxes[4][1] - boxes[4][0]
    for got, parts in ((eyes, 10), (cheeks, 3), (mouth, 7)):
        assert abs(got - size * parts / 20) < 1.0 + 1e-9
    assert boxes[0][3] == boxes[1][2] == boxes[2][3] == size // 2
    assert bool((_coverage(boxes, size) == 1).all())
    # Boxes at 224 scaled down agree with the boxes computed at this size (to a pixel).
    for small, big in zip(boxes, region_boxes("sense_organs", 224), strict=True):
        assert all(abs(a - b * size / 224) < 1.0 for a, b in zip(small, big, strict=True))


@pytest.mark.parametrize(
    "strategy,count",
    [("none", 1), ("two_random", 2), ("three_horizontal", 3), ("four_grid", 4), ("sense_organs", 5)],
)
@pytest.mark.parametrize("size", [64, 224])
def test_every_strategy_tiles_the_face(strategy: str, count: int, size: int) -> None:
    layout = region_layout(strategy, size)
    boxes = region_boxes(strategy, size)
    assert len(boxes) == count
    assert bool((_coverage(boxes, size) == 1).all())
    for row in layout:  # maps of a stitching row share their height
        assert len({(b[0], b[1]) for b in row}) == 1


def test_two_random_crops_are_seeded() -> None:
    assert region_boxes("two_random", 96, seed=3) == region_boxes("two_random", 96, seed=3)
    layouts = {tuple(region_boxes("two_random", 96, seed=s)) for s in range(12)}
    assert len(layouts) > 3
    orientations = {len(region_layout("two_random", 96, seed=s)) for s in range(12)}
    assert orientations == {1, 2}  # both vertical (one row) and horizontal (two rows) cuts occur
    for s in range(12):
        for t, b, left, right in region_boxes("two_random", 96, seed=s):
            assert min(b - t, right - left) >= 96 // 4
    m1 = PCNN(image_size=SMALL, crop_strategy="two_random", crop_seed=5)
    assert m1.boxes == region_boxes("two_random", SMALL, seed=5)


# ------------------------------------------------------------------ stitching and MDIM
def test_stitch_places_regions_where_they_were_cropped() -> None:
    # four_grid at 64 px: each quadrant gives a 2x2 map, the global map is 4x4: no resizing at all.
    maps = [torch.full((1, 2, 2, 2), float(i)) for i in range(4)]
    out = stitch([maps[:2], maps[2:]], (4, 4))
    expected = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]], dtype=torch.float32)
    assert torch.equal(out[0, 0], expected)


def test_stitch_of_the_paper_regions_at_224() -> None:
    # Region map sizes of the sense-organ crops at 224 (trunk stride 16, ceil): rows 7 + 3 + 5 = 15 -> 14.
    rows = [[torch.ones(2, 256, 7, 7)] * 2, [torch.ones(2, 256, 3, 7)] * 2, [torch.ones(2, 256, 5, 14)]]
    out = stitch(rows, (14, 14))
    assert out.shape == (2, 256, 14, 14)
    assert torch.allclose(out, torch.ones_like(out))  # bilinear resizing keeps a constant map constant
    ramp = torch.linspace(0, 1, 15).view(1, 1, 15, 1).expand(1, 1, 15, 14)
    got = stitch([[ramp[:, :, :7]], [ramp[:, :, 7:10]], [ramp[:, :, 10:]]], (14, 14))
    assert torch.allclose(got[0, 0, :, 0], torch.linspace(0, 1, 14), atol=1e-6)  # align_corners=True


@pytest.mark.parametrize("align_corners", [True, False])
def test_mdim_identity_init_is_a_plain_residual_add(align_corners: bool) -> None:
    # The identity transform is the one case where both warp conventions agree.
    torch.manual_seed(0)
    mdim = MDIM(refined_size=2, identity_init=True, align_corners=align_corners)
    g, loc = torch.randn(2, 256, 4, 4), torch.randn(2, 256, 4, 4)
    fused, theta = mdim(g, loc, build_refinement().eval())
    assert torch.allclose(theta, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(2, 2, 3))
    assert torch.allclose(fused, g + loc, atol=1e-5)
    random_init = MDIM(refined_size=2, identity_init=False)
    _, theta2 = random_init(g, loc, build_refinement().eval())
    assert not torch.allclose(theta2, theta)


def test_mdim_warp_follows_the_authors_align_corners_true() -> None:
    # A translation t moves the sampling point by t (g - 1) / 2 cells with align_corners=True (the code,
    # the default) and by t g / 2 with False: t = 2 / (g - 1) shifts a column ramp by exactly one cell.
    g = 4
    ramp = torch.arange(g, dtype=torch.float32).view(1, 1, 1, g).expand(1, 256, g, g)
    theta = torch.tensor([[[1.0, 0.0, 2 / (g - 1)], [0.0, 1.0, 0.0]]])

    def warp(mdim: MDIM) -> torch.Tensor:
        with torch.no_grad():
            mdim.localisation[-1].weight.zero_()
            mdim.localisation[-1].bias.copy_(theta.flatten())
        fused, _ = mdim(torch.zeros_like(ramp), ramp, build_refinement().eval())
        return fused[0, 0, 0]

    assert PCNN(image_size=SMALL).mdim.align_corners is True
    assert torch.allclose(warp(MDIM(refined_size=2))[: g - 1], ramp[0, 0, 0, 1:], atol=1e-5)
    shifted = warp(MDIM(refined_size=2, align_corners=False))[: g - 2]  # (the last sample leaves the map)
    assert torch.allclose(shifted, ramp[0, 0, 0, : g - 2] + g / (g - 1), atol=1e-5)  # 4/3 cells, not 1


@pytest.mark.parametrize("identity", [True, False])
def test_stn_localisation_receives_gradients(identity: bool) -> None:
    torch.manual_seed(0)
    model = PCNN(image_size=SMALL, stn_identity_init=identity)
    out = model(torch.randn(2, 3, SMALL, SMALL))
    FacialSemanticLoss()(out, torch.tensor([0, 3])).backward()
    first, last = model.mdim.localisation[1], model.mdim.localisation[3]
    assert last.weight.grad.abs().sum() > 0 and last.bias.grad.abs().sum() > 0
    if not identity:
        # With a random last layer the gradient also reaches the first Linear and the refinement via theta.
        assert first.weight.grad.abs().sum() > 0 and first.bias.grad.abs().sum() > 0
    # The localisation flattens the refined stitched map: 512 * ceil(s/32)^2 inputs.
    assert first.in_features == 512 * math.ceil(SMALL / 32) ** 2


# ------------------------------------------------------------------ shapes
@pytest.mark.parametrize("size", [64, 96, 112, 128])
def test_output_shapes(size: int) -> None:
    model = create_model("pcnn", num_classes=7, image_size=size).eval()
    assert (model.map_size, model.refined_size) == (math.ceil(size / 16), math.ceil(size / 32))
    with torch.no_grad():
        out = model(torch.randn(2, 3, size, size))
    assert isinstance(out, PCNNOutput)
    assert out.logits.shape == (2, 7) and out.local_logits.shape == (2, 7)
    assert model.mdim.localisation[1].in_features == 512 * math.ceil(size / 32) ** 2
    with pytest.raises(ValueError, match=f"image_size={size + 32}"):
        model(torch.randn(1, 3, size + 32, size + 32))


def test_plain_logits_wrapper_and_gradcam_target() -> None:
    torch.manual_seed(0)
    model = PCNN(num_classes=5, image_size=SMALL).eval()
    x = torch.randn(2, 3, SMALL, SMALL)
    clf = TensorOutput(model)
    with torch.no_grad():
        assert torch.equal(clf(x), model(x).logits)
    # The refinement network runs twice (MDIM on the stitched map, GPN on the fused map); the
    # Grad-CAM target sees only the GPN's call.
    calls = {"refinement": 0, "target": 0}
    h1 = model.refinement.register_forward_hook(
        lambda *_: calls.__setitem__("refinement", calls["refinement"] + 1)
    )
    h2 = model.gradcam_target_layer.register_forward_hook(
        lambda *_: calls.__setitem__("target", calls["target"] + 1)
    )
    with torch.no_grad():
        model(x)
    h1.remove()
    h2.remove()
    assert calls == {"refinement": 2, "target": 1}


@pytest.mark.slow
def test_gradcam_plus_plus_runs_on_the_gpn_refinement() -> None:
    # Slow only because importing pytorch_grad_cam takes about 5 s here.
    cam_mod = pytest.importorskip("pytorch_grad_cam")
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(0)
    model = PCNN(num_classes=5, image_size=SMALL).eval()
    x = torch.randn(2, 3, SMALL, SMALL)
    targets = [ClassifierOutputTarget(1), ClassifierOutputTarget(2)]
    with cam_mod.GradCAMPlusPlus(TensorOutput(model), target_layers=[model.gradcam_target_layer]) as cam:
        maps = cam(input_tensor=x, targets=targets)
    assert maps.shape == (2, SMALL, SMALL)
    assert float(maps.max()) > 0  # a non-empty map: gradients reach the target layer


def test_gfieb_only_is_resnet18_shaped() -> None:
    model = PCNN(image_size=SMALL, use_lfsieb=False)
    resnet = create_model("resnet18", num_classes=7)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in resnet.parameters())
    out = model(torch.randn(2, 3, SMALL, SMALL))
    assert out.local_logits is None and out.logits.shape == (2, 7)
    assert model.lfsieb is None and model.mdim is None and model.lpn is None


def test_modules_are_registered_once() -> None:
    model = PCNN(image_size=SMALL, share_refinement=True)
    assert len(list(model.named_modules(remove_duplicate=False))) == len(list(model.named_modules()))
    names = [n for n, _ in model.named_parameters(remove_duplicate=False)]
    assert len(names) == len(list(model.parameters()))
    # Every registered parameter is used in the forward pass.
    x = torch.randn(1, 3, SMALL, SMALL)
    assert count_used_parameters(model, x) == sum(p.numel() for p in model.parameters())
    # share_refinement=False gives the MDIM its own layer4 (8.39 M parameters more).
    separate = PCNN(image_size=SMALL, share_refinement=False)
    extra = sum(p.numel() for p in separate.parameters()) - sum(p.numel() for p in model.parameters())
    assert extra == sum(p.numel() for p in build_refinement().parameters()) == 8_393_728


def test_pretrained_file_loads_into_every_trunk(tmp_path) -> None:
    from torchvision.models import resnet18

    torch.manual_seed(1)
    ref = resnet18(weights=None)
    path = tmp_path / "resnet18_msceleb.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in ref.state_dict().items()}}, path)
    model = PCNN(image_size=SMALL, pretrained_path=path, share_refinement=False)
    trunks = [model.gfieb, *model.lfsieb.trunks]
    for trunk in trunks:
        assert torch.equal(trunk.conv1.weight, ref.conv1.weight)
        assert torch.equal(trunk.layer3[1].conv2.weight, ref.layer3[1].conv2.weight)
        assert torch.equal(trunk.bn1.running_mean, ref.bn1.running_mean)
    for layer4 in (model.refinement, model.mdim_refinement):
        assert torch.equal(layer4[0].downsample[0].weight, ref.layer4[0].downsample[0].weight)
    # Copies, not tied weights: training one trunk leaves the others alone.
    assert trunks[0].conv1.weight.data_ptr() != trunks[1].conv1.weight.data_ptr()
    grey = PCNN(image_size=SMALL, pretrained_path=path, in_chans=1, use_lfsieb=False)
    assert torch.allclose(grey.gfieb.conv1.weight, ref.conv1.weight.sum(dim=1, keepdim=True))
    assert grey(torch.randn(1, 1, SMALL, SMALL)).logits.shape == (1, 7)
    bad = tmp_path / "other.pth"
    torch.save({"encoder.w": torch.zeros(3)}, bad)
    with pytest.raises(ValueError, match="other.pth"):
        PCNN(image_size=SMALL, pretrained_path=bad)
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        PCNN(image_size=SMALL, pretrained_path=tmp_path / "missing.pth")


# ------------------------------------------------------------------ the paper configuration at 224
@pytest.mark.slow
def test_paper_configuration_at_224_macs_and_parameters() -> None:
    fvcore = pytest.importorskip("fvcore.nn")
    torch.manual_seed(0)
    model = create_model("pcnn", num_classes=7, image_size=224).eval()
    x = torch.randn(1, 3, 224, 224)
    assert model.boxes == region_boxes("sense_organs", 224)
    with torch.no_grad():
        out = model(x)
    assert out.logits.shape == (1, 7) and out.local_logits.shape == (1, 7)
    assert model.mdim.localisation[1].in_features == 512 * 7 * 7
    assert model.mdim.localisation[1].out_features == 32
    # Traced MACs (fvcore counts one multiply-add as one flop): the authors' model measures 3.692 G.
    flops = fvcore.FlopCountAnalysis(model, x)
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    assert flops.total() / 1e9 == pytest.approx(3.69, rel=0.02)
    # Parameters of the layers that run: 25.906 M for the authors' model.
    used = count_used_parameters(model, x)
    assert used / 1e6 == pytest.approx(25.9, rel=0.02)
    assert used == sum(p.numel() for p in model.parameters())  # registered once, nothing unused


def test_forward_parameter_count_ignores_unused_modules() -> None:
    model = PCNN(image_size=SMALL)
    model.unused = torch.nn.Linear(100, 100)  # registered but never called
    total = sum(p.numel() for p in model.parameters())
    assert count_used_parameters(model, torch.randn(1, 3, SMALL, SMALL)) == total - 100 * 100 - 100


def test_pool_option() -> None:
    model = PCNN(image_size=SMALL, pool="max")
    assert isinstance(model.gpn.pool, torch.nn.AdaptiveMaxPool2d)
    assert isinstance(model.lpn.pool, torch.nn.AdaptiveMaxPool2d)
    with pytest.raises(ValueError, match="pool"):
        PCNN(image_size=SMALL, pool="median")


def test_lpn_sums_the_region_heads() -> None:
    torch.manual_seed(0)
    model = PCNN(image_size=SMALL).eval()
    maps = [torch.randn(2, 256, 2, 2) for _ in range(5)]
    expected = sum(
        fc(F.adaptive_avg_pool2d(m, 1).flatten(1)) for fc, m in zip(model.lpn.fcs, maps, strict=True)
    )
    assert torch.allclose(model.lpn(maps), expected, atol=1e-6)

"""Tests for GMS-LPA (fer_lib.models.gmslpa) and its loss."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F
from torchvision import models as tvm

from fer_lib import complexity as cx
from fer_lib.losses import GMSLPALoss, build_loss
from fer_lib.models import create_model, model_family
from fer_lib.models.gmslpa import (
    GMSLPAOutput,
    LocalPatchAttention,
    MultiScaleUnit,
    SymmetricalMultiScaleUnit,
    assemble_patches,
    cascade,
    load_resnet_weights,
    split_patches,
)

torch.set_num_threads(1)


def _params(model: torch.nn.Module) -> int:
    return cx.count_parameters(model)[0]


@pytest.mark.parametrize("size", [32, 64, 96])
def test_dual_branch_output_is_the_model_level_fusion(size: int) -> None:
    model = create_model("gmslpa", num_classes=6).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, size, size))
    assert isinstance(out, GMSLPAOutput)
    assert all(t.shape == (2, 6) for t in out)
    torch.testing.assert_close(out.logits, 0.6 * out.local_logits + 0.4 * out.global_logits)


def test_branch_maps_have_the_papers_shapes_at_224() -> None:
    model = create_model("gmslpa", num_classes=7).eval()
    with torch.no_grad():
        mid = model.features(torch.randn(1, 3, 224, 224))
        assert mid.shape == (1, 512, 28, 28)  # four 512 x 14 x 14 patches
        assert [p.shape[-2:] for row in split_patches(mid, 2) for p in row] == [(14, 14)] * 4
        assert model.global_branch(mid).shape == (1, 2048, 7, 7)
        assert model.local_branch[0](mid[..., :14, :14]).shape == (1, 2048, 7, 7)
        assert model.local_map(mid).shape == (1, 2048, 14, 14)


def test_single_branch_and_feature_fusion_variants() -> None:
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        glob = create_model("gmslpa", num_classes=5, branches="global").eval()(x)
        local = create_model("gmslpa", num_classes=5, branches="local").eval()(x)
        fused = create_model("gmslpa", num_classes=5, fusion="feature").eval()(x)
    assert glob.local_logits is None and glob.logits is glob.global_logits
    assert local.global_logits is None and local.logits is local.local_logits
    assert fused.local_logits is None and fused.global_logits is None and fused.logits.shape == (2, 5)


def test_plain_global_branch_is_resnet50() -> None:
    # The single-branch baseline of Table 1 is ResNet-50 itself: same parameters, and ResNet-50's weights
    # load into every tensor but the head.
    baseline = create_model("gmslpa", num_classes=6, branches="global", global_unit="plain")
    assert _params(baseline) == _params(create_model("resnet50", num_classes=6))


def test_parameter_counts_are_the_sum_of_their_parts() -> None:
    dual, glob, local = (create_model("gmslpa", num_classes=7, branches=b) for b in ("dual", "global", "local"))
    stem = sum(_params(getattr(dual, n)) for n in ("conv1", "bn1", "layer1", "layer2"))
    assert _params(dual) == _params(glob) + _params(local) - stem
    # Recorded in the ledger beside the paper's Table 15 (GMS 28.6 M, LPA 41.2 M, GMS-LPA 66.4 M).
    assert [round(_params(m) / 1e6, 2) for m in (glob, local, dual)] == [21.89, 53.99, 74.43]
    # Feature-level fusion: one FC on the 4096-d concatenation instead of two 2048-d heads: one bias fewer.
    assert _params(create_model("gmslpa", num_classes=7, fusion="feature")) == _params(dual) - 7
    # One attention network per patch (Table 3's grids).
    assert len(create_model("gmslpa", patch_grid=3, branches="local").local_branch) == 9


def test_symmetrical_unit_directions_follow_eqs_1_and_2() -> None:
    torch.manual_seed(0)
    unit = SymmetricalMultiScaleUnit(16, scales=4).eval()
    x = torch.randn(1, 16, 6, 6, requires_grad=True)
    subsets = list(torch.chunk(x, 4, dim=1))
    positive = cascade(subsets, unit.positive)
    negative = cascade(subsets[::-1], unit.negative[::-1])[::-1]
    for i in range(4):
        grad_pos = torch.autograd.grad(positive[i].sum(), x, retain_graph=True)[0]
        grad_neg = torch.autograd.grad(negative[i].sum(), x, retain_graph=True)[0]
        reached_pos = [bool(g.abs().sum() > 0) for g in torch.chunk(grad_pos, 4, dim=1)]
        reached_neg = [bool(g.abs().sum() > 0) for g in torch.chunk(grad_neg, 4, dim=1)]
        assert reached_pos == [j <= i for j in range(4)]  # Eq. 1: the former subsets
        assert reached_neg == [j >= i for j in range(4)]  # Eq. 2: the latter subsets
    # Eq. 3: the two directions, each through its 1x1 output conv, summed.
    expected = unit.positive_out(torch.cat(positive, 1)) + unit.negative_out(torch.cat(negative, 1))
    torch.testing.assert_close(unit(x), expected)
    assert SymmetricalMultiScaleUnit(16, 4, stride=2)(torch.randn(1, 16, 7, 7)).shape == (1, 16, 4, 4)


def test_multi_scale_unit_passes_its_first_subset_through() -> None:
    unit = MultiScaleUnit(16, scales=4).eval()
    x = torch.randn(1, 16, 5, 5)
    torch.testing.assert_close(unit(x)[:, :4], x[:, :4])
    assert unit(x).shape == x.shape


def test_local_patch_attention_weights_each_position() -> None:
    attention = LocalPatchAttention().eval()
    x = torch.randn(2, 8, 7, 9)
    weights = attention.attention_map(x)
    assert weights.shape == (2, 1, 7, 9)
    assert bool(((weights > 0) & (weights < 1)).all())
    torch.testing.assert_close(attention(x), x * weights)
    # The spatial-level conv strides by 2 (Fig. 5) before the map is brought back to the input's size.
    assert attention.spatial_conv(torch.zeros(1, 2, 7, 9)).shape[-2:] == (4, 5)


@pytest.mark.parametrize("grid", [1, 2, 3, 4])
def test_patches_are_put_back_in_place(grid: int) -> None:
    x = torch.arange(2 * 3 * 9 * 10, dtype=torch.float32).reshape(2, 3, 9, 10)
    rows = split_patches(x, grid)
    assert len(rows) == grid and all(len(r) == grid for r in rows)
    torch.testing.assert_close(assemble_patches(rows), x)


def test_resnet_weights_fill_the_stem_the_gms_branch_and_every_patch_network(tmp_path) -> None:
    torch.manual_seed(0)
    resnet = tvm.resnet50(weights=None)
    path = tmp_path / "resnet50.pt"
    torch.save(resnet.state_dict(), path)
    model = create_model("gmslpa", num_classes=6, pretrained_path=path)
    own, ref = model.state_dict(), resnet.state_dict()
    torch.testing.assert_close(own["layer2.3.conv2.weight"], ref["layer2.3.conv2.weight"])
    torch.testing.assert_close(own["global_branch.layer3.0.conv2.weight"], ref["layer3.0.conv2.weight"])
    for k in range(4):
        torch.testing.assert_close(own[f"local_branch.{k}.layer4.1.conv3.weight"], ref["layer4.1.conv3.weight"])
    # The last two units of each GMS stage hold multiple-scale units instead of the 3x3 conv: not loaded.
    assert "global_branch.layer3.5.conv2.weight" not in own
    report = load_resnet_weights(model, path)
    assert "global_branch.layer4.2.conv2.positive_out.weight" in report["kept"]
    assert "fc.weight" not in report["loaded"]


def test_resnet_weights_of_another_architecture_are_refused(tmp_path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="no tensor"):
        create_model("gmslpa", pretrained_path=path)


@pytest.mark.parametrize("bad", [{"trunk": "vgg"}, {"branches": "both"}, {"global_unit": "res2net"},
                                 {"fusion": "score"}, {"patch_grid": 0}, {"alpha": 1.5},
                                 {"fusion": "feature", "branches": "local"}])
def test_bad_options_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        create_model("gmslpa", **bad)


def test_too_small_an_input_for_the_patch_grid_is_refused() -> None:
    with pytest.raises(ValueError, match="patch grid"):
        create_model("gmslpa", patch_grid=4, branches="local")(torch.randn(1, 3, 16, 16))


@pytest.mark.parametrize("trunk", ["resnet18", "resnet34"])
def test_basic_block_trunks(trunk: str) -> None:
    model = create_model("gmslpa", num_classes=6, trunk=trunk).eval()
    with torch.no_grad():
        mid = model.features(torch.randn(1, 3, 64, 64))
        out = model(torch.randn(1, 3, 64, 64))
    assert mid.shape[1] == 128 and out.logits.shape == (1, 6)


def test_loss_is_eq_6_and_trains_both_branches() -> None:
    assert model_family("gmslpa").loss == "gmslpa"
    loss_fn = build_loss("gmslpa")
    model = create_model("gmslpa", num_classes=6)
    out = model(torch.randn(4, 3, 32, 32))
    target = torch.tensor([0, 1, 2, 3])
    loss = loss_fn(out, target)
    expected = 0.6 * F.cross_entropy(out.local_logits, target) + 0.4 * F.cross_entropy(out.global_logits, target)
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert model.global_fc.weight.grad.abs().sum() > 0 and model.local_fc.weight.grad.abs().sum() > 0
    assert model.local_branch[3].layer4[1].attention.spatial_conv.weight.grad.abs().sum() > 0


def test_loss_of_a_one_head_output_is_cross_entropy() -> None:
    logits = torch.randn(3, 6)
    target = torch.tensor([1, 2, 3])
    out = GMSLPAOutput(logits, None, None)
    torch.testing.assert_close(GMSLPALoss(0.3)(out, target), F.cross_entropy(logits, target))
    assert GMSLPALoss(0.3).identity() == {"name": "gmslpa", "alpha": 0.3, "label_smoothing": 0.0}
    with pytest.raises(ValueError):
        GMSLPALoss(-0.1)


def test_gradcam_explains_the_gms_branch_and_the_lpa_branch_alone() -> None:
    from fer_lib.explain.cam import compute_cams, layer_name, target_layer

    dual = create_model("gmslpa", num_classes=6).eval()
    local = create_model("gmslpa", num_classes=6, branches="local").eval()
    assert layer_name(dual, target_layer(dual)) == "global_branch.layer4.2"
    assert layer_name(local, target_layer(local)) == "layer2.3"
    maps = compute_cams(dual, torch.randn(2, 3, 64, 64))
    assert maps.shape == (2, 64, 64) and 0.0 <= maps.min() and maps.max() <= 1.0

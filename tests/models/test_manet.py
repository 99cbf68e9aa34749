"""Tests for MA-Net (fer_lib.models.manet)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fer_lib import complexity as cx
from fer_lib.losses import MANetLoss
from fer_lib.models import create_model
from fer_lib.models.manet import MANetOutput, MultiScaleBlock

torch.set_num_threads(1)


@pytest.mark.parametrize("size", [48, 64, 112])
def test_output_shapes_for_several_sizes(size: int) -> None:
    model = create_model("manet", num_classes=5).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, size, size))
    assert isinstance(out, MANetOutput)
    assert all(t.shape == (2, 5) for t in out)
    torch.testing.assert_close(out.logits, 0.6 * out.local_logits + 0.4 * out.global_logits)


def test_parameter_counts_match_the_public_model() -> None:
    # 50.55 M with 7 classes; 63.54 M with the 12,666-way MS-Celeb head (PCNN Table X's MA-Net row).
    assert round(cx.count_parameters(create_model("manet", num_classes=7))[0] / 1e6, 2) == 50.55
    assert round(cx.count_parameters(create_model("manet", num_classes=12666))[0] / 1e6, 2) == 63.54


@pytest.mark.slow
def test_macs_at_224_match_the_public_model() -> None:
    x = torch.randn(1, 3, 224, 224)
    # fvcore on the public model (12,666-way heads) gives 3.658 GMACs; within 0.5 %
    macs = cx.fvcore_macs(create_model("manet", num_classes=12666), x)
    assert macs == pytest.approx(3.658e9, rel=5e-3)


def test_grey_input_and_ablation_variants_train_one_step() -> None:
    for branches in ("both", "global", "local"):
        model = create_model("manet", num_classes=3, in_chans=1, branches=branches)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x, y = torch.randn(2, 1, 48, 48), torch.tensor([0, 2])
        loss = MANetLoss()(model(x), y)
        loss.backward()
        opt.step()
        assert torch.isfinite(loss)
        assert (model.local_branches is None) == (branches == "global")
        assert (model.global_branch is None) == (branches == "local")


def test_every_patch_branch_and_the_global_branch_get_gradients() -> None:
    model = create_model("manet", num_classes=3)
    MANetLoss()(model(torch.randn(2, 3, 64, 64)), torch.tensor([1, 2])).backward()
    for branch in [*model.local_branches, model.global_branch, model.conv1]:
        grads = [p.grad for p in branch.parameters()]
        assert all(g is not None for g in grads)
        assert sum(float(g.abs().sum()) for g in grads) > 0


def test_loss_is_the_weighted_sum_of_both_cross_entropies() -> None:
    local, glob = torch.randn(4, 7), torch.randn(4, 7)
    y = torch.randint(0, 7, (4,))
    out = MANetOutput(0.6 * local + 0.4 * glob, local, glob)
    ce = nn.functional.cross_entropy
    expected = 0.6 * ce(local, y) + 0.4 * ce(glob, y)
    torch.testing.assert_close(MANetLoss()(out, y), expected)
    torch.testing.assert_close(MANetLoss(beta=1.0)(out, y), ce(local, y))


def test_multiscale_block_mixes_groups_in_both_directions() -> None:
    block = MultiScaleBlock(8, 8, scales=4).eval()
    captured = {}

    def keep(_m, _i, out):
        out.retain_grad()
        captured["mid"] = out

    block.bn1.register_forward_hook(keep)
    out = block(torch.randn(1, 8, 6, 6))
    # The first output group sees the last input group only through the 4 -> 1 direction.
    out[:, :2].sum().backward()
    grad = captured["mid"].grad
    assert grad[:, 6:].abs().sum() > 0
    with pytest.raises(ValueError, match="divisible"):
        MultiScaleBlock(8, 10, scales=4)


def test_gradcam_layer_and_bad_inputs() -> None:
    model = create_model("manet")
    assert any(m is model.gradcam_target_layer for m in model.modules())
    assert create_model("manet", branches="local").gradcam_target_layer is not None
    with pytest.raises(ValueError, match="at least 32x32"):
        model(torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match="branches"):
        create_model("manet", branches="neither")
    with pytest.raises(ValueError, match="unknown option"):
        create_model("manet", bogus=1)


def test_resnet18_weights_load_into_the_shared_trunk(tmp_path) -> None:
    from torchvision.models import resnet18

    ref = resnet18(weights=None)
    path = tmp_path / "r18.pth"
    torch.save({"state_dict": ref.state_dict()}, path)
    model = create_model("manet", pretrained_path=path)
    torch.testing.assert_close(model.conv1.weight, ref.conv1.weight)
    torch.testing.assert_close(model.layer2[1].conv2.weight, ref.layer2[1].conv2.weight)

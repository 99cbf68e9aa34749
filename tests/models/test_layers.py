"""Tests for the shared ResNet building blocks (fer_lib.models.layers)."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet18

from fer_lib.models.layers import init_like_torchvision, projection_shortcut, resnet18_stage


def test_resnet18_stage_has_torchvision_names_and_shapes() -> None:
    ref = resnet18(weights=None)
    for stage, (cin, cout, stride) in zip(
        (ref.layer1, ref.layer2, ref.layer3, ref.layer4),
        ((64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)),
        strict=True,
    ):
        ours = resnet18_stage(cin, cout, stride)
        assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in stage.state_dict().items()}
        ours.load_state_dict(stage.state_dict())
    assert resnet18_stage(64, 128, 2)(torch.randn(1, 64, 7, 7)).shape == (1, 128, 4, 4)


def test_projection_only_when_the_shape_changes() -> None:
    assert projection_shortcut(64, 64, 1) is None
    assert isinstance(projection_shortcut(64, 64, 2), nn.Sequential)
    assert isinstance(projection_shortcut(64, 128, 1), nn.Sequential)


def test_init_like_torchvision() -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Linear(4, 4))
    linear = net[2].weight.detach().clone()
    nn.init.constant_(net[1].weight, 3.0)
    nn.init.constant_(net[1].bias, 3.0)
    torch.manual_seed(0)
    init_like_torchvision(net)
    torch.manual_seed(0)
    expected = nn.init.kaiming_normal_(torch.empty(8, 3, 3, 3), mode="fan_out", nonlinearity="relu")
    torch.testing.assert_close(net[0].weight, expected, rtol=0, atol=0)
    assert torch.equal(net[1].weight, torch.ones(8)) and torch.equal(net[1].bias, torch.zeros(8))
    assert torch.equal(net[2].weight, linear)  # other layers keep their own initialisation

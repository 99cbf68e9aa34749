"""Fixtures of the fer_lib.explain tests: a ResNet-18 and two normalised images."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fer_lib.models import create_model
from tests.explain._explain_toys import SIZE


@pytest.fixture(scope="module")
def resnet() -> nn.Module:
    torch.manual_seed(0)
    return create_model("resnet18").eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(2, 3, SIZE, SIZE)

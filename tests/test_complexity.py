"""Tests for fer_lib.complexity: parameter counts, MAC counters, timing and the thop artefact."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import pytest
import torch
from torch import nn

from fer_lib import complexity as cx

torch.set_num_threads(1)


class Toy(nn.Module):
    """conv(3->4, 3x3, no bias) -> ReLU -> global avg pool -> Linear(4, 2); one unused layer.

    At 8x8 the conv costs 8*8*4*3*9 = 6912 MACs and has 108 parameters; the head 8 MACs, 10 params.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(4, 2)
        self.unused = nn.Linear(100, 100)  # registered, never called

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.trunk(x)).flatten(1))


CONV_MACS, CONV_PARAMS, HEAD_PARAMS = 8 * 8 * 4 * 3 * 9, 4 * 3 * 9, 4 * 2 + 2


def test_count_parameters_total_trainable_and_used() -> None:
    model = Toy()
    model.head.bias.requires_grad_(False)
    total, trainable = cx.count_parameters(model)
    assert total == CONV_PARAMS + HEAD_PARAMS + 100 * 100 + 100
    assert trainable == total - 2
    # The unused layer does not run, so it is not "used".
    assert cx.count_used_parameters(model, torch.randn(1, 3, 8, 8)) == CONV_PARAMS + HEAD_PARAMS


def test_used_parameters_count_a_module_called_twice_once() -> None:
    class Siamese(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Linear(5, 3)
            self.alias = self.enc  # the same module under a second name

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.enc(x) + self.alias(x * 2)

    assert cx.count_used_parameters(Siamese(), torch.randn(2, 5)) == 5 * 3 + 3


def test_thop_and_fvcore_count_the_conv_and_leave_the_model_untouched() -> None:
    model = Toy()
    keys = set(model.state_dict())
    x = torch.randn(1, 3, 8, 8)
    macs, params = cx.thop_macs(model, x)
    # conv + linear; thop adds a few ops for the average pool, bounded by its input size
    assert CONV_MACS + 8 <= macs <= CONV_MACS + 8 + 4 * 65
    assert params == CONV_PARAMS + HEAD_PARAMS  # thop counts only layers that ran
    fv = cx.fvcore_macs(model, x)
    assert CONV_MACS + 8 <= fv <= CONV_MACS + 8 + 4 * 65
    assert set(model.state_dict()) == keys  # no total_ops / total_params buffers left behind
    assert all(not m._forward_hooks for m in model.modules())
    model(x)  # still runs


def test_double_registration_inflates_exactly_as_predicted() -> None:
    model = Toy()
    x = torch.randn(1, 3, 8, 8)
    macs, params = cx.thop_macs(model, x)
    macs2, params2 = cx.thop_with_double_registration(model, x, shared=["trunk"])
    # The trunk's conv is hooked twice (apply visits it under both parents) and summed twice
    # (the tree walk visits it twice): 4x its MACs; its parameters are summed twice.
    assert macs2 - macs == 3 * CONV_MACS
    assert params2 - params == CONV_PARAMS
    # the forward pass itself is unchanged, and the caller's model gained no second parent
    dbl = cx.double_register(model, ["trunk"])
    torch.testing.assert_close(dbl(x), model(x))
    assert not any(name.startswith("_second_parent") for name, _ in model.named_children())
    # fvcore traces what runs, so it is not fooled
    assert cx.fvcore_macs(dbl, x) == cx.fvcore_macs(model, x)


def test_double_registration_of_a_leaf_layer() -> None:
    model = Toy()
    x = torch.randn(1, 3, 8, 8)
    macs, params = cx.thop_macs(model, x)
    macs2, params2 = cx.thop_with_double_registration(model, x, shared=["head"])
    assert (macs2 - macs, params2 - params) == (3 * 8, HEAD_PARAMS)


@dataclasses.dataclass
class Pair:
    logits: torch.Tensor
    aux: torch.Tensor


class PairOut(NamedTuple):
    first: torch.Tensor
    second: torch.Tensor


class TwoHeads(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.a = nn.Linear(6, 3)
        self.b = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor):
        a, b = self.a(x), self.b(x)
        if self.kind == "dataclass":
            return Pair(logits=a, aux=b)
        if self.kind == "namedtuple":
            return PairOut(a, b)
        if self.kind == "dict":
            return {"logits": a, "aux": b}
        return a, b


@pytest.mark.parametrize("kind", ["dataclass", "namedtuple", "dict", "tuple"])
def test_structured_outputs_are_handled(kind: str) -> None:
    model = TwoHeads(kind)
    x = torch.randn(1, 6)
    # both heads are counted: 6*3 + 6*4
    assert cx.fvcore_macs(model, x) == 6 * 3 + 6 * 4
    assert cx.thop_macs(model, x)[0] == 6 * 3 + 6 * 4
    out = cx.TensorOutput(model)(x)
    assert out.shape == (1, 3)
    torch.testing.assert_close(out, model.a(x))
    assert len(cx.TensorOutput(model, mode="all")(x)) == 2


def test_primary_tensor_rejects_outputs_without_tensors() -> None:
    with pytest.raises(TypeError, match="holds no tensor"):
        cx.primary_tensor({"a": 1})
    with pytest.raises(ValueError, match="mode"):
        cx.TensorOutput(nn.Identity(), mode="bad")


def test_fvcore_counts_attention_matmuls_that_thop_misses() -> None:
    class Attn(nn.Module):
        def forward(self, q: torch.Tensor) -> torch.Tensor:
            return (q @ q.transpose(-1, -2)).softmax(-1) @ q

    x = torch.randn(1, 10, 8)
    # two matmuls of 10x8x10 MACs each
    assert cx.fvcore_macs(Attn(), x) == 2 * 10 * 8 * 10
    assert cx.thop_macs(Attn(), x)[0] == 0


def test_profile_fast_and_restores_training_mode() -> None:
    model = Toy().train()
    res = cx.profile(model, input_size=(3, 8, 8), warmup=1, runs=2, batch_size_throughput=2, throughput_runs=1)
    assert res["params_total"] == CONV_PARAMS + HEAD_PARAMS + 10100
    assert res["params_used"] == CONV_PARAMS + HEAD_PARAMS
    assert res["macs_fvcore"] >= CONV_MACS
    assert res["latency_ms_mean"] > 0 and res["latency_ms_std"] >= 0
    assert res["throughput_items_per_s"] > 0
    assert model.training
    skipped = cx.profile(model, input_size=(3, 8, 8), macs=False, timing=False)
    assert skipped["macs_thop"] is None and skipped["latency_ms_mean"] is None


def test_timing_rejects_zero_runs() -> None:
    with pytest.raises(ValueError, match="runs"):
        cx.measure_latency(Toy(), (3, 8, 8), runs=0)


@pytest.mark.slow
def test_resnet18_sanity_at_224() -> None:
    """torchvision ResNet-18 (1000-way head) at 224: 11.69 M parameters, 1.82 GMACs."""
    from torchvision.models import resnet18

    model = resnet18(weights=None)
    res = cx.profile(model, input_size=(3, 224, 224), timing=False)
    assert round(res["params_total"] / 1e6, 2) == 11.69
    assert res["params_used"] == res["params_total"]
    assert round(res["macs_thop"] / 1e9, 2) == 1.82
    assert round(res["macs_fvcore"] / 1e9, 2) == 1.82

"""Tests for fer_lib.complexity: parameter counts, MAC counters, timing and the thop artefact."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import pytest
import torch
from torch import nn

from fer_lib import complexity as cx
from fer_lib.models.outputs import TensorOutput, logits_of, output_tensors

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
    # complexity reads outputs through the library's one wrapper (fer_lib.models.outputs)
    out = TensorOutput(model)(x)
    assert out.shape == (1, 3)
    torch.testing.assert_close(out, model.a(x))
    assert len(TensorOutput(model, mode="all")(x)) == 2
    assert [t.shape[1] for t in output_tensors(model(x))] == [3, 4]


def test_outputs_without_logits_are_rejected() -> None:
    with pytest.raises(TypeError, match="cannot find logits"):
        logits_of({"a": 1})
    with pytest.raises(ValueError, match="mode"):
        TensorOutput(nn.Identity(), mode="bad")


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


def test_resnet_trunk_modules_finds_trunks_and_loose_stages() -> None:
    from torchvision.models import resnet18

    class TwoTrunks(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            r = resnet18(weights=None)
            self.backbone = r  # a whole ResNet: one trunk (its stages are not listed again)
            self.crop_trunk = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1)
            self.refine = resnet18(weights=None).layer4  # a stage outside any trunk
            self.head = nn.Linear(512, 2)

    assert cx.resnet_trunk_modules(TwoTrunks()) == ["backbone", "crop_trunk", "refine"]
    assert cx.resnet_trunk_modules(Toy()) == []


class AuthorsLayoutPCNN(nn.Module):
    """PCNN as the authors' code lays it out (REFERENCE.md), reduced to what thop and fvcore see.

    Six ResNet-18 trunks (conv1..layer3): one global on the 224 input, five on the sense-organ crops
    (rows 0:112 / 112:145 / 145:224); the global ResNet's layer4 runs twice (STN localisation on the
    stitched map, main head on the fused map); region heads Linear(256, C) summed.
    """

    def __init__(self, num_classes: int = 7) -> None:
        from torchvision.models import resnet18

        super().__init__()

        def trunk() -> nn.Sequential:
            r = resnet18(weights=None)
            return nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3)

        self.global_trunk = trunk()
        self.region_trunks = nn.ModuleList(trunk() for _ in range(5))
        self.layer4 = resnet18(weights=None).layer4
        self.loc = nn.Sequential(nn.Linear(512 * 7 * 7, 32), nn.ReLU(), nn.Linear(32, 6))
        self.fc = nn.Linear(512, num_classes)
        self.region_fcs = nn.ModuleList(nn.Linear(256, num_classes) for _ in range(5))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        import torch.nn.functional as F

        g = self.global_trunk(x)
        rows, half = [(0, 112), (0, 112), (112, 145), (112, 145), (145, 224)], [(0, 112), (112, 224)]
        cols = [half[0], half[1], half[0], half[1], (0, 224)]
        maps = [t(x[:, :, r0:r1, c0:c1]) for t, (r0, r1), (c0, c1) in zip(self.region_trunks, rows, cols, strict=True)]
        resize = lambda m, h, w: F.interpolate(m, size=(h, w), mode="bilinear", align_corners=True)
        w = g.shape[-1]
        strips = [
            resize(torch.cat(maps[0:2], 3), maps[0].shape[2], w),
            resize(torch.cat(maps[2:4], 3), maps[2].shape[2], w),
            resize(maps[4], maps[4].shape[2], w),
        ]
        stitched = resize(torch.cat(strips, 2), *g.shape[-2:])
        theta = self.loc(self.layer4(stitched).flatten(1)).view(-1, 2, 3)
        grid = F.affine_grid(theta, list(g.shape), align_corners=True)  # the code's STN convention
        fused = g + F.grid_sample(stitched, grid, align_corners=True)
        main = self.fc(self.layer4(fused).mean(dim=(2, 3)))
        local = sum(fc(m.mean(dim=(2, 3))) for fc, m in zip(self.region_fcs, maps, strict=True))
        return main, local


@pytest.mark.slow
def test_authors_layout_reproduces_table_x_by_double_registration() -> None:
    """PCNN's Table X (14.80 G, 51.00 M) is thop on the double-registered trunks; the truth is 3.69 G, 25.9 M."""
    model = AuthorsLayoutPCNN()
    x = torch.randn(1, 3, 224, 224)
    assert cx.count_used_parameters(model, x) == 25_906_064
    assert round(cx.fvcore_macs(model, x) / 1e9, 3) == 3.692
    macs, params = cx.thop_with_double_registration(model, x)
    assert round(macs / 1e9, 2) == 14.80 and round(params / 1e6, 2) == 51.00
    # the same counts as in the authors' environment (REFERENCE.md: 14.803 G, 50.996 M)
    assert (round(macs / 1e9, 3), round(params / 1e6, 3)) == (14.803, 50.996)


@pytest.mark.slow
def test_pcnn_true_compute_and_the_paper_artefact() -> None:
    """fer_lib's PCNN: traced 3.69 GMACs, 25.9 M used parameters; double registration gives Table X's figures."""
    from fer_lib.models import create_model, list_models

    if "pcnn" not in list_models():
        pytest.skip("the pcnn model is not registered yet")
    model = create_model("pcnn", num_classes=7).eval()
    x = torch.randn(1, 3, 224, 224)
    assert cx.fvcore_macs(model, x) == pytest.approx(3.69e9, rel=0.02)
    assert cx.count_used_parameters(model, x) == pytest.approx(25.9e6, rel=0.02)
    macs, params = cx.thop_with_double_registration(model, x)
    assert macs == pytest.approx(14.80e9, rel=0.01)
    assert params == pytest.approx(51.00e6, rel=0.01)


def test_training_throughput_trains_a_copy_and_counts_images() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 7))
    before = [p.detach().clone() for p in model.parameters()]
    rate = cx.measure_training_throughput(model, (3, 16, 16), batch_size=4, warmup=1, steps=2)
    assert rate > 0
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))  # untouched
    assert all(p.grad is None for p in model.parameters()) and model.training
    assert cx.measure_training_throughput(model, (3, 16, 16), batch_size=2, steps=1, precision="bf16") > 0
    with pytest.raises(ValueError, match="precision"):
        cx.measure_training_throughput(model, (3, 16, 16), precision="fp8")

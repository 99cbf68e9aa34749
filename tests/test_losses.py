"""Losses: PCNN's facial semantic loss, cross-entropy variants, the build_loss registry."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fer_lib import losses
from fer_lib.losses import (
    CrossEntropy,
    FacialSemanticLoss,
    build_loss,
    list_losses,
    register_loss,
)
from fer_lib.models.outputs import logits_of
from fer_lib.models.pcnn import PCNNOutput


def _manual_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # -log softmax at the true class (hard targets) or the expected -log p (soft targets), batch mean.
    logp = logits.log_softmax(dim=1)
    if target.dim() == 1:
        return -logp[torch.arange(len(target)), target].mean()
    return -(target * logp).sum(dim=1).mean()


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 7, generator=g), torch.randn(4, 7, generator=g), torch.tensor([0, 3, 6, 3])


@pytest.mark.parametrize("alpha,beta", [(12.0, 8.0), (10.0, 10.0), (1.0, 0.0), (0.5, 3.0)])
def test_facial_semantic_loss_weights(batch, alpha: float, beta: float) -> None:
    logits, local, y = batch
    got = FacialSemanticLoss(alpha=alpha, beta=beta)(PCNNOutput(logits, local), y)
    expected = alpha * _manual_ce(logits, y) + beta * _manual_ce(local, y)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_paper_defaults_and_terms(batch) -> None:
    logits, local, y = batch
    loss = FacialSemanticLoss()
    assert (loss.alpha, loss.beta) == (12.0, 8.0)
    terms = loss.terms(PCNNOutput(logits, local), y)
    assert terms["global"].item() == pytest.approx(_manual_ce(logits, y).item(), rel=1e-6)
    assert terms["local"].item() == pytest.approx(_manual_ce(local, y).item(), rel=1e-6)
    assert loss(PCNNOutput(logits, local), y).item() == pytest.approx(
        12 * terms["global"].item() + 8 * terms["local"].item(), rel=1e-6
    )


def test_plain_logits_and_missing_local_term(batch) -> None:
    logits, local, y = batch
    loss = FacialSemanticLoss(alpha=12, beta=8)
    only_global = 12 * _manual_ce(logits, y).item()
    assert loss(logits, y).item() == pytest.approx(only_global, rel=1e-6)
    assert loss(PCNNOutput(logits, None), y).item() == pytest.approx(only_global, rel=1e-6)
    assert loss((logits, local), y).item() == pytest.approx(loss(PCNNOutput(logits, local), y).item())
    assert set(loss.terms(logits, y)) == {"global"}


def test_gradients_are_weighted(batch) -> None:
    logits, local, y = batch
    logits.requires_grad_(True)
    local.requires_grad_(True)
    FacialSemanticLoss(alpha=12, beta=8)(PCNNOutput(logits, local), y).backward()
    p_g, p_l = logits.detach().softmax(1), local.detach().softmax(1)
    onehot = F.one_hot(y, 7).float()
    assert torch.allclose(logits.grad, 12 * (p_g - onehot) / 4, atol=1e-6)
    assert torch.allclose(local.grad, 8 * (p_l - onehot) / 4, atol=1e-6)


def test_soft_targets(batch) -> None:
    logits, local, y = batch
    loss = FacialSemanticLoss(alpha=2, beta=3)
    onehot = F.one_hot(y, 7).float()
    assert loss(PCNNOutput(logits, local), onehot).item() == pytest.approx(
        loss(PCNNOutput(logits, local), y).item(), rel=1e-6
    )
    soft = torch.softmax(torch.randn(4, 7, generator=torch.Generator().manual_seed(1)), dim=1)
    expected = 2 * _manual_ce(logits, soft) + 3 * _manual_ce(local, soft)
    assert loss(PCNNOutput(logits, local), soft).item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match="soft targets"):
        loss(logits, soft[:, :5])
    with pytest.raises(ValueError, match="class indices"):
        loss(logits, y.view(2, 2, 1))


def test_label_smoothing(batch) -> None:
    logits, local, y = batch
    eps = 0.1
    smoothed = (1 - eps) * F.one_hot(y, 7).float() + eps / 7
    got = FacialSemanticLoss(alpha=12, beta=8, label_smoothing=eps)(PCNNOutput(logits, local), y)
    expected = 12 * _manual_ce(logits, smoothed) + 8 * _manual_ce(local, smoothed)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    ls = build_loss("label_smoothing_ce")
    assert ls(logits, y).item() == pytest.approx(_manual_ce(logits, smoothed).item(), rel=1e-5)
    assert build_loss("label_smoothing_ce", smoothing=0.2).label_smoothing == 0.2
    with pytest.raises(ValueError, match="label_smoothing"):
        FacialSemanticLoss(label_smoothing=1.5)


def test_build_loss_registry(batch) -> None:
    logits, local, y = batch
    assert {"ce", "label_smoothing_ce", "facial_semantic"} <= set(list_losses())
    ce = build_loss("ce")
    assert isinstance(ce, CrossEntropy)
    # Plain CE on a structured output uses the main logits only.
    assert ce(PCNNOutput(logits, local), y).item() == pytest.approx(_manual_ce(logits, y).item(), rel=1e-6)
    fsl = build_loss("facial_semantic", alpha=10, beta=10)
    assert isinstance(fsl, FacialSemanticLoss) and (fsl.alpha, fsl.beta) == (10.0, 10.0)
    with pytest.raises(ValueError, match="facial_semantic"):
        build_loss("focal")
    with pytest.raises(ValueError, match="loss 'ce' got unknown option"):
        build_loss("ce", gamma=2.0)
    with pytest.raises(ValueError, match="alpha and beta"):
        FacialSemanticLoss(alpha=-1)


def test_register_loss_is_extensible(batch) -> None:
    logits, _, y = batch

    @register_loss("test_only_double_ce")
    class DoubleCE(nn.Module):
        def forward(self, output, target):
            return 2 * losses.cross_entropy(logits_of(output), target)

    try:
        assert build_loss("test_only_double_ce")(logits, y).item() == pytest.approx(
            2 * _manual_ce(logits, y).item(), rel=1e-6
        )
        with pytest.raises(ValueError, match="registered twice"):
            register_loss("test_only_double_ce")(CrossEntropy)
    finally:
        losses.LOSSES.unregister("test_only_double_ce")


def test_losses_read_outputs_through_the_one_logits_rule(batch) -> None:
    logits, local, y = batch
    fsl = FacialSemanticLoss(alpha=12, beta=8)
    as_dict = fsl({"logits": logits, "local_logits": local}, y)
    assert as_dict.item() == pytest.approx(fsl(PCNNOutput(logits, local), y).item())
    with pytest.raises(TypeError, match="logits"):
        fsl({"scores": logits}, y)


def test_loss_identity_and_weight_sum() -> None:
    from fer_lib.losses import CrossEntropy, FacialSemanticLoss, loss_identity, loss_weight_sum

    assert loss_identity(None) == loss_identity(CrossEntropy()) == {"name": "ce", "label_smoothing": 0.0}
    bp, cbp = FacialSemanticLoss(12, 8), FacialSemanticLoss(10, 10)
    assert loss_identity(bp) != loss_identity(cbp)
    assert loss_identity(bp) == {"name": "facial_semantic", "alpha": 12.0, "beta": 8.0, "label_smoothing": 0.0}
    assert loss_weight_sum(bp) == loss_weight_sum(cbp) == 20.0
    assert loss_weight_sum(None) == loss_weight_sum(CrossEntropy()) == 1.0

    def focal(output, target):
        return output.sum()

    assert loss_identity(focal)["name"].endswith("focal")


def test_wing_loss_is_logarithmic_for_small_errors_linear_for_large_and_continuous():
    wing = build_loss("wing", width=10.0, epsilon=2.0, face_size=100)
    target = torch.zeros(1, 4)

    def at(pixels: float) -> float:
        return float(wing(torch.full((1, 4), pixels / 100), target))

    assert at(0.0) == 0.0
    assert at(1.0) == pytest.approx(10 * math.log(1.5), rel=1e-5)
    assert at(10.0 - 1e-4) == pytest.approx(at(10.0 + 1e-4), abs=1e-3)  # continuous at the width
    assert at(30.0) - at(20.0) == pytest.approx(10.0, rel=1e-4)  # slope 1 beyond it
    # A small error still has a large gradient (an L2 loss's vanishes near zero).
    x = torch.full((1, 4), 0.5 / 100, requires_grad=True)
    wing(x, target).backward()
    # d loss / d (pixel error) of one coordinate: w / (epsilon + 0.5) = 4; L2's would be 2 x 0.5 = 1.
    assert float(x.grad[0, 0]) * 4 / 100 == pytest.approx(10 / 2.5, rel=1e-4)
    from fer_lib.models.poster import LandmarkOutput

    structured = LandmarkOutput(torch.full((1, 4), 0.01), torch.zeros(1, 1))
    assert float(wing(structured, target)) == pytest.approx(at(1.0))
    assert wing.identity() == {"name": "wing", "width": 10.0, "epsilon": 2.0, "face_size": 100}
    with pytest.raises(ValueError, match="do not match"):
        wing(torch.zeros(1, 6), target)
    with pytest.raises(ValueError, match="positive"):
        build_loss("wing", width=0)

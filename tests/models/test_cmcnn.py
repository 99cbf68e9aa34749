"""Tests for CM-CNN (fer_lib.models.cmcnn) and its soft-label focal loss."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from fer_lib.losses import SoftFocalLoss, build_loss, gaussian_soft_labels
from fer_lib.models import create_model, model_family
from fer_lib.models.cmcnn import CMCNNOutput, CrossModalityAttention, FeatureExtractionNetwork

torch.set_num_threads(1)


def test_fens_map_148_px_to_nine_by_nine() -> None:
    for residual in (False, True):
        fen = FeatureExtractionNetwork(((5, 8), (3, 8), (3, 8), (3, 16)), residual=residual)
        assert fen(torch.randn(2, 1, 148, 148)).shape == (2, 16, 9, 9)
    texture = create_model("cmcnn", modalities=("gray",)).fens["gray"]
    depth = create_model("cmcnn", modalities=("depth",)).fens["depth"]
    # The texture FEN is the depth FEN deepened by four residual convs (Fig. 3(b)).
    assert sum(isinstance(m, torch.nn.Conv2d) for m in texture.modules()) == 8
    assert sum(isinstance(m, torch.nn.Conv2d) for m in depth.modules()) == 4


@pytest.mark.parametrize("modalities, fusion, dim", [
    (("gray", "lbp", "depth"), "cmfn", 2 * 2 * 128 * 3),  # each embedding concatenates two guided maps
    (("gray", "depth"), "cmfn", 2 * 128 * 2),
    (("gray", "lbp", "depth"), "concat", 2 * 128 * 3),
    (("lbp",), "cmfn", 2 * 128),  # one modality: its FEN and the head, no fusion
])
def test_output_shapes_per_modality_subset(modalities, fusion, dim) -> None:
    model = create_model("cmcnn", num_classes=6, modalities=modalities, fusion=fusion).eval()
    with torch.no_grad():
        out = model(torch.randn(2, len(modalities), 148, 148))
    assert isinstance(out, CMCNNOutput)
    assert out.logits.shape == (2, 6) and out.embedding.shape == (2, dim)
    assert len(model.cmfn) == (len(modalities) * (len(modalities) - 1) if fusion == "cmfn" else 0)


def test_cross_modality_attention_is_eq_3() -> None:
    torch.manual_seed(0)
    block = CrossModalityAttention(4, normalise=False)
    f_m, f_n = torch.randn(1, 4, 3, 2), torch.randn(1, 4, 3, 2)
    g1, g2, d1 = (conv(x).reshape(4, 6) for conv, x in ((block.g1, f_m), (block.g2, f_m), (block.d1, f_n)))
    att = torch.sigmoid(g1.T @ d1)  # [N, N]
    expected = (g2 @ att.T).reshape(1, 4, 3, 2) + f_m
    torch.testing.assert_close(block(f_m, f_n), expected)
    block.normalise = True  # the same weights divided by N = 6
    torch.testing.assert_close(block(f_m, f_n), (g2 @ att.T / 6).reshape(1, 4, 3, 2) + f_m)
    # Position i of the output reads modality n only through Att[i, :]: a change of n's map at one position
    # reaches every output position (the attention is global), unlike a convolution.
    f_n2 = f_n.clone()
    f_n2[..., 0, 0] += 1.0
    assert (block(f_m, f_n2) - block(f_m, f_n)).abs().flatten(2).amin() > 0
    softmax = CrossModalityAttention(4, attention="softmax")
    assert torch.allclose(softmax.attention_map(f_m, f_n).sum(-1), torch.ones(1, 6))


def test_eq_3_as_printed_swamps_the_map_it_guides() -> None:
    """Unnormalised, the attention term sums G2 over all N = 81 positions at 148 px: it starts tens of times the
    size of f_m (why training at lr 0.01 diverges); divided by N it is of the map's own size."""
    torch.manual_seed(0)
    f_m, f_n = torch.randn(2, 128, 9, 9), torch.randn(2, 128, 9, 9)
    ratios = {}
    for normalise in (False, True):
        torch.manual_seed(1)
        block = CrossModalityAttention(128, normalise=normalise)
        ratios[normalise] = ((block(f_m, f_n) - f_m).norm() / f_m.norm()).item()
    assert ratios[False] > 10 * ratios[True] and ratios[True] < 2


def test_every_fen_receives_its_own_channel() -> None:
    model = create_model("cmcnn", modalities=("gray", "lbp", "depth")).eval()
    images = torch.randn(1, 3, 64, 64, requires_grad=True)
    model(images).logits[0, 2].backward()
    assert all(images.grad[0, c].abs().sum() > 0 for c in range(3))
    with pytest.raises(ValueError, match=r"takes \[B, 3, H, W\]"):
        model(torch.randn(1, 1, 64, 64))


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="modalities"):
        create_model("cmcnn", modalities=("gray", "rgb"))
    with pytest.raises(ValueError, match="modalities"):
        create_model("cmcnn", modalities=("gray", "gray"))
    with pytest.raises(ValueError, match="fusion"):
        create_model("cmcnn", fusion="sum")
    with pytest.raises(ValueError, match="attention"):
        create_model("cmcnn", attention="tanh")
    assert model_family("cmcnn").loss == "soft_focal"


# -- the loss --------------------------------------------------------------------------------------------
def test_soft_labels_at_the_papers_sigma_are_one_hot_in_effect() -> None:
    target = torch.tensor([0, 3, 5])
    soft = gaussian_soft_labels(target, 6, sigma=0.1)
    # exp(-1 / (2 * 0.01)) = 1.9e-22 on each neighbour: below float32's resolution of anything near 1.
    assert (soft - F.one_hot(target, 6).float()).abs().max() < 2e-22
    assert torch.equal(1.0 - soft, 1.0 - F.one_hot(target, 6).float())
    wide = gaussian_soft_labels(target, 6, sigma=1.0)
    torch.testing.assert_close(wide.sum(1), torch.ones(3))
    assert wide[1, 3] > wide[1, 2] == wide[1, 4] > wide[1, 1] > 0
    density = gaussian_soft_labels(target, 6, sigma=0.1, normalise=False)
    assert density[1, 3].item() == pytest.approx(1 / (0.1 * math.sqrt(2 * math.pi)), rel=1e-6)


def test_focal_loss_formula_and_its_limits() -> None:
    torch.manual_seed(0)
    logits, target = torch.randn(4, 6), torch.tensor([0, 1, 2, 5])
    q = F.one_hot(target, 6).float()
    p = torch.sigmoid(logits)
    expected = -(q * (1 - p) ** 2 * torch.log(p) + (1 - q) * p ** 2 * torch.log(1 - p)).sum(1).mean()
    torch.testing.assert_close(SoftFocalLoss(gamma=2.0, sigma=0.0)(logits, target), expected)
    # gamma = 0: per-class binary cross-entropy; the paper's sigma = 0.1 gives the hard-label loss exactly.
    torch.testing.assert_close(SoftFocalLoss(gamma=0.0, sigma=0.0)(logits, target),
                               F.binary_cross_entropy_with_logits(logits, q, reduction="sum") / 4)
    assert torch.equal(SoftFocalLoss()(logits, target), SoftFocalLoss(sigma=0.0)(logits, target))
    # Focusing: a confident right answer weighs less than under cross-entropy.
    easy = torch.full((1, 6), -4.0)
    easy[0, 0] = 4.0
    assert SoftFocalLoss(gamma=2.0)(easy, torch.tensor([0])) < 1e-3 * SoftFocalLoss(gamma=0.0)(easy,
                                                                                              torch.tensor([0]))
    out = CMCNNOutput(logits, torch.zeros(4, 3))
    torch.testing.assert_close(build_loss("soft_focal")(out, target), SoftFocalLoss()(logits, target))
    assert build_loss("soft_focal", gamma=1.5).identity() == {
        "name": "soft_focal", "gamma": 1.5, "alpha": 1.0, "sigma": 0.1, "normalise_soft_label": True}
    with pytest.raises(ValueError, match="gamma"):
        SoftFocalLoss(gamma=-1)


def test_model_and_loss_train_together() -> None:
    torch.manual_seed(0)
    model = create_model("cmcnn", num_classes=6, modalities=("gray", "depth"))
    images, target = torch.randn(8, 2, 48, 48), torch.arange(8) % 6
    optimiser = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    loss_fn = SoftFocalLoss()
    first = None
    for _ in range(15):
        optimiser.zero_grad()
        loss = loss_fn(model(images), target)
        loss.backward()
        optimiser.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first

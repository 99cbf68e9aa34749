"""PCNN's Table I / II row presets: every row is there, with its options and loss, and every distinct model
configuration builds and trains one step with its loss."""

from __future__ import annotations

import pytest
import torch

from fer_lib.losses import CrossEntropy, FacialSemanticLoss
from fer_lib.models import create_model
from fer_lib.models.pcnn import CROP_STRATEGIES, PCNN
from fer_lib.protocols import get_preset, list_presets

SMALL = 64


def test_presets_cover_every_table_row() -> None:
    assert len(list_presets("pcnn", "I")) == 6
    assert len(list_presets("pcnn", "II")) == 6
    bp = get_preset("pcnn", "table1_pcnn").setup
    assert (bp.loss, dict(bp.loss_options), dict(bp.options)) == ("facial_semantic", {"alpha": 12.0, "beta": 8.0}, {})
    assert dict(get_preset("pcnn", "table1_no_balance").setup.loss_options) == {"alpha": 10.0, "beta": 10.0}
    assert dict(get_preset("pcnn", "table2_cbp").setup.loss_options) == {"alpha": 10.0, "beta": 10.0}
    resnet = get_preset("pcnn", "table2_resnet18")
    assert resnet.setup.model == "resnet18" and not resnet.paper_pretrained
    assert isinstance(resnet.setup.build_loss(), CrossEntropy)
    strategies = {get_preset("pcnn", n).setup.options.get("crop_strategy", "sense_organs")
                  for n in list_presets("pcnn", "I")}
    assert strategies == set(CROP_STRATEGIES)
    mdim = get_preset("pcnn", "table2_mdim").setup
    assert mdim.model == "pcnn" and dict(mdim.options) == {"use_lpn": False}
    assert mdim.describe_loss() == "facial_semantic(alpha=1, beta=0)"
    loss = get_preset("pcnn", "table2_bp").setup.build_loss()
    assert isinstance(loss, FacialSemanticLoss) and (loss.alpha, loss.beta) == (12.0, 8.0)
    with pytest.raises(ValueError, match="table1_pcnn"):
        get_preset("pcnn", "table3")
    assert list_presets("no-such-paper") == []


# Presets that share a model configuration (e.g. "table1_pcnn", "table2_bp") are built once.
_UNIQUE_PRESETS = sorted(
    {(p.setup.model, tuple(sorted(p.setup.options.items()))): n
     for n, p in ((n, get_preset("pcnn", n)) for n in list_presets("pcnn"))}.values()
)


@pytest.mark.parametrize("name", _UNIQUE_PRESETS)
def test_preset_builds_and_trains_one_step(name: str, one_thread) -> None:
    torch.manual_seed(0)
    setup = get_preset("pcnn", name).setup
    options = {**setup.options, **({"image_size": SMALL} if setup.model == "pcnn" else {})}
    model = create_model(setup.model, num_classes=7, **options).train()
    loss_fn = setup.build_loss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    x, y = torch.randn(2, 3, SMALL, SMALL), torch.tensor([1, 4])
    loss = loss_fn(model(x), y)
    assert torch.isfinite(loss)
    opt.zero_grad()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"parameters outside the graph: {missing[:5]}"
    opt.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed, "no parameter changed"
    # Every trunk and every head learns (weight decay alone would also move them, so look at the grads).
    for prefix in ("gfieb.conv1", "gfieb.layer3", "refinement.", "gpn.fc", "lfsieb.trunks.", "lpn.fcs."):
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(prefix)]
        assert all(g.abs().sum() > 0 for g in grads), prefix
    if isinstance(model, PCNN) and model.lfsieb is not None:
        for i in range(len(model.lfsieb.trunks)):
            assert model.lfsieb.trunks[i].conv1.weight.grad.abs().sum() > 0

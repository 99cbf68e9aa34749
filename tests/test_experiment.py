"""fer_lib.experiment: tables that train the same model the same way share one cached run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fer_lib.data.fixtures import write_rafdb
from fer_lib.experiment import accuracy_rows, variant_rows
from fer_lib.recipes import get_recipe
from fer_lib.results import TableRun


def _run(table: str, root: Path, tmp_path: Path) -> TableRun:
    return TableRun("pcnn", table, "smoke", "rafdb", root, "cpu", [0], tmp_path / "out", quiet=True)


@pytest.mark.slow
def test_accuracy_and_variant_rows_share_the_pcnn_run(tmp_path: Path) -> None:
    root = write_rafdb(tmp_path / "rafdb", n_train=14, n_test=7)
    first = accuracy_rows(_run("vii", root, tmp_path), {"pcnn": "PCNN"})["pcnn"][0]
    assert not first.from_cache
    again = variant_rows(_run("ii", root, tmp_path), {"table2_bp": "PCNN"}, {"RAF-DB": "rafdb"})[("PCNN", "RAF-DB")][0]
    assert again.from_cache and again.run_dir == first.run_dir
    spec = json.loads((first.run_dir / "spec.json").read_text())
    assert spec["loss"] == {"name": "facial_semantic", "alpha": 12.0, "beta": 8.0, "label_smoothing": 0.0}
    # The smoke recipe divides the lr by alpha + beta: the run trained at lr / 20.
    recipe = get_recipe("pcnn", "smoke")
    trained_lr = json.loads((first.run_dir / "train_config.json").read_text())["lr"]
    assert recipe.lr_per_loss_weight and trained_lr == pytest.approx(recipe.train.lr / 20)


@pytest.mark.slow
def test_a_different_loss_is_a_different_run(tmp_path: Path) -> None:
    root = write_rafdb(tmp_path / "rafdb", n_train=14, n_test=7)
    cbp = variant_rows(_run("ii", root, tmp_path), {"table2_cbp": "CBP"}, {"RAF-DB": "rafdb"})[("CBP", "RAF-DB")][0]
    bp = variant_rows(_run("ii", root, tmp_path), {"table2_bp": "BP"}, {"RAF-DB": "rafdb"})[("BP", "RAF-DB")][0]
    assert not bp.from_cache and bp.run_dir != cbp.run_dir


def test_model_loss_trains_manet_on_both_branches() -> None:
    """MA-Net trains with its paper's branch-wise CE; its beta is part of the run-cache key."""
    import torch

    from fer_lib.experiment import model_loss
    from fer_lib.losses import loss_identity
    from fer_lib.models import create_model

    loss = model_loss("manet")
    assert loss_identity(loss) == {"name": "manet", "beta": 0.6, "label_smoothing": 0.0}
    assert loss_identity(model_loss("manet", beta=0.5)) != loss_identity(loss)
    torch.manual_seed(0)
    out = create_model("manet", num_classes=7).eval()(torch.randn(2, 3, 64, 64))
    target = torch.tensor([1, 4])
    ce = torch.nn.functional.cross_entropy
    expected = 0.6 * ce(out.local_logits, target) + 0.4 * ce(out.global_logits, target)
    assert torch.allclose(loss(out, target), expected)
    assert model_loss("resnet18") is None

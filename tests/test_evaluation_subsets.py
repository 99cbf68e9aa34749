"""Test subsets and subject-independent folds (fer_lib.evaluation_subsets) on the exact-format fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fer_lib import evaluation_subsets as es
from fer_lib.data.fixtures import write_all
from fer_lib.experiment import accuracy_rows
from fer_lib.results import TableRun


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write_all(root)
    return root


def _run(table: str, dataset: str, data_root: Path, tmp_path: Path) -> TableRun:
    return TableRun("pcnn", table, "smoke", dataset, data_root, "cpu", [0], tmp_path / "out", quiet=True)


def test_subset_source_names_real_and_synthetic_subsets(tmp_path: Path) -> None:
    (tmp_path / "ran_lists").mkdir()
    name, opts = es.subset_source("rafdb", "pose>45", tmp_path)
    assert name == "rafdb-pose45" and opts == {"lists_root": str(tmp_path / "ran_lists")}
    assert es.subset_source("ferplus", "occlusion", tmp_path)[0] == "ferplus-occlusion"
    # a data_root without ran_lists/ is taken as the lists folder itself
    assert es.lists_root(tmp_path / "ran_lists") == tmp_path / "ran_lists"
    assert es.subset_source("synth-inthewild", "pose>30") == ("synth-inthewild", {"subset": "pose>30"})


@pytest.mark.parametrize(
    ("base", "kind", "root", "message"),
    [
        ("rafdb", "blur", ".", "unknown subset kind"),
        ("fer2013", "occlusion", ".", "no 'occlusion' test subset"),
        ("rafdb", "occlusion", None, "pass data_root"),
    ],
)
def test_subset_source_errors(base: str, kind: str, root: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        es.subset_source(base, kind, root)


@pytest.mark.slow
def test_subset_rows_reuse_the_accuracy_rows_model(data_root: Path, tmp_path: Path) -> None:
    """Table VIII's cells come from the very run Table VII trained (same run-cache key)."""
    table_vii = _run("vii", "rafdb", data_root, tmp_path)
    trained = accuracy_rows(table_vii, {"resnet18": "ResNet-18"})["resnet18"][0]
    assert not trained.from_cache

    table_viii = _run("viii", "rafdb", data_root, tmp_path)
    columns = {"Occlusion-RAFDDB": ("rafdb", "occlusion")}
    outcomes = es.subset_rows(table_viii, {"resnet18": "ResNet-18 [17]"}, columns,
                              full_test_columns={"rafdb": "RAF-DB test set"})
    out = outcomes[("resnet18", "rafdb")][0]
    assert out.from_cache and out.run_dir == trained.run_dir
    frame = table_viii.frame().set_index("column")
    assert list(frame.index) == ["Occlusion-RAFDDB", "RAF-DB test set"]
    # the fixture's occlusion list names 5 of RAF-DB's 7 test images
    assert len(out.metrics["Occlusion-RAFDDB"]["targets"]) == 5
    assert frame.loc["Occlusion-RAFDDB", "paper_value"] == pytest.approx(80.19)
    assert frame.loc["Occlusion-RAFDDB", "dataset"] == "rafdb-occlusion"
    assert frame.loc["RAF-DB test set", "value"] == pytest.approx(trained.metrics["test"]["accuracy"])


def test_load_subset_applies_the_recipe(data_root: Path) -> None:
    from fer_lib.recipes import get_recipe

    recipe = get_recipe("resnet", "smoke")
    subset = es.load_subset("ferplus", "pose>30", recipe, data_root)
    x, _ = subset[0][:2]
    assert tuple(x.shape[-2:]) == (recipe.image_size, recipe.image_size)


@pytest.mark.slow
def test_fold_rows_pools_the_test_folds(data_root: Path, tmp_path: Path) -> None:
    run = _run("iv", "jaffe", data_root, tmp_path)
    outcomes = es.fold_rows(run, {"resnet18": "ResNet-18"}, "jaffe", folds=[0, 1], num_folds=5,
                            dataset_options={"protocol": "kfold", "num_folds": 5})
    per_fold = outcomes["resnet18"][0]
    assert len(per_fold) == 2 and per_fold[0].run_dir != per_fold[1].run_dir
    targets = np.concatenate([o.metrics["test"]["targets"] for o in per_fold])
    preds = np.concatenate([o.metrics["test"]["predictions"] for o in per_fold])
    cell = run.frame().iloc[0]
    assert cell["value"] == pytest.approx(float((targets == preds).mean() * 100))
    assert "fold(s) 0, 1 of 5" in cell["note"] and cell["dataset"] == "jaffe"


def test_fold_rows_rejects_bad_folds(data_root: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="folds must be"):
        es.fold_rows(_run("iv", "jaffe", data_root, tmp_path), {"resnet18": "r"}, "jaffe", folds=[5], num_folds=5)

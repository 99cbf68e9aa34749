"""The table protocols: tables that train the same model the same way share one cached run; cells, folds,
subsets and sweeps; a wrong name fails before anything trains."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fer_lib.data.fixtures import write_all, write_rafdb
from fer_lib.protocols import (
    accuracy_rows,
    balance_sweep,
    fold_rows,
    subset_rows,
    variant_rows,
    variant_subset_rows,
)
from fer_lib.recipes import get_recipe


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write_all(root)
    return root


@pytest.mark.slow
def test_accuracy_and_variant_rows_share_the_pcnn_run(tmp_path: Path, open_table) -> None:
    root = write_rafdb(tmp_path / "rafdb", n_train=14, n_test=7)
    first = accuracy_rows(*open_table("vii", "rafdb", root), {"pcnn": "PCNN"})["pcnn"][0]
    assert not first.from_cache
    ctx, table = open_table("ii", "rafdb", root)
    again = variant_rows(ctx, table, {"table2_bp": "PCNN"}, {"RAF-DB": "rafdb"})[("PCNN", "RAF-DB")][0]
    assert again.from_cache and again.run_dir == first.run_dir
    spec = json.loads((first.run_dir / "spec.json").read_text())
    assert spec["loss"] == {"name": "facial_semantic", "alpha": 12.0, "beta": 8.0, "label_smoothing": 0.0}
    assert spec["about"]["scale"] == "smoke" and "max_test" not in spec["recipe"]
    # Every constructor option is in the key, defaults included: changing a default retrains.
    assert spec["model_options"]["stn_align_corners"] is True and spec["model_options"]["image_size"] == 64
    # The smoke recipe divides the lr by alpha + beta: the run trained at lr / 20.
    recipe = get_recipe("pcnn", "smoke")
    trained_lr = json.loads((first.run_dir / "train_config.json").read_text())["lr"]
    assert recipe.lr_per_loss_weight and trained_lr == pytest.approx(recipe.train.lr / 20)
    cell = table.frame().iloc[0]
    assert cell["n_seeds"] == 1 and cell["ci_low"] <= cell["value"] <= cell["ci_high"]
    assert cell["runs"] == first.run_dir.name + "*"


@pytest.mark.slow
def test_a_different_loss_or_test_cap(tmp_path: Path, open_table) -> None:
    """Another loss is another run; another test cap is the same run (it changes no weight)."""
    root = write_rafdb(tmp_path / "rafdb", n_train=14, n_test=7)
    ctx, table = open_table("ii", "rafdb", root)
    cbp = variant_rows(ctx, table, {"table2_cbp": "CBP"}, {"RAF-DB": "rafdb"})[("CBP", "RAF-DB")][0]
    bp = variant_rows(ctx, table, {"table2_bp": "BP"}, {"RAF-DB": "rafdb"})[("BP", "RAF-DB")][0]
    assert not bp.from_cache and bp.run_dir != cbp.run_dir
    capped = variant_rows(ctx, table, {"table2_bp": "BP"}, {"RAF-DB": "rafdb"},
                          recipe_overrides={"max_test": 5})[("BP", "RAF-DB")][0]
    assert capped.from_cache and capped.run_dir == bp.run_dir
    assert len(capped.metrics["test"]["targets"]) == 5


def test_unknown_names_raise_before_training(tmp_path: Path, open_table) -> None:
    """A typo in a table's model or preset names fails loudly instead of silently losing a row."""
    ctx, table = open_table("v", "synth-inthewild", None)
    registered = "cmcnn, gmslpa, handcrafted, ir50, manet, pcnn, poster"
    with pytest.raises(ValueError, match=f"unknown model 'resnet-18'; registered models: {registered}"):
        accuracy_rows(ctx, table, {"resnet18": "ResNet-18", "resnet-18": "typo"})
    with pytest.raises(ValueError, match="unknown model 'pcn'"):
        subset_rows(ctx, table, {"pcn": "PCNN"}, {"Occlusion": ("synth-inthewild", "occlusion")})
    with pytest.raises(ValueError, match="unknown model 'pcn'"):
        fold_rows(ctx, table, {"pcn": "PCNN"}, "synth-rgbd", folds=[0], num_folds=10)
    with pytest.raises(ValueError, match="unknown pcnn preset 'table2_pb'; pcnn's presets: table1_no_crop"):
        variant_rows(ctx, table, {"table2_bp": "BP", "table2_pb": "typo"}, {"RAF-DB": "synth-inthewild"})
    assert table.rows == [] and not list((tmp_path / "runs").glob("*"))


@pytest.mark.slow
def test_several_seeds_give_the_t_interval(tmp_path: Path, open_table) -> None:
    root = write_rafdb(tmp_path / "rafdb", n_train=14, n_test=7)
    ctx, table = open_table("vii", "rafdb", root, seeds=(0, 1))
    outs = accuracy_rows(ctx, table, {"resnet18": "ResNet-18"})["resnet18"]
    cell = table.frame().iloc[0]
    values = [o.metrics["test"]["accuracy"] for o in outs]
    assert cell["n_seeds"] == 2 and cell["value"] == pytest.approx(np.mean(values))
    assert cell["ci_method"] == "t-interval over seeds" and len(cell["runs"].split(";")) == 2


@pytest.mark.slow
def test_subset_rows_reuse_the_accuracy_rows_model(data_root: Path, open_table) -> None:
    """Table VIII's cells come from the very run Table VII trained (same run-cache key)."""
    trained = accuracy_rows(*open_table("vii", "rafdb", data_root), {"resnet18": "ResNet-18"})["resnet18"][0]
    assert not trained.from_cache

    ctx, table = open_table("viii", "rafdb", data_root)
    columns = {"Occlusion-RAFDDB": ("rafdb", "occlusion")}
    outcomes = subset_rows(ctx, table, {"resnet18": "ResNet-18 [17]"}, columns,
                           full_test_columns={"rafdb": "RAF-DB test set"})
    out = outcomes[("resnet18", "rafdb")][0]
    assert out.from_cache and out.run_dir == trained.run_dir
    frame = table.frame().set_index("column")
    assert list(frame.index) == ["Occlusion-RAFDDB", "RAF-DB test set"]
    # the fixture's occlusion list names 5 of RAF-DB's 7 test images
    assert len(out.metrics["Occlusion-RAFDDB"]["targets"]) == 5
    assert frame.loc["Occlusion-RAFDDB", "paper_value"] == pytest.approx(80.19)
    assert frame.loc["Occlusion-RAFDDB", "dataset"] == "rafdb-occlusion"
    assert frame.loc["RAF-DB test set", "value"] == pytest.approx(trained.metrics["test"]["accuracy"])


@pytest.mark.slow
def test_fold_rows_pools_the_test_folds(data_root: Path, open_table) -> None:
    ctx, table = open_table("iv", "jaffe", data_root)
    outcomes = fold_rows(ctx, table, {"resnet18": "ResNet-18"}, "jaffe", folds=[0, 1], num_folds=5,
                         dataset_options={"protocol": "kfold", "num_folds": 5})
    per_fold = outcomes["resnet18"][0]
    assert len(per_fold) == 2 and per_fold[0].run_dir != per_fold[1].run_dir
    targets = np.concatenate([o.metrics["test"]["targets"] for o in per_fold])
    preds = np.concatenate([o.metrics["test"]["predictions"] for o in per_fold])
    cell = table.frame().iloc[0]
    assert cell["value"] == pytest.approx(float((targets == preds).mean() * 100))
    assert "fold(s) 0, 1 of 5" in cell["note"] and cell["dataset"] == "jaffe"


def test_fold_rows_rejects_bad_folds(data_root: Path, open_table) -> None:
    with pytest.raises(ValueError, match="folds must be"):
        fold_rows(*open_table("iv", "jaffe", data_root), {"resnet18": "r"}, "jaffe", folds=[5], num_folds=5)


def test_variant_subset_rows_train_each_preset_once_per_base(open_table) -> None:
    ctx, table = open_table("11", "synth-inthewild", None, paper="gmslpa")
    columns = {"Pose-RAF-DB / Pose > 30": ("synth-inthewild", "pose>30"),
               "Pose-RAF-DB / Pose > 45": ("synth-inthewild", "pose>45")}
    outcomes = variant_subset_rows(ctx, table, {"resnet50": "ResNet50"}, columns,
                                   full_test_columns={"synth-inthewild": "synth-inthewild test set (all)"})
    (run,) = outcomes[("resnet50", "synth-inthewild")]
    assert set(run.metrics) == {"test", *columns}
    frame = table.frame().set_index("column")
    assert list(frame.index) == [*columns, "synth-inthewild test set (all)"]
    assert frame.loc["Pose-RAF-DB / Pose > 30", "paper_value"] == pytest.approx(84.04)  # the paper's ResNet50 cell
    assert "resnet50: trained on synth-inthewild" in frame.loc["Pose-RAF-DB / Pose > 45", "note"]
    with pytest.raises(ValueError, match="unknown gmslpa preset"):
        variant_subset_rows(ctx, table, {"resnet-50": "r"}, columns)


def test_balance_sweep_rejects_no_pairs(tmp_path: Path, open_table) -> None:
    ctx, _ = open_table("figure_10", "synth-inthewild", None)
    with pytest.raises(ValueError, match="pairs is empty"):
        balance_sweep(ctx, [], "rafdb")


@pytest.mark.slow
def test_balance_sweep_reuses_the_preset_run(tmp_path: Path, open_table) -> None:
    root = write_rafdb(tmp_path / "rafdb", n_train=14, n_test=7)
    variant_rows(*open_table("i", "rafdb", root), {"table1_pcnn": "PCNN"}, {"RAF-DB": "rafdb"})
    ctx, _ = open_table("figure_10", "rafdb", root)
    frame = balance_sweep(ctx, [(12, 8)], "rafdb")
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["alpha"], row["beta"], row["n_test"]) == (12.0, 8.0, 7)
    assert bool(row["from_cache"]) and row["ci_low"] <= row["accuracy"] <= row["ci_high"]
    assert row["run"].startswith("pcnn-") and "/" not in row["run"]  # a run-cache name, not this machine's path


@pytest.mark.slow
def test_init_rows_train_one_model_from_each_start(tmp_path: Path, open_table) -> None:
    from fer_lib.protocols import init_rows

    root = write_rafdb(tmp_path / "rafdb", n_train=14, n_test=7)
    ctx, table = open_table("pretraining", "rafdb", root)
    with pytest.raises(ValueError, match="unknown pretraining source 'imagenet'"):
        init_rows(ctx, table, {"x": "imagenet"}, {"RAF-DB": "rafdb"})
    out = init_rows(ctx, table, {"random": None, "synth": "synth"}, {"RAF-DB": "rafdb"})
    random_run, synth_run = out[("random", "RAF-DB")][0], out[("synth", "RAF-DB")][0]
    assert random_run.init == "random" and synth_run.init.startswith("resnet18 pretrained on synth")
    assert random_run.run_dir != synth_run.run_dir
    assert "init" in json.loads((synth_run.run_dir / "spec.json").read_text())
    frame = table.frame()
    assert list(frame["row"]) == ["random", "synth"] and set(frame["paper_value"].isna()) == {True}
    # Every cell records the majority-class floor of its test set.
    targets = random_run.metrics["test"]["targets"]
    assert frame["majority_floor"].iloc[0] == pytest.approx(100 * np.bincount(targets).max() / len(targets))

"""The multi-view and cross-dataset protocols (fer_lib.protocols.views): a cell per view and their mean, recall per
class and view from the same runs, and transfer from one dataset or view to another."""

from __future__ import annotations

import numpy as np
import pytest

from fer_lib.protocols import class_view_rows, transfer_rows, view_rows


def test_view_rows_give_one_column_per_view_and_their_mean(open_table) -> None:
    ctx, table = open_table("1", "synth-multiview", None, paper="gmslpa")
    views = {0: "0°", 30: "30°", 45: "45°", 60: "60°", 90: "90°"}
    outcomes = view_rows(ctx, table, {"table1_baseline": "BU-3DFEP1 / Baseline (ResNet50)"}, "synth-multiview",
                         folds=[0, 1], num_folds=5, views=views)
    per_fold = outcomes["table1_baseline"].runs[0]
    assert len(per_fold) == 2 and per_fold[0].run_dir != per_fold[1].run_dir
    frame = table.frame().set_index("column")
    assert list(frame.index) == [*views.values(), "Accuracy (%)"]
    assert frame.loc["Accuracy (%)", "value"] == pytest.approx(frame.loc[list(views.values()), "value"].mean())
    targets = np.concatenate([o.metrics["test"]["targets"] for o in per_fold])
    preds = np.concatenate([o.metrics["test"]["predictions"] for o in per_fold])
    assert 0 <= frame.loc["30°", "value"] <= 100 and len(targets) == len(preds)
    assert "fold(s) 0, 1 of 5" in frame.loc["30°", "note"] and "at yaw 30" in frame.loc["30°", "note"]
    # A column whose view no test image has is an error, not an empty cell.
    with pytest.raises(ValueError, match="yaw = 15"):
        view_rows(ctx, table, {"table1_baseline": "r"}, "synth-multiview", folds=[0], num_folds=5, views={15: "15°"})
    with pytest.raises(ValueError, match="folds must be"):
        view_rows(ctx, table, {"table1_baseline": "r"}, "synth-multiview", folds=[5], num_folds=5, views=views)
    with pytest.raises(ValueError, match="unknown gmslpa preset"):
        view_rows(ctx, table, {"table9": "r"}, "synth-multiview", folds=[0], num_folds=5, views=views)


def test_class_view_rows_reuse_the_view_runs_and_give_recall_per_class_and_angle(open_table) -> None:
    ctx, table = open_table("5", "synth-multiview", None, paper="gmslpa")
    views = {0: "0°", 30: "30°", 45: "45°", 60: "60°", 90: "90°"}
    first = view_rows(ctx, table, {"table1_baseline": "b"}, "synth-multiview", [0], 5, views)["table1_baseline"]
    ctx, table = open_table("5", "synth-multiview", None, paper="gmslpa")
    rows = {"happiness": "Happy", "anger": "Angry"}
    result = class_view_rows(ctx, table, "table1_baseline", "synth-multiview", [0], 5, views, class_rows=rows)
    assert result.runs[0][0].from_cache and result.runs[0][0].run_dir == first.runs[0][0].run_dir
    frame = table.frame()
    cell = frame.set_index(["row", "column"])
    assert set(frame["row"]) == {"Happy", "Angry", "sadness", "surprise", "fear", "disgust", "Average"}
    predictions = result.frame()
    happy = predictions[(predictions["target"] == result.classes.index("happiness")) & (predictions["view"] == 30)]
    if len(happy):
        expected = 100.0 * float((happy["prediction"] == happy["target"]).mean())
        assert cell.loc[("Happy", "30°"), "value"] == pytest.approx(expected)
    assert cell.loc[("Happy", "30°"), "paper_value"] == pytest.approx(85.1)  # Table 5, Happy at 30°
    with pytest.raises(ValueError, match="views must name"):
        class_view_rows(ctx, table, "table1_baseline", "synth-multiview", [0], 5, {})


def test_transfer_rows_train_on_one_view_of_one_dataset_and_test_on_another(open_table) -> None:
    ctx, table = open_table("12", "synth-multiview", None, paper="gmslpa")
    row = "BU-3DFEP1 (30°) → Multi-PIE (30°) / GMS"
    out = transfer_rows(ctx, table, {"gms_net": row}, ("synth-multiview", {"angles": "bu3dfe", "yaw": 30}, "all"),
                        ("synth-multiview", {"angles": "multipie", "seed": 1, "yaw": 30}, "all"))["gms_net"]
    cell = table.frame().iloc[0]
    assert (cell["row"], cell["column"], cell["paper_value"]) == (row, "Accuracy", 63.9)
    assert 0 < out[0].train_size <= 5 * 6 * 4  # the images at 30° (5 smoke subjects; capped at 32 at smoke)
    with pytest.raises(ValueError, match="different classes"):
        transfer_rows(ctx, table, {"gms_net": "r"}, ("synth-multiview", {}, "all"), ("synth-inthewild", {}, "test"))

from __future__ import annotations

import numpy as np
import pytest

from fer_lib.claims import evaluate_claims
from fer_lib.data import fixtures
from fer_lib.papers import reference
from fer_lib.protocols import get_preset, list_presets
from fer_lib.protocols.poster import (
    ACCURACY,
    CLASS_ROWS,
    MEAN_ACCURACY,
    class_rows,
    stratified_indices,
    table1_claims,
    table1_columns,
)


def test_stratified_indices_take_exactly_n_in_the_class_proportions() -> None:
    targets = np.array([0] * 50 + [1] * 30 + [2] * 19 + [3] * 1)
    keep = stratified_indices(targets, 10, seed=3)
    assert len(keep) == 10 and len(set(keep)) == 10 and np.all(np.diff(keep) > 0)
    # shares 5, 3, 1.9, 0.1: the floors (5, 3, 1, 0) and the largest remainder (class 2) one more
    assert np.bincount(targets[keep], minlength=4).tolist() == [5, 3, 2, 0]
    assert np.array_equal(keep, stratified_indices(targets, 10, seed=3))
    assert not np.array_equal(keep, stratified_indices(targets, 10, seed=4))
    assert len(stratified_indices(targets, 100)) == 100
    with pytest.raises(ValueError, match="stratified subset"):
        stratified_indices(targets, 101)


def test_table_ones_rows_are_the_baseline_and_poster_with_the_trained_landmark_stream() -> None:
    assert [get_preset("poster", n).row for n in list_presets("poster", "1")] == ["Baseline", "POSTER"]
    assert get_preset("poster", "table1_baseline").setup.options == {"fusion": "none"}
    assert get_preset("poster", "table1_poster").setup.options == {"fusion": "cross", "landmark_weights": "trained"}
    # every class row of the paper's Table 1 has a canonical class
    assert set(reference("poster", "1")["row"]) - {"POSTER"} <= set(CLASS_ROWS.values())


def test_table_ones_columns_follow_the_data_root(tmp_path) -> None:
    (only,) = table1_columns(None)
    assert (only.prefix, only.dataset) == ("", "synth-inthewild")
    fixtures.write_ferplus(tmp_path)  # FERPlus, no RAF-DB images
    ferplus, synth = table1_columns(tmp_path)
    assert (ferplus.prefix, ferplus.dataset, ferplus.options) == ("", "ferplus", {"num_classes": 7})
    assert "rafdb" in ferplus.why and (synth.prefix, synth.dataset) == ("SynthFER / ", "synth-inthewild")
    assert len(table1_columns(tmp_path, synthetic=False)) == 1
    fixtures.write_rafdb(tmp_path / "rafdb")
    assert [(b.prefix, b.dataset) for b in table1_columns(tmp_path)] == [
        ("", "rafdb"), ("FERPlus / ", "ferplus"), ("SynthFER / ", "synth-inthewild")]


def test_class_rows_give_recalls_accuracies_a_subset_row_and_judge_the_claims(open_table) -> None:
    ctx, table = open_table("1", "synth-inthewild", None, paper="poster")
    (block,) = table1_columns(None)
    out = class_rows(ctx, table, {"table1_baseline": "Baseline", "table1_poster": "POSTER"}, [block],
                     model_overrides={"depth": 1}, subset_size=14)
    frame = table.frame()
    assert set(out) == {("Baseline", ""), ("POSTER", ""), ("POSTER (14 images)", "")}
    assert set(frame["row"]) == {"Baseline", "POSTER", "POSTER (14 images)"}
    for (row, _), result in out.items():
        cells = frame[frame["row"] == row].set_index("column")
        recalls = cells.loc[[CLASS_ROWS[c] for c in result.classes], "value"].to_numpy()
        assert np.all((recalls >= 0) & (recalls <= 1))  # fractions, as the paper prints them
        counts = np.bincount(result.targets, minlength=len(result.classes))
        # accuracy is the count-weighted recall; the mean accuracy the plain mean, in percent
        assert cells.loc[ACCURACY, "value"] == pytest.approx(100 * (recalls * counts).sum() / counts.sum())
        assert cells.loc[MEAN_ACCURACY, "value"] == pytest.approx(100 * recalls.mean())
        assert cells.loc[MEAN_ACCURACY, "majority_floor"] == pytest.approx(100 / len(result.classes))
    assert len(out[("POSTER (14 images)", "")].targets) == 14
    poster = frame[frame["row"] == "POSTER"].set_index("column")
    assert poster.loc["Happiness (HA)", "paper_value"] == 0.97 and poster.loc[ACCURACY, "paper_value"] == 92.05
    # the paper's subset column is its 122 images: a subset of another size stands beside no paper cell
    assert frame.loc[frame["row"] == "POSTER (14 images)", "paper_value"].isna().all()
    verdicts = evaluate_claims(frame, table1_claims("", out[("POSTER", "")].classes))
    assert len(verdicts) == len(out[("POSTER", "")].classes) + 2
    assert verdicts["verdict"].eq("not resolved at this scale").all()  # one seed
    assert verdicts["printed_in_ci"].isna().all()  # the paper printed no baseline: no margin to compare

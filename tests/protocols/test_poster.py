from __future__ import annotations

import dataclasses

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


def test_class_rows_give_recalls_accuracies_a_subset_row_and_judge_the_claims(open_table, monkeypatch) -> None:
    """The cells from known predictions (the trainings are faked here; the notebook's smoke run under nbval trains
    both models for real)."""
    from fer_lib.protocols import poster
    from fer_lib.protocols.training import RunOutcome

    ctx, table = open_table("1", "synth-inthewild", None, paper="poster")
    ctx = dataclasses.replace(ctx, seeds=(0, 1))
    (block,) = table1_columns(None)
    rng = np.random.default_rng(0)

    def fake_run(context, job, tests, pretrained=True):
        targets = np.asarray(tests["test"].targets)
        hit = 0.9 if job.setup.options.get("fusion") == "cross" else 0.5  # POSTER right more often
        outs = []
        for seed in context.seeds:
            predictions = np.where(rng.random(len(targets)) < hit, targets, (targets + 1) % 7)
            outs.append(RunOutcome(None, {"test": {"targets": targets, "predictions": predictions}}, None, None,
                                   True, 0.0, list(tests["test"].classes), 32, 1.0, seed))
        return outs

    monkeypatch.setattr(poster, "_run", fake_run)
    out = class_rows(ctx, table, {"table1_baseline": "Baseline", "table1_poster": "POSTER"}, [block],
                     subset_size=14)
    frame = table.frame()
    assert set(out) == {("Baseline", ""), ("POSTER", ""), ("POSTER (14 images)", "")}
    assert set(frame["row"]) == {"Baseline", "POSTER", "POSTER (14 images)"}
    for (row, _), result in out.items():
        cells = frame[frame["row"] == row].set_index("column")
        recalls = np.stack([cells.loc[CLASS_ROWS[c], "seed_values"].split(";") for c in result.classes]).astype(
            float).T  # [seed, class]
        assert np.all((recalls >= 0) & (recalls <= 1))  # fractions, as the paper prints them
        counts = np.bincount(result.targets, minlength=len(result.classes))
        # accuracy is the count-weighted recall; the mean accuracy the plain mean, in percent
        assert cells.loc[ACCURACY, "value"] == pytest.approx(np.mean(100 * (recalls * counts).sum(1) / counts.sum()))
        assert cells.loc[MEAN_ACCURACY, "value"] == pytest.approx(np.mean(100 * recalls.mean(1)))
        assert cells.loc[MEAN_ACCURACY, "majority_floor"] == pytest.approx(100 / len(result.classes))
        assert list(cells.index[: len(result.classes)]) == [CLASS_ROWS[c] for c in CLASS_ROWS if c in result.classes]
    subset = out[("POSTER (14 images)", "")]
    assert len(subset.targets) == 14 and all(len(p) == 14 for p in subset.predictions)
    poster_cells = frame[frame["row"] == "POSTER"].set_index("column")
    assert poster_cells.loc["Happiness (HA)", "paper_value"] == 0.97
    assert poster_cells.loc[ACCURACY, "paper_value"] == 92.05
    # the paper's subset column is its 122 images: a subset of another size stands beside no paper cell
    assert frame.loc[frame["row"] == "POSTER (14 images)", "paper_value"].isna().all()
    verdicts = evaluate_claims(frame, table1_claims("", out[("POSTER", "")].classes))
    assert len(verdicts) == len(out[("POSTER", "")].classes) + 2
    assert verdicts["n_paired"].eq(2).all()
    assert verdicts.set_index("column").loc[ACCURACY, "reproduced_difference"] > 20  # 0.9 against 0.5
    assert verdicts["printed_in_ci"].isna().all()  # the paper printed no baseline: no margin to compare

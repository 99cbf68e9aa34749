"""Transcription of seed 001 (GMS-LPA, Liu et al. 2023) in ``fer_lib/papers/data/gmslpa.csv``.

Conventions of the transcription (one CSV row per numeric cell):

* ``table`` is the paper's table number ("1" ... "15"); a "continued" table keeps its number (1 and 13).
* ``row`` is the row label as printed, bold/markup removed. Two-level rows join the levels with " / ",
  outer level first:

  - Tables 1-4 (dataset x method x angle): ``"<dataset> / <method>"``, e.g.
    ``"BU-3DFEP1 / Single-branch (SMS)"``, ``"Multi-PIE / 2 × 2"`` (Table 3 patch sizes use ``×``).
    Table 2 prints no method names, only tick marks under FDB / SDB / SMS / LPA; its rows name the
    ticked columns: ``"FDB + SDB"`` (dual-branch baseline), ``"FDB + SMS"`` (GMS), ``"FDB + LPA"``
    (LPA), ``"SMS + LPA"`` (GMS-LPA).
  - Table 12 (cross-database): ``"<source> → <target> / <method>"``, e.g.
    ``"Pose-Affect (>30°) → Pose-RAFDB (>30°) / GMS-LPA"``; its two side-by-side halves are flattened.
  - Tables 6, 10 and 13: a method label that repeats within a table gets its Feature / Module cell
    appended, e.g. ``"Zheng [39] / LBP"``, ``"Li et al. [58] / PG-CNN"``; the fine-tuned LINet row,
    whose values carry a ``*``, is ``"Zeng et al. [59] / LINet*"``.
  - Tables 5, 7, 9 (expression x angle) keep the printed class names, including the ``Average`` row.

* ``column`` is the leaf column header as printed: angles ``"0°"``, ``"-45°"`` ..., and
  ``"Accuracy (%)"``, ``"Accuracy"``, ``"Average (%)"`` or ``"Average"`` exactly as each table prints it.
  Where a leaf repeats under two groups, the group is prefixed with " / ": Table 8 ``"Pose / Number"``,
  ``"Expressions / Number"``, ``"Expressions / Levels"`` (Table 6 uses ``"Expressions / Number"`` too);
  Table 11 ``"Pose-RAF-DB / Pose > 30"`` ...; Table 15 ``"Pose-RAFD-DB / Training"`` (min),
  ``"Pose-RAFD-DB / Testing"`` (s), ``"Pose-AffectNet / Training"`` (h), ``"Pose-AffectNet / Testing"``
  (s) and ``"Number of parameters"`` (M). Table 13 also has ``"Year"``; Table 14 has ``"Version"``.
* Cells that are not one number are left out: ``–`` and ``/`` placeholders, angle ranges, feature
  names, level lists ``"1, 2, 3, 4"`` (Table 6) and ``"3, 4"`` (Table 8, Rudovic et al.). Table 14 keeps
  the four version numbers (Windows 10, Python 3.7, PyTorch 1.0, CUDA 11.4), the printed cell as note.
* ``unit`` is ``%`` for accuracies, empty for counts, years and versions.
* The only deliberate duplicate keys are text-stated values that differ from the table (note starting
  with ``"stated in text"``): Table 9 Disgust / Squint averages, which the text swaps.

CELL_COUNTS, SAMPLE and DUPLICATE_KEYS are checked by test_references.py, with the checks every
paper shares; this file keeps the checks particular to GMS-LPA.
"""

from __future__ import annotations

import pandas as pd
import pytest

from fer_lib.papers import lookup, reference, tables

CELL_COUNTS: dict[str, int] = {
    "1": 70,  # 5 methods x (5 angles + accuracy) on BU-3DFEP1, 5 x (7 + 1) on Multi-PIE
    "2": 56,  # 4 x (5 + 1) with '–' at 15°/75° on BU-3DFEP1, 4 x (7 + 1) on Multi-PIE
    "3": 56,
    "4": 28,
    "5": 42,  # 7 rows (6 classes + Average) x (5 angles + average)
    "6": 98,  # 14 methods x (5 angles + expression number + accuracy)
    "7": 56,  # 7 rows x (7 pan angles + average)
    "8": 59,  # 15 methods x 4 numeric cells, less Rudovic's '3, 4' levels
    "9": 58,  # 7 rows x 8, plus the two text-stated (swapped) averages
    "10": 82,  # 4 manual methods x 8, two accuracy-only rows, 6 deep methods x 8
    "11": 54,  # 9 methods x 6
    "12": 24,  # 12 printed lines, two results each
    "13": 43,
    "14": 4,
    "15": 25,  # 5 methods x 5
}


SAMPLE: list[tuple[str, str, str, float]] = [
    ("1", "BU-3DFEP1 / Single-branch (SMS)", "Accuracy (%)", 76.12),
    ("1", "Multi-PIE / Single-branch (LA)", "Accuracy (%)", 85.23),
    ("2", "Multi-PIE / FDB + SDB", "75°", 83.4),
    ("2", "BU-3DFEP1 / SMS + LPA", "Accuracy (%)", 78.23),
    ("3", "BU-3DFEP1 / 1 × 1", "30°", 76.4),
    ("3", "Multi-PIE / 4 × 4", "Accuracy (%)", 85.17),
    ("4", "BU-3DFEP1 / Feature-level", "Accuracy", 74.52),
    ("5", "Fear", "45°", 68.78),
    ("5", "Average", "Average (%)", 78.23),
    ("6", "Hu et al. [42] / PCA", "90°", 38.60),
    ("6", "ResNet34 (GMS-LPA)", "Accuracy (%)", 77.49),
    ("7", "Surprise", "15°", 94.70),
    ("7", "Average", "-15°", 82.52),
    ("8", "Jampour et al. [47]", "Accuracy (%)", 78.64),
    ("8", "GMS-LPA-Net (Ours)", "Pose / Number", 35),
    ("9", "Scream", "0°", 100.0),
    ("10", "Huang et al. [41]", "Accuracy (%)", 76.83),
    ("10", "ResNet18 (GMS-LPA)", "90°", 82.40),
    ("11", "GMS-Net (Ours)", "Pose-AffectNet / Pose > 30", 57.13),
    ("11", "Gera et al. [51]", "Pose-RAF-DB / Pose > 45", 89.07),
    ("12", "BU-3DFEP1 (0°) → Multi-PIE (0°) / GMS-LPA", "Accuracy", 64.10),
    ("12", "Pose-Affect (>30°) → Pose-RAFDB (>30°) / GMS-LPA", "Accuracy", 50.13),
    ("12", "BU-3DFEP1 (30°) → BU-3DFEP1 (30°) / GMS-LPA(r)", "Accuracy", 86.90),
    ("13", "Ours", "RAF-DB", 86.58),
    ("13", "Zeng et al. [59] / LINet*", "AffectNet", 57.31),
    ("13", "Zhang et al. [18] / DBN", "Year", 2016),
    ("14", "CUDA", "Version", 11.4),
    ("15", "GMS-LPA", "Number of parameters", 66.4),
    ("15", "gACNN [58]", "Pose-AffectNet / Training", 10.2),
    ("15", "PG-CNN [27]", "Pose-RAFD-DB / Testing", 60),
]

# The text swaps the Disgust / Squint averages of Table 9; both versions are kept.
DUPLICATE_KEYS: set[tuple[str, str, str]] = {("9", "Disgust", "Average"), ("9", "Squint", "Average")}


def _all() -> pd.DataFrame:
    return pd.concat([reference("gmslpa", t) for t in tables("gmslpa")], ignore_index=True)


def test_tables_are_the_papers_fifteen_with_755_cells() -> None:
    # tables() == list(CELL_COUNTS) and the total are checked in test_references.py.
    assert list(CELL_COUNTS) == [str(i) for i in range(1, 16)]
    assert sum(CELL_COUNTS.values()) == 755
    assert set(_all()["unit"]) <= {"%", "", "M", "min", "h", "s"}


def test_units_of_table_15() -> None:
    units = reference("gmslpa", "15").groupby("column")["unit"].agg(set).to_dict()
    assert units == {
        "Pose-RAFD-DB / Training": {"min"},
        "Pose-RAFD-DB / Testing": {"s"},
        "Pose-AffectNet / Training": {"h"},
        "Pose-AffectNet / Testing": {"s"},
        "Number of parameters": {"M"},
    }


def test_keys_unique_except_noted_text_values() -> None:
    frame = _all()
    keys = ["table", "row", "column"]
    dup = frame[frame.duplicated(keys, keep=False)]
    assert set(dup["table"]) == {"9"}
    assert len(dup) == 4
    # Of each duplicated pair, exactly one row is the text's version and says so.
    for _, pair in dup.groupby(keys):
        assert pair["note"].str.startswith("stated in text").sum() == 1
    assert frame["note"].str.startswith("stated in text").sum() == 2


def test_text_swaps_disgust_and_squint_averages() -> None:
    cells = reference("gmslpa", "9")
    avg = cells[cells["column"] == "Average"]
    table = avg[avg["note"] == ""].set_index("row")["value"]
    text = avg[avg["note"].str.startswith("stated in text")].set_index("row")["value"]
    assert (table["Disgust"], table["Squint"]) == (79.41, 76.35)
    assert (text["Disgust"], text["Squint"]) == (76.35, 79.41)


def test_the_same_experiment_agrees_across_tables() -> None:
    """GMS-LPA's BU-3DFEP1 / Multi-PIE rows recur in Tables 2, 4, 5/9, 6/10 and 13."""
    angles_bu = ["0°", "30°", "45°", "60°", "90°"]
    angles_mp = ["0°", "15°", "30°", "45°", "60°", "75°", "90°"]
    for angle in angles_bu:
        expected = lookup("gmslpa", "5", "Average", angle)
        assert lookup("gmslpa", "2", "BU-3DFEP1 / SMS + LPA", angle) == expected
        assert lookup("gmslpa", "4", "BU-3DFEP1 / Model-level", angle) == expected
        assert lookup("gmslpa", "6", "GMS-LPA-Net (Ours)", angle) == expected
        assert lookup("gmslpa", "6", "ResNet50 (Baseline)", angle) == lookup(
            "gmslpa", "1", "BU-3DFEP1 / Baseline (ResNet50)", angle)
    for angle in angles_mp:
        expected = lookup("gmslpa", "9", "Average", angle)
        assert lookup("gmslpa", "2", "Multi-PIE / SMS + LPA", angle) == expected
        assert lookup("gmslpa", "10", "GMS-LPA-Net (Ours)", angle) == expected
        lpa = lookup("gmslpa", "2", "Multi-PIE / FDB + LPA", angle)
        assert lookup("gmslpa", "3", "Multi-PIE / 2 × 2", angle) == lpa
    assert lookup("gmslpa", "13", "Ours", "BU3DFEP2") == lookup("gmslpa", "7", "Average", "Average")
    raw = lookup("gmslpa", "12", "Pose-Affect (>45°) → Pose-Affect (>45°) / GMS-LPA(r)", "Accuracy")
    assert raw == lookup("gmslpa", "11", "GMS-LPA-Net (Ours)", "Pose-AffectNet / Pose > 45")


def _own_rows(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    if table in ("6", "10"):  # cited methods' averages come from their own papers
        return frame[frame["row"].str.startswith(("ResNet", "GMS-Net", "LPA-Net", "GMS-LPA-Net"))]
    return frame


@pytest.mark.parametrize("table", ["1", "2", "3", "4", "5", "6", "7", "9", "10"])
def test_own_averages_match_their_angles(table: str) -> None:
    """The paper's averages are (mostly truncated) means of the printed per-angle cells: within 0.015."""
    cells = _own_rows(reference("gmslpa", table), table)
    cells = cells[~cells["note"].str.startswith("stated in text")]
    angle = cells[cells["column"].str.endswith("°")]
    average = cells[cells["column"].isin(["Accuracy (%)", "Accuracy", "Average (%)", "Average"])]
    means = angle.groupby("row")["value"].mean()
    printed = average.set_index("row")["value"]
    assert set(means.index) == set(printed.index)
    assert ((means - printed.loc[means.index]).abs() < 0.015).all()


def test_text_stated_differences_match_the_tables() -> None:
    """Differences the prose quotes, recomputed from the transcribed cells (Sections 4.2-4.6)."""
    def v(table: str, row: str, column: str) -> float:
        return lookup("gmslpa", table, row, column)

    acc = "Accuracy (%)"
    assert v("6", "GMS-LPA-Net (Ours)", acc) - v("6", "Wu et al. [9]", acc) == pytest.approx(3.63)
    assert v("6", "GMS-LPA-Net (Ours)", acc) - v("6", "Hu et al. [42] / PCA", acc) == pytest.approx(29.43)
    assert v("8", "GMS-LPA-Net (Ours)", acc) - v("8", "Jampour et al. [47]", acc) == pytest.approx(3.60)
    assert v("10", "GMS-LPA-Net (Ours)", acc) - v("10", "Moore et al. [4] / LGBP", acc) == pytest.approx(6.62)
    assert v("11", "GMS-LPA-Net (Ours)", "Pose-AffectNet / Pose > 45") - v(
        "11", "ResNet50", "Pose-AffectNet / Pose > 45") == pytest.approx(3.95)
    assert v("13", "Ours", "RAF-DB") - v("13", "Li et al. [27]", "RAF-DB") == pytest.approx(1.51)
    assert v("15", "gACNN [58]", "Pose-RAFD-DB / Testing") - v(
        "15", "GMS-LPA", "Pose-RAFD-DB / Testing") == pytest.approx(8)

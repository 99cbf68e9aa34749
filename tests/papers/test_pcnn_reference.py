"""The PCNN (seed 000) transcription: every numeric cell of Tables I-X, checked for counts, sample
values, the paper's own cross-references, the margins its text states, and the places where the
text and the tables disagree (recorded in fer_lib/papers/discrepancies.md). CELL_COUNTS, SAMPLE and
DUPLICATE_KEYS are checked by test_references.py, with the checks every paper shares."""

from __future__ import annotations

import pandas as pd
import pytest

from fer_lib.papers import lookup, reference, tables

PAPER = "pcnn"

# Cells per table. Table VIII prints "-" in 3 cells (not kept). Table X keeps both numbers of each
# "mean ± spread" running-time cell, so it has 4 rows x 5 columns.
CELL_COUNTS: dict[str, int] = {
    "i": 12,  # 6 variants x (RAF-DB, FERPlus)
    "ii": 12,  # 6 component combinations x (RAF-DB, FERPlus)
    "iii": 7,
    "iv": 6,
    "v": 6,
    "vi": 6,
    "vii": 12,
    "viii": 11,  # 7 x 2 minus 3 "-"
    "ix": 18,  # Pose-RAF-DB 5 x 2, Pose-FERPlus 4 x 2
    "x": 20,
}

SAMPLE: list[tuple[str, str, str, float]] = [
    ("i", "PCNN without cropping", "RAF-DB", 88.11),
    ("i", "PCNN with two random cropping", "RAF-DB", 85.95),
    ("i", "PCNN with three cropping", "FERPlus", 84.55),
    ("i", "PCNN", "FERPlus", 85.59),
    ("ii", "ResNet18", "RAF-DB", 44.20),
    ("ii", "GFIEB", "FERPlus", 84.97),
    ("ii", "GFIEB+LFSIEB+MDIM", "RAF-DB", 88.64),
    ("ii", "GFIEB+LFSIEB+MDIM+BP", "RAF-DB", 89.31),
    ("iii", "Compact CNN [55]", "Accuracy(%)", 98.47),
    ("iv", "Poster [59]", "Accuracy(%)", 94.57),
    ("v", "ResNet-18 [17]", "Accuracy(%)", 72.3),
    ("vi", "VGG13+PLD [50]", "Accuracy(%)", 85.35),
    ("vii", "DMUE (ResBet-18) [71]", "Accuracy(%)", 88.76),
    ("vii", "EfficientFace [58]", "Accuracy(%)", 88.36),
    ("viii", "PACVT [73]", "Occlusion-FERPlus", 84.74),
    ("viii", "DENet [68]", "Occlusion-RAFDDB", 85.44),
    ("ix", "FERMixNet [74]", "Pose-RAFDDB V45", 87.63),
    ("ix", "RAN [22]", "Pose-FERPlus V30", 82.23),
    ("x", "PCNN (Ours)", "Parameters (M)", 51.00),
    ("x", "PCNN (Ours)", "MACs (G)", 14.80),
    ("x", "PCNN (Ours)", "Running time (ms)", 5.83),
    ("x", "PCNN (Ours)", "Running time (ms) ±", 0.04),
    ("x", "AMP-Net [41]", "Items/s", 71.63),
    ("x", "RARN [70]", "Parameters (M)", 70.37),
    ("x", "MA-Net [36]", "MACs (G)", 3.66),
]


# PCNN states no value twice differently, so no key is deliberately duplicated.
DUPLICATE_KEYS: set[tuple[str, str, str]] = set()


def test_units_and_ranges() -> None:
    frame = pd.concat([reference(PAPER, t) for t in tables(PAPER)], ignore_index=True)
    accuracy = frame[frame["table"] != "x"]
    assert (accuracy["unit"] == "%").all()
    assert accuracy["value"].between(0, 100).all()
    units = reference(PAPER, "x").groupby("column")["unit"].unique().map(list).to_dict()
    assert units == {"Parameters (M)": ["M"], "Running time (ms)": ["ms"], "Running time (ms) ±": ["ms"],
                     "MACs (G)": ["G"], "Items/s": ["items/s"]}


def test_table_ii_rows_follow_the_text() -> None:
    # The text: GFIEB improves on the raw (not pre-trained) ResNet18 by 43.80 (RAF-DB) and 11.82
    # (FERPlus) points, which fixes which of the two single-tick rows is which.
    for column, gain in (("RAF-DB", 43.80), ("FERPlus", 11.82)):
        diff = lookup(PAPER, "ii", "GFIEB", column) - lookup(PAPER, "ii", "ResNet18", column)
        assert diff == pytest.approx(gain, abs=1e-6)
    assert list(reference(PAPER, "ii")["row"].drop_duplicates()) == [
        "ResNet18", "GFIEB", "GFIEB+LFSIEB", "GFIEB+LFSIEB+MDIM",
        "GFIEB+LFSIEB+MDIM+CBP", "GFIEB+LFSIEB+MDIM+BP"]


@pytest.mark.parametrize("column", ["RAF-DB", "FERPlus"])
def test_tables_i_and_ii_agree(column: str) -> None:
    # alpha = beta = 10 is both Table I's "without balance parameters" and Table II's CBP row;
    # the full model is the same in both tables and in Tables VI/VII.
    assert lookup(PAPER, "i", "PCNN without balance parameters", column) == lookup(
        PAPER, "ii", "GFIEB+LFSIEB+MDIM+CBP", column)
    assert lookup(PAPER, "i", "PCNN", column) == lookup(PAPER, "ii", "GFIEB+LFSIEB+MDIM+BP", column)
    other = {"RAF-DB": "vii", "FERPlus": "vi"}[column]
    assert lookup(PAPER, "i", "PCNN", column) == lookup(PAPER, other, "PCNN(Ours)", "Accuracy(%)")


# (table, column, other row, gain stated in the text) for margins of PCNN over another method.
STATED_GAINS: list[tuple[str, str, str, float]] = [
    ("iii", "Accuracy(%)", "DLP-CNN [47]", 4.22),
    ("iii", "Accuracy(%)", "gACNN [53]", 3.60),
    ("iii", "Accuracy(%)", "pACNN [53]", 2.97),
    ("iii", "Accuracy(%)", "SCAN [54]", 2.93),
    ("iii", "Accuracy(%)", "Compact CNN [55]", 1.53),
    ("iii", "Accuracy(%)", "FDRL [40]", 0.46),
    ("iv", "Accuracy(%)", "SCN [56]", 10.16),
    ("iv", "Accuracy(%)", "RAN [22]", 7.82),
    ("iv", "Accuracy(%)", "RUL [57]", 4.16),
    ("iv", "Accuracy(%)", "EfficientFace [58]", 4.16),
    ("iv", "Accuracy(%)", "Poster [59]", 1.92),
    ("v", "Accuracy(%)", "PASM [61]", -0.79),
    ("vi", "Accuracy(%)", "TFE-JL [62]", 1.30),
    ("vi", "Accuracy(%)", "VGG13+MV [50]", 1.11),
    ("vi", "Accuracy(%)", "VGG13+CEL [50]", 0.63),
    ("vi", "Accuracy(%)", "VGG13+PLD [50]", 0.24),
    ("vi", "Accuracy(%)", "DICNN [63]", 0.30),
    ("vii", "Accuracy(%)", "PCARNet [69]", 1.79),
    ("vii", "Accuracy(%)", "DMUE (ResBet-18) [71]", 0.55),
    ("vii", "Accuracy(%)", "MA-Net [36]", 0.91),
    ("ix", "Pose-RAFDDB V30", "RAN [22]", 3.00),
    ("ix", "Pose-RAFDDB V45", "RAN [22]", 2.08),
    ("ix", "Pose-FERPlus V30", "RAN [22]", 6.15),
    ("ix", "Pose-FERPlus V45", "RAN [22]", 7.12),
]


@pytest.mark.parametrize(("table", "column", "other", "gain"), STATED_GAINS)
def test_margins_stated_in_text(table: str, column: str, other: str, gain: float) -> None:
    ours = lookup(PAPER, table, "PCNN(Ours)", column)
    assert ours - lookup(PAPER, table, other, column) == pytest.approx(gain, abs=1e-6)


def test_occlusion_margins_in_text_do_not_match_table_viii() -> None:
    # discrepancies.md: the text's "+1.11 over RAN" and "+0.33 over PACVT" are not what Table VIII prints.
    cells = reference(PAPER, "viii").set_index(["row", "column"])["value"]
    rafdb = cells["PCNN(Ours)", "Occlusion-RAFDDB"] - cells["RAN [22]", "Occlusion-RAFDDB"]
    ferplus = cells["PCNN(Ours)", "Occlusion-FERPlus"] - cells["PACVT [73]", "Occlusion-FERPlus"]
    assert rafdb == pytest.approx(2.84)  # text: 1.11
    assert ferplus == pytest.approx(-0.11)  # text: +0.33


def test_throughput_is_the_inverse_of_running_time() -> None:
    cells = reference(PAPER, "x").set_index(["row", "column"])["value"]
    for row in reference(PAPER, "x")["row"].unique():
        # Items/s is 1000 / mean ms up to the rounding of the printed mean (half a unit in 0.01 ms).
        ms = cells[row, "Running time (ms)"]
        low, high = 1000 / (ms + 0.005), 1000 / (ms - 0.005)
        assert low <= cells[row, "Items/s"] <= high, row


def test_missing_cells_are_absent() -> None:
    viii = reference(PAPER, "viii")
    for row in ("MA-Net [36]", "FER-VT [72]", "DENet [68]"):
        assert viii[(viii["row"] == row) & (viii["column"] == "Occlusion-FERPlus")].empty
        with pytest.raises(KeyError):
            lookup(PAPER, "viii", row, "Occlusion-FERPlus")

"""The CM-CNN (seed 002) transcription: every numeric cell of Tables I-VII plus the abstract's and
the conclusion's figures, checked for counts, sample values, the paper's own cross-references and
its known self-contradiction (BU-3DFE P2: abstract 87.28 vs tables 86.28). CELL_COUNTS, SAMPLE and
DUPLICATE_KEYS are checked by test_references.py, with the checks every paper shares."""

from __future__ import annotations

import pytest

from fer_lib.papers import lookup, reference, tables

PAPER = "cmcnn"

# Cells per table. Table V prints "N / A" in 7 of its 24 cells; those are not numeric, so not kept.
CELL_COUNTS: dict[str, int] = {
    "abstract": 4,  # VT-KFER, BU-3DFE P1, BU-3DFE P2, Bosphorus
    "i": 28,  # 7 loss settings x 4 columns
    "ii": 30,  # 15 input/fusion settings x (P1, P2)
    "iii": 15,  # 15 input/fusion settings x Bosphorus
    "iv": 6,
    "v": 17,
    "vi": 7,
    "vii": 4,
    "conclusion": 4,  # margins over the second-best method
    "timing": 3,  # Sect. IV-D: forward 15 ms, preprocessing 28 ms, 23 frames/s
}

SAMPLE: list[tuple[str, str, str, float]] = [
    ("i", "CCE loss", "VT-KFER", 91.52),
    ("i", "Focal loss (γ=1.5)", "BU-3DFE P1", 87.31),
    ("i", "Soft Focal loss (γ=2.5)", "BU-3DFE P2", 86.21),
    ("i", "Focal loss (γ=2.0)", "Bosphorus", 84.76),
    ("ii", "H", "BU-3DFE P2", 69.84),
    ("ii", "G + D + CMFN", "BU-3DFE P1", 86.65),
    ("ii", "L + D", "BU-3DFE P2", 79.46),
    ("iii", "G + D", "Bosphorus", 82.00),
    ("iii", "G + B + D + CMFN", "Bosphorus", 84.22),
    ("iv", "Rivera et al. (2013) [81]", "VT-KFER", 82.53),
    ("iv", "Zhang et al. (2015) [31]", "VT-KFER", 89.22),
    ("v", "Zeng et al. (2013) [82]", "BU-3DFE P2", 70.93),
    ("v", "Chen et al. (2018) [87]", "BU-3DFE P2", 85.96),
    ("v", "Qyedotun et al. (2017) [86]", "BU-3DFE P1", 84.72),
    ("vi", "Ujjir et al. (2014) [89]", "Bosphorus", 63.63),
    ("vi", "Yang et al. (2015) [85]", "Bosphorus", 77.50),
    ("vii", "Li et al. (2015) [53]", "CCZU-FER", 89.62),
    ("vii", "CM-CNN", "CCZU-FER", 94.33),
    ("conclusion", "CM-CNN margin over second best", "Bosphorus", 2.66),
]


# CM-CNN states no value twice in the transcription: the abstract's differing BU-3DFE P2 figure
# is its own table ("abstract"), so no key is duplicated.
DUPLICATE_KEYS: set[tuple[str, str, str]] = set()


def test_cells_are_plausible() -> None:
    for table in tables(PAPER):
        frame = reference(PAPER, table)
        assert frame["value"].between(0, 100).all(), table
        # Accuracies are percentages; the conclusion's margins are percentage points, Sect. IV-D's times ms.
        if table == "timing":
            assert list(frame["unit"]) == ["ms", "ms", "items/s"]
            assert 1000 / frame["value"].iloc[:2].sum() == pytest.approx(frame["value"].iloc[2], abs=0.5)
            continue
        expected_unit = "pp" if table == "conclusion" else "%"
        assert (frame["unit"] == expected_unit).all(), table


def test_bu3dfe_p2_abstract_vs_tables() -> None:
    abstract = reference(PAPER, "abstract").set_index("column")
    assert abstract.loc["BU-3DFE P2", "value"] == pytest.approx(87.28)
    assert "86.28" in abstract.loc["BU-3DFE P2", "note"]
    for table, row in (("i", "Soft Focal loss (γ=2.0)"), ("ii", "G + L + D + CMFN"), ("v", "CM-CNN")):
        cells = reference(PAPER, table)
        cell = cells[(cells["row"] == row) & (cells["column"] == "BU-3DFE P2")].iloc[0]
        assert cell["value"] == pytest.approx(86.28)
        assert "abstract says 87.28" in cell["note"]
    # The abstract's other three figures agree with the tables.
    assert abstract.loc["VT-KFER", "value"] == lookup(PAPER, "iv", "CM-CNN", "VT-KFER")
    assert abstract.loc["BU-3DFE P1", "value"] == lookup(PAPER, "v", "CM-CNN", "BU-3DFE P1")
    assert abstract.loc["Bosphorus", "value"] == lookup(PAPER, "vi", "CM-CNN", "Bosphorus")


def test_full_model_is_the_same_run_across_tables() -> None:
    full = {
        "i": "Soft Focal loss (γ=2.0)",
        "ii": "G + L + D + CMFN",
        "iii": "G + L + D + CMFN",
        "iv": "CM-CNN",
        "v": "CM-CNN",
        "vi": "CM-CNN",
    }
    seen: dict[str, set[float]] = {}
    for table, row in full.items():
        cells = reference(PAPER, table)
        for _, cell in cells[cells["row"] == row].iterrows():
            seen.setdefault(cell["column"], set()).add(cell["value"])
    assert seen == {"VT-KFER": {93.86}, "BU-3DFE P1": {88.91}, "BU-3DFE P2": {86.28}, "Bosphorus": {85.16}}


@pytest.mark.parametrize(("table", "column"), [("iv", "VT-KFER"), ("v", "BU-3DFE P1"),
                                               ("v", "BU-3DFE P2"), ("vi", "Bosphorus")])
def test_conclusion_margins_match_comparison_tables(table: str, column: str) -> None:
    cells = reference(PAPER, table)
    cells = cells[cells["column"] == column]
    ours = cells.loc[cells["row"] == "CM-CNN", "value"].item()
    runner_up = cells.loc[cells["row"] != "CM-CNN", "value"].max()
    margin = lookup(PAPER, "conclusion", "CM-CNN margin over second best", column)
    assert round(ours - runner_up, 2) == pytest.approx(margin)


def test_cm_cnn_tops_every_comparison_table() -> None:
    for table in ("iv", "v", "vi", "vii"):
        cells = reference(PAPER, table)
        for column in cells["column"].unique():
            col = cells[cells["column"] == column]
            assert col.loc[col["value"].idxmax(), "row"] == "CM-CNN", (table, column)


def test_proposed_loss_is_best_in_table_i() -> None:
    cells = reference(PAPER, "i")
    for column in cells["column"].unique():
        col = cells[cells["column"] == column]
        assert col.loc[col["value"].idxmax(), "row"] == "Soft Focal loss (γ=2.0)", column


def test_comparison_rows_carry_feature_type() -> None:
    for table in ("iv", "v", "vi", "vii"):
        notes = reference(PAPER, table)["note"]
        assert notes.str.match(r"^(handcrafted|CNN): ").all(), table

"""The POSTER (seed 003) transcription: the numeric cells of its only table (TABLE 1, per-class
confusion-matrix diagonals) plus the overall figures the text attributes to Table 1, checked for
counts, values, the text's cross-references and the self-contradictions recorded in
fer_lib/papers/discrepancies.md. CELL_COUNTS, SAMPLE and DUPLICATE_KEYS are checked by
test_references.py, with the checks every paper shares."""

from __future__ import annotations

import pytest

from fer_lib.papers import lookup, reference

PAPER = "poster"

# TABLE 1 prints 7 emotions x 3 columns. The Baseline column holds only the placeholder "0.xx" and
# three POSTER cells are "—": 11 numeric cells. Three more rows carry overall figures the text
# (and Fig. 5) attribute to Table 1, each with a note.
CELL_COUNTS: dict[str, int] = {"1": 14}
PRINTED_CELLS = 11

SAMPLE: list[tuple[str, str, str, float]] = [
    ("1", "Surprise (SU)", "POSTER", 0.92),
    ("1", "Surprise (SU)", "POSTER (122 images)", 0.70),
    ("1", "Disgust (DI)", "POSTER", 0.98),
    ("1", "Disgust (DI)", "POSTER (122 images)", 1.00),
    ("1", "Happiness (HA)", "POSTER", 0.97),
    ("1", "Happiness (HA)", "POSTER (122 images)", 0.94),
    ("1", "Sadness (SA)", "POSTER", 0.96),
    ("1", "Sadness (SA)", "POSTER (122 images)", 0.96),
    ("1", "Anger (AN)", "POSTER", 0.89),
    ("1", "Anger (AN)", "POSTER (122 images)", 0.86),
    ("1", "Neutral (NE)", "POSTER", 0.90),
    ("1", "POSTER", "Mean accuracy(%)", 86.03),
]


# Text/abstract 92.05 vs Fig. 5's console 0.9201 for the headline accuracy: both kept.
DUPLICATE_KEYS: set[tuple[str, str, str]] = {("1", "POSTER", "Accuracy(%)")}


def test_printed_cells() -> None:
    printed = reference(PAPER, "1")
    printed = printed[printed["column"].isin(["POSTER", "POSTER (122 images)"])]
    assert len(printed) == PRINTED_CELLS
    assert printed["value"].between(0, 1).all()
    assert (printed["unit"] == "").all()
    assert "Baseline" not in set(reference(PAPER, "1")["column"])


def test_only_the_headline_accuracy_is_duplicated() -> None:
    frame = reference(PAPER, "1")
    dupes = frame[frame.duplicated(["table", "row", "column"], keep=False)]
    assert set(zip(dupes["row"], dupes["column"], strict=True)) == {("POSTER", "Accuracy(%)")}
    # Text/abstract 92.05 vs Fig. 5's console 0.9201: both kept, each explained.
    assert sorted(dupes["value"]) == [92.01, 92.05]
    assert (dupes["note"].str.len() > 0).all()
    assert dupes["note"].is_unique
    with pytest.raises(KeyError):
        lookup(PAPER, "1", "POSTER", "Accuracy(%)")


def test_text_agrees_with_the_122_image_column() -> None:
    # Sec. 4: Disgust, Happiness and Sadness 1.00, 0.94, 0.96; Surprise 0.70.
    for row, value in (("Disgust (DI)", 1.00), ("Happiness (HA)", 0.94), ("Sadness (SA)", 0.96),
                       ("Surprise (SU)", 0.70)):
        assert lookup(PAPER, "1", row, "POSTER (122 images)") == value


def test_missing_cells_are_absent() -> None:
    frame = reference(PAPER, "1")
    assert frame[frame["row"] == "Fear (FE)"].empty
    with pytest.raises(KeyError):
        lookup(PAPER, "1", "Neutral (NE)", "POSTER (122 images)")


def test_per_class_values_cannot_give_both_overall_and_mean() -> None:
    # discrepancies.md: with RAF-DB's test class sizes the printed diagonal needs Fear ~ 0.00 to
    # reach 92.05 % overall but ~ 0.40 to reach 86.03 % mean accuracy. Allow each printed value its
    # rounding (+-0.005) and show the two ranges for Fear do not overlap.
    sizes = {"Surprise (SU)": 329, "Disgust (DI)": 160, "Happiness (HA)": 1185, "Sadness (SA)": 478,
             "Anger (AN)": 162, "Neutral (NE)": 680}
    fear, total = 74, 3068
    recall = {row: lookup(PAPER, "1", row, "POSTER") for row in sizes}
    correct = sum(recall[r] * n for r, n in sizes.items())
    slack = 0.005 * sum(sizes.values())
    overall = 0.9205 * total
    fear_from_overall = ((overall - correct - slack) / fear, (overall - correct + slack) / fear)
    mean = lookup(PAPER, "1", "POSTER", "Mean accuracy(%)") / 100 * 7
    fear_from_mean = (mean - sum(recall.values()) - 6 * 0.005 - 0.0005 * 7,
                      mean - sum(recall.values()) + 6 * 0.005 + 0.0005 * 7)
    assert fear_from_overall[1] < fear_from_mean[0]

"""Checks every paper's transcription in ``fer_lib/papers/data/<paper>.csv`` must pass, one run per paper.

Parametrised over :data:`fer_lib.papers.PAPERS`, so a new paper gets these tests without new code.
The structural checks need nothing but the CSV. The count, sample and duplicate checks read three
constants from the paper's own test file ``tests/papers/test_<paper>_reference.py``, which also
holds the checks that only make sense for that paper (its cross-references, its quirks):

* ``CELL_COUNTS``: ``{table id: number of cells}`` with the tables in order of appearance;
* ``SAMPLE``: ``[(table, row, column, value), ...]`` of cells checked against the paper;
* ``DUPLICATE_KEYS``: the ``(table, row, column)`` keys the paper deliberately states twice
  (an empty set for most papers).

A paper without that file or those constants fails :func:`test_paper_has_expectations`.
"""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from fer_lib.papers import COLUMNS, PAPERS, lookup, reference, tables

HERE = Path(__file__).resolve().parent
KEY = ["table", "row", "column"]
EXPECTATIONS = ("CELL_COUNTS", "SAMPLE", "DUPLICATE_KEYS")
# Every unit a transcription uses; a new one is added here deliberately (catches typos like "%%").
KNOWN_UNITS = {"%", "pp", "", "M", "G", "ms", "items/s", "min", "h", "s"}


def _expectations_file(paper: str) -> Path:
    return HERE / f"test_{paper}_reference.py"


def _load_expectations(paper: str) -> ModuleType | None:
    """The paper's own test module, loaded under a private name for its constants (None if absent)."""
    path = _expectations_file(paper)
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"_fer_paper_expectations_{paper}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not all(hasattr(module, name) for name in EXPECTATIONS):
        return None
    return module


EXPECTED: dict[str, ModuleType] = {
    paper: module for paper in PAPERS if (module := _load_expectations(paper)) is not None
}
CELL_COUNT_CASES = [(paper, table, count) for paper, module in EXPECTED.items()
                    for table, count in module.CELL_COUNTS.items()]
SAMPLE_CASES = [(paper, *cell) for paper, module in EXPECTED.items() for cell in module.SAMPLE]


def _all(paper: str) -> pd.DataFrame:
    return pd.concat([reference(paper, t) for t in tables(paper)], ignore_index=True)


# --- expectations the paper's own test file declares -------------------------------------------------


@pytest.mark.parametrize("paper", list(PAPERS))
def test_paper_has_expectations(paper: str) -> None:
    assert paper in EXPECTED, (f"{_expectations_file(paper).relative_to(HERE.parents[1])} must exist and "
                               f"define {', '.join(EXPECTATIONS)}")


@pytest.mark.parametrize("paper", list(EXPECTED))
def test_tables_in_order_of_appearance(paper: str) -> None:
    assert tables(paper) == list(EXPECTED[paper].CELL_COUNTS)


@pytest.mark.parametrize(("paper", "table", "count"), CELL_COUNT_CASES)
def test_cell_count(paper: str, table: str, count: int) -> None:
    assert len(reference(paper, table)) == count


@pytest.mark.parametrize("paper", list(EXPECTED))
def test_total_cell_count(paper: str) -> None:
    assert len(_all(paper)) == sum(EXPECTED[paper].CELL_COUNTS.values())


@pytest.mark.parametrize(("paper", "table", "row", "column", "value"), SAMPLE_CASES)
def test_sample_values(paper: str, table: str, row: str, column: str, value: float) -> None:
    assert lookup(paper, table, row, column) == pytest.approx(value, abs=1e-9)


@pytest.mark.parametrize("paper", list(EXPECTED))
def test_duplicate_keys_are_the_declared_ones(paper: str) -> None:
    frame = _all(paper)
    dupes = frame[frame.duplicated(KEY, keep=False)]
    assert set(zip(dupes["table"], dupes["row"], dupes["column"], strict=True)) == EXPECTED[paper].DUPLICATE_KEYS, dupes


# --- structure every transcription has --------------------------------------------------------------


@pytest.mark.parametrize("paper", list(PAPERS))
def test_columns_and_paper_key(paper: str) -> None:
    frame = _all(paper)
    assert list(frame.columns) == list(COLUMNS)
    assert not frame.empty
    assert (frame["paper"] == paper).all()
    for column in ("table", "row", "column"):
        assert frame[column].map(lambda s: isinstance(s, str) and s.strip() == s != "").all(), column


@pytest.mark.parametrize("paper", list(PAPERS))
def test_table_ids_are_unique_lower_case(paper: str) -> None:
    ids = tables(paper)
    assert ids and len(ids) == len(set(ids))
    # reference() lower-cases the id it is given, so an upper-case id could never be looked up.
    assert all(t == t.lower() for t in ids)


@pytest.mark.parametrize("paper", list(PAPERS))
def test_values_finite_and_units_known(paper: str) -> None:
    frame = _all(paper)
    assert frame["value"].map(math.isfinite).all()
    assert set(frame["unit"]) <= KNOWN_UNITS
    percent = frame[frame["unit"] == "%"]
    assert percent["value"].between(0, 100).all(), percent[~percent["value"].between(0, 100)]


@pytest.mark.parametrize("paper", list(PAPERS))
def test_duplicates_are_stated_twice_differently_and_noted(paper: str) -> None:
    """A number the paper states twice differently keeps both rows, explained by a note."""
    frame = _all(paper)
    for key, group in frame[frame.duplicated(KEY, keep=False)].groupby(KEY):
        assert len(group) == 2, key
        assert group["value"].nunique() == 2, key
        assert (group["note"] != "").any(), key
        assert group["note"].is_unique, key


@pytest.mark.parametrize("paper", list(PAPERS))
def test_every_cell_can_be_looked_up(paper: str) -> None:
    frame = _all(paper)
    duplicated = frame.duplicated(KEY, keep=False)
    for (table, row, column, value), dup in zip(frame[[*KEY, "value"]].itertuples(index=False, name=None),
                                                duplicated, strict=True):
        if dup:
            with pytest.raises(KeyError):
                lookup(paper, table, row, column)
        else:
            assert lookup(paper, table, row, column) == value


@pytest.mark.parametrize("paper", list(PAPERS))
def test_table_ids_match_case_insensitively(paper: str) -> None:
    assert len(reference(paper, tables(paper)[0].upper())) == len(reference(paper, tables(paper)[0]))


@pytest.mark.parametrize("paper", list(PAPERS))
def test_absent_cell_raises(paper: str) -> None:
    with pytest.raises(KeyError):
        lookup(paper, tables(paper)[0], "no such row", "no such column")


@pytest.mark.parametrize("paper", list(PAPERS))
def test_unknown_table_and_paper_raise(paper: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"no table 'no-such-table'; its tables: {tables(paper)[0]}")):
        reference(paper, "no-such-table")
    for unknown in (f"{paper}2", f"{paper}_v2"):
        with pytest.raises(ValueError, match="unknown paper"):
            reference(unknown, tables(paper)[0])

"""The papers' published numbers as data.

One CSV per paper in ``fer_lib/papers/data/<paper>.csv`` with the columns of :data:`COLUMNS`,
one row per numeric cell of every table, transcribed from the seed files. A paper that states a
number twice differently keeps both rows, each with a ``note``.

>>> reference("pcnn", "ii").query("column == 'RAF-DB'")   # doctest: +SKIP
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

#: Paper keys (also the notebook folders) and the seed file each was transcribed from.
PAPERS: dict[str, str] = {
    "pcnn": "000 — Tian et al., A Perception CNN for Facial Expression Recognition",
    "gmslpa": "001 — GMS-LPA: global multi-scale and local patch attention for pose-invariant FER",
    "cmcnn": "002 — Ni et al., Facial Expression Recognition Through Cross-Modality Attention Fusion",
    "poster": "003 — POSTER: a dual-stream transformer-based architecture for FER",
}
COLUMNS: tuple[str, ...] = ("paper", "table", "row", "column", "value", "unit", "note")


def _check_paper(paper: str) -> None:
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; expected one of {', '.join(PAPERS)}")


@cache
def _load(paper: str) -> pd.DataFrame:
    _check_paper(paper)
    path = resources.files("fer_lib.papers") / "data" / f"{paper}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no transcription for paper {paper!r} at {path}")
    with path.open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype={"table": str, "row": str, "column": str, "unit": str, "note": str},
                            keep_default_na=False)
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"{path} lacks column(s) {sorted(missing)}")
    frame["value"] = pd.to_numeric(frame["value"], errors="raise")
    return frame[list(COLUMNS)]


def tables(paper: str) -> list[str]:
    """The table ids transcribed for ``paper`` in order of appearance."""
    return list(dict.fromkeys(_load(paper)["table"]))


def reference(paper: str, table: str) -> pd.DataFrame:
    """The published cells of ``paper``'s table ``table`` (e.g. ``("pcnn", "ii")``, ``("gmslpa", "12")``).

    Columns: paper, table, row, column, value, unit, note. Table ids are the paper's own numbering,
    lower case (roman numerals stay roman).
    """
    frame = _load(paper)
    table = str(table).lower()
    out = frame[frame["table"] == table]
    if out.empty:
        raise ValueError(f"paper {paper!r} has no table {table!r}; its tables: {', '.join(tables(paper))}")
    return out.reset_index(drop=True)


def lookup(paper: str, table: str, row: str, column: str) -> float:
    """One published value; raises if the cell is absent or ambiguous."""
    cells = reference(paper, table)
    hit = cells[(cells["row"] == row) & (cells["column"] == column)]
    if len(hit) != 1:
        raise KeyError(f"{paper} table {table}: {len(hit)} cells at row {row!r}, column {column!r}")
    return float(hit["value"].iloc[0])

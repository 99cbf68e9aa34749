"""The papers' published numbers as data.

One CSV per paper in ``fer_lib/papers/data/<paper>.csv`` with the columns of :data:`COLUMNS`,
one row per numeric cell of every table, transcribed from the seed files. A paper that states a
number twice differently keeps both rows, each with a ``note``.

The claims each paper makes about its own tables are data too: ``data/<paper>_claims.csv`` with the
columns of :data:`CLAIM_COLUMNS`, one row per (claim, column) — "row_a beats row_b in this column".
:func:`claims` loads them (every paper's, or one paper's / table's), checked against the transcribed
tables; :mod:`fer_lib.claims` gives each a verdict on the reproduced cells.

>>> reference("pcnn", "ii").query("column == 'RAF-DB'")   # doctest: +SKIP
>>> claims("pcnn", "viii")                                 # doctest: +SKIP
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
#: How each paper's method is written in titles.
DISPLAY_NAMES: dict[str, str] = {"pcnn": "PCNN", "gmslpa": "GMS-LPA", "cmcnn": "CM-CNN", "poster": "POSTER"}
COLUMNS: tuple[str, ...] = ("paper", "table", "row", "column", "value", "unit", "note")
#: Tables fer_lib adds beside a paper's own (notebooks ``notebooks/<paper>/table_<id>.ipynb`` like the paper's):
#: measurements of this project's protocol that the paper has no numbers for. Their reference is empty.
PROJECT_TABLES: dict[str, dict[str, str]] = {
    "pcnn": {"pretraining": "the cpu scale's pretrained trunk (random initialisation vs SynthFER vs FER2013 "
                            "Training pretraining, fine-tuned on FER2013 and FERPlus)"},
    "gmslpa": {"figure_9": "Fig. 9's sweep of the fusion weight alpha (the paper plots it without printing values)",
               "figure_4": "the accuracies per view of Fig. 4's models (ResNet-50 and GMS; the figure is Grad-CAM)",
               "figure_6": "the accuracies per view of Fig. 6's models (ResNet-50 and LPA; the figure is Grad-CAM)",
               "figure_16": "Fig. 16: GMS, LPA and GMS-LPA per angle on each controlled dataset (the paper plots "
                            "mean and SD)",
               "figure_17": "Fig. 17: accuracy per expression intensity level on BU-3DFE P1 (the paper plots it)",
               "figure_14": "the pose-subset accuracies of Fig. 14's GMS-LPA (the figure is Grad-CAM)"},
    "cmcnn": {"figure_6": "each class's recall behind Fig. 6's confusion matrices (the paper prints the matrices)",
              "figure_7": "how well Fig. 7's embeddings f_v separate the expressions (silhouette; the figure is tSNE)",
              "figure_8": "how concentrated Fig. 8's Grad-CAM maps are, grey FEN alone vs CM-CNN (the figure is "
                          "qualitative)"},
    "poster": {"complexity": "parameters, MACs and latency of POSTER and its baseline beside PCNN and ResNet-18, and "
                             "a training step's cost relative to ResNet-18 at 64 px (the paper prints none)",
               "landmarks": "the landmark stream fer_lib trains for POSTER (MobileFaceNet, 68 points): its error on "
                            "held-out synthetic faces and against dlib on real faces (the paper uses the authors' "
                            "weights and reports no landmark error)"},
}
#: Columns of ``data/<paper>_claims.csv``. ``column``: the table's column the claim is about; ``row_a``,
#: ``row_b``: the compared rows, labelled as in the table; ``relation``: one of :data:`RELATIONS`;
#: ``printed_difference``: a - b from the printed cells; ``stated_difference``: a - b as the text states it
#: (empty when the text states no margin); ``deterministic``: true for a quantity no seed changes (a parameter
#: or MAC count), which one measurement decides; ``location``: where the paper makes the claim; ``ledger``:
#: the ``discrepancies.md`` entries that bear on it (``PCNN 8``; ``;``-separated); ``note``: a paraphrase.
CLAIM_COLUMNS: tuple[str, ...] = (
    "paper", "claim_id", "table", "column", "row_a", "row_b", "relation", "printed_difference",
    "stated_difference", "deterministic", "location", "ledger", "note",
)
#: The claimed sign of row_a - row_b: ``+1`` for "a > b", ``-1`` for "a < b".
RELATIONS: dict[str, int] = {"a > b": 1, "a < b": -1}
#: How far a printed difference may be from the difference of the printed cells (their rounding).
PRINTED_TOLERANCE = 0.006


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
    lower case (roman numerals stay roman). A table of :data:`PROJECT_TABLES` (fer_lib's own) has no rows.
    """
    frame = _load(paper)
    table = str(table).lower()
    out = frame[frame["table"] == table]
    if out.empty and table in PROJECT_TABLES.get(paper, {}):
        return out.reset_index(drop=True)  # fer_lib's own table: the paper printed nothing for it
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


def check_claims(frame: pd.DataFrame) -> list[str]:
    """The problems of a claims table (empty when it is sound): missing columns, duplicate ids, an unknown
    relation, a table, row or column absent from the paper's transcription, a printed difference that is
    not the difference of the printed cells."""
    missing = set(CLAIM_COLUMNS) - set(frame.columns)
    if missing:
        return [f"missing column(s) {sorted(missing)}"]
    problems = []
    duplicated = frame[frame.duplicated(["paper", "claim_id"], keep=False)]
    problems += [f"claim id {cid!r} of {paper!r} appears twice" for paper, cid in
                 sorted(set(zip(duplicated["paper"], duplicated["claim_id"], strict=True)))]
    for c in frame.itertuples():
        where = f"{c.paper} claim {c.claim_id!r}"
        if not c.claim_id:
            problems.append(f"{c.paper}: a claim without an id")
        if c.relation not in RELATIONS:
            problems.append(f"{where}: relation {c.relation!r} is not one of {sorted(RELATIONS)}")
        try:
            cells = reference(c.paper, c.table)
        except (ValueError, FileNotFoundError) as err:
            problems.append(f"{where}: {err}")
            continue
        values = {}
        for side in ("row_a", "row_b"):
            label = getattr(c, side)
            hit = cells[(cells["row"] == label) & (cells["column"] == c.column)]
            if len(hit) != 1:
                problems.append(f"{where}: {side} {label!r} has {len(hit)} cells in table {c.table} column "
                                f"{c.column!r}")
            else:
                values[side] = float(hit["value"].iloc[0])
        if len(values) == 2:
            printed = values["row_a"] - values["row_b"]
            if not abs(printed - c.printed_difference) <= PRINTED_TOLERANCE:  # also catches a missing (NaN) one
                problems.append(f"{where}: printed_difference {c.printed_difference} but the printed cells give "
                                f"{printed:.2f}")
    return problems


@cache
def _load_claims(paper: str) -> pd.DataFrame:
    _check_paper(paper)
    path = resources.files("fer_lib.papers") / "data" / f"{paper}_claims.csv"
    if not path.is_file():
        return pd.DataFrame(columns=list(CLAIM_COLUMNS))
    with path.open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    for name in ("printed_difference", "stated_difference"):
        if name in frame:
            frame[name] = pd.to_numeric(frame[name].replace("", float("nan")), errors="raise")
    if "deterministic" in frame:
        unknown = set(frame["deterministic"]) - {"true", "false"}
        if unknown:
            raise ValueError(f"{path}: deterministic must be true or false, not {sorted(unknown)}")
        frame["deterministic"] = frame["deterministic"] == "true"
    if "paper" in frame and set(frame["paper"]) - {paper}:
        raise ValueError(f"{path} holds claims of other papers: {sorted(set(frame['paper']) - {paper})}")
    problems = check_claims(frame)
    if problems:
        raise ValueError(f"{path}:\n  " + "\n  ".join(problems))
    return frame[list(CLAIM_COLUMNS)]


def claims(paper: str | None = None, table: str | None = None) -> pd.DataFrame:
    """The claims ``paper`` (default: every paper) makes about its own table ``table`` (default: all).

    One row per claim and column (see :data:`CLAIM_COLUMNS`); a paper without a claims file has none.
    Loading checks every row against the paper's transcription (:func:`check_claims`).
    """
    frames = [_load_claims(p) for p in ([paper] if paper else PAPERS)]
    frame = pd.concat([f for f in frames if not f.empty] or [frames[0]], ignore_index=True)
    if table is not None:
        frame = frame[frame["table"] == str(table).lower()]
    return frame.reset_index(drop=True)

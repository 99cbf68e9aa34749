"""A verdict for every claim a paper makes about its own tables, on the reproduced cells.

A claim (:func:`fer_lib.papers.claims`) says that row a beats row b in one column of a table. On the
reproduced cells (a result frame: the tidy ``results/<paper>/table_<id>.csv`` rows, e.g. from
:func:`fer_lib.results.load_results`) :func:`evaluate_claims` computes the difference a - b **paired by seed**
(only the seeds both cells were trained with), its mean and its 95% Student-t interval over those seeds,
and a verdict:

* ``supported``: the interval excludes 0 on the claimed side;
* ``contradicted``: the interval excludes 0 on the other side;
* ``not resolved at this scale``: the interval contains 0, or there are fewer than two paired seeds (the
  ``reason`` says which);
* ``not reproduced``: a row (or the table) is missing from the results.

A deterministic claim (a parameter or MAC count, which no seed changes) is decided by one measurement.
A verdict on synthetic stand-in data tests the code path, not the paper: its reason says so.

This module reads result *frames*; it does not import :mod:`fer_lib.results` (which imports it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from fer_lib import papers
from fer_lib.metrics import mean_std, seed_ci

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
NOT_RESOLVED = "not resolved at this scale"
NOT_REPRODUCED = "not reproduced"
VERDICTS: tuple[str, ...] = (SUPPORTED, CONTRADICTED, NOT_RESOLVED, NOT_REPRODUCED)
SYNTHETIC_NOTE = "synthetic data: tests the code path, not the paper"

#: Columns of :func:`evaluate_claims`' frame (and of ``results/claims.csv``).
VERDICT_COLUMNS: tuple[str, ...] = (
    "paper", "claim_id", "table", "column", "row_a", "row_b", "relation", "printed_difference",
    "stated_difference", "reproduced_difference", "ci_low", "ci_high", "n_paired", "paired_seeds",
    "printed_in_ci", "scale", "data_kind", "dataset", "verdict", "reason", "location", "ledger",
)


def _split(field) -> list[str]:
    """The items of a ``;``-joined field; a lone number read back as int/float is one item; empty -> []."""
    if field is None or (isinstance(field, float) and math.isnan(field)):
        return []
    return [item for item in str(field).split(";") if item.strip()]


def per_seed(cell: pd.Series) -> dict[int, float] | None:
    """``{seed: value}`` of one result cell, or None when the cell did not record its seeds (older CSVs)."""
    seeds, values = _split(cell.get("seeds")), _split(cell.get("seed_values"))
    if not seeds or len(seeds) != len(values):
        return None
    return {int(float(s)): float(v) for s, v in zip(seeds, values, strict=True)}


def paired_differences(cell_a: pd.Series, cell_b: pd.Series) -> tuple[list[int], list[float], str]:
    """The per-seed differences a - b over the seeds both cells have: ``(seeds, differences, problem)``.

    ``problem`` is empty when the cells could be paired; otherwise it says why not (no common seed, or
    per-seed values not recorded — then two one-run cells still give one difference, of unknown seeds).
    """
    a, b = per_seed(cell_a), per_seed(cell_b)
    if a is not None and b is not None:
        common = sorted(set(a) & set(b))
        if not common:
            return [], [], f"the cells share no seed (a: {sorted(a)}, b: {sorted(b)})"
        return common, [a[s] - b[s] for s in common], ""
    n_a, n_b = int(cell_a.get("n_seeds", 1)), int(cell_b.get("n_seeds", 1))
    if n_a == 1 and n_b == 1:
        return [], [float(cell_a["value"]) - float(cell_b["value"])], ""
    return [], [], (f"per-seed values not recorded (a result CSV from before they were): cannot pair {n_a} and "
                    f"{n_b} seeds")


def judge(differences: Sequence[float], sign: int, deterministic: bool = False,
          confidence: float = 0.95) -> tuple[str, float, float, str]:
    """``(verdict, ci_low, ci_high, reason)`` for paired differences a - b and the claimed ``sign`` (+1: a > b).

    With at least two differences the interval is the Student-t interval of their mean
    (:func:`fer_lib.metrics.seed_ci`); a deterministic quantity is decided by one difference.
    """
    diffs = [float(d) for d in differences]
    nan = float("nan")
    if deterministic and diffs:
        low = high = mean_std(diffs)[0]
        side = "on the claimed side" if sign * low > 0 else ("0" if low == 0 else "on the other side")
        verdict = SUPPORTED if sign * low > 0 else CONTRADICTED
        return verdict, low, high, f"a deterministic quantity, one measurement decides: the difference is {side}"
    if len(diffs) < 2:
        return NOT_RESOLVED, nan, nan, ("one run per cell: no interval over seeds" if diffs else "no paired seed")
    low, high = seed_ci(diffs, confidence)
    basis = f"the {confidence:.0%} CI over {len(diffs)} paired seeds"
    if sign * low > 0 and sign * high > 0:
        return SUPPORTED, low, high, f"{basis} excludes 0 on the claimed side"
    if sign * low < 0 and sign * high < 0:
        return CONTRADICTED, low, high, f"{basis} excludes 0 on the other side"
    return NOT_RESOLVED, low, high, f"{basis} contains 0"


def _cell(results: pd.DataFrame, row: str, column: str) -> pd.Series | None:
    hit = results[(results["row"] == row) & (results["column"] == column)]
    return hit.iloc[0] if len(hit) else None


def _joined_set(*values) -> str:
    return ", ".join(sorted({str(v) for v in values if isinstance(v, str) and v}))


def evaluate_claim(claim: pd.Series, results: pd.DataFrame, confidence: float = 0.95) -> dict:
    """One claim's verdict on the result cells of its paper's table (a result frame, any tables)."""
    out = {name: claim.get(name, "") for name in VERDICT_COLUMNS}
    out.update(reproduced_difference=float("nan"), ci_low=float("nan"), ci_high=float("nan"), n_paired=0,
               paired_seeds="", printed_in_ci=pd.NA, scale="", data_kind="", dataset="")
    mine = results[(results["paper"] == claim["paper"]) & (results["table"].astype(str) == claim["table"])] \
        if not results.empty else results
    if mine.empty:
        return {**out, "verdict": NOT_REPRODUCED, "reason": f"table {claim['table']} has no reproduced cell"}
    cells = {side: _cell(mine, claim[side], claim["column"]) for side in ("row_a", "row_b")}
    absent = [f"{claim[side]!r}" for side, cell in cells.items() if cell is None]
    if absent:
        return {**out, "verdict": NOT_REPRODUCED,
                "reason": f"no reproduced cell for {' and '.join(absent)} in column {claim['column']!r}"}
    a, b = cells["row_a"], cells["row_b"]
    out.update(scale=_joined_set(a.get("scale"), b.get("scale")),
               data_kind=_joined_set(a.get("data_kind"), b.get("data_kind")),
               dataset=_joined_set(a.get("dataset"), b.get("dataset")))
    seeds, diffs, problem = paired_differences(a, b)
    deterministic = bool(claim.get("deterministic", False))
    if problem:
        verdict, low, high, reason = NOT_RESOLVED, float("nan"), float("nan"), problem
        out["reproduced_difference"] = float(a["value"]) - float(b["value"])  # of the means, unpaired
    else:
        verdict, low, high, reason = judge(diffs, papers.RELATIONS[claim["relation"]], deterministic, confidence)
        out["reproduced_difference"] = mean_std(diffs)[0]
        out["n_paired"] = len(diffs)
    printed = float(claim["printed_difference"])
    if np.isfinite(low) and np.isfinite(printed):  # a claim whose rows the paper did not print has no margin
        tol = papers.PRINTED_TOLERANCE
        out["printed_in_ci"] = bool(low - tol <= printed <= high + tol)
    if "synthetic" in out["data_kind"]:
        reason += f"; {SYNTHETIC_NOTE}"
    return {**out, "ci_low": low, "ci_high": high, "paired_seeds": ";".join(map(str, seeds)),
            "verdict": verdict, "reason": reason}


def evaluate_claims(results: pd.DataFrame, claims: pd.DataFrame | None = None,
                    confidence: float = 0.95) -> pd.DataFrame:
    """Every claim's verdict on ``results`` (a result frame); ``claims`` defaults to every paper's claims.

    One row per claim with the columns of :data:`VERDICT_COLUMNS`: the printed difference (and the text's
    stated one), the reproduced mean difference with its interval and number of paired seeds, whether the
    printed difference lies in that interval, the cells' scale and data kind, the verdict and its reason.
    """
    claims = papers.claims() if claims is None else claims
    rows = [evaluate_claim(claim, results, confidence) for _, claim in claims.iterrows()]
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def claim_frame(paper: str, claim_id: str, table: str, column: str, row_a: str, row_b: str,
                printed_difference: float, location: str, note: str, ledger: str = "") -> pd.DataFrame:
    """One claim (``row_a`` beats ``row_b``) as a claims frame for :func:`evaluate_claims`, for a comparison a
    notebook makes with a row of fer_lib's own: a paper's general statement ("CNN features beat hand-crafted
    ones") tested against a baseline fer_lib built, ``printed_difference`` the margin the paper printed for it."""
    return pd.DataFrame([{"paper": paper, "claim_id": claim_id, "table": str(table), "column": column, "row_a": row_a,
                          "row_b": row_b, "relation": "a > b", "printed_difference": float(printed_difference),
                          "stated_difference": float("nan"), "deterministic": False, "location": location,
                          "ledger": ledger, "note": note}], columns=list(papers.CLAIM_COLUMNS))


def claims_in_column(claims: pd.DataFrame, source_column: str, column: str,
                     rows: Sequence[str] | None = None) -> pd.DataFrame:
    """The claims of ``claims`` made in ``source_column``, restated for ``column``: a column of fer_lib's own that
    the paper lacks (CM-CNN's real 2-D FERPlus column tests its 2-D claims on real faces). ``rows``: keep only
    claims whose two rows are among them (the rows that ran there). The printed difference stays the source
    column's, so ``printed_in_ci`` compares with what the paper printed there; the claim id and the note say the
    column was changed."""
    moved = claims[claims["column"] == source_column].copy()
    if rows is not None:
        moved = moved[moved["row_a"].isin(rows) & moved["row_b"].isin(rows)]
    moved["column"] = column
    moved["claim_id"] = moved["claim_id"] + "@" + column
    moved["note"] = moved["note"].astype(str) + f" (printed for {source_column}; judged here in {column})"
    return moved.reset_index(drop=True)


def _fmt(value: float, digits: int = 2) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:+.{digits}f}"


def verdict_counts(verdicts: pd.DataFrame) -> str:
    """``"3 supported, 1 contradicted, 20 not resolved at this scale, 50 not reproduced"``."""
    counts = verdicts["verdict"].value_counts()
    return ", ".join(f"{int(counts[v])} {v}" for v in VERDICTS if v in counts) or "no claim"


def claims_markdown(verdicts: pd.DataFrame, with_table: bool = True) -> list[str]:
    """Markdown lines: one table row per claim with its verdict (``with_table`` adds a table column)."""
    head = "| claim | " + ("table | " if with_table else "") + ("column | claim (a vs b) | paper Δ | text Δ | "
                                                                  "reproduced Δ | 95% CI | paired seeds | "
                                                                  "paper Δ in CI | data | verdict | reason |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for c in verdicts.itertuples():
        sign = ">" if papers.RELATIONS.get(c.relation, 1) > 0 else "<"
        if pd.isna(c.ci_low):
            ci = "—"
        else:
            ci = "exact" if c.ci_low == c.ci_high else f"{c.ci_low:.2f} to {c.ci_high:.2f}"
        inside = "—" if pd.isna(c.printed_in_ci) else ("yes" if c.printed_in_ci else "no")
        kind = "measurement" if c.data_kind == "none" else c.data_kind
        data = ", ".join(x for x in (c.scale, kind) if x) or "—"
        claim = c.claim_id + (f" (ledger {c.ledger})" if isinstance(c.ledger, str) and c.ledger else "")
        lines.append(f"| {claim} | " + (f"{str(c.table).upper()} | " if with_table else "")
                     + f"{c.column} | {c.row_a} {sign} {c.row_b} | {_fmt(c.printed_difference)} | "
                     f"{_fmt(c.stated_difference)} | {_fmt(c.reproduced_difference)} | {ci} | {c.n_paired} | "
                     f"{inside} | {data} | **{c.verdict}** | {c.reason} |")
    return lines

"""Check that two result folders hold the same numbers: every ``*.csv`` of the first, compared with the file of
the same name in the second, on the result columns only (provenance — commit, versions, device, times, run
names, notes — and measured timings may differ).

    python scripts/compare_results.py BEFORE_DIR AFTER_DIR [NAME.csv ...]    # exits 1 on any difference

Use it around a change that must not alter results, e.g. a refactor: run ``python -m fer_lib.reproduce all
--scale smoke --output-dir BEFORE_DIR`` on the old commit and ``... AFTER_DIR`` on the new one (same machine:
another CPU may round differently), then compare ``BEFORE_DIR/<paper>`` with ``AFTER_DIR/<paper>``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

#: Columns that describe how, where and when a number was made, not the number.
PROVENANCE = frozenset({"git_commit", "versions", "wall_seconds", "train_seconds", "runs", "slurm_jobs", "device",
                        "note", "ci_method", "run", "from_cache"})
#: Table cells whose value is a measured time (they vary run to run).
TIMING_COLUMNS = ("Running time", "Items/s")


def _result_cells(frame: pd.DataFrame) -> pd.DataFrame:
    if "column" in frame:
        frame = frame[~frame["column"].astype(str).str.startswith(TIMING_COLUMNS)]
    return frame.reset_index(drop=True)


def compare_frames(before: pd.DataFrame, after: pd.DataFrame, tolerance: float = 1e-9) -> list[str]:
    """Differences between two result tables (empty when every result value agrees)."""
    before, after = _result_cells(before), _result_cells(after)
    columns = [c for c in before.columns if c not in PROVENANCE]
    missing = [c for c in columns if c not in after.columns]
    if missing:
        return [f"columns missing after: {missing}"]
    if len(before) != len(after):
        return [f"{len(before)} rows before, {len(after)} after"]
    problems = []
    for column in columns:
        x, y = before[column], after[column]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            same = ((x - y).abs() <= tolerance) | (x.isna() & y.isna())
        else:
            same = x.astype(str) == y.astype(str)
        if not same.all():
            pairs = list(zip(x[~same].tolist()[:3], y[~same].tolist()[:3], strict=True))
            problems.append(f"{column}: {int((~same).sum())} cell(s) differ, e.g. {pairs}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("names", nargs="*", help="CSV file names (default: every *.csv of BEFORE)")
    args = parser.parse_args(argv)
    names = args.names or sorted(p.name for p in args.before.glob("*.csv"))
    if not names:
        print(f"no CSV in {args.before}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        after = args.after / name
        problems = (compare_frames(pd.read_csv(args.before / name), pd.read_csv(after)) if after.is_file()
                    else [f"missing in {args.after}"])
        print(f"{'same' if not problems else 'DIFFERENT'}  {name}" + "".join(f"\n    {p}" for p in problems))
        failed += bool(problems)
    print(f"{len(names) - failed} of {len(names)} result files agree")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Reproduced numbers beside the paper's: tidy result tables with provenance, and the report.

A notebook resolves its settings into a :class:`fer_lib.settings.RunContext` and opens a
:class:`ResultTable` on it; the protocols add one reproduced cell at a time with :meth:`ResultTable.add`
(values from one or several seeds) and :meth:`ResultTable.save` writes ``table_<id>.csv`` (tidy, one
row per cell) and ``table_<id>.md`` atomically (the Markdown lists the paper's claims on that table with their
verdicts). :func:`build_report` gathers every table under ``results/`` into ``results/REPORT.md``, with a verdict
for every claim of the papers (:mod:`fer_lib.claims`), also written to ``results/claims.csv``.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fer_lib import papers
from fer_lib.claims import claims_markdown, evaluate_claims, verdict_counts
from fer_lib.io import atomic_save, atomic_write_text, figure_sort_key, repo_root, results_root
from fer_lib.metrics import mean_std, seed_ci
from fer_lib.recipes import DRY_RUN_STEPS
from fer_lib.settings import RunContext, data_kind_of

#: How a cell's 95% interval was computed (the ``ci_method`` column).
CI_OVER_SEEDS = "t-interval over seeds"
CI_BOOTSTRAP = "bootstrap over test images (one run)"

#: Columns of every result CSV, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "paper", "table", "row", "column", "paper_value", "value", "delta", "std", "ci_low", "ci_high", "ci_method",
    "majority_floor", "n_seeds", "seeds", "seed_values", "unit", "scale", "init", "precision", "dataset",
    "data_kind", "device", "git_commit", "versions", "wall_seconds", "train_seconds", "runs", "slurm_jobs", "note",
)


#: What every cell of a dry run (:func:`fer_lib.recipes.dry_run_recipe`) says it is.
DRY_RUN_NOTE = "DRY RUN (not a result)"


@functools.cache
def git_commit() -> str:
    """The checkout's commit (``+dirty`` when the code has uncommitted changes), or ``unknown``.

    Changes under ``results/`` do not count: regenerating results is what a reproduction does."""
    root = repo_root()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)results"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


@functools.cache
def library_versions() -> str:
    """``python=…;torch=…;torchvision=…;fer_lib=…`` for the result's provenance."""
    import torch
    import torchvision

    import fer_lib

    return (f"python={platform.python_version()};torch={torch.__version__};torchvision={torchvision.__version__};"
            f"fer_lib={fer_lib.__version__}")


def device_name(device: str) -> str:
    """A readable device description: the GPU's name, or the CPU model and thread count."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu ({cpu}, {torch.get_num_threads()} threads)"


class ResultTable:
    """The reproduced cells of one table's notebook, beside the paper's, and their files.

    ``ResultTable(context)`` stores; it never decides settings: the :class:`fer_lib.settings.RunContext`
    it is given names the paper, table, scale, dataset, device and output folder.
    """

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.rows: list[dict[str, Any]] = []
        self.figures: list[Path] = []
        self.started = time.perf_counter()

    @property
    def output_dir(self) -> Path:
        return self.context.output_dir

    # -- the paper's side -------------------------------------------------------------------
    def reference(self) -> pd.DataFrame:
        """The paper's printed cells of this table."""
        return papers.reference(self.context.paper, self.context.table)

    def paper_value(self, row: str, column: str) -> float:
        """The paper's number at (row, column), NaN where the paper has no such cell."""
        ref = self.reference()
        hit = ref[(ref["row"] == row) & (ref["column"] == column)]
        return float(hit["value"].iloc[0]) if len(hit) else float("nan")

    # -- collecting -------------------------------------------------------------------------
    def add(
        self,
        row: str,
        column: str,
        values: float | Sequence[float],
        ci: tuple[float, float] | None = None,
        paper_row: str | None = None,
        paper_column: str | None = None,
        unit: str = "%",
        note: str = "",
        dataset: str | None = None,
        runs: Sequence[Any] = (),
        data_kind: str | None = None,
        ci_method: str = CI_BOOTSTRAP,
        seeds: Sequence[int] | None = None,
        majority_floor: float | None = None,
    ) -> dict[str, Any]:
        """Record one reproduced cell (``values``: one number per seed) beside the paper's cell.

        ``paper_row``/``paper_column`` name the paper's cell when it is labelled differently. The 95% interval:
        with several seeds, the Student-t interval of the mean over seeds (:func:`fer_lib.metrics.seed_ci`),
        computed here — passing ``ci`` too is an error, since a one-run interval need not even contain the
        mean; with one seed, ``ci`` (by default described as a bootstrap over its test images: ``ci_method``
        says otherwise) or none. ``runs``: the trained
        runs behind the cell (:class:`fer_lib.protocols.RunOutcome`); their training time and run-cache
        folders are recorded (``train_seconds``, ``runs``: names under ``runs/``, ``*`` = loaded from the
        cache). ``data_kind`` defaults to the kind of ``dataset``, else the context's. ``seeds`` name the
        seeds of ``values`` (default: the runs' seeds when there is one run per value, else the context's seeds
        when their number matches, as the protocols add them);
        the per-seed values are recorded (``seed_values``) so that claims can pair two rows seed by seed.
        ``majority_floor``: what always answering the test set's most frequent class scores (a cell near it is
        a failed run, not a result; :func:`fer_lib.metrics.majority_floor`).
        """
        vals = [float(v) for v in np.atleast_1d(np.asarray(values, dtype=float))]
        if not vals:
            raise ValueError(f"cell ({row!r}, {column!r}) has no value")
        mean, std = mean_std(vals)
        if seeds is None:
            # The runs' own seeds when there is one run per value (a column run with fewer seeds than the table's).
            run_seeds = [getattr(r, "seed", None) for r in runs]
            seeds = run_seeds if runs and len(runs) == len(vals) and None not in run_seeds else \
                self.context.seeds if len(self.context.seeds) == len(vals) else ()
        elif len(seeds) != len(vals):
            raise ValueError(f"cell ({row!r}, {column!r}): {len(vals)} values for {len(seeds)} seeds")
        if len(vals) > 1:
            if ci is not None:
                raise ValueError(f"cell ({row!r}, {column!r}) has {len(vals)} seeds: its interval is the t-interval "
                                 "over seeds; pass ci only for a single run")
            ci, ci_method = seed_ci(vals), CI_OVER_SEEDS
        elif ci is None:
            ci_method = ""
        ctx = self.context
        if ctx.dry_run:
            note = f"{DRY_RUN_NOTE}; {note}" if note else DRY_RUN_NOTE
        paper_value = self.paper_value(paper_row or row, paper_column or column)
        if data_kind is None:
            data_kind = data_kind_of(dataset) if dataset else ctx.data_kind
        dataset = dataset or ctx.dataset
        record = {
            "paper": ctx.paper, "table": ctx.table, "row": row, "column": column,
            "paper_value": paper_value, "value": mean,
            "delta": mean - paper_value if np.isfinite(paper_value) else float("nan"),
            "std": std, "ci_low": ci[0] if ci else float("nan"), "ci_high": ci[1] if ci else float("nan"),
            "ci_method": ci_method,
            "majority_floor": float(majority_floor) if majority_floor is not None else float("nan"),
            "n_seeds": len(vals), "seeds": _joined(seeds), "seed_values": _joined(vals),
            "unit": unit, "scale": ctx.scale, "init": _distinct(runs, "init"),
            "precision": _distinct(runs, "precision"), "dataset": dataset,
            "data_kind": data_kind, "device": device_name(ctx.device),
            "git_commit": git_commit(), "versions": library_versions(), "wall_seconds": float("nan"),
            "train_seconds": float(sum(r.train_seconds for r in runs)) if runs else float("nan"),
            "runs": ";".join(_run_label(r) for r in runs),
            "slurm_jobs": ";".join(job for r in runs if (job := getattr(r, "slurm_job", ""))), "note": note,
        }
        self.rows.append(record)
        return record

    def frame(self) -> pd.DataFrame:
        """The tidy result table collected so far (one row per reproduced cell)."""
        frame = pd.DataFrame(self.rows, columns=list(RESULT_COLUMNS))
        frame["wall_seconds"] = round(time.perf_counter() - self.started, 1)
        return frame

    def display_frame(self) -> pd.DataFrame:
        """A readable wide view: reproduced (mean ± std) beside the paper's number, per row x column."""
        frame = self.frame()
        if frame.empty:
            return frame

        def cell(r):
            text = f"{r.value:.2f}" + (f" ± {r['std']:.2f}" if r.n_seeds > 1 else "")
            paper = "—" if not np.isfinite(r.paper_value) else f"{r.paper_value:.2f}"
            return f"{text} (paper {paper})"

        frame["cell"] = frame.apply(cell, axis=1)
        return frame.pivot_table(index="row", columns="column", values="cell", aggfunc="first", sort=False)

    def comparison_frame(self) -> pd.DataFrame:
        """The paper's whole table with the reproduced cells filled in: rows this run did not train are
        marked ``quoted`` (the paper's number, not reproduced here)."""
        ref = self.reference()[["row", "column", "value", "note"]].rename(columns={"value": "paper"})
        mine = self.frame()
        if not mine.empty:
            keyed = mine.assign(key=list(zip(mine["row"], mine["column"], strict=True))).set_index("key")
            repro = [keyed["value"].get((r, c), np.nan) for r, c in zip(ref["row"], ref["column"], strict=True)]
            stds = [keyed["std"].get((r, c), np.nan) for r, c in zip(ref["row"], ref["column"], strict=True)]
        else:
            repro = stds = [np.nan] * len(ref)
        ref["reproduced"] = repro
        ref["std"] = stds
        ref["source"] = np.where(np.isfinite(ref["reproduced"]),
                                 f"reproduced ({self.context.scale}, {self.context.data_kind})",
                                 "quoted from the paper")
        return ref[["row", "column", "paper", "reproduced", "std", "source", "note"]]

    # -- writing ----------------------------------------------------------------------------
    def savefig(self, fig, name: str, dpi: int = 150) -> Path:
        """Save a matplotlib figure as ``<output_dir>/<name>.png`` atomically."""
        path = self.output_dir / f"{name}.png"
        atomic_save(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"))
        self.figures.append(path)
        return path

    def save(self, notes: str = "") -> dict[str, Path]:
        """Write ``table_<id>.csv`` and ``table_<id>.md``; returns their paths (also printed)."""
        frame = self.frame()
        if frame.empty:
            raise ValueError("no reproduced cell was added: nothing to save")
        if self.context.dry_run:
            notes = (f"**{DRY_RUN_NOTE}**: every run took {DRY_RUN_STEPS} optimiser steps of the paper recipe and "
                     f"was tested on one batch; the numbers prove the code path, they are not results.\n\n{notes}")
        stem = self.output_dir / f"table_{self.context.table}"
        csv_path = atomic_write_text(stem.with_suffix(".csv"), frame.to_csv(index=False, float_format="%.4f"))
        md_path = atomic_write_text(stem.with_suffix(".md"), render_table_markdown(frame, notes))
        print(f"wrote {csv_path} and {md_path}")
        return {"csv": csv_path, "md": md_path}


def _fmt(value: float, digits: int = 2) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _distinct(runs: Sequence[Any], field: str) -> str:
    """The distinct values of a field of a cell's runs (``init``, ``precision``), ``;``-joined; empty without runs."""
    return ";".join(dict.fromkeys(str(getattr(r, field)) for r in runs if getattr(r, field, None) is not None))


def _joined(values: Sequence[float | int]) -> str:
    """``"41.25;40.5"``: per-seed numbers in one CSV field (floats at full precision)."""
    return ";".join(repr(float(v)) if isinstance(v, float) else str(v) for v in values)


def _run_label(run: Any) -> str:
    name = run.run_dir.name if getattr(run, "run_dir", None) is not None else "uncached"
    return name + ("*" if getattr(run, "from_cache", False) else "")


def _training_summary(frame: pd.DataFrame) -> str:
    """``" for this notebook; training: 2216 s over 12 run(s), 12 loaded from the run cache"``; empty for a
    table without runs (quoted cells, measurements, result files from before these columns existed)."""
    if "runs" not in frame or "train_seconds" not in frame:
        return ""
    per_run: dict[str, float] = {}  # a run shared by several cells (e.g. test subsets) counts once
    exact = True
    for cell, seconds in zip(frame["runs"], frame["train_seconds"], strict=True):
        names = [label for label in str(cell).split(";") if label] if isinstance(cell, str) else []
        exact &= len(names) <= 1
        for name in names:
            per_run.setdefault(name, float(seconds) / len(names))
    if not per_run:
        return ""
    cached = sum(name.endswith("*") for name in per_run)
    return (f" for this notebook; training: {'' if exact else 'about '}{sum(per_run.values()):.0f} s over "
            f"{len(per_run)} run(s)" + (f", {cached} of them loaded from the run cache (`runs/`)" if cached else ""))


def _slurm_line(frame: pd.DataFrame) -> list[str]:
    """The provenance line of a table whose runs were trained as SLURM jobs (``make reproduce EXECUTOR=slurm``)."""
    if "slurm_jobs" not in frame:
        return []  # a result written before the column existed
    jobs = dict.fromkeys(job for cell in frame["slurm_jobs"] if isinstance(cell, str) for job in cell.split(";") if job)
    if not jobs:
        return []
    return [f"- trained on SLURM: {len(jobs)} job(s) ({', '.join(jobs)}), each run's trainer recorded in its "
            "`summary.json`; the table was then built from the run cache"]


def _table_title(paper: str, table: str) -> str:
    """``PCNN — Table II``; a table of fer_lib's own (:data:`fer_lib.papers.PROJECT_TABLES`) says so."""
    own = papers.PROJECT_TABLES.get(paper, {}).get(str(table))
    name = papers.DISPLAY_NAMES.get(paper, paper.upper())
    return (f"{name} — fer_lib's table '{table}' (no paper numbers): {own}" if own
            else f"{name} — Table {str(table).upper()}")


def render_table_markdown(frame: pd.DataFrame, notes: str = "") -> str:
    """One table's reproduced cells beside the paper's, with provenance, as Markdown."""
    first = frame.iloc[0]
    kinds = ", ".join(sorted(set(frame["data_kind"])))
    lines = [
        f"# {_table_title(first['paper'], first['table'])}",
        "",
        f"- scale: **{first['scale']}**; data: **{', '.join(sorted(set(frame['dataset'])))}** ({kinds})",
        f"- device: {first['device']}; commit: `{first['git_commit']}`; {first['versions']}",
        f"- wall time: {first['wall_seconds']:.0f} s{_training_summary(frame)}",
        *_slurm_line(frame),
        "- 95% CI: for one seed, a bootstrap over the test images; for several, the Student-t interval of the "
        "mean over seeds",
    ]
    if "synthetic" in kinds:
        lines.append("- **Synthetic data**: the reproduced numbers test the code path and the relative ordering, "
                     "not the paper's absolute accuracy.")
    floors = frame["majority_floor"] if "majority_floor" in frame else pd.Series(np.nan, index=frame.index)
    at_floor = [r for r, f in zip(frame.itertuples(), floors, strict=True) if _at_floor(r, f)]
    if at_floor:
        lines.append(f"- **{len(at_floor)} cell(s) do not beat the majority-class floor** (the floor is inside or "
                     "above their 95% CI): failed runs, not results — " +
                     "; ".join(f"{r.row} / {r.column}" for r in at_floor))
    lines += ["", "| row | column | paper | reproduced | ± std | 95% CI | floor | Δ (repr. − paper) | seeds | note |",
              "|---|---|---:|---:|---:|---|---:|---:|---:|---|"]
    for r, floor in zip(frame.itertuples(), floors, strict=True):
        ci = f"{_fmt(r.ci_low)}–{_fmt(r.ci_high)}" if np.isfinite(r.ci_low) else "—"
        lines.append(f"| {r.row} | {r.column} | {_fmt(r.paper_value)} | {_fmt(r.value)} | {_fmt(r.std)} | {ci} | "
                     f"{_fmt(floor)} | {_fmt(r.delta)} | {r.n_seeds} | {r.note} |")
    if notes:
        lines += ["", notes.strip()]
    lines += _table_claims(frame)
    return "\n".join(lines) + "\n"


def _at_floor(cell: Any, floor: float) -> bool:
    """Whether a cell fails to beat its majority-class floor: the floor lies inside or above its 95% CI (or above
    its value when it has no interval)."""
    if not np.isfinite(floor):
        return False
    low = cell.ci_low if np.isfinite(cell.ci_low) else cell.value
    return bool(low <= floor)


def _table_claims(frame: pd.DataFrame) -> list[str]:
    """The Markdown of the paper's claims on this table, judged on the cells of ``frame`` (none: no lines)."""
    first = frame.iloc[0]
    claims = papers.claims(first["paper"], first["table"])
    if claims.empty:
        return []
    verdicts = evaluate_claims(frame, claims)
    return ["", "## The paper's claims on this table", "",
            f"{verdict_counts(verdicts)}. Each claim is row a vs row b; *paper Δ* is a − b in the printed table, "
            "*text Δ* the margin the text states; *reproduced Δ* is the mean of a − b paired by seed, with its "
            "95% Student-t interval (two paired seeds at least). See `fer_lib/papers/data/"
            f"{first['paper']}_claims.csv` and `fer_lib/papers/discrepancies.md` (*ledger*).", "",
            *claims_markdown(verdicts, with_table=False)]


def load_results(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """Every ``results/<paper>/table_*.csv`` concatenated (empty frame when there is none)."""
    root = Path(root) if root else results_root()
    frames = [pd.read_csv(p, keep_default_na=False, na_values=["", "nan", "NaN"], dtype={"table": str})
              for p in sorted(root.glob("*/table_*.csv"))]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(RESULT_COLUMNS))


def _roman_key(table: str) -> tuple[int, str]:
    romans = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}
    table = str(table)
    if table in romans:
        return romans[table], table
    return (int(table), table) if table.isdigit() else (99, table)


def build_report(root: str | os.PathLike | None = None, output: str | os.PathLike | None = None) -> Path:
    """Rebuild ``results/REPORT.md``: every table's reproduced numbers beside the paper's, with deltas, and a
    verdict for every claim of the papers (also written to ``claims.csv`` beside the report)."""
    root = Path(root) if root else results_root()
    results = load_results(root)
    lines = [
        "# fer_lib reproduction report",
        "",
        "Every number below was computed by the notebooks in `notebooks/` (see each table's folder for the",
        "executed notebook, its CSV and figures). *paper* is the number the paper printed; *Δ* is reproduced",
        "minus paper. Rows on **synthetic** data exercise the method on SynthFER and are not comparable to the",
        "paper's absolute numbers; rows at the `cpu` scale use reduced inputs, data and epochs (see each notebook).",
        "",
    ]
    if results.empty:
        lines.append("No table has been reproduced yet: run `make reproduce-all`.")
    for (paper, table), group in sorted(results.groupby(["paper", "table"]), key=lambda kv: (kv[0][0],
                                                                                          _roman_key(kv[0][1]))):
        first = group.iloc[0]
        kinds = ", ".join(sorted(set(group["data_kind"])))
        lines += [f"## {_table_title(paper, table)}", "",
                  f"scale **{first['scale']}**, data {', '.join(sorted(set(group['dataset'])))} (**{kinds}**), "
                  f"{first['device']}, commit `{first['git_commit']}`, {float(first['wall_seconds']):.0f} s"
                  f"{_training_summary(group)} "
                  f"— [details]({paper}/table_{table}.md)", "",
                  "| row | column | paper | reproduced | Δ |", "|---|---|---:|---:|---:|"]
        for r in group.itertuples():
            value = _fmt(r.value) + (f" ± {_fmt(r.std)}" if int(r.n_seeds) > 1 else "")
            lines.append(f"| {r.row} | {r.column} | {_fmt(r.paper_value)} | {value} | {_fmt(r.delta)} |")
        lines.append("")
    out = Path(output) if output else root / "REPORT.md"
    verdicts = evaluate_claims(results)
    atomic_write_text(out.parent / "claims.csv", verdicts.to_csv(index=False, float_format="%.4f"))
    lines += ["## Claims", "",
              f"Every claim the papers make about their own tables (`fer_lib/papers/data/<paper>_claims.csv`), "
              f"judged on the reproduced cells above — [claims.csv](claims.csv): {verdict_counts(verdicts)}.",
              "*supported* / *contradicted*: the 95% Student-t interval of the difference a − b, paired by seed, "
              "excludes 0 on the claimed / the other side; *not resolved at this scale*: it contains 0, or fewer "
              "than two seeds pair; *not reproduced*: a row is not in the results. *paper Δ*: a − b in the printed "
              "table; *text Δ*: the margin the text states. A verdict on synthetic data (SynthFER stand-ins) tests "
              "the code path, not the paper.", "",
              *claims_markdown(verdicts), ""]
    figures = sorted(root.glob("*/figure_*.png"), key=figure_sort_key)
    if figures:
        lines += ["## Figures", ""]
        for fig in figures:
            number = fig.stem.removeprefix("figure_")
            data = fig.with_suffix(".csv")
            link = f" — [data]({fig.parent.name}/{data.name})" if data.is_file() else ""
            name = papers.DISPLAY_NAMES.get(fig.parent.name, fig.parent.name.upper())
            lines += [f"### {name} — Fig. {number}{link}", "",
                      f"![{fig.parent.name} Fig. {number}]({fig.parent.name}/{fig.name})", ""]
    atomic_write_text(out, "\n".join(lines).rstrip() + "\n")
    return out

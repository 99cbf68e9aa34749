"""Execute the papers' table notebooks with papermill and rebuild the report.

    python -m fer_lib.reproduce list
    python -m fer_lib.reproduce run --paper pcnn --table ii [--scale cpu] [--dataset ...] [--data-root ...]
    python -m fer_lib.reproduce run --paper gmslpa --table 6 --param 'rows=["resnet50", "gmslpa_net"]'
    python -m fer_lib.reproduce all [--scale ...]
    python -m fer_lib.reproduce report
    python -m fer_lib.reproduce pretrain [--source auto|fer2013|synth] [--data-root ...]

``make reproduce PAPER=pcnn TABLE=ii`` and friends call these. The executed notebook, the table's
CSV and Markdown and its figures land in ``results/<paper>/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from fer_lib.cluster.spec import EXECUTORS, ExecutorSpec
from fer_lib.io import figure_sort_key, output_dir_for, repo_root
from fer_lib.scales import SCALES
from fer_lib.settings import resolve_scale


def notebooks_root() -> Path:
    return repo_root() / "notebooks"


def _stem(table: str) -> str:
    """The notebook stem of a table id (``ii`` -> ``table_ii``) or a figure id (``figure_10``)."""
    table = table.lower()
    return table if table.startswith("figure_") else f"table_{table}"


def list_table_notebooks() -> list[tuple[str, str, Path]]:
    """``(paper, id, path)`` for every ``notebooks/<paper>/table_<id>.ipynb`` (id ``ii``), then every
    ``figure_<n>.ipynb`` (id ``figure_<n>``): figures come last because they reuse the tables' runs."""
    out = []
    for path in sorted(notebooks_root().glob("*/table_*.ipynb")):
        out.append((path.parent.name, path.stem.removeprefix("table_"), path))
    for path in sorted(notebooks_root().glob("*/figure_*.ipynb"), key=figure_sort_key):
        out.append((path.parent.name, path.stem, path))
    return out


def declared_parameters(path: Path) -> set[str]:
    """The names a notebook's ``parameters`` cell assigns (what papermill may override)."""
    import ast
    import json

    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse("".join(cell["source"]))
            return {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                    if isinstance(t, ast.Name)}
    return set()


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """``["rows=[\"resnet50\"]", "folds=[0,1]", "name=text"]`` -> ``{"rows": ["resnet50"], "folds": [0, 1],
    "name": "text"}``: each value is read as JSON, or kept as a string when it is not JSON."""
    params: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ValueError(f"a notebook parameter is NAME=VALUE, got {item!r}")
        try:
            params[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[name.strip()] = value
    return params


def find_notebook(paper: str, table: str) -> Path:
    path = notebooks_root() / paper / f"{_stem(table)}.ipynb"
    if not path.is_file():
        known = ", ".join(f"{p}/{t}" for p, t, _ in list_table_notebooks()) or "none"
        raise FileNotFoundError(f"no notebook {path}; available tables and figures: {known}")
    return path


def run_table(
    paper: str,
    table: str,
    scale: str | None = None,
    dataset: str | None = None,
    data_root: str | None = None,
    device: str | None = None,
    seeds: list[int] | None = None,
    output_dir: str | os.PathLike | None = None,
    timeout: int | None = None,
    dry_run: bool = False,
    extra_params: Mapping[str, Any] | None = None,
) -> Path:
    """Execute one table notebook; returns the path of the executed copy in the output folder.

    ``extra_params``: any other parameter the notebook's parameters cell declares (``rows``, ``folds``, ``blocks``
    ...); a name it does not declare raises, listing the ones it does.

    ``dry_run``: the paper scale's recipes for two optimiser steps per run and one evaluation batch
    (:func:`fer_lib.recipes.dry_run_recipe`), into ``runs/dry-run/<paper>`` unless ``output_dir`` says otherwise.
    """
    import papermill as pm

    source = find_notebook(paper, table)
    declared = declared_parameters(source)
    if dry_run and "dry_run" not in declared:
        raise ValueError(f"{source.name} has no dry_run parameter: it trains nothing at the paper scale to prove "
                         "(a table of measurements, or of the cpu scale's own protocol)")
    if scale is not None and scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    # The folder of the scale the notebook will resolve (FER_SCALE, else the machine's default).
    if dry_run and scale not in (None, "paper"):
        raise ValueError(f"a dry run runs the paper scale's recipes; got scale={scale!r}")
    out_dir = Path(output_dir) if output_dir else output_dir_for(
        paper, "paper" if dry_run else resolve_scale(scale, data_root), dry_run)
    out_dir.mkdir(parents=True, exist_ok=True)
    params: dict = {"output_dir": str(out_dir.resolve())}
    if dry_run:
        params["dry_run"] = True
    if data_root:
        # The notebook runs in its own folder: hand it an absolute path.
        data_root = str(Path(data_root).expanduser().resolve())
    for key, value in {"scale": scale, "dataset": dataset, "data_root": data_root, "device": device,
                       "seeds": seeds}.items():
        if value is not None and value != "":
            params[key] = value
    unknown = sorted(set(extra_params or {}) - declared)
    if unknown:
        raise ValueError(f"{source.name} declares no parameter {', '.join(unknown)}; it declares "
                         f"{', '.join(sorted(declared))}")
    params.update(extra_params or {})
    executed = out_dir / source.name
    print(f"executing {source} with {params}", flush=True)
    t0 = time.perf_counter()
    # Papermill writes the notebook as it goes: write a temporary copy and move it into place only when the run
    # succeeded, so a failed run keeps the previous executed notebook (the failed one is kept for debugging).
    partial = out_dir / f".{source.stem}.running.ipynb"
    try:
        pm.execute_notebook(
            str(source), str(partial), parameters=params, cwd=str(source.parent),
            kernel_name="python3", progress_bar=False, log_output=True, execution_timeout=timeout,
        )
    except BaseException:
        if partial.exists():
            failed = out_dir / f"{source.stem}.failed.ipynb"
            os.replace(partial, failed)
            print(f"the failed notebook is {failed}", file=sys.stderr)
        raise
    os.replace(partial, executed)
    print(f"done in {time.perf_counter() - t0:.0f} s: results in {out_dir}", flush=True)
    for suffix in ("csv", "md", "png"):
        table_file = out_dir / f"{_stem(table)}.{suffix}"
        if table_file.is_file():
            print(f"  {table_file}")
    return executed


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """``os.environ[name] = value`` for the block: the notebook's kernel, started inside it, inherits it."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def run_grid(paper: str, table: str, executor: ExecutorSpec, **kwargs: Any) -> Path:
    """:func:`run_table` with the table's trainings run as jobs by ``executor`` (``submitit-local`` or ``slurm``).

    Three steps (:mod:`fer_lib.protocols.grid`): the notebook runs once to find every training its cells need that
    the run cache lacks (nothing is trained; its output goes to a scratch folder under ``runs/grid/``); those
    trainings are submitted as job arrays and waited for, showing the jobs' states (first the pretrainings of the
    trunks the others start from, when the cache lacks them; :func:`fer_lib.protocols.jobs.submit_grid`); the
    notebook then runs as usual and builds the table from the run cache, exactly as a local run would. A failed
    job's error and log tail are printed, and the cells that needed its run are written as MISSING with that error.
    """
    from fer_lib.protocols import grid
    from fer_lib.protocols.jobs import submit_grid

    folder = grid.new_folder(paper, table)
    print(f"grid of {paper} table {table} on {executor.kind}: finding the trainings the run cache lacks", flush=True)
    with _environment(grid.COLLECT_ENV, str(folder)):
        run_table(paper, table, **{**kwargs, "output_dir": folder / "first-pass", "dry_run": False})
    tasks = grid.tasks(folder)
    pretrainings = sum(task.keep_trunk for task in tasks.values())
    print(f"{len(tasks)} training(s) to run as jobs" + (f", first the {pretrainings} pretraining(s) of the trunks "
                                                         "the others start from" if pretrainings else ""), flush=True)
    failures = submit_grid(tasks, executor, folder / "jobs")
    for run, error in failures.items():
        print(f"FAILED job for {run}:\n{error}", file=sys.stderr, flush=True)
    with _environment(grid.FAILED_ENV, str(grid.write_failures(folder, failures))):
        return run_table(paper, table, **kwargs)


class _StdoutHandler(logging.StreamHandler):
    """A handler that writes to whatever ``sys.stdout`` is now (a test's capture, a make log)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def stream_notebook_output() -> None:
    """Show what the executed notebooks print (per-epoch training lines), as it comes.

    Papermill hands a cell's output to its logger at INFO level, which Python drops unless logging is set up;
    without this a ``make reproduce`` log stays silent for the whole of a table's training.
    """
    log = logging.getLogger("papermill")
    if not any(isinstance(h, _StdoutHandler) for h in log.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # a root handler would print every line twice


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_lib.reproduce", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the table and figure notebooks")
    for name in ("run", "all"):
        p = sub.add_parser(name, help="execute one table" if name == "run" else "execute every table")
        if name == "run":
            p.add_argument("--paper", required=True)
            p.add_argument("--table", required=True, help="a table id (ii) or a figure id (figure_10)")
        p.add_argument("--scale", choices=SCALES, default=None)
        p.add_argument("--dataset", default=None)
        p.add_argument("--data-root", default=None)
        p.add_argument("--device", default=None)
        p.add_argument("--seeds", default=None, help="comma-separated, e.g. 0,1,2")
        p.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
        p.add_argument("--output-dir", default=None, help="default: results/<paper>")
        p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="another notebook parameter, VALUE as JSON (rows='[\"resnet50\"]', folds=[0,1]) or a "
                            "plain string; repeatable")
        p.add_argument("--dry-run", action="store_true",
                       help="the paper recipes for 2 optimiser steps per run and 1 evaluation batch, into "
                            "runs/dry-run/<paper> (never results/)")
        if name == "run":
            defaults = ExecutorSpec()
            p.add_argument("--executor", choices=EXECUTORS, default=defaults.kind,
                           help="where the table's trainings run: in the notebook (local), as subprocesses here "
                                "(submitit-local) or as SLURM jobs (slurm), one job per training")
            p.add_argument("--partition", default=None, help="SLURM partition")
            p.add_argument("--gpus-per-job", type=int, default=defaults.gpus_per_job)
            p.add_argument("--cpus-per-job", type=int, default=defaults.cpus_per_job)
            p.add_argument("--time-min", type=int, default=defaults.time_min,
                           help="a job's time limit; it resumes when requeued")
            p.add_argument("--array-parallelism", type=int, default=defaults.array_parallelism,
                           help="jobs of the array running at once")
    sub.add_parser("report", help="rebuild results/REPORT.md and results/claims.csv (a verdict per claim)")
    pre = sub.add_parser("pretrain", help="train (or load) the cpu scale's pretrained trunk now")
    pre.add_argument("--source", default="auto", help="auto (FER2013 when the data root has it, else SynthFER), "
                     "fer2013 or synth")
    pre.add_argument("--scale", default="cpu", choices=("smoke", "cpu"))
    pre.add_argument("--data-root", default=None)
    pre.add_argument("--device", default=None)
    pre.add_argument("--arch", default="resnet18",
                     choices=("resnet18", "resnet34", "resnet50", "ir50", "mobilefacenet"),
                     help="the trunk's architecture (resnet18: PCNN; resnet50: GMS-LPA; ir50: POSTER's image stream); "
                          "mobilefacenet: POSTER's landmark regressor (SynthFER + dlib-labelled FER2013 faces)")
    args = parser.parse_args(argv)
    stream_notebook_output()

    if args.command == "list":
        for paper, table, path in list_table_notebooks():
            print(f"{paper:8s} {table:6s} {path.relative_to(repo_root())}")
        return 0
    if args.command == "pretrain" and args.arch == "mobilefacenet":
        from fer_lib.protocols.landmarks import train_landmark_regressor
        from fer_lib.scales import default_device

        regressor = train_landmark_regressor(args.scale, args.device or default_device(), args.data_root)
        print(f"landmark regressor: {regressor.weights} (trained in {regressor.train_seconds:.0f} s)")
        return 0
    if args.command == "pretrain":
        from fer_lib.protocols.pretrain import pretrained_trunk
        from fer_lib.scales import default_device

        trunk = pretrained_trunk(args.source, args.scale, args.device or default_device(), args.data_root,
                                 arch=args.arch)
        print(f"{trunk.describe()}: {trunk.path} (trained in {trunk.train_seconds:.0f} s)")
        return 0
    if args.command == "report":
        from fer_lib.results import build_report

        print(f"wrote {build_report()}")
        return 0
    if args.command == "all" and args.param:
        parser.error("--param sets one notebook's parameters: use it with run, not all")
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
    common = dict(scale=args.scale, dataset=args.dataset, data_root=args.data_root, device=args.device,
                  seeds=seeds, timeout=args.timeout, output_dir=args.output_dir, dry_run=args.dry_run)
    if args.command == "run" and args.executor != "local":
        if args.dry_run:
            parser.error("--dry-run proves the paper path in this process: use it with --executor local")
        spec = ExecutorSpec(args.executor, args.partition, args.gpus_per_job, args.cpus_per_job, args.time_min,
                            args.array_parallelism)
        run_grid(args.paper, args.table, spec, **common, extra_params=parse_params(args.param))
    elif args.command == "run":
        run_table(args.paper, args.table, **common, extra_params=parse_params(args.param))
    else:
        failures = []
        for paper, table, path in list_table_notebooks():
            if args.dry_run and "dry_run" not in declared_parameters(path):
                print(f"skipping {paper} table {table}: it declares no dry_run parameter", flush=True)
                continue
            try:
                out = Path(args.output_dir) / paper if args.output_dir else None
                run_table(paper, table, **{**common, "dataset": None, "output_dir": out})
            except Exception as err:  # keep going: one failing table must not hide the others' results
                print(f"FAILED {paper} table {table}: {err}", file=sys.stderr)
                failures.append(f"{paper}/{table}")
        from fer_lib.results import build_report

        # The report gathers the tables where this run wrote them (results/ unless --output-dir or --dry-run says
        # otherwise).
        root = args.output_dir or (output_dir_for("", "paper", dry_run=True) if args.dry_run else None)
        print(f"wrote {build_report(root)}")
        if failures:
            print(f"failed tables: {', '.join(failures)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

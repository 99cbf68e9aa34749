"""A table's grid of trainings, collected for jobs: the first pass of ``make reproduce ... EXECUTOR=slurm``.

``fer_lib.reproduce`` runs a table's notebook twice when an executor other than ``local`` is asked for. In the
first pass (:data:`COLLECT_ENV` names a folder) :func:`fer_lib.protocols.training.run_seeds` trains nothing it
does not find in the run cache: it records each missing training as a task in that folder and goes on with a
stand-in (the same model after one optimiser step, tested on one batch) so the notebook runs to its end and every
training of the grid is found. The runner then submits the tasks as one job array
(:func:`fer_lib.protocols.jobs.submit`) and runs the notebook a second time, when every run is in the cache.
In that pass :data:`FAILED_ENV` names the tasks whose jobs failed: their cells are written as MISSING with the
job's error, never trained quietly in the notebook's process instead.

This module only stores and reads tasks; it knows no model and no job system.
"""

from __future__ import annotations

import json
import os
import pickle
import time
from pathlib import Path
from typing import Any

from fer_lib.io import atomic_save, atomic_write_text, runs_root

COLLECT_ENV = "FER_GRID_COLLECT"
FAILED_ENV = "FER_GRID_FAILED"
TASKS_DIR = "tasks"


def new_folder(paper: str, table: str) -> Path:
    """A fresh folder for one table's jobs: their files and logs, and a grid's tasks (``runs/grid/``)."""
    return runs_root() / "grid" / f"{paper}-{table}-{time.strftime('%Y%m%d-%H%M%S')}"


def collecting() -> Path | None:
    """The folder this process collects a grid's tasks in (the first pass), or ``None``."""
    folder = os.environ.get(COLLECT_ENV)
    return Path(folder) if folder else None


def record(folder: Path, run: str, task: Any) -> None:
    """Keep ``task`` (the training of run ``run``) for the grid; a run two cells share is recorded once."""
    path = folder / TASKS_DIR / f"{run}.pkl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_save(path, lambda tmp: tmp.write_bytes(pickle.dumps(task)))


def tasks(folder: Path) -> dict[str, Any]:
    """``{run: task}`` of the grid collected in ``folder`` (written by this project's own first pass)."""
    return {p.stem: pickle.loads(p.read_bytes()) for p in sorted((folder / TASKS_DIR).glob("*.pkl"))}


def write_failures(folder: Path, failures: dict[str, str]) -> Path:
    """Record ``{run: the job's error}`` for the second pass; returns the file to name in :data:`FAILED_ENV`."""
    return atomic_write_text(folder / "failed.json", json.dumps(failures, indent=1))


def failure(run: str) -> str | None:
    """The error of the job that should have trained ``run`` (second pass), or ``None``."""
    path = os.environ.get(FAILED_ENV)
    if not path or not Path(path).is_file():
        return None
    return json.loads(Path(path).read_text()).get(run)


__all__ = ["COLLECT_ENV", "FAILED_ENV", "collecting", "failure", "new_folder", "record", "tasks", "write_failures"]

"""The grid's two passes inside run_seeds: collecting the trainings the run cache lacks, and refusing to build a
table whose job failed."""

from __future__ import annotations

import json

import pytest

from fer_lib.protocols import grid
from fer_lib.protocols.splits import load_split
from fer_lib.protocols.training import ModelSetup, RunTask, TrainingJob, cached_run, run_seeds
from fer_lib.recipes import get_recipe
from fer_lib.settings import RunContext


def _context(tmp_path) -> RunContext:
    return RunContext.resolve("pcnn", "v", "smoke", "synth-inthewild", None, "cpu", [0, 1], tmp_path / "out",
                              quiet=True)


def _job() -> TrainingJob:
    return TrainingJob(ModelSetup("resnet18"), "synth-inthewild", get_recipe("resnet", "smoke"))


def test_the_first_pass_collects_each_missing_training_once_and_trains_nothing_into_the_cache(tmp_path,
                                                                                            monkeypatch) -> None:
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv(grid.COLLECT_ENV, str(tmp_path / "grid"))
    ctx, job = _context(tmp_path), _job()
    test = {"test": load_split(job.dataset, "test", job.recipe, None, train=False)}
    outcomes = run_seeds(ctx, job, test)
    run_seeds(ctx, job, test)  # a second cell with the same runs: recorded once
    tasks = grid.tasks(tmp_path / "grid")
    assert len(tasks) == 2 and all(isinstance(t, RunTask) for t in tasks.values())
    assert sorted(t.seed for t in tasks.values()) == [0, 1]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("resnet18-*"))
    assert all(o.run_dir.is_relative_to(tmp_path / "grid" / "stand-in-runs") for o in outcomes)
    train_set = load_split(job.dataset, "train", job.recipe, None, seed=0)
    assert cached_run(job, train_set, 0)[0] in tasks


def test_the_second_pass_stops_at_a_run_whose_job_failed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    job = _job()
    train_set = load_split(job.dataset, "train", job.recipe, None, seed=0)
    run, complete = cached_run(job, train_set, 0)
    assert not complete
    failed = grid.write_failures(tmp_path, {run: "ValueError: out of memory\n--- the job's log: ..."})
    monkeypatch.setenv(grid.FAILED_ENV, str(failed))
    assert json.loads(failed.read_text()) == {run: "ValueError: out of memory\n--- the job's log: ..."}
    with pytest.raises(RuntimeError, match="failed.*\n.*out of memory"):
        run_seeds(_context(tmp_path), job, {})

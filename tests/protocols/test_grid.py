"""The grid's two passes inside run_seeds: collecting the trainings the run cache lacks, and refusing to build a
table whose job failed."""

from __future__ import annotations

import json

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


def test_a_run_whose_job_failed_leaves_its_cell_missing_with_the_reason(tmp_path, monkeypatch) -> None:
    import numpy as np

    from fer_lib.protocols import list_presets, variant_rows
    from fer_lib.results import ResultTable

    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    job = _job()
    train_set = load_split(job.dataset, "train", job.recipe, None, seed=0)
    run, complete = cached_run(job, train_set, 0)
    assert not complete
    failed = grid.write_failures(tmp_path, {run: "ValueError: out of memory\n--- the job's log: ..."})
    monkeypatch.setenv(grid.FAILED_ENV, str(failed))
    assert json.loads(failed.read_text()) == {run: "ValueError: out of memory\n--- the job's log: ..."}
    (missing,) = run_seeds(RunContext.resolve("pcnn", "v", "smoke", "synth-inthewild", None, "cpu", [0],
                                              tmp_path / "out", quiet=True), job, {})
    assert missing.model is None and "out of memory" in missing.failure
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("resnet18-*"))  # not trained here
    # In a table, as run_grid's passes see it: the first pass collects the run, its job fails, the second pass
    # writes the cell as NaN, saying why.
    ctx = RunContext.resolve("pcnn", "ii", "smoke", "synth-inthewild", None, "cpu", [0], tmp_path / "out",
                             quiet=True)
    monkeypatch.delenv(grid.FAILED_ENV)
    monkeypatch.setenv(grid.COLLECT_ENV, str(tmp_path / "grid"))
    name = list_presets("pcnn", "II")[0]
    variant_rows(ctx, ResultTable(ctx), {name: "row"}, {"RAF-DB": "synth-inthewild"})
    (run,) = grid.tasks(tmp_path / "grid")
    monkeypatch.delenv(grid.COLLECT_ENV)
    monkeypatch.setenv(grid.FAILED_ENV, str(grid.write_failures(tmp_path, {run: "RuntimeError: node died"})))
    table = ResultTable(ctx)
    variant_rows(ctx, table, {name: "row"}, {"RAF-DB": "synth-inthewild"})
    (cell,) = table.rows
    assert np.isnan(cell["value"]) and cell["note"].startswith("MISSING: the job of seed(s) 0 failed")
    assert "node died" in cell["note"]


def test_a_trunk_whose_pretraining_job_failed_is_not_trained_in_the_second_pass(tmp_path, monkeypatch, capsys) -> None:
    from fer_lib.protocols import pretrain

    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv(grid.COLLECT_ENV, str(tmp_path / "grid"))
    collected = pretrain.pretrained_trunk("synth", "smoke", "cpu")
    (task,) = grid.tasks(tmp_path / "grid").values()
    assert task.keep_trunk and "collected for the grid's jobs" in capsys.readouterr().out
    monkeypatch.delenv(grid.COLLECT_ENV)
    monkeypatch.setenv(grid.FAILED_ENV, str(grid.write_failures(tmp_path, {collected.run: "OSError: disk full"})))
    pretrain._pretrained.cache_clear()  # the second pass is another process
    second = pretrain.pretrained_trunk("synth", "smoke", "cpu")
    assert second.run == collected.run and not second.path.exists()
    assert "MISSING, its job failed:\nOSError: disk full" in capsys.readouterr().out
    assert not any((tmp_path / "runs").glob("resnet18-*/model.pt"))  # nothing trained here instead

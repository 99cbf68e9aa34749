from __future__ import annotations

import pytest
import torch

from fer_lib.cluster.local import PARTITION
from fer_lib.cluster.spec import ExecutorSpec
from fer_lib.protocols.jobs import submit
from fer_lib.protocols.splits import load_split
from fer_lib.protocols.training import ModelSetup, RunTask, TrainingJob, train_and_evaluate
from fer_lib.recipes import get_recipe


def _task(tmp_path, seed: int, dataset: str = "synth-inthewild") -> RunTask:
    job = TrainingJob(ModelSetup("resnet18"), dataset, get_recipe("resnet", "smoke"), label=f"resnet18 on {dataset}")
    return RunTask(job, seed, None, str(tmp_path / "cluster-runs"))


def test_a_job_array_trains_the_weights_a_local_run_trains_and_reports_a_failure(slurm, tmp_path, monkeypatch,
                                                                                 capsys, one_thread) -> None:
    tasks = [_task(tmp_path, 0), _task(tmp_path, 1), _task(tmp_path, 0, dataset="fer2013")]
    spec = ExecutorSpec("slurm", partition=PARTITION, cpus_per_job=1, time_min=10)  # 1 thread, as here
    done, other_seed, failed = submit(tasks, spec, tmp_path / "jobs", poll_seconds=1)
    assert (done.state, other_seed.state, failed.state) == ("done", "done", "failed")
    assert "data_root" in failed.error and "job's log" in failed.error  # the loader's message and the log
    progress = capsys.readouterr().out
    assert "submitted 3 training(s) to slurm" in progress and "1 failed" in progress
    # The same task trained here, into another run cache: the same run key and the same weights.
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "local-runs"))
    for result in (done, other_seed):
        task = result.task
        train_set = load_split(task.job.dataset, "train", task.job.recipe, None, seed=task.seed)
        local = train_and_evaluate(task.job, train_set, {}, seed=task.seed)
        assert local.run_dir.name == result.run and not local.from_cache
        remote = torch.load(tmp_path / "cluster-runs" / result.run / "model.pt", weights_only=True)
        assert all(torch.equal(remote[k], v) for k, v in local.model.state_dict().items())


def test_the_local_executor_has_nothing_to_submit_and_unknown_kinds_are_refused(tmp_path) -> None:
    assert submit([], ExecutorSpec("slurm"), tmp_path) == []
    with pytest.raises(ValueError, match="nothing to submit"):
        ExecutorSpec().build(tmp_path)
    with pytest.raises(ValueError, match="unknown executor"):
        ExecutorSpec("kubernetes")


def test_a_job_signalled_mid_run_is_requeued_and_ends_with_the_weights_of_an_uninterrupted_run(
        slurm, tmp_path, monkeypatch, one_thread) -> None:
    import subprocess
    import time

    from fer_lib.engine import CHECKPOINT

    recipe = get_recipe("resnet", "smoke", epochs=4, max_train=160)
    task = RunTask(TrainingJob(ModelSetup("resnet18"), "synth-inthewild", recipe), 0, None,
                   str(tmp_path / "cluster-runs"))
    spec = ExecutorSpec("slurm", partition=PARTITION, cpus_per_job=1, time_min=10)
    executor = spec.build(tmp_path / "jobs")
    from fer_lib.protocols.jobs import TrainRun

    job = executor.submit(TrainRun(), task)
    deadline = time.monotonic() + 300
    while not list((tmp_path / "cluster-runs").glob(f"*/{CHECKPOINT}")):  # an epoch is behind it
        assert time.monotonic() < deadline and not job.done(), "the job never wrote a checkpoint"
        time.sleep(0.2)
    # What a time limit or a preemption sends: submitit checkpoints and requeues the job.
    subprocess.run(["scancel", "--signal=USR2", job.job_id], env=slurm.env(), check=True)
    # SLURM holds a requeued job back for a couple of minutes (its begin time); start it now.
    while not job.done() and "BeginTime" not in subprocess.run(
            ["squeue", "-h", "-j", job.job_id, "-o", "%r"], env=slurm.env(), capture_output=True, text=True).stdout:
        assert time.monotonic() < deadline, "the job was not requeued"
        time.sleep(0.5)
    subprocess.run(["scontrol", "update", f"JobId={job.job_id}", "StartTime=now"], env=slurm.env(), check=False)
    run = job.result()
    log = "\n".join(p.read_text() for p in (tmp_path / "jobs").glob("*_log.err"))
    assert "requeu" in log.lower()
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "local-runs"))
    train_set = load_split("synth-inthewild", "train", recipe, None, seed=0)
    straight = train_and_evaluate(task.job, train_set, {}, seed=0)
    assert straight.run_dir.name == run
    resumed = torch.load(tmp_path / "cluster-runs" / run / "model.pt", weights_only=True)
    assert all(torch.equal(resumed[k], v) for k, v in straight.model.state_dict().items())


def test_a_notebooks_executor_parameter_trains_the_missing_seeds_as_jobs(tmp_path, monkeypatch) -> None:
    import json
    import os

    from fer_lib.protocols import train_model
    from fer_lib.settings import RunContext

    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    ctx = RunContext.resolve("pcnn", "v", "smoke", "synth-inthewild", None, "cpu", [0, 1], tmp_path / "out",
                             quiet=True, executor="submitit-local", executor_options={"cpus_per_job": 1})
    assert ctx.executor == ExecutorSpec("submitit-local", cpus_per_job=1)
    _, outcomes = train_model(ctx, "resnet18", "synth-inthewild", announce=False)
    assert [o.from_cache for o in outcomes] == [True, True]  # the jobs trained them; the notebook loaded them
    for o in outcomes:
        assert json.loads((o.run_dir / "summary.json").read_text())["trained_by"]["pid"] != os.getpid()
    with pytest.raises(ValueError, match="dry run"):
        RunContext.resolve("pcnn", "v", dry_run=True, quiet=True, executor="slurm")
    assert RunContext.resolve("pcnn", "v", "smoke", quiet=True, executor="local").executor is None


def test_a_grid_pretrains_the_missing_trunk_as_a_job_before_the_trainings_that_start_from_it(
        slurm, tmp_path, monkeypatch, capsys, one_thread) -> None:
    from fer_lib.protocols import grid
    from fer_lib.protocols.jobs import submit_grid
    from fer_lib.protocols.pretrain import pretrained_trunk
    from fer_lib.protocols.training import run_seeds
    from fer_lib.settings import RunContext

    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv(grid.COLLECT_ENV, str(tmp_path / "grid"))
    trunk = pretrained_trunk("synth", "smoke", "cpu")  # the first pass: recorded, not trained
    assert not trunk.path.exists()
    ctx = RunContext.resolve("pcnn", "v", "smoke", "synth-inthewild", None, "cpu", [0, 1], tmp_path / "out",
                             quiet=True)
    job = _task(tmp_path, 0).job
    run_seeds(ctx, job, {}, init=trunk)  # stand-ins start from random weights: the trunk does not exist yet
    tasks = grid.tasks(tmp_path / "grid")
    assert sorted(t.keep_trunk for t in tasks.values()) == [False, False, True] and trunk.run in tasks
    assert all(t.init.run == trunk.run for t in tasks.values() if not t.keep_trunk)
    spec = ExecutorSpec("slurm", partition=PARTITION, cpus_per_job=1, time_min=10)
    assert submit_grid(tasks, spec, tmp_path / "jobs", poll_seconds=1) == {}
    assert capsys.readouterr().out.count("submitted") == 2  # two arrays: the pretraining, then the trainings
    assert trunk.path.is_file()
    monkeypatch.delenv(grid.COLLECT_ENV)
    outcomes = run_seeds(ctx, job, {}, init=trunk)  # the second pass: everything from the cache
    assert all(o.from_cache and o.slurm_job for o in outcomes)


def test_a_failed_pretraining_leaves_the_trainings_from_its_trunk_missing_without_submitting_them(
        tmp_path, monkeypatch) -> None:
    import dataclasses

    from fer_lib.protocols import jobs
    from fer_lib.protocols.training import PretrainedTrunk

    trunk = PretrainedTrunk("synth", "resnet18", tmp_path / "absent" / "trunk.pt", "resnet18-pretraining", 0.0)
    pretraining = dataclasses.replace(_task(tmp_path, 0), keep_trunk=True)
    tasks = {"resnet18-pretraining": pretraining, "resnet18-a": dataclasses.replace(_task(tmp_path, 0), init=trunk),
             "resnet18-b": _task(tmp_path, 1)}
    submitted = []

    def fake_submit(wave, spec, folder, poll_seconds):  # the pretraining's job fails, the others succeed
        submitted.append(list(wave))
        return [jobs.TaskResult(t, "1_0", "failed" if t.keep_trunk else "done", error="OSError: disk full")
                for t in wave]

    monkeypatch.setattr(jobs, "submit", fake_submit)
    failures = jobs.submit_grid(tasks, ExecutorSpec("slurm"), tmp_path)
    assert [len(wave) for wave in submitted] == [1, 1] and submitted[1][0].seed == 1  # resnet18-a never submitted
    assert set(failures) == {"resnet18-pretraining", "resnet18-a"}
    assert failures["resnet18-a"].startswith("the pretraining of its trunk (resnet18-pretraining) failed: OSError")


def test_a_notebooks_executor_pretrains_a_missing_trunk_as_a_job(tmp_path, monkeypatch) -> None:
    import json
    import os

    from fer_lib.protocols.pretrain import pretrained_trunk

    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    trunk = pretrained_trunk("synth", "smoke", "cpu", executor=ExecutorSpec("submitit-local", cpus_per_job=1))
    assert trunk.path.is_file()
    trainer = json.loads((trunk.path.parent / "summary.json").read_text())["trained_by"]
    assert trainer["pid"] != os.getpid()  # trained by the job's process, then loaded here from the run cache

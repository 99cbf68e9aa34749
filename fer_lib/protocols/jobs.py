"""Training a table's runs as jobs: subprocesses on this machine (``submitit-local``) or a SLURM cluster
(``slurm``), through submitit (:class:`fer_lib.cluster.spec.ExecutorSpec`).

A :class:`~fer_lib.protocols.training.RunTask` is one training of a table's grid as a job performs it: load the
training split the recipe asks for, train (resuming from the run's last epoch checkpoint when there is one) and
leave the run in the run cache, the join point: the notebook then loads every run from the cache exactly as after
a local run. Jobs train under the run cache's claim (:mod:`fer_lib.locking`), so a key is never trained twice at
once, whoever submits it.

:func:`submit` sends tasks as one job array (submitit's ``map_array``), shows the jobs' states while they run
(queued / running / done / failed) and returns one :class:`TaskResult` per task, a failed one with its error and
the tail of its job's log. A job stopped by a time limit or preemption is requeued by submitit
(:class:`TrainRun` is ``Checkpointable``) and resumes from its last epoch: the same final weights as one
uninterrupted run (the engine's resume guarantee).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import submitit
import torch

from fer_lib.cluster.spec import ExecutorSpec
from fer_lib.protocols.splits import load_split
from fer_lib.protocols.training import RunTask, save_trunk, train_and_evaluate

#: submitit's job states, grouped as the progress line shows them.
_GROUPS = {"PENDING": "queued", "REQUEUED": "queued", "CONFIGURING": "queued", "UNKNOWN": "queued",
           "RUNNING": "running", "COMPLETING": "running", "COMPLETED": "done", "FINISHED": "done"}


class TrainRun(submitit.helpers.Checkpointable):
    """A job's work: train one :class:`RunTask` into the run cache; returns the run's folder name. On a time limit
    or preemption submitit calls :meth:`checkpoint` (Checkpointable's: the same call again), and the requeued job
    resumes from the run's last epoch checkpoint."""

    def __call__(self, task: RunTask) -> str:
        os.environ["FER_RUNS_DIR"] = task.runs_root
        if os.environ.get("SLURM_CPUS_PER_TASK"):  # the CPUs the job was given, not the node's
            torch.set_num_threads(int(os.environ["SLURM_CPUS_PER_TASK"]))
        train_set = load_split(task.job.dataset, task.job.train_split, task.job.recipe, task.data_root,
                               seed=task.seed, **task.job.loader_options())
        out = train_and_evaluate(task.job, train_set, {}, seed=task.seed, init=task.init, landmarks=task.landmarks)
        if task.keep_trunk:
            save_trunk(out)
        state = "was in the run cache" if out.from_cache else f"trained in {out.train_seconds:.0f} s"
        print(f"{task.describe()}: {out.run_dir.name} {state}", flush=True)
        return out.run_dir.name


@dataclasses.dataclass
class TaskResult:
    """How one task's job ended: ``done`` with its run's folder name, or ``failed`` with the error and the tail
    of the job's log."""

    task: RunTask
    job_id: str
    state: str
    run: str | None = None
    error: str = ""


def _tail(path: Path | None, lines: int = 20) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:]) if path else ""
    except OSError:
        return ""


def _group(job: submitit.Job) -> str:
    state = job.state.upper().split()[0] if job.state else "UNKNOWN"
    if job.done():
        return "failed" if job.exception() is not None else "done"
    return _GROUPS.get(state, "failed" if state in ("FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY",
                                                      "NODE_FAIL") else "running")


def submit(tasks: Sequence[RunTask], spec: ExecutorSpec, folder: str | os.PathLike, poll_seconds: float = 5.0,
           progress: bool = True) -> list[TaskResult]:
    """Run ``tasks`` as one job array with ``spec`` (job files and logs under ``folder``) and wait for all of them,
    printing the count of queued / running / done / failed jobs whenever it changes."""
    if not tasks:
        return []
    executor = spec.build(folder)
    jobs = executor.map_array(TrainRun(), list(tasks))
    if progress:
        print(f"submitted {len(jobs)} training(s) to {spec.kind} (job {jobs[0].job_id.split('_')[0]}; logs in "
              f"{folder})", flush=True)
    shown: dict[str, int] = {}
    while True:
        counts = Counter(_group(job) for job in jobs)
        if progress and dict(counts) != shown:
            shown = dict(counts)
            print("  " + ", ".join(f"{counts.get(g, 0)} {g}" for g in ("queued", "running", "done", "failed")),
                  flush=True)
        if all(job.done() for job in jobs):
            break
        time.sleep(poll_seconds)
    results = []
    for task, job in zip(tasks, jobs, strict=True):
        error = job.exception()
        if error is None:
            results.append(TaskResult(task, job.job_id, "done", run=job.result()))
        else:
            log = _tail(job.paths.stderr) or _tail(job.paths.stdout)
            results.append(TaskResult(task, job.job_id, "failed", error=f"{type(error).__name__}: "
                                      f"{str(error).strip().splitlines()[-1] if str(error).strip() else ''}"
                                      + (f"\n--- the job's log (last lines):\n{log}" if log else "")))
    return results


def submit_grid(tasks: Mapping[str, RunTask], spec: ExecutorSpec, folder: str | os.PathLike,
                poll_seconds: float = 5.0) -> dict[str, str]:
    """Run a grid's ``{run: task}`` (:func:`fer_lib.protocols.grid.tasks`) with ``spec`` and return ``{run: error}``
    of the runs that were not trained. Two job arrays: first the trunks' pretrainings, then every training; a
    training whose pretrained trunk failed is not submitted (it could only fail too): its error names the
    pretraining's."""
    pretrainings = {run: task for run, task in tasks.items() if task.keep_trunk}
    trainings = {run: task for run, task in tasks.items() if not task.keep_trunk}
    failures: dict[str, str] = {}
    for wave in (pretrainings, trainings):
        blocked = {run: f"the pretraining of its trunk ({task.init.run}) failed: {failures[task.init.run]}"
                   for run, task in wave.items() if task.init is not None and task.init.run in failures}
        failures.update(blocked)
        runs = [run for run in wave if run not in blocked]
        results = submit([wave[run] for run in runs], spec, folder, poll_seconds=poll_seconds)
        failures.update({run: r.error for run, r in zip(runs, results, strict=True) if r.state == "failed"})
    return failures


__all__ = ["TaskResult", "TrainRun", "submit", "submit_grid"]

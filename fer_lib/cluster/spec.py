"""Where a table's trainings run (``make reproduce ... EXECUTOR=...``): a light module, so that the command line
and the settings can name an executor without importing submitit or the training code."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

EXECUTORS: tuple[str, ...] = ("local", "submitit-local", "slurm")


@dataclasses.dataclass(frozen=True)
class ExecutorSpec:
    """Where a table's trainings run. ``partition``, ``gpus_per_job``, ``cpus_per_job``, ``time_min`` (a job's
    time limit; a job stopped by it is requeued and resumes) and ``array_parallelism`` (jobs of the array running
    at once) apply to ``slurm``; ``submitit-local`` runs the jobs as subprocesses here."""

    kind: str = "local"
    partition: str | None = None
    gpus_per_job: int = 0
    cpus_per_job: int = 2
    time_min: int = 240
    array_parallelism: int = 16

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise ValueError(f"unknown executor {self.kind!r}; expected one of {', '.join(EXECUTORS)}")

    @property
    def remote(self) -> bool:
        return self.kind != "local"

    def build(self, folder: str | os.PathLike) -> Any:
        """The submitit executor writing its job files and logs under ``folder``."""
        if not self.remote:
            raise ValueError("the local executor trains in the notebook's process: nothing to submit")
        import submitit

        executor = submitit.AutoExecutor(folder=folder, cluster="local" if self.kind == "submitit-local" else "slurm")
        params = {"timeout_min": self.time_min, "cpus_per_task": self.cpus_per_job}
        if self.gpus_per_job:
            params["gpus_per_node"] = self.gpus_per_job
        if self.kind == "slurm":
            params["slurm_array_parallelism"] = self.array_parallelism
            if self.partition:
                params["slurm_partition"] = self.partition
        executor.update_parameters(**params)
        return executor


__all__ = ["EXECUTORS", "ExecutorSpec"]

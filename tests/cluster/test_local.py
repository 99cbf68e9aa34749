from __future__ import annotations

import os
import subprocess

import submitit

from fer_lib.cluster.local import PARTITION


def _square(x: int) -> int:
    return x * x


def test_the_local_cluster_runs_a_submitit_job_array(slurm, tmp_path) -> None:
    info = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %c %T"], env=slurm.env(), capture_output=True, text=True)
    node, cpus, state = info.stdout.split()
    assert node == slurm.node and int(cpus) == os.cpu_count() and state in ("idle", "mixed", "allocated")
    executor = submitit.AutoExecutor(folder=tmp_path / "jobs", cluster="slurm")
    executor.update_parameters(slurm_partition=PARTITION, cpus_per_task=1, timeout_min=5, slurm_array_parallelism=2)
    jobs = executor.map_array(_square, [1, 2, 3])
    assert [job.result() for job in jobs] == [1, 4, 9]
    assert len({job.job_id.split("_")[0] for job in jobs}) == 1  # one array


def test_the_cluster_stops_by_its_own_process_ids(tmp_path) -> None:
    import pytest

    from fer_lib.cluster.local import LocalSlurm, unavailable

    if unavailable():
        pytest.skip(unavailable())
    second = LocalSlurm(tmp_path / "second").start()  # beside the session's: its own ports, socket and state
    pids = second.pids()
    assert set(pids) == {"munged", "slurmctld", "slurmd"}
    second.stop()
    for pid in pids.values():
        assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower()

from __future__ import annotations

import os

import pandas as pd

from fer_lib.cluster.local import PARTITION
from fer_lib.cluster.spec import ExecutorSpec
from fer_lib.reproduce import run_grid, run_table


def test_a_smoke_table_run_as_slurm_jobs_has_the_cells_of_the_local_run(slurm, tmp_path, monkeypatch,
                                                                        capsys) -> None:
    # One thread count everywhere (the kernel's default and each job's CPUs): the same floating-point sums.
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cpus = os.cpu_count() or 1
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "cluster-runs"))
    spec = ExecutorSpec("slurm", partition=PARTITION, cpus_per_job=cpus, time_min=10)
    run_grid("pcnn", "v", spec, scale="smoke", output_dir=tmp_path / "cluster")
    out = capsys.readouterr().out
    assert "2 training(s) to run as jobs" in out and "submitted 2 training(s) to slurm" in out
    assert list((tmp_path / "cluster-runs" / "grid").glob("pcnn-v-*/first-pass/table_v.csv"))  # the scratch pass
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "local-runs"))
    run_table("pcnn", "v", scale="smoke", output_dir=tmp_path / "local")
    cluster, local = (pd.read_csv(tmp_path / d / "table_v.csv") for d in ("cluster", "local"))
    assert len(cluster) == len(local) > 0
    for column in ("row", "column", "value", "ci_low", "ci_high", "majority_floor"):
        assert cluster[column].tolist() == local[column].tolist(), column
    assert cluster["runs"].str.replace("*", "").tolist() == local["runs"].str.replace("*", "").tolist()
    assert cluster["runs"].str.endswith("*").all()  # the table was built from runs the jobs had trained
    assert cluster["slurm_jobs"].str.len().gt(0).all() and local["slurm_jobs"].isna().all()  # who trained them

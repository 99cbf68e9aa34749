"""fer_lib.sweeps: the alpha/beta sweep reuses the Table I/II preset runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from fer_lib.data.fixtures import write_rafdb
from fer_lib.experiment import variant_rows
from fer_lib.results import TableRun
from fer_lib.sweeps import balance_sweep


def _run(table: str, root: Path, tmp_path: Path) -> TableRun:
    return TableRun("pcnn", table, "smoke", "rafdb", root, "cpu", [0], tmp_path / "out", quiet=True)


def test_balance_sweep_rejects_no_pairs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pairs is empty"):
        balance_sweep(_run("i", tmp_path, tmp_path), [], "rafdb")


@pytest.mark.slow
def test_balance_sweep_reuses_the_preset_run(tmp_path: Path) -> None:
    root = write_rafdb(tmp_path / "rafdb", n_train=14, n_test=7)
    variant_rows(_run("i", root, tmp_path), {"table1_pcnn": "PCNN"}, {"RAF-DB": "rafdb"})
    frame = balance_sweep(_run("figure_10", root, tmp_path), [(12, 8)], "rafdb")
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["alpha"], row["beta"], row["n_test"]) == (12.0, 8.0, 7)
    assert bool(row["from_cache"]) and row["ci_low"] <= row["accuracy"] <= row["ci_high"]
    assert row["run"].startswith("pcnn-") and "/" not in row["run"]  # a run-cache name, not this machine's path

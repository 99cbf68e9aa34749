"""Tests for scripts/synth_difficulty.py: speed.csv keeps one row per CPU model and image size."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("synth_difficulty.py")


def _rows(cpu: str, rate: float) -> pd.DataFrame:
    return pd.DataFrame({"image_size": [64, 112], "images_per_s_cpu": [rate, rate / 2], "cpu": [cpu, cpu]})


def test_merge_speed_keeps_other_hosts_and_replaces_this_one(script, tmp_path: Path) -> None:
    path = tmp_path / "speed.csv"
    pd.concat([_rows("cpu (AMD EPYC, 1 threads)", 1000.0), _rows("cpu (Intel Xeon, 1 threads)", 500.0)]).to_csv(
        path, index=False
    )
    merged = script.merge_speed(path, _rows("cpu (Intel Xeon, 1 threads)", 600.0))
    assert len(merged) == 4
    by_host = merged.groupby("cpu")["images_per_s_cpu"].max().to_dict()
    assert by_host == {"cpu (AMD EPYC, 1 threads)": 1000.0, "cpu (Intel Xeon, 1 threads)": 600.0}
    assert list(merged["image_size"]) == [64, 112, 64, 112]


def test_merge_speed_without_a_comparable_old_file_returns_the_measurement(script, tmp_path: Path) -> None:
    measured = _rows("cpu (Intel Xeon, 1 threads)", 600.0)
    assert script.merge_speed(tmp_path / "missing.csv", measured).equals(measured)
    (tmp_path / "empty.csv").write_text("")
    assert script.merge_speed(tmp_path / "empty.csv", measured).equals(measured)
    pd.DataFrame({"other": [1]}).to_csv(tmp_path / "old.csv", index=False)
    assert script.merge_speed(tmp_path / "old.csv", measured).equals(measured)

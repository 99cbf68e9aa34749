"""Tests for scripts/bench.py (``make bench``) on a tiny configuration."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script("bench.py")


TINY = ["--size", "32", "--batch", "2", "--steps", "1", "--runs", "2", "--warmup", "0", "--threads", "1"]


def test_bench_writes_rows_with_ratios(bench, tmp_path: Path) -> None:
    out = tmp_path / "bench.csv"
    assert bench.main([*TINY, "--models", "resnet18", "--output", str(out)]) == 0
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == bench.COLUMNS
    assert [r["model"] for r in rows] == [bench.REFERENCE, "resnet18"]
    ref, r18 = rows
    assert float(ref["latency_ratio_vs_resnet18"]) == 1.0
    assert float(r18["params_m"]) == pytest.approx(11.18, abs=0.01)  # 7-way head
    assert float(r18["gmacs"]) > 0 and float(r18["train_items_per_s"]) > 0
    assert float(r18["latency_ratio_vs_resnet18"]) > 0 and r18["torch_version"] and r18["git_commit"]


def test_failing_model_is_reported_not_fatal(bench, monkeypatch) -> None:
    def broken(name, size, num_classes):
        raise RuntimeError("cannot build")

    monkeypatch.setattr(bench, "build", broken)
    row = bench.measure("resnet18", bench.parse_args(TINY), bench.torch.device("cpu"))
    assert row["note"] == "RuntimeError: cannot build" and "latency_ms_mean" not in row


def test_csv_write_is_atomic(bench, tmp_path: Path) -> None:
    out = tmp_path / "bench.csv"
    out.write_text("previous\n")

    class Exploding(dict):
        def get(self, key, default=None):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        bench.write_csv([Exploding(model="x")], out)
    assert out.read_text() == "previous\n"
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_unknown_model_is_a_clear_error(bench, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="unknown model"):
        bench.main([*TINY, "--models", "nope", "--output", str(tmp_path / "b.csv")])

from __future__ import annotations

import json
import types

import pytest

from fer_lib.io import atomic_open, atomic_save, atomic_write_text, code_keyed_cache_file


def test_atomic_write_leaves_no_partial_file_on_error(tmp_path):
    target = tmp_path / "table.csv"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half a tab")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_atomic_save_new_file_vanishes_on_error(tmp_path):
    target = tmp_path / "sub" / "fig.png"

    def writer(tmp):
        tmp.write_bytes(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_save(target, writer)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_atomic_write_replaces(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "1")
    atomic_write_text(target, "2")
    assert target.read_text() == "2"


def test_figure_sort_key_orders_figures_by_number():
    from pathlib import Path

    from fer_lib.io import figure_sort_key

    paths = [Path(p) for p in ("pcnn/figure_10.png", "gms/figure_2.png", "pcnn/figure_9.png", "pcnn/figure_11.png")]
    assert [str(p) for p in sorted(paths, key=figure_sort_key)] == [
        "gms/figure_2.png", "pcnn/figure_9.png", "pcnn/figure_10.png", "pcnn/figure_11.png"]


def test_a_code_keyed_cache_file_changes_with_the_values_and_with_the_code(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_LIB_CACHE", str(tmp_path))
    path = code_keyed_cache_file("frozen", ["key-a"], [json])
    assert path.parent == tmp_path / "frozen" and path.suffix == ".pt"
    assert code_keyed_cache_file("frozen", ["key-a"], [json]) == path  # stable across calls
    assert code_keyed_cache_file("frozen", ["key-b"], [json]) != path
    assert code_keyed_cache_file("frozen", [b"key-a"], [json]) == path  # bytes and text alike
    assert code_keyed_cache_file("frozen", ["key-a"], [types]) != path  # another module's code, another file
    assert code_keyed_cache_file("modalities", ["key-a"], [json]).parent.name == "modalities"

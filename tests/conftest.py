"""Shared test fixtures: small thread counts, the real-data location, temporary run folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (or ``FER_SHARED_DATA``); skips the test when the real data is absent."""
    from fer_lib.io import shared_data_root

    root = shared_data_root()
    if root is None:
        pytest.skip("real development data not found: set FER_SHARED_DATA or place it at ../shared/data")
    return root


@pytest.fixture(autouse=True)
def _isolated_runs(tmp_path, monkeypatch):
    """Keep every test's run cache and results out of the checkout."""
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("FER_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.delenv("FORCE", raising=False)
    monkeypatch.delenv("FER_FORCE", raising=False)

"""Shared test fixtures: small thread counts, the real-data location, temporary run folders, scripts/ modules."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

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


@pytest.fixture(scope="session")
def load_script() -> Callable[[str], ModuleType]:
    """Imports a file of ``scripts/`` (not a package) as a module, e.g. ``load_script("bench.py")``."""
    scripts = Path(__file__).resolve().parents[1] / "scripts"

    def load(filename: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"fer_script_{Path(filename).stem}", scripts / filename)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def one_thread():
    """One torch thread for the test (the machine's 2 cores are shared; timings stay stable), restored after."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(autouse=True)
def _isolated_runs(tmp_path, monkeypatch):
    """Keep every test's run cache and results out of the checkout."""
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("FER_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.delenv("FORCE", raising=False)
    monkeypatch.delenv("FER_FORCE", raising=False)

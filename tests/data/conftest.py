"""Fixtures of the dataset-loader tests: tiny datasets in their exact distributed layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from fer_lib.data import fixtures


@pytest.fixture(scope="session")
def fixture_roots(tmp_path_factory) -> dict[str, Path]:
    """Every loader's fixture, written once per test session (FER2013 pixel cache disabled)."""
    return fixtures.write_all(tmp_path_factory.mktemp("fer_fixtures"))


@pytest.fixture(autouse=True)
def _tmp_pixel_cache(request, tmp_path, monkeypatch):
    """Fixture tests keep the FER2013 pixel cache out of the home folder; real-data tests share it."""
    if "shared_data" not in request.fixturenames:
        monkeypatch.setenv("FER_LIB_CACHE", str(tmp_path / "cache"))

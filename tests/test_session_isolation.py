"""The session-wide isolation of the top-level conftest.py: child processes of pytest (the nbval
notebook kernels of ``make test``) must not write runs or results into the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Captured at collection, outside any test: tests/conftest.py's autouse fixture replaces these
# variables per test, but a notebook kernel started by nbval sees the session's values.
SESSION_ENV = dict(os.environ)


def _inside_repo(path: str | os.PathLike) -> bool:
    return Path(path).resolve().is_relative_to(REPO)


@pytest.mark.parametrize("name", ["FER_RUNS_DIR", "FER_RESULTS_DIR"])
def test_session_folders_are_set_and_outside_the_checkout(name: str) -> None:
    assert SESSION_ENV.get(name), f"{name} is not set for the pytest session (see the top-level conftest.py)"
    assert not _inside_repo(SESSION_ENV[name]), f"{name}={SESSION_ENV[name]} is inside the checkout {REPO}"


def test_child_process_resolves_runs_and_results_outside_the_checkout() -> None:
    """What a notebook kernel would see: fer_lib.io in a fresh interpreter with the session's environment."""
    code = ("from fer_lib.io import results_root, runs_root\n"
            "print(runs_root()); print(runs_root() / 'smoke-results'); print(results_root())")
    out = subprocess.run([sys.executable, "-c", code], env=SESSION_ENV, cwd=REPO, capture_output=True,
                         text=True, check=True, timeout=120).stdout.splitlines()
    assert len(out) == 3, out
    for path in out:
        assert not _inside_repo(path), f"a child process would write into the checkout: {path}"

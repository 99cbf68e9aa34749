"""Session-wide isolation of the run cache and results for every pytest run of the project.

``make test`` runs the unit tests and every notebook under nbval. tests/conftest.py isolates each
unit test, but the notebook kernels are child processes of pytest: they see only pytest's own
environment. So, before collection, FER_RUNS_DIR and FER_RESULTS_DIR are pointed at a fresh
temporary folder (each only when the user has not set it), the kernels inherit them, and smoke runs
(``runs/smoke-results``) and results land there instead of in the checkout. The folder is removed
when pytest ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

#: Variable -> sub-folder of the session's temporary folder.
ISOLATED = {"FER_RUNS_DIR": "runs", "FER_RESULTS_DIR": "results"}

_session_dir: str | None = None
_set_here: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    global _session_dir
    missing = [name for name in ISOLATED if not os.environ.get(name)]
    if not missing or _session_dir is not None:
        return
    _session_dir = tempfile.mkdtemp(prefix="fer_lib_pytest_")
    for name in missing:
        os.environ[name] = os.path.join(_session_dir, ISOLATED[name])
        _set_here.append(name)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _session_dir
    if _session_dir is None:
        return
    for name in _set_here:
        os.environ.pop(name, None)
    _set_here.clear()
    shutil.rmtree(_session_dir, ignore_errors=True)
    _session_dir = None

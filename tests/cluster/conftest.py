"""A real single-node SLURM for the cluster tests, started once per session; skipped only where it cannot run."""

from __future__ import annotations

import pytest

from fer_lib.cluster.local import LocalSlurm, unavailable


@pytest.fixture(scope="session")
def slurm(tmp_path_factory, request):
    """The running cluster, with ``SLURM_CONF`` pointing at it for the session's clients; stopped at the end."""
    problem = unavailable()
    if problem:
        pytest.skip(f"no local SLURM cluster: {problem}")
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm")).start()
    patch = pytest.MonkeyPatch()
    patch.setenv("SLURM_CONF", str(cluster.conf))
    yield cluster
    patch.undo()
    cluster.stop()

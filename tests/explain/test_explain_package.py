"""fer_lib.explain re-exports what notebooks use, and holds no run-loading code or wrapper of its own."""

from __future__ import annotations

import fer_lib.explain as E
from fer_lib import runs
from fer_lib.models import outputs


def test_public_names_are_re_exported():
    assert E.load_run is runs.load_run and E.run_choices is runs.run_choices and E.LoadedRun is runs.LoadedRun
    assert E.TensorOutput is outputs.TensorOutput and E.unwrap is outputs.unwrap
    for name in E.__all__:
        assert getattr(E, name) is not None, name
    assert not hasattr(E, "LogitsOnly")

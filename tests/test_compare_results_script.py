"""scripts/compare_results.py: result values must agree; provenance and measured timings may differ."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def compare(load_script):
    return load_script("compare_results.py")


def _table(value: float, commit: str = "abc", latency: float = 3.0) -> pd.DataFrame:
    return pd.DataFrame({"row": ["PCNN", "PCNN"], "column": ["Accuracy(%)", "Running time (ms)"],
                         "value": [value, latency], "git_commit": [commit, commit], "note": ["a", "b"]})


def test_provenance_and_timings_may_differ_values_may_not(compare, tmp_path) -> None:
    assert compare.compare_frames(_table(41.0), _table(41.0, commit="def", latency=9.0)) == []
    problems = compare.compare_frames(_table(41.0), _table(40.5))
    assert len(problems) == 1 and problems[0].startswith("value: 1 cell(s) differ")
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir(), after.mkdir()
    _table(41.0).to_csv(before / "table_v.csv", index=False)
    _table(41.0, commit="new").to_csv(after / "table_v.csv", index=False)
    assert compare.main([str(before), str(after)]) == 0
    _table(39.0).to_csv(after / "table_v.csv", index=False)
    assert compare.main([str(before), str(after)]) == 1
    assert compare.main([str(before), str(tmp_path / "nowhere")]) == 1

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402

from fer_lib.plots import paper_vs_reproduced  # noqa: E402


def test_paper_vs_reproduced_shows_the_interval_and_the_floor() -> None:
    frame = pd.DataFrame({"row": ["a", "b"], "column": ["x", "x"], "paper_value": [70.0, 72.0],
                          "value": [40.0, 45.0], "std": [1.0, 1.0], "ci_low": [35.0, 44.0],
                          "ci_high": [46.0, 47.0], "majority_floor": [16.7, 16.7]})
    ax = paper_vs_reproduced(frame)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["majority-class floor", "paper", "reproduced (95% CI)"]
    floors = [c for c in ax.collections if c.get_label() == "majority-class floor"]
    assert len(floors) == 1 and float(floors[0].get_segments()[0][0][1]) == 16.7
    # Without intervals and floors (older frames): the std, no floor.
    ax = paper_vs_reproduced(frame.drop(columns=["ci_low", "ci_high", "majority_floor"]))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["paper", "reproduced"]

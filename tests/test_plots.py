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


def test_landmark_figures_draw_each_test_set_and_point_set():
    import numpy as np
    import pandas as pd

    from fer_lib.plots import cumulative_errors, landmarks_on_faces

    errors = pd.DataFrame({"test": ["a"] * 4 + ["b"] * 2, "nme": [1.0, 2.0, 3.0, 30.0, 5.0, 6.0],
                           "mean_shape_nme": [10.0, 12.0, 14.0, 40.0, 15.0, 16.0]})
    ax = cumulative_errors(errors)
    curves = {line.get_label(): line.get_ydata() for line in ax.get_lines() if not line.get_label().startswith("_")}
    assert len(curves) == 4
    assert curves["a: regressor (mean 9.0)"][-1] == 75.0  # 30 % is beyond the 20 % axis: 3 of 4 faces
    faces = np.zeros((3, 20, 20))
    points = np.full((3, 68, 2), 10.0)
    fig = landmarks_on_faces(faces, [("ref", points, "lime"), ("ours", points + 50, "red")], ["x", "y", "z"],
                             columns=2)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 3 and drawn[0].get_title() == "x"
    assert drawn[0].get_xlim() == (-0.5, 19.5)  # far-off points do not widen the face
    import matplotlib.pyplot as plt

    plt.close("all")

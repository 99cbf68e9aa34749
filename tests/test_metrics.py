from __future__ import annotations

import numpy as np
import pytest

from fer_lib import metrics as M


def test_accuracy_and_confusion():
    t = [0, 0, 1, 1, 2, 2]
    p = [0, 1, 1, 1, 2, 0]
    assert M.accuracy(t, p) == pytest.approx(4 / 6 * 100)
    cm = M.confusion_matrix(t, p, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert M.per_class_accuracy(t, p, 3).tolist() == pytest.approx([50, 100, 50])
    assert M.mean_class_accuracy(t, p, 3) == pytest.approx(200 / 3)


def test_mean_class_accuracy_ignores_absent_classes():
    assert M.mean_class_accuracy([0, 0, 1], [0, 0, 0], 4) == pytest.approx(50.0)


def test_macro_f1_matches_hand_computation():
    # class 0: P=1/2 R=1/2 F=.5 ; class 1: P=2/3 R=1 F=.8 ; class 2: P=1 R=1/2 F=2/3
    t = [0, 0, 1, 1, 2, 2]
    p = [0, 1, 1, 1, 2, 0]
    assert M.macro_f1(t, p, 3) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3 * 100)


def test_bootstrap_ci_brackets_accuracy_and_narrows_with_n():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 7, 2000)
    p = np.where(rng.random(2000) < 0.7, t, (t + 1) % 7)
    low, high = M.bootstrap_ci(t, p)
    acc = M.accuracy(t, p)
    assert low < acc < high
    assert high - low < 5
    low_s, high_s = M.bootstrap_ci(t[:100], p[:100])
    assert high_s - low_s > high - low


def test_mean_std_over_seeds():
    assert M.mean_std([1.0, 3.0]) == pytest.approx((2.0, np.sqrt(2)))
    assert M.mean_std([5.0]) == (5.0, 0.0)
    assert M.format_mean_std([1.0, 3.0]) == "2.00 ± 1.41"
    with pytest.raises(ValueError):
        M.mean_std([])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="differ"):
        M.accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="num_classes"):
        M.confusion_matrix([0, 3], [0, 1], 3)


def test_summarize_and_confusion_frame():
    s = M.summarize([0, 1, 1], [0, 1, 0], ["neutral", "happiness"])
    assert s["n_samples"] == 3 and s["acc_happiness"] == pytest.approx(50)
    frame = M.confusion_frame([0, 1, 1], [0, 1, 0], ["neutral", "happiness"])
    assert frame.loc["happiness", "neutral"] == pytest.approx(50)


def test_seed_ci_is_the_student_t_interval_of_the_mean():
    from fer_lib.metrics import seed_ci

    low, high = seed_ci([43.57, 34.60, 41.80])
    mean, sd = np.mean([43.57, 34.60, 41.80]), np.std([43.57, 34.60, 41.80], ddof=1)
    assert low == pytest.approx(mean - 4.302653 * sd / np.sqrt(3), abs=1e-4)
    assert high == pytest.approx(mean + 4.302653 * sd / np.sqrt(3), abs=1e-4)
    with pytest.raises(ValueError, match="two"):
        seed_ci([50.0])


def test_majority_floor():
    from fer_lib.metrics import majority_floor

    assert majority_floor([3, 3, 1, 3]) == pytest.approx(75.0)
    with pytest.raises(ValueError, match="empty"):
        majority_floor([])


def test_silhouette_separates_compact_classes_from_overlapping_ones():
    rng = np.random.default_rng(0)
    targets = np.repeat([0, 1, 2], 30)
    apart = rng.normal(size=(90, 4)) * 0.1 + np.eye(4)[targets] * 5
    mixed = rng.normal(size=(90, 4))
    assert M.silhouette(apart, targets) > 0.8 > abs(M.silhouette(mixed, targets))
    with pytest.raises(ValueError, match="two classes"):
        M.silhouette(apart, np.zeros(90))


def test_landmark_nme_is_the_mean_distance_over_the_outer_eye_corners():
    rng = np.random.default_rng(0)
    reference = rng.uniform(0, 100, size=(3, 68, 2))
    reference[:, 36], reference[:, 45] = [30.0, 40.0], [70.0, 40.0]  # inter-ocular distance 40
    assert M.landmark_nme(reference, reference).tolist() == [0.0, 0.0, 0.0]
    shifted = reference + np.array([3.0, 4.0])  # every point 5 away
    assert M.landmark_nme(shifted, reference) == pytest.approx([12.5, 12.5, 12.5])
    one_point = reference.copy()
    one_point[:, 10] += [0.0, 68 * 2.0]  # one point 136 away: mean 2 over 68 points
    assert M.landmark_nme(one_point, reference) == pytest.approx([5.0, 5.0, 5.0])
    with pytest.raises(ValueError, match="68, 2"):
        M.landmark_nme(reference[:, :60], reference[:, :60])
    collapsed = reference.copy()
    collapsed[0, 45] = collapsed[0, 36]
    with pytest.raises(ValueError, match="coincident"):
        M.landmark_nme(reference, collapsed)

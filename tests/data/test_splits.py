from __future__ import annotations

import numpy as np
import pytest

from fer_lib.data.splits import fold_indices, is_subject_independent, leave_one_subject_out, subject_kfold


def _subjects() -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.repeat([f"S{i:03d}" for i in range(23)], rng.integers(1, 9, size=23))


def test_subject_kfold_is_deterministic_balanced_and_subject_independent() -> None:
    subjects = _subjects()
    folds = subject_kfold(subjects, 5, seed=0)
    assert np.array_equal(folds, subject_kfold(subjects, 5, seed=0))
    assert not np.array_equal(folds, subject_kfold(subjects, 5, seed=1))
    assert is_subject_independent(subjects, folds)
    sizes = np.bincount(folds, minlength=5)
    assert sizes.min() > 0 and sizes.max() - sizes.min() <= 8  # at most one subject's worth apart
    train, test = fold_indices(folds, 2)
    assert len(train) + len(test) == len(subjects)
    assert not set(subjects[train]) & set(subjects[test])


def test_subject_kfold_rejects_too_few_subjects() -> None:
    with pytest.raises(ValueError, match="3 subjects"):
        subject_kfold(["a", "b", "c"], 10)


def test_leave_one_subject_out() -> None:
    folds = leave_one_subject_out(["b", "a", "b", "c"])
    assert folds.tolist() == [1, 0, 1, 2]
    with pytest.raises(ValueError, match="out of range"):
        fold_indices(folds, 3)

"""Subject-independent splits: k-fold over subjects and leave-one-subject-out. All deterministic.

Every function returns a fold id per sample (``int64`` array), so a dataset can keep it as metadata and
``train`` / ``test`` of fold ``k`` are ``fold_ids != k`` / ``fold_ids == k``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def subject_kfold(subjects: Sequence | np.ndarray, n_folds: int = 10, seed: int = 0) -> np.ndarray:
    """Assign whole subjects to ``n_folds`` folds of near-equal sample counts.

    Subjects are shuffled with ``seed`` (so the assignment is not alphabetical), then placed largest
    first into the fold with the fewest samples so far (ties: lowest fold id). The same subjects and
    seed always give the same folds, and no subject is in two folds.
    """
    subjects = np.asarray(subjects)
    unique, inverse, counts = np.unique(subjects, return_inverse=True, return_counts=True)
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    if len(unique) < n_folds:
        raise ValueError(f"cannot make {n_folds} subject-independent folds from {len(unique)} subjects")
    order = np.random.default_rng(seed).permutation(len(unique))
    # Stable sort on descending size keeps the shuffled order among subjects of equal size.
    order = order[np.argsort(-counts[order], kind="stable")]
    fold_of_subject = np.empty(len(unique), dtype=np.int64)
    load = np.zeros(n_folds, dtype=np.int64)
    for s in order:
        k = int(np.argmin(load))
        fold_of_subject[s] = k
        load[k] += counts[s]
    return fold_of_subject[inverse]


def leave_one_subject_out(subjects: Sequence | np.ndarray) -> np.ndarray:
    """One fold per subject, numbered in sorted subject order."""
    _, inverse = np.unique(np.asarray(subjects), return_inverse=True)
    return inverse.astype(np.int64)


def fold_indices(fold_ids: np.ndarray, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` sample indices of fold ``fold``."""
    fold_ids = np.asarray(fold_ids)
    n_folds = int(fold_ids.max()) + 1 if len(fold_ids) else 0
    if not 0 <= fold < n_folds:
        raise ValueError(f"fold {fold} out of range 0..{n_folds - 1}")
    test = fold_ids == fold
    return np.flatnonzero(~test), np.flatnonzero(test)


def is_subject_independent(subjects: Sequence | np.ndarray, fold_ids: np.ndarray) -> bool:
    """True when every subject's samples lie in a single fold."""
    subjects = np.asarray(subjects)
    return all(len(np.unique(fold_ids[subjects == s])) == 1 for s in np.unique(subjects))

"""Classification metrics used by every table: accuracy, per-class accuracy, macro-F1, confusion
matrices, bootstrap confidence intervals and mean ± std over seeds; and the landmark error (NME) of
POSTER's landmark regressor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score


def _as_arrays(targets, predictions) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(targets, dtype=np.int64).ravel()
    p = np.asarray(predictions, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"targets ({t.size}) and predictions ({p.size}) differ in length")
    if t.size == 0:
        raise ValueError("no samples to score")
    return t, p


def accuracy(targets, predictions) -> float:
    """Share of correct predictions, in percent."""
    t, p = _as_arrays(targets, predictions)
    return float((t == p).mean() * 100.0)


def majority_floor(targets) -> float:
    """What always answering the most frequent class scores on ``targets``, in percent: the accuracy a run
    must beat before its number means anything (FER2013 PrivateTest: "happy", 24.5 %)."""
    t = np.asarray(targets, dtype=np.int64).ravel()
    if t.size == 0:
        raise ValueError("majority_floor of an empty target set")
    return float(np.bincount(t).max() / t.size * 100.0)


def confusion_matrix(targets, predictions, num_classes: int) -> np.ndarray:
    """``[num_classes, num_classes]`` counts; rows are true classes, columns predicted classes."""
    t, p = _as_arrays(targets, predictions)
    if t.max(initial=0) >= num_classes or p.max(initial=0) >= num_classes:
        raise ValueError(f"a label is >= num_classes={num_classes}")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(targets, predictions, num_classes: int) -> np.ndarray:
    """Recall of each class in percent (NaN for a class absent from ``targets``)."""
    cm = confusion_matrix(targets, predictions, num_classes)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / support * 100.0, np.nan)


def mean_class_accuracy(targets, predictions, num_classes: int) -> float:
    """Mean of the per-class accuracies over the classes present (POSTER's "mean accuracy")."""
    return float(np.nanmean(per_class_accuracy(targets, predictions, num_classes)))


def macro_f1(targets, predictions, num_classes: int) -> float:
    """Unweighted mean F1 over the classes present in targets or predictions, in percent."""
    t, p = _as_arrays(targets, predictions)
    labels = np.union1d(np.unique(t), np.unique(p))
    labels = labels[labels < num_classes]
    return float(f1_score(t, p, labels=labels, average="macro", zero_division=0) * 100.0)


def silhouette(features, targets) -> float:
    """The mean silhouette coefficient of ``features`` ``[N, D]`` grouped by ``targets`` (Euclidean), in [-1, 1]:
    how far each sample is from the nearest other class against its own class's spread (1: compact classes far
    apart; 0: overlapping). CM-CNN's Fig. 7 reads its tSNE's "separating distance" by eye; this is the number."""
    from sklearn.metrics import silhouette_score

    features, targets = np.asarray(features, dtype=np.float64), np.asarray(targets)
    if len(np.unique(targets)) < 2 or len(targets) <= len(np.unique(targets)):
        raise ValueError("silhouette needs at least two classes and more samples than classes")
    return float(silhouette_score(features, targets))


#: 68-point (iBUG 300-W) indices of the outer eye corners: the inter-ocular distance normalises the NME.
OUTER_EYE_CORNERS = (36, 45)


def landmark_nme(predicted, reference) -> np.ndarray:
    """Per-face normalised mean error of 68-point landmarks ``[N, 68, 2]``: the mean point-to-point distance
    divided by the reference's inter-ocular distance (outer eye corners, 300-W's convention), in percent."""
    p = np.asarray(predicted, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if p.shape != r.shape or p.ndim != 3 or p.shape[1:] != (68, 2):
        raise ValueError(f"expected two [N, 68, 2] arrays, got {p.shape} and {r.shape}")
    left, right = OUTER_EYE_CORNERS
    interocular = np.linalg.norm(r[:, left] - r[:, right], axis=1)
    if (interocular <= 0).any():
        raise ValueError("a reference face has coincident outer eye corners: its NME is undefined")
    return np.linalg.norm(p - r, axis=2).mean(axis=1) / interocular * 100.0


def bootstrap_ci(
    targets, predictions, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the accuracy (percent), resampling test samples."""
    t, p = _as_arrays(targets, predictions)
    correct = (t == p).astype(np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, correct.size, size=(n_resamples, correct.size))
    accs = correct[idx].mean(axis=1) * 100.0
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(accs, [alpha, 1.0 - alpha])
    return float(low), float(high)


def seed_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval of the mean of per-seed results (needs at least two seeds).

    The interval a comparison of methods needs: how far the mean over training runs could move, which a
    bootstrap over one run's test images does not show.
    """
    from scipy import stats

    values = list(values)
    if len(values) < 2:
        raise ValueError("a confidence interval over seeds needs at least two values")
    mean, std = mean_std(values)
    half = stats.t.ppf(0.5 + confidence / 2.0, len(values) - 1) * std / np.sqrt(len(values))
    return float(mean - half), float(mean + half)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value) of per-seed results."""
    arr = np.asarray(list(values), dtype=np.float64)
    if arr.size == 0:
        raise ValueError("no values")
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def format_mean_std(values: Sequence[float], digits: int = 2) -> str:
    """``"88.12 ± 0.31"`` (or just the value for one seed)."""
    mean, std = mean_std(values)
    return f"{mean:.{digits}f}" if len(list(values)) == 1 else f"{mean:.{digits}f} ± {std:.{digits}f}"


def summarize(targets, predictions, classes: Sequence[str], ci_seed: int = 0) -> dict:
    """All headline metrics of one evaluation as a flat dict (percentages)."""
    n = len(classes)
    low, high = bootstrap_ci(targets, predictions, seed=ci_seed)
    out = {
        "accuracy": accuracy(targets, predictions),
        "mean_class_accuracy": mean_class_accuracy(targets, predictions, n),
        "macro_f1": macro_f1(targets, predictions, n),
        "ci_low": low,
        "ci_high": high,
        "n_samples": int(np.asarray(targets).size),
    }
    for name, acc in zip(classes, per_class_accuracy(targets, predictions, n), strict=True):
        out[f"acc_{name}"] = float(acc)
    return out


def confusion_frame(targets, predictions, classes: Sequence[str], normalize: bool = True) -> pd.DataFrame:
    """Confusion matrix as a labelled DataFrame; row-normalised to percent when ``normalize``."""
    cm = confusion_matrix(targets, predictions, len(classes)).astype(np.float64)
    if normalize:
        with np.errstate(invalid="ignore", divide="ignore"):
            cm = np.where(cm.sum(1, keepdims=True) > 0, cm / cm.sum(1, keepdims=True) * 100.0, 0.0)
    return pd.DataFrame(cm, index=pd.Index(classes, name="true"), columns=pd.Index(classes, name="predicted"))

"""Expressions: EMFACS prototypes as action-unit (AU) activations, their confusable neighbours, and the
per-sample AU coefficients of an expression at an intensity."""

from __future__ import annotations

import functools

import numpy as np

from .fields import _clip
from .geometry import AU_INDEX, N_AU

#: EMFACS prototypes (peak AU activations at intensity 4). ``L``/``R`` are the viewer's left/right half;
#: contempt is unilateral and its side is drawn per sample.
EXPRESSION_AUS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happiness": {"AU6": 1.0, "AU12L": 1.0, "AU12R": 1.0, "AU25": 0.7, "AU26": 0.12},
    "sadness": {"AU1": 1.0, "AU4": 0.7, "AU15": 1.0},
    "surprise": {"AU1": 1.0, "AU2": 1.0, "AU5": 1.0, "AU25": 0.6, "AU26": 1.0},
    "fear": {"AU1": 1.0, "AU2": 0.6, "AU4": 0.7, "AU5": 1.0, "AU7": 0.5, "AU20": 1.0, "AU25": 0.6, "AU26": 0.5},
    "disgust": {"AU9": 1.0, "AU15": 0.6, "AU16": 0.8, "AU25": 0.3},
    "anger": {"AU4": 1.0, "AU5": 0.5, "AU7": 1.0, "AU23": 1.0},
    "contempt": {"AU12L": 0.9, "AU14L": 0.9},
}

#: The classes each expression is most often confused with (shared AUs: AU1/2/5/26 in surprise and fear,
#: AU4/7 and AU9/15 across anger, disgust and sadness, AU12/14 in happiness and contempt). Weak samples
#: borrow part of a neighbour's prototype, so low intensities overlap across these pairs.
EXPRESSION_NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "neutral": (),
    "happiness": ("contempt",),
    "sadness": ("fear", "disgust", "anger"),
    "surprise": ("fear",),
    "fear": ("surprise", "sadness"),
    "disgust": ("anger", "sadness"),
    "anger": ("disgust", "sadness"),
    "contempt": ("happiness", "disgust"),
}
#: Per intensity (index 0..4): the largest share of a neighbour's prototype a sample borrows, and how much
#: the random AU noise grows. Intensity 4 borrows nothing, so apexes stay clearly recognisable.
BORROW_SHARE = (0.0, 1.0, 0.55, 0.2, 0.0)
NOISE_GAIN = (1.0, 2.0, 1.5, 1.1, 1.0)


@functools.cache
def _prototype(expression: str, right: bool) -> tuple[np.ndarray, np.ndarray]:
    """AU indices and peak activations (float64) of an expression's prototype, in ``EXPRESSION_AUS`` order;
    ``right`` mirrors unilateral (``L``) AUs to the right side."""
    proto = EXPRESSION_AUS[expression]
    names = [k.replace("L", "R") if right else k for k in proto]
    return np.array([AU_INDEX[k] for k in names], dtype=np.intp), np.array(list(proto.values()), dtype=np.float64)


def expression_coefficients(
    expression: str,
    intensity: int,
    rng: np.random.Generator,
    resting: np.ndarray | None = None,
    jitter: float = 1.0,
) -> np.ndarray:
    """AU activations ``[N_AU]`` of ``expression`` at BU-3DFE-like ``intensity`` (1..4; 0 for neutral).

    Activation = peak * level * lognormal jitter; unrelated AUs fire weakly at random (more so at low
    intensity), weak samples borrow a random share of a neighbouring class's prototype
    (``EXPRESSION_NEIGHBOURS``, ``BORROW_SHARE``), and the subject's resting face is added, so weak
    samples of neighbouring classes overlap while intensity-4 samples stay clean. ``jitter=0`` gives the
    bare prototype scaled by the (still randomly drawn) level.
    """
    if expression not in EXPRESSION_AUS:
        raise ValueError(f"unknown expression {expression!r}; expected one of {sorted(EXPRESSION_AUS)}")
    a = np.zeros(N_AU, dtype=np.float64)
    level = 0.0 if expression == "neutral" else min(max(intensity / 4.0 + rng.uniform(-0.08, 0.08), 0.1), 1.1)
    strength = level**0.85
    right = expression == "contempt" and rng.random() < 0.5  # contempt's unilateral AUs on the other side
    idx, peaks = _prototype(expression, right)
    # One draw of len(proto) normals: the same values, in the same order, as one rng.normal call per AU.
    a[idx] = peaks * strength * np.exp(rng.normal(0.0, 0.22 * jitter, len(idx)))
    step = min(max(int(intensity), 0), 4)
    spurious = rng.random(N_AU) < 0.3
    a += spurious * np.abs(rng.normal(0.0, 0.1 * jitter * NOISE_GAIN[step], N_AU))
    neighbours = EXPRESSION_NEIGHBOURS[expression]
    if jitter > 0 and neighbours and BORROW_SHARE[step] > 0:
        other = neighbours[int(rng.integers(0, len(neighbours)))]
        share = BORROW_SHARE[step] * jitter * rng.uniform(0.0, 1.0)
        idx, peaks = _prototype(other, False)
        a[idx] += share * peaks * strength  # AUs of a prototype are distinct: no repeated index
    if resting is not None:
        a += resting
    return _clip(a, 0.0, 1.3).astype(np.float32)

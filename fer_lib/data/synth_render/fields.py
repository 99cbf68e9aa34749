"""Scalar fields over the canonical face (smoothsteps, Gaussian bumps, soft lines, landmark curves) and a
fast ``clip``: the building blocks of the relief, the blendshapes and the texture maps."""

from __future__ import annotations

import numpy as np


def _clip(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``np.clip`` for non-NaN input, without its per-call overhead (it dominates on the small arrays here)."""
    return np.minimum(np.maximum(x, lo), hi)


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Hermite step of ``x`` from 0 at ``lo`` to 1 at ``hi`` (same shape as ``x``)."""
    t = np.minimum(np.maximum((x - lo) / (hi - lo), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


def _gauss(x: np.ndarray, y: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    """An axis-aligned Gaussian bump of height 1 at (``cx``, ``cy``) with widths ``sx``, ``sy``."""
    return np.exp(-(((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2) / 2.0)


def _gauss2(x, y, cx, cy, sx, sy):
    """A Gaussian bump mirrored to both halves of the face (``cx`` > 0)."""
    return _gauss(x, y, cx, cy, sx, sy) + _gauss(x, y, -cx, cy, sx, sy)


def _segment_profile(x, y, x0, y0, x1, y1, width):
    """A soft line along the segment (x0, y0)-(x1, y1): 1 on it, Gaussian falloff of ``width``."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    d2 = (x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2
    taper = np.sin(np.pi * np.clip(t, 0.02, 0.98)) ** 0.5
    return np.exp(-0.5 * d2 / width**2) * taper


def _interp(x: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Piecewise-linear curve through landmark points ``[k, 2]`` (sorted by x on the fly)."""
    order = np.argsort(pts[:, 0], kind="stable")
    return np.interp(x, pts[order, 0], pts[order, 1])

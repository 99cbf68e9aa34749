"""The image around the face and its finish: the out-of-focus background, then the degradations (gain, colour
jitter, contrast, greyscale, blur, sensor noise) and the conversion to 8 bits."""

from __future__ import annotations

import functools

import numpy as np

from .raster import _mul_xyz, _pixel_grid


@functools.lru_cache(maxsize=8)
def _hat_weights(size: int, cells: int) -> np.ndarray:
    """Bilinear (hat) interpolation weights ``[size, cells]`` from ``cells`` evenly spaced nodes to ``size``
    pixels (float32)."""
    nodes = np.linspace(0, size - 1, cells)
    return np.clip(1 - np.abs(np.arange(size)[:, None] - nodes[None]) / (nodes[1] - nodes[0]), 0, 1).astype(np.float32)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Out-of-focus clutter ``[S, S, 3]``: a colour field with a few shapes, drawn on a 16x16 canvas
    and upsampled bilinearly (cheap, and as soft as a background behind a focused face)."""
    n = 16
    w = _hat_weights(size, n)
    canvas = _hat_weights(n, 3) @ rng.uniform(0.1, 0.9, (3, 3 * 3)).astype(np.float32)
    canvas = np.matmul(_hat_weights(n, 3), canvas.reshape(n, 3, 3))  # [n, n, 3]
    xx, yy = _pixel_grid(n)
    # Each shape takes 8 uniform doubles: colour, centre, radii, kind. rng.uniform(lo, hi) computes
    # lo + (hi - lo) * u from the same doubles, so one draw per shape gives the same values.
    # All shapes' masks at once ([k, n, n], float64 offsets as per shape), then painted over in turn.
    u = rng.random((int(rng.integers(1, 4)), 8))
    col = (0.05 + (0.95 - 0.05) * u[:, :3]).astype(np.float32) * np.float32(0.7)
    centre = 0.0 + (n - 0.0) * u[:, 3:5, None, None]
    radius = (0.08 + (0.4 - 0.08) * u[:, 5:7, None, None]) * n
    dx, dy = xx - centre[:, 0], yy - centre[:, 1]
    box = (np.abs(dx) < radius[:, 0]) & (np.abs(dy) < radius[:, 1])
    ellipse = (dx / radius[:, 0]) ** 2 + (dy / radius[:, 1]) ** 2 < 1
    masks = np.where(u[:, 7, None, None] < 0.5, box, ellipse)
    for m, c in zip(masks, col, strict=True):
        np.copyto(canvas, canvas * 0.3 + c, where=m[..., None])  # canvas is this call's own array
    # Separable bilinear upsampling as two matrix products: rows, then columns.
    rows = (w @ canvas.reshape(n, n * 3)).reshape(size, n, 3).transpose(1, 0, 2).reshape(n, size * 3)
    return (w @ rows).reshape(size, size, 3).transpose(1, 0, 2)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-like blur of an ``[H, W, C]`` image: repeated 3-tap passes ``[w, 1-2w, w]`` whose
    variances add up to ``sigma**2`` (edges replicated)."""
    if sigma < 0.2:
        return img
    passes = min(4, int(np.ceil(sigma**2 / 0.5)))
    w = np.float32(min(0.25, sigma**2 / (2 * passes)))
    out = img
    keep = 1 - 2 * w
    H, W = img.shape[:2]
    # The first and last row (column) as one strided slice, and their inner neighbours: one step for both
    # edges instead of two (from 4 pixels up; smaller images take each edge in turn).
    rows_at_once, cols_at_once = H >= 4, W >= 4
    for _ in range(passes):
        # Rows, then columns, each on C-ordered arrays (a transposed view made every pass strided).
        res = out * keep
        res[1:] += w * out[:-1]
        res[:-1] += w * out[1:]
        if rows_at_once:
            res[:: H - 1] += w * out[:: H - 1]
        else:
            res[0] += w * out[0]
            res[-1] += w * out[-1]
        out = res
        # Columns on the flat array (a pixel's neighbours are C elements away), which is one contiguous loop;
        # the first and last columns, which that wraps into the next row, are then redone in the order the
        # strided version adds their terms (self * keep, then the inner neighbour, then the replicated edge).
        res = out * keep
        flat, src, C = res.reshape(-1), out.reshape(-1), out.shape[2]
        flat[C:] += w * src[:-C]
        flat[:-C] += w * src[C:]
        if cols_at_once:
            edge = out[:, :: W - 1]
            res[:, :: W - 1] = edge * keep + w * out[:, 1 : W - 1 : W - 3] + w * edge  # columns 1 and W-2
        else:
            res[:, 0] = out[:, 0] * keep + w * out[:, 1] + w * out[:, 0]
            res[:, -1] = out[:, -1] * keep + w * out[:, -2] + w * out[:, -1]
        out = res
    return out


@functools.lru_cache(maxsize=1)
def _noise_pool() -> np.ndarray:
    """A fixed pool of standard-normal numbers; sensor noise is a random window of it (fast, deterministic)."""
    return np.random.default_rng(2024).standard_normal(1 << 20, dtype=np.float32)


def _degrade(img: np.ndarray, rng: np.random.Generator, S: int) -> np.ndarray:
    """Camera degradations of the composed float32 image ``img [S, S, 3]`` (the caller's own array, changed in
    place where possible): gain with colour jitter, contrast, sometimes greyscale, blur and sensor noise.
    Returns the degraded ``[S, S, 3]`` float32 image (not yet clipped)."""
    # Gain, its colour jitter, contrast, the greyscale and blur choices: seven consecutive uniforms at once.
    u = rng.random(7)
    gain = (0.8 + (1.15 - 0.8) * float(u[0])) * (1 + (-0.05 + (0.05 - -0.05) * u[1:4]))
    contrast = 0.8 + (1.2 - 0.8) * float(u[4])
    # = float(img.mean()): numpy sums in float32, then divides by an intp count in float64
    mean = float(np.float32(float(np.add.reduce(img, axis=None)) / img.size))
    # In place (img is this call's own array), channel by channel: the same float32 steps as
    # (img * gain - mean) * contrast + mean with fresh arrays.
    _mul_xyz(img, gain.astype(np.float32), out=img)
    img -= mean
    img *= np.float32(contrast)
    img += np.float32(mean)
    if u[5] < 0.1:
        img = np.repeat(img @ np.array([0.299, 0.587, 0.114], dtype=np.float32), 3).reshape(S, S, 3)
    img = _blur(img, (rng.random() if u[6] < 0.6 else 0.4) * S / 64)  # rng.uniform(0, 1) is rng.random()
    pool = _noise_pool()
    start = int(rng.integers(0, pool.size - img.size))
    img += pool[start : start + img.size].reshape(img.shape) * np.float32(rng.uniform(0.0, 0.03))
    return img


def _to_uint8(img: np.ndarray) -> np.ndarray:
    """The float image ``[S, S, 3]`` in [0, 1] (clipped; changed in place) as uint8 ``[S, S, 3]``, rounded."""
    # In place (img is the caller's own array): the same values as clip, * 255 and + 0.5 with fresh arrays.
    np.maximum(img, 0.0, out=img)
    np.minimum(img, 1.0, out=img)
    img *= 255.0
    img += 0.5
    return img.astype(np.uint8)

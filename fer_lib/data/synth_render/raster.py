"""Rasterisation helpers: the splat z-buffer, closing splatting gaps, pixel grids, and the fast row gathers,
scatters and channel-wise arithmetic the renderer runs on ``[n, 3]`` arrays (same bytes as the plain numpy
forms, several times faster on the small arrays here)."""

from __future__ import annotations

import functools

import numpy as np

_EMPTY_KEY = np.iinfo(np.int64).max  # a z-buffer pixel no point reached


def _splat_zbuffer(u: np.ndarray, v: np.ndarray, Zc: np.ndarray, S: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resolve visibility of points at image positions ``u, v [N]`` with camera depths ``Zc [N]`` (float32).

    Each point covers the 2x2 pixels around it; the z-buffer keeps the nearest point per pixel. Returns the
    packed keys ``zkey [S * S]`` (int64: depth bits << 21 | point index, ``_EMPTY_KEY`` where no point
    reached), the flat indices of the pixels hit ``[n_hit]`` and the index of the point that won each
    ``[n_hit]``.
    """
    # Key = (depth bits << 21) | point index: one integer minimum gives both depth and winner.
    # Pixel column/row of each point's top-left splat pixel, plus one (the grid below is padded by one).
    u1 = np.floor(u - 0.5).astype(np.int64)
    u1 += 1
    v1 = np.floor(v - 0.5).astype(np.int64)
    v1 += 1
    key = (Zc.view(np.int32).astype(np.int64) << 21) | np.arange(len(u), dtype=np.int64)  # Zc is float32
    # Each point enters once, at its top-left pixel of a grid padded by one row and column; a pixel takes the
    # minimum of the four entries whose 2x2 splat covers it: the same minimum as entering every point 4 times.
    ok = (u1.view(np.uint64) <= S) & (v1.view(np.uint64) <= S)  # 0 <= u1 <= S: negatives wrap to huge
    cell = np.empty((S + 1) * (S + 1), dtype=np.int64)
    cell.fill(_EMPTY_KEY)
    np.minimum.at(cell, (v1 * (S + 1) + u1)[ok], key[ok])
    cell = cell.reshape(S + 1, S + 1)
    zkey = np.minimum(np.minimum(cell[1:, 1:], cell[:-1, 1:]), np.minimum(cell[1:, :-1], cell[:-1, :-1])).reshape(-1)
    hit = _nonzero1d(zkey != _EMPTY_KEY)
    win = zkey[hit] & ((1 << 21) - 1)
    return zkey, hit, win


_NEIGHBOUR_DR = np.array([-1, -1, -1, 0, 0, 1, 1, 1])
_NEIGHBOUR_DC = np.array([-1, 0, 1, -1, 1, -1, 0, 1])


@functools.lru_cache(maxsize=8)
def _neighbour_table(size: int) -> np.ndarray:
    """``[size * size, 8]`` flat indices of each pixel's 3x3 neighbours (``_NEIGHBOUR_DR/DC`` order), clamped
    to the image (an edge pixel lists itself or an edge neighbour again)."""
    r, c = np.divmod(np.arange(size * size), size)
    rr = np.minimum(np.maximum(r[:, None] + _NEIGHBOUR_DR, 0), size - 1)
    cc = np.minimum(np.maximum(c[:, None] + _NEIGHBOUR_DC, 0), size - 1)
    return rr * size + cc


def _fill_gaps(face: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Close splatting gaps up to two pixels wide (a 3x3 morphological closing of the filled mask);
    gap pixels take the mean colour and the nearest depth of their filled 3x3 neighbours.
    Returns colour ``[S, S, 3]``, depth ``[S, S]`` and the filled mask ``[S, S]``."""
    filled = z > 0
    S = filled.shape[0]

    pad = np.zeros((S + 2, S + 2), dtype=bool)  # outside the image counts as unset

    def dilate(a: np.ndarray) -> np.ndarray:
        pad[1:-1, 1:-1] = a
        d = pad[:-2] | pad[1:-1]
        d |= pad[2:]
        e = d[:, :-2] | d[:, 1:-1]
        e |= d[:, 2:]
        return e

    closed = ~dilate(~dilate(filled))
    gap = closed & ~filled
    if not np.count_nonzero(gap):  # = gap.any(), at half the call's cost
        return face, z, filled
    flat = _nonzero1d(gap.reshape(-1))
    nb = np.take(_neighbour_table(S), flat, axis=0)  # flat indices [n_gap, 8]
    w = np.take(filled, nb).astype(np.float32)  # take flattens in C order: = filled.reshape(-1)[nb]
    cnt = np.maximum(w.sum(1), 1)
    rows = _rows_view(face.reshape(-1, 3))  # face is C-contiguous: writes through
    rows[flat] = _rows_view((np.take(face.reshape(-1, 3), nb, axis=0) * w[..., None]).sum(1) / cnt[:, None])
    zg = np.where(w > 0, np.take(z, nb), np.inf).min(1)
    z.put(flat, np.where(np.isfinite(zg), zg, 0))  # flat indices in C order, as z[r, c] with r, c = divmod(flat, S)
    return face, z, closed


@functools.lru_cache(maxsize=8)
def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``xx, yy`` ``[size, size]`` (float32, ``i + 0.5``)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    return xx, yy


@functools.lru_cache(maxsize=16)
def _void_dtype(nbytes: int) -> np.dtype:
    """An opaque ``nbytes``-byte item type (see :func:`_rows_view`)."""
    return np.dtype((np.void, nbytes))  # building a dtype costs ~5 us: once per row size


def _rows_view(a: np.ndarray) -> np.ndarray:
    """A C-contiguous ``[n, k]`` array as ``[n]`` opaque k-element items: numpy gathers and scatters those
    2-3x faster than rows of k numbers, with the same bytes."""
    return a.view(_void_dtype(a.shape[1] * a.itemsize)).reshape(-1)


def _take_rows(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a[idx]`` for an ``[n, k]`` array: ``np.take`` copies whole rows, 5x faster than fancy indexing's
    k-element steps and 1.6x faster than gathering ``_rows_view`` items; the bytes are the same."""
    return np.take(a, idx, axis=0)


# Channel by channel: numpy runs an ``[n, 3]`` array broadcast against ``[3]`` (or ``[n, 1]``) as n inner loops of 3
# elements, several times slower than 3 strided loops of n. Every element sees the same float32 operation.
def _mul_xyz(a: np.ndarray, s: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a * s`` for ``a [..., 3]`` and ``s [3]`` (into ``out``, which may be ``a``)."""
    out = np.empty_like(a) if out is None else out
    for c in range(3):
        np.multiply(a[..., c], s[c], out=out[..., c])
    return out


def _rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of ``[n, 3]`` arrays, summed x, y, z in turn as ``einsum("ij,ij->i")`` does."""
    return a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1] + a[:, 2] * b[:, 2]


def _contiguous_copy(img: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of an ``[H, W, C]`` view, channel by channel: for a transposed view numpy's own copy
    walks C-element runs, three times slower."""
    out = np.empty(img.shape, dtype=img.dtype)
    for c in range(img.shape[2]):
        out[..., c] = img[..., c]
    return out


def _nonzero1d(mask: np.ndarray) -> np.ndarray:
    """``np.flatnonzero`` of a 1-D mask, without its Python wrappers (a few us a call, ten calls a render)."""
    return mask.nonzero()[0]


def _blend_into(col: np.ndarray, i: np.ndarray, weight: np.ndarray, target: np.ndarray) -> None:
    """``col[:, i] += weight * (target - col[:, i])`` for a channel-first ``col [3, n]``, ``target [3, k]``."""
    ci = col[:, i]
    ci += weight * (target - ci)
    col[:, i] = ci

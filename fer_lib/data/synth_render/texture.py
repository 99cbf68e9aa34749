"""Canonical texture maps, built once per grid resolution with the face model: skin noise and blush, hair
strands and hairstyle coverage, eyes, lids, brows, lips, nostrils, beard, and the per-AU wrinkle maps.

All are functions of canonical head-frame positions, so under blendshapes and pose they stay attached to
the skin. Thin features are averaged over 3x3 sub-samples per grid cell (:func:`_supersampled_texture`).
"""

from __future__ import annotations

import numpy as np

from .fields import _gauss, _gauss2, _interp, _segment_profile, _smoothstep
from .geometry import AU_INDEX, HEAD_A, HEAD_B, N_AU, _egg

N_HAIR_STYLES = 5
BROW_THIN, BROW_THICK = 0.8, 1.35  # brow thickness factors of the two stored brow maps


def _wrinkle_maps(x: np.ndarray, y: np.ndarray, wf: np.ndarray) -> np.ndarray:
    """Darkening patterns per AU (furrows, forehead lines, crow's feet, folds), ``[N_AU, M]``."""
    W = np.zeros((N_AU, len(x)))
    ax = np.abs(x)
    lines = np.cos(2 * np.pi * (y - 0.5) / 0.075) ** 8
    fore = lines * _smoothstep(y, 0.44, 0.5) * (1 - _smoothstep(y, 0.68, 0.74))
    W[AU_INDEX["AU1"]] = 0.16 * fore * _gauss(x, y, 0.0, 0.6, 0.3, 1.0)
    W[AU_INDEX["AU2"]] = 0.12 * fore * _gauss2(x, y, 0.45, 0.6, 0.2, 1.0)
    W[AU_INDEX["AU4"]] = 0.35 * np.exp(-0.5 * ((ax - 0.055) / 0.013) ** 2) * _gauss(x, y, 0, 0.29, 1, 0.07)
    rays = np.cos(np.arctan2(y - 0.06, ax - 0.58) * 9) ** 6
    W[AU_INDEX["AU6"]] = 0.18 * rays * _gauss2(x, y, 0.66, 0.05, 0.05, 0.06)
    W[AU_INDEX["AU9"]] = 0.25 * np.cos(2 * np.pi * y / 0.04) ** 6 * _gauss(x, y, 0.0, 0.02, 0.1, 0.06)
    for side, name12, name14 in ((-1.0, "AU12L", "AU14L"), (1.0, "AU12R", "AU14R")):
        fold = _segment_profile(x, y, side * 0.17, -0.42, side * 0.38, -0.78, 0.015)
        W[AU_INDEX[name12]] = 0.28 * fold
        W[AU_INDEX[name14]] = 0.25 * _gauss(x, y, side * 0.37, -0.7, 0.025, 0.035)
        W[AU_INDEX["AU9"]] += 0.12 * fold * (y > -0.6)
    W[AU_INDEX["AU15"]] = 0.12 * _gauss2(x, y, 0.3, -0.84, 0.03, 0.06)
    return (W * wf).astype(np.float32)


def _hair_mask(TH: np.ndarray, X: np.ndarray, Y: np.ndarray, x: np.ndarray, y: np.ndarray, style: int):
    """Soft hair coverage of the canonical head for a hairstyle (0 short ... 4 receding)."""
    front_line = (0.66, 0.60, 0.70, 0.52, 0.9)[style]
    low = (-0.25, -0.75, -0.1, -0.55, -0.35)[style]
    side_top = (0.25, 0.12, 0.3, 0.15, 0.35)[style]
    fringe = front_line + 0.12 * (x / HEAD_A) ** 2
    m_front = _smoothstep(y - fringe, -0.02, 0.04)
    temple = _smoothstep(y - (side_top + 0.4 * np.clip(1 - np.abs(X) / 0.75, 0, 1)), -0.02, 0.05)
    m_side = temple * _smoothstep(np.abs(X), 0.5, 0.62)
    m_back = _smoothstep(np.abs(TH), np.deg2rad(95), np.deg2rad(110)) * _smoothstep(y - low, -0.05, 0.05)
    m = np.maximum(np.maximum(m_front, m_side), m_back)
    if style not in (1, 3):  # short styles leave the ears free
        ear_r2 = ((y + 0.05) / 0.36) ** 2 + ((TH - np.sign(TH) * np.deg2rad(97)) / 0.26) ** 2
        m = m * _smoothstep(ear_r2, 0.7, 1.1)
    if style == 4:
        m = m * (1 - 0.9 * _smoothstep(Y, 0.72, 0.85) * _smoothstep(np.abs(TH), 1.5, 2.2)) + 0.0
    return m


def _canonical_texture(x: np.ndarray, y: np.ndarray, wf: np.ndarray, lm: np.ndarray) -> dict[str, np.ndarray]:
    """Eye, lid, brow, lip, mouth-line, nostril and beard maps at canonical points (x, y)."""
    face = wf > 0.2
    eye = np.zeros_like(x)
    dark = np.zeros_like(x)
    for e in (np.arange(36, 42), np.arange(42, 48)):
        E = lm[e]
        inx = face & (x > E[:, 0].min()) & (x < E[:, 0].max())
        up = _interp(x, E[[0, 1, 2, 3]])
        lo = _interp(x, E[[0, 5, 4, 3]])
        eye = np.maximum(eye, inx * _smoothstep(up - y, -0.004, 0.006) * _smoothstep(y - lo, -0.004, 0.006))
        cx = E[:, 0].mean()
        outer = _smoothstep(np.abs(x - cx) * (np.sign(x - cx) == np.sign(cx)), 0.06, 0.16)
        lash = inx & (y >= up - 0.004) & (y < up + 0.02 + 0.015 * outer)
        crease = inx & (y > up + 0.045) & (y < up + 0.06)
        lower = inx & (y <= lo) & (y > lo - 0.012)
        dark += 0.85 * lash + 0.15 * crease + 0.25 * lower
    brows = [np.zeros_like(x), np.zeros_like(x)]
    for b, th in ((np.arange(17, 22), [0.04, 0.055, 0.062, 0.066, 0.066]),
                  (np.arange(22, 27), [0.066, 0.066, 0.062, 0.055, 0.04])):  # fmt: skip
        B = lm[b]
        inx = face & (x > B[:, 0].min() - 0.02) & (x < B[:, 0].max() + 0.02)
        yc = _interp(x, B)
        taper = _smoothstep(x - B[:, 0].min(), -0.015, 0.03) * _smoothstep(B[:, 0].max() - x, -0.015, 0.03)
        half = np.interp(x, B[:, 0], th) / 2 * taper
        for k, f in enumerate((BROW_THIN, BROW_THICK)):
            brows[k] = np.maximum(brows[k], inx * _smoothstep(half * f - np.abs(y - yc), -0.004, 0.012))
    outer = lm[48:60]
    inner = lm[60:68]
    uo = _interp(x, outer[[0, 1, 2, 3, 4, 5, 6]])
    lo_ = _interp(x, outer[[0, 11, 10, 9, 8, 7, 6]])
    inx_o = face & (x > outer[:, 0].min()) & (x < outer[:, 0].max())
    lip = inx_o * _smoothstep(uo - y, -0.004, 0.01) * _smoothstep(y - lo_, -0.004, 0.01)
    ui = _interp(x, inner[[0, 1, 2, 3, 4]])
    inx_i = face & (x > inner[:, 0].min() - 0.01) & (x < inner[:, 0].max() + 0.01)
    dark += 0.55 * (inx_i & (np.abs(y - ui) < 0.009))
    dark += 0.75 * np.clip(1.5 * _gauss2(x, y, 0.062, -0.452, 0.024, 0.011), 0, 1) * face
    beard = _smoothstep(-y, 0.45, 0.62) * wf * (1 - lip) + 0.8 * _gauss(x, y, 0.0, -0.555, 0.2, 0.035)
    return {
        "eye": eye,
        "dark": np.clip(dark, 0, 0.9),
        "lip": lip,
        "brow0": brows[0],
        "brow1": brows[1],
        "beard": np.clip(beard * (1 - _smoothstep(y, -0.5, -0.42)), 0, 1) * (np.abs(x) < 0.8),
    }


def _skin_and_strands(
    TH: np.ndarray, PH: np.ndarray, x: np.ndarray, y: np.ndarray, wf: np.ndarray, ear_r2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Skin albedo multiplier ``[n_lon, n_lat, 3]`` (smoothed noise, blush, inner-ear shading) and the hair
    strand pattern ``[n_lon, n_lat]`` of the grid (longitude ``TH``, latitude ``PH``, canonical ``x, y``,
    front weight ``wf``, ear distance ``ear_r2``; all ``[n_lon, n_lat]``). The noise is fixed (seed 12345):
    part of the model, not of a sample."""
    n_lon, n_lat = TH.shape
    rng = np.random.default_rng(12345)
    noise = rng.standard_normal((n_lon + 2, n_lat + 2))
    noise = noise[1:-1, 1:-1] * 0.5 + (noise[:-2, 1:-1] + noise[2:, 1:-1] + noise[1:-1, :-2] + noise[1:-1, 2:]) / 8
    strands = np.sin(TH * 70 + 3 * np.sin(PH * 7)) * 0.5 + rng.standard_normal(TH.shape) * 0.5
    blush = _gauss2(x, y, 0.48, -0.3, 0.14, 0.12) * wf
    ear_inner = _smoothstep(0.6 - ear_r2, 0.0, 0.4)
    skin = (1 + 0.05 * noise - 0.2 * ear_inner)[..., None] + blush[..., None] * np.array([0.04, -0.04, -0.04])
    return skin, strands


def _supersampled_texture(
    TH: np.ndarray, PH: np.ndarray, d_th: float, d_ph: float, lm_xy: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """:func:`_canonical_texture` maps (each ``[n_lon, n_lat]``) and :func:`_wrinkle_maps` (``[N_AU, n_lon *
    n_lat]``) of the grid (``TH``, ``PH`` ``[n_lon, n_lat]``, spacing ``d_th``, ``d_ph``; landmarks ``lm_xy
    [68, 2]``), averaged over 3x3 sub-samples per grid cell, so thin lines (lids, brows, creases) come out as
    partial coverage instead of aliasing into dashes."""
    tex: dict[str, np.ndarray] = {}
    wr = np.zeros((N_AU, TH.size))
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            th_s, ph_s = TH + i * d_th / 3, PH + j * d_ph / 3
            Xs, Ys, Zs = np.cos(ph_s) * np.sin(th_s), np.sin(ph_s), np.cos(ph_s) * np.cos(th_s)
            xs, ys, wfs = HEAD_A * _egg(Ys) * Xs, HEAD_B * Ys, _smoothstep(Zs, 0.12, 0.5)
            for k, val in _canonical_texture(xs, ys, wfs, lm_xy).items():
                tex[k] = tex.get(k, 0.0) + val / 9
            wr += _wrinkle_maps(xs.reshape(-1), ys.reshape(-1), wfs.reshape(-1)) / 9
    return tex, wr

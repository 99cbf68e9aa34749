"""SynthFER's renderer: a parametric 3-D head with action-unit blendshapes, drawn by point splatting.

The head is an egg-shaped ellipsoid sampled on a (longitude, latitude) grid with facial relief (nose,
eye sockets, brow ridge, cheekbones, lips, chin, ears) added as height. Identity traits and facial
action units (AUs) are linear blendshapes: displacement fields over the canonical surface, evaluated
once per grid resolution, so one sample costs one small matrix product. The 68 iBUG landmarks are
points of the same model (rows appended to the surface), so they move exactly with the skin.
Colours (skin, lips, eyes, brows, hair, wrinkles, on-face occluders) are functions of the deformed
head-frame positions relative to the deformed landmarks, so they stay attached to the face under pose.

Rendering: rotate (yaw, pitch, roll), cull back faces, perspective-project, resolve self-occlusion
with a z-buffer (``np.minimum.at``), shade (Lambert + Blinn-Phong) and composite over a cluttered
background; hand and block occluders are drawn in image space; blur and sensor noise finish it.

Coordinates (head frame, canonical units; the head is about 1.85 wide and 2.5 tall): ``x`` to the
viewer's right, ``y`` up, ``z`` towards the camera; eyes at ``y ~ 0.06``, mouth at ``y ~ -0.68``.
Positive yaw turns the nose to the viewer's right, positive pitch lifts the chin, positive roll turns
the face anticlockwise in the image.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------------------------------
# Canonical shape constants
# --------------------------------------------------------------------------------------------------
HEAD_A, HEAD_B, HEAD_C = 0.92, 1.25, 1.05  # ellipsoid semi-axes (x, y, z)
MOUTH_Y = -0.675  # the line where the lips meet at rest
HINGE_Y, HINGE_Z = 0.0, -0.25  # jaw rotation axis (near the ears)

AU_NAMES: tuple[str, ...] = (
    "AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU12L", "AU12R",
    "AU14L", "AU14R", "AU15", "AU16", "AU20", "AU23", "AU25", "AU26",
)  # fmt: skip
ID_NAMES: tuple[str, ...] = (
    "jaw_width", "eye_spacing", "eye_height", "nose_length", "nose_width", "mouth_width",
    "lip_fullness", "chin", "cheeks", "brow_height", "eye_size",
)  # fmt: skip
N_AU, N_ID = len(AU_NAMES), len(ID_NAMES)
AU_INDEX = {name: i for i, name in enumerate(AU_NAMES)}

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

OCCLUDERS: tuple[str, ...] = ("none", "sunglasses", "mask", "hand", "hair", "scarf", "block")

# iBUG 68-point layout, neutral canonical (x, y). Index order: jaw 0-16 (viewer's left to right),
# brows 17-26, nose bridge 27-30, nose base 31-35, eyes 36-47, outer lips 48-59, inner lips 60-67.
_BROW_R = [(-0.62, 0.26), (-0.52, 0.33), (-0.40, 0.36), (-0.28, 0.355), (-0.15, 0.315)]
_EYE_R = [(-0.56, 0.06), (-0.46, 0.115), (-0.33, 0.115), (-0.22, 0.06), (-0.33, 0.02), (-0.46, 0.02)]
_OUTER_LIP = [
    (-0.30, -0.68),
    (-0.20, -0.625),
    (-0.08, -0.598),
    (0.0, -0.612),
    (0.08, -0.598),
    (0.20, -0.625),
    (0.30, -0.68),
    (0.20, -0.745),
    (0.09, -0.78),
    (0.0, -0.785),
    (-0.09, -0.78),
    (-0.20, -0.745),
]
_INNER_LIP = [
    (-0.27, -0.678),
    (-0.12, -0.672),
    (0.0, -0.671),
    (0.12, -0.672),
    (0.27, -0.678),
    (0.12, -0.679),
    (0.0, -0.68),
    (-0.12, -0.679),
]
#: Landmarks that belong to the lower lip / jaw (inner lower lip shares the rest line with the upper).
_LM_JAW_WEIGHT = {60: 0.5, 64: 0.5, 61: 0.0, 62: 0.0, 63: 0.0, 65: 1.0, 66: 1.0, 67: 1.0}


def _landmark_thetaphi() -> np.ndarray:
    """Canonical landmark positions as (theta, phi) on the head surface, shape ``[68, 2]``."""
    pts: list[tuple[float, float]] = []
    xy: list[tuple[float, float]] = []
    # Jaw: longitude shrinks from the ear (80 deg) to the chin (0), height from 0.0 to -1.08.
    for i in range(17):
        t = 1.0 - abs(i - 8) / 8.0
        theta = np.deg2rad(80.0) * (1.0 - t**2) * (-1.0 if i < 8 else 1.0)
        y = -1.08 * np.sin(np.pi / 2 * t) - 0.02
        pts.append((float(theta), float(np.arcsin(y / HEAD_B))))
    xy += _BROW_R + [(-x, y) for x, y in reversed(_BROW_R)]
    xy += [(0.0, 0.12), (0.0, -0.02), (0.0, -0.16), (0.0, -0.33)]
    xy += [(-0.14, -0.42), (-0.07, -0.45), (0.0, -0.47), (0.07, -0.45), (0.14, -0.42)]
    xy += _EYE_R
    left_eye = [(-x, y) for x, y in _EYE_R]  # mirror, then reorder to iBUG: inner, upper x2, outer, lower x2
    xy += [left_eye[3], left_eye[2], left_eye[1], left_eye[0], left_eye[5], left_eye[4]]
    xy += _OUTER_LIP + _INNER_LIP
    for x, y in xy:
        pts.append(_xy_to_thetaphi(x, y))
    return np.asarray(pts, dtype=np.float64)


def _egg(Y: np.ndarray) -> np.ndarray:
    """Width factor of the head at normalised height ``Y``: the lower face narrows to the chin."""
    return 1.0 - 0.20 * np.minimum(Y, 0.0) ** 2


def _xy_to_thetaphi(x: float, y: float) -> tuple[float, float]:
    Y = y / HEAD_B
    phi = float(np.arcsin(Y))
    s = x / (HEAD_A * _egg(np.asarray(Y)) * np.cos(phi))
    return float(np.arcsin(np.clip(s, -1.0, 1.0))), phi


def _clip(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``np.clip`` for non-NaN input, without its per-call overhead (it dominates on the small arrays here)."""
    return np.minimum(np.maximum(x, lo), hi)


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.minimum(np.maximum((x - lo) / (hi - lo), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


def _gauss(x: np.ndarray, y: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-(((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2) / 2.0)


def _gauss2(x, y, cx, cy, sx, sy):
    """A Gaussian bump mirrored to both halves of the face (``cx`` > 0)."""
    return _gauss(x, y, cx, cy, sx, sy) + _gauss(x, y, -cx, cy, sx, sy)


def _relief(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Facial relief added to the ellipsoid along +z (nose, sockets, brow ridge, cheeks, lips, chin)."""
    t = np.clip((0.16 - y) / 0.49, 0.0, 1.0)  # 0 at the nose root, 1 at the tip (y = -0.33)
    ridge_h = (0.04 + 0.21 * t**1.3) * (1.0 - _smoothstep(y, -0.36, -0.47) * 0.85) * (y < 0.3)
    ridge_w = 0.055 + 0.05 * t
    nose = ridge_h * np.exp(-0.5 * (x / ridge_w) ** 2)
    nose += 0.05 * _gauss(x, y, 0.0, -0.35, 0.06, 0.05)  # tip
    nose += 0.09 * _gauss2(x, y, 0.12, -0.40, 0.055, 0.05)  # alae
    d = nose
    d += -0.075 * _gauss2(x, y, 0.38, 0.06, 0.15, 0.085)  # eye sockets
    d += 0.045 * _gauss2(x, y, 0.38, 0.25, 0.20, 0.06)  # brow ridge
    d += 0.05 * _gauss2(x, y, 0.50, -0.22, 0.17, 0.14)  # cheekbones
    d += 0.09 * _gauss(x, y, 0.0, -0.74, 0.34, 0.22)  # muzzle (teeth and jaw under the lips)
    d += 0.06 * _gauss(x, y, 0.0, -0.64, 0.20, 0.045)  # upper lip
    d += 0.05 * _gauss(x, y, 0.0, -0.73, 0.16, 0.045)  # lower lip
    d += -0.03 * _gauss(x, y, 0.0, -0.84, 0.16, 0.03)  # mentolabial sulcus
    d += 0.12 * _gauss(x, y, 0.0, -1.0, 0.18, 0.10)  # chin
    d += -0.015 * _gauss(x, y, 0.0, -0.54, 0.035, 0.04)  # philtrum
    return d


def _jaw_weight(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """How much of the jaw's rotation a skin point follows: 0 above the mouth line, 1 on the chin.

    At the lips the boundary is sharp (the lips part); to the sides it rises towards the hinge and
    widens, so the cheeks stretch smoothly.
    """
    ax = np.abs(x)
    line = MOUTH_Y + np.maximum(ax - 0.27, 0.0) / 0.63 * (HINGE_Y - 0.05 - MOUTH_Y)
    band = 0.004 + 0.28 * np.clip((ax - 0.22) / 0.5, 0.0, 1.0)
    return np.clip(_smoothstep(line - y, -band * 0.3, band), 0.0, 1.0)


def _basis_fields(P: np.ndarray, wf: np.ndarray, wj: np.ndarray) -> np.ndarray:
    """Displacement fields of the identity traits and AUs at canonical points ``P [M, 3]``.

    ``wf``: front weight (facial region), ``wj``: jaw weight. Returns ``[N_ID + N_AU, M, 3]``.
    """
    x, y, z = P[:, 0], P[:, 1], P[:, 2]
    M = len(P)
    B = np.zeros((N_ID + N_AU, M, 3))
    sx = np.sign(x)
    lower = _smoothstep(-y, 0.2, 0.9)
    mouth_win = _gauss(x, y, 0.0, MOUTH_Y, 0.32, 0.13)
    eye_win = _gauss2(x, y, 0.39, 0.07, 0.14, 0.07)

    def put(name: str, dx=0.0, dy=0.0, dz=0.0) -> None:
        k = ID_NAMES.index(name) if name in ID_NAMES else N_ID + AU_INDEX[name]
        B[k, :, 0] += dx * wf
        B[k, :, 1] += dy * wf
        B[k, :, 2] += dz * wf

    # -- identity traits (unit = a large but plausible deviation) --
    put("jaw_width", dx=0.14 * x * lower)
    put("eye_spacing", dx=0.05 * sx * _gauss2(x, y, 0.38, 0.12, 0.2, 0.16))
    put("eye_height", dy=0.05 * _gauss(x, y, 0.0, 0.15, 0.6, 0.2))
    nose_reg = _gauss(x, y, 0.0, -0.3, 0.15, 0.14)
    put("nose_length", dy=-0.05 * nose_reg, dz=0.06 * nose_reg)
    put("nose_width", dx=0.05 * x / 0.15 * _gauss2(x, y, 0.12, -0.4, 0.08, 0.08))
    put("mouth_width", dx=0.18 * x * _gauss(x, y, 0.0, MOUTH_Y, 0.35, 0.09))
    up_band = _gauss(x, y, 0.0, -0.61, 0.22, 0.03)
    lo_band = _gauss(x, y, 0.0, -0.77, 0.2, 0.03)
    put("lip_fullness", dy=0.02 * (up_band - lo_band), dz=0.03 * (up_band + lo_band))
    chin = _gauss(x, y, 0.0, -1.05, 0.25, 0.15)
    put("chin", dy=-0.06 * chin, dz=0.05 * chin)
    cheek = _gauss2(x, y, 0.5, -0.3, 0.2, 0.2)
    put("cheeks", dx=0.04 * sx * cheek, dz=0.04 * cheek)
    put("brow_height", dy=0.05 * _gauss2(x, y, 0.38, 0.32, 0.25, 0.08))
    put("eye_size", dx=0.5 * (x - sx * 0.39) * eye_win * 0.25, dy=0.5 * (y - 0.07) * eye_win * 0.8)

    # -- action units (unit = the apex of a strong expression) --
    put("AU1", dy=0.11 * _gauss2(x, y, 0.2, 0.33, 0.11, 0.12) + 0.02 * _gauss2(x, y, 0.3, 0.12, 0.1, 0.03))
    put("AU2", dy=0.11 * _gauss2(x, y, 0.53, 0.3, 0.13, 0.12) + 0.015 * _gauss2(x, y, 0.45, 0.12, 0.1, 0.03))
    b4 = _gauss2(x, y, 0.25, 0.33, 0.16, 0.1)
    furrow = np.exp(-0.5 * ((np.abs(x) - 0.055) / 0.012) ** 2) * _gauss(x, y, 0.0, 0.3, 1.0, 0.08)
    put(
        "AU4",
        dx=-0.05 * sx * b4,
        dy=-0.07 * b4 - 0.02 * _gauss2(x, y, 0.33, 0.12, 0.12, 0.03),
        dz=0.02 * b4 - 0.015 * furrow,
    )
    put("AU5", dy=0.045 * _gauss2(x, y, 0.39, 0.125, 0.12, 0.028))
    cheek6 = _gauss2(x, y, 0.42, -0.22, 0.18, 0.14)
    put("AU6", dy=0.06 * cheek6 + 0.03 * _gauss2(x, y, 0.39, 0.02, 0.12, 0.03), dz=0.05 * cheek6)
    put("AU7", dy=0.04 * _gauss2(x, y, 0.39, 0.015, 0.12, 0.03) - 0.015 * _gauss2(x, y, 0.39, 0.12, 0.12, 0.03))
    put(
        "AU9",
        dy=0.05 * _gauss2(x, y, 0.12, -0.38, 0.08, 0.08)
        + 0.04 * _gauss(x, y, 0, -0.6, 0.2, 0.05) * (1 - wj)
        - 0.04 * _gauss2(x, y, 0.18, 0.3, 0.1, 0.08),
        dz=-0.01 * _gauss(x, y, 0.0, 0.02, 0.1, 0.08),
    )
    for side, name12, name14 in ((-1.0, "AU12L", "AU14L"), (1.0, "AU12R", "AU14R")):
        c = _gauss(x, y, side * 0.30, -0.68, 0.12, 0.10)
        # Nasolabial fold: a groove from the nose wing past the mouth corner, deepened by the smile.
        fold = _segment_profile(x, y, side * 0.17, -0.42, side * 0.38, -0.78, 0.018)
        put(
            name12,
            dx=side * 0.06 * c,
            dy=0.08 * c + 0.02 * _gauss(x, y, side * 0.42, -0.3, 0.15, 0.12),
            dz=-0.02 * c - 0.02 * fold,
        )
        c14 = _gauss(x, y, side * 0.30, -0.68, 0.08, 0.07)
        put(
            name14,
            dx=-side * 0.025 * c14,
            dy=0.015 * c14,
            dz=-0.03 * c14 - 0.015 * _gauss(x, y, side * 0.37, -0.7, 0.03, 0.04),
        )
    c_both = _gauss2(x, y, 0.30, -0.69, 0.10, 0.10)
    put("AU15", dx=-0.015 * sx * c_both, dy=-0.075 * c_both)
    put("AU16", dy=-0.06 * _gauss(x, y, 0.0, -0.74, 0.14, 0.06) * wj)
    put("AU20", dx=0.075 * sx * _gauss2(x, y, 0.3, -0.69, 0.14, 0.1), dy=-0.02 * c_both)
    thin_up = _gauss(x, y, 0.0, -0.625, 0.22, 0.03) * (1 - wj)
    thin_lo = _gauss(x, y, 0.0, -0.74, 0.2, 0.035) * wj
    put(
        "AU23",
        dx=-0.045 * x / 0.3 * _gauss(x, y, 0.0, MOUTH_Y, 0.3, 0.07),
        dy=-0.022 * thin_up + 0.022 * thin_lo,
        dz=0.01 * mouth_win,
    )
    put("AU25", dy=0.015 * mouth_win * (1 - wj) - 0.045 * mouth_win * wj)
    # Jaw drop: rotation about the hinge axis, linearised (chin goes down and a little back).
    om = 0.3
    put("AU26", dy=-om * (z - HINGE_Z) * wj, dz=0.4 * om * (y - HINGE_Y) * wj)
    # Jaw drop also applies outside the face weight (under the chin): undo the wf factor there.
    k26 = N_ID + AU_INDEX["AU26"]
    B[k26, :, 1] = -om * (z - HINGE_Z) * wj
    B[k26, :, 2] = 0.4 * om * (y - HINGE_Y) * wj
    return B


def _segment_profile(x, y, x0, y0, x1, y1, width):
    """A soft line along the segment (x0, y0)-(x1, y1): 1 on it, Gaussian falloff of ``width``."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    d2 = (x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2
    taper = np.sin(np.pi * np.clip(t, 0.02, 0.98)) ** 0.5
    return np.exp(-0.5 * d2 / width**2) * taper


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


# --------------------------------------------------------------------------------------------------
# The model at one grid resolution
# --------------------------------------------------------------------------------------------------
N_HAIR_STYLES = 5
# Columns of FaceModel.attr: per-point canonical texture that moves with the skin.
A_SKIN = slice(0, 3)  # skin albedo multiplier (texture noise, blush, ear shading)
A_WF, A_ZBASE, A_STRANDS, A_EYE, A_DARK, A_LIP, A_BROW_THIN, A_BROW_THICK, A_BEARD, A_THETA = range(3, 13)
BROW_THIN, BROW_THICK = 0.8, 1.35  # brow thickness factors of the two stored brow maps
A_HAIR = 13  # N_HAIR_STYLES columns of hair coverage
N_ATTR = A_HAIR + N_HAIR_STYLES
EXTRA_CAVITY, EXTRA_UPPER_TEETH, EXTRA_LOWER_TEETH, EXTRA_LANDMARK = 1, 2, 3, 4


@dataclass
class FaceModel:
    """Canonical geometry, blendshape bases and per-point texture at one sampling density.

    The head grid is ``[n_lon, n_lat]`` points; longitude columns ``front_lo:front_hi`` carry the
    blendshapes (``basis_head [K, n_front * n_lat * 3]``, K = identity traits + AUs).
    """

    n_lon: int
    n_lat: int
    head: np.ndarray  # [n_lon, n_lat, 3]
    front_lo: int
    front_hi: int
    basis_head: np.ndarray  # [K, n_front * n_lat * 6]: displacement (3) and normal change (3) per point
    attr: np.ndarray  # [n_lon * n_lat, N_ATTR]
    wrinkles: np.ndarray  # [n_lon * n_lat, N_AU] darkening per unit AU
    hair_disp: np.ndarray  # [N_HAIR_STYLES, n_lon, n_lat, 3] hair volume direction x coverage
    normals: np.ndarray  # [N_HAIR_STYLES, n_lon, n_lat, 3] rest normals (average hair volume)
    extra: np.ndarray  # [E, 3] mouth cavity, teeth, then the 68 landmarks
    extra_kind: np.ndarray  # [E]
    extra_zskin: np.ndarray  # [E] skin depth in front of each patch point
    extra_albedo: np.ndarray  # [E - 68, 3]
    extra_spec: np.ndarray  # [E - 68]
    basis_extra: np.ndarray  # [K, E * 3]
    neck: np.ndarray  # [Nn, 3]
    neck_normals: np.ndarray  # [Nn, 3]
    eye_mask: np.ndarray  # [n_lon * n_lat] bool: eye points (attr A_EYE > 0.05)


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


@functools.lru_cache(maxsize=8)
def face_model(n_lon: int, n_lat: int) -> FaceModel:
    """Build (once per resolution) the canonical head, patches, bases and textures."""
    theta = np.linspace(-np.pi, np.pi, n_lon, endpoint=False) + np.pi / n_lon
    # The crown (y > 1.15) and the underside of the jaw are outside every framing used here: skip them.
    phi = np.linspace(np.deg2rad(-78), np.deg2rad(72), n_lat)
    TH, PH = np.meshgrid(theta, phi, indexing="ij")
    X, Y, Z = np.cos(PH) * np.sin(TH), np.sin(PH), np.cos(PH) * np.cos(TH)
    x = HEAD_A * _egg(Y) * X
    y = HEAD_B * Y
    wf = _smoothstep(Z, 0.12, 0.5)
    z_base = HEAD_C * np.sign(Z) * np.abs(Z) ** 0.8
    z = z_base + _relief(x, y) * wf
    ear_r2 = ((y + 0.05) / 0.30) ** 2 + ((TH - np.sign(TH) * np.deg2rad(97)) / 0.2) ** 2
    ear = _smoothstep(1.0 - ear_r2, -0.1, 0.8)
    x_ear = x + np.sign(x) * 0.09 * ear
    head = np.stack([x_ear, y, z], axis=-1)

    front_cols = np.nonzero(np.abs(theta) < np.deg2rad(105))[0]
    front_lo, front_hi = int(front_cols[0]), int(front_cols[-1]) + 1
    Pf = head[front_lo:front_hi].reshape(-1, 3)
    basis_pos = _basis_fields(Pf, wf[front_lo:front_hi].reshape(-1), _jaw_weight(Pf[:, 0], Pf[:, 1]))

    # Landmarks: points of the same surface, so every blendshape moves them with the skin.
    lm_tp = _landmark_thetaphi()
    lt, lp = lm_tp[:, 0], lm_tp[:, 1]
    lX, lY, lZ = np.cos(lp) * np.sin(lt), np.sin(lp), np.cos(lp) * np.cos(lt)
    lx, ly = HEAD_A * _egg(lY) * lX, HEAD_B * lY
    lwf = _smoothstep(lZ, 0.12, 0.5)
    lms = np.stack([lx, ly, HEAD_C * lZ**0.8 + _relief(lx, ly) * lwf], axis=-1)

    # Mouth cavity (dark, tongue at the back) and teeth: patches behind the lips.
    def patch(x0, x1, y0, y1, nx, ny, depth, curve):
        gx, gy = np.meshgrid(np.linspace(x0, x1, nx), np.linspace(y0, y1, ny), indexing="ij")
        gx, gy = gx.reshape(-1), gy.reshape(-1)
        Yn = gy / HEAD_B
        Xn = gx / (HEAD_A * _egg(Yn))
        zs = HEAD_C * np.sqrt(np.clip(1 - Xn**2 - Yn**2, 0.0, 1.0)) ** 0.8 + _relief(gx, gy)
        return np.stack([gx, gy, zs - depth - curve * gx**2], axis=-1), zs

    step = 2 * np.pi / n_lon  # about the head grid spacing in canonical units
    nx = int(np.ceil(0.7 / step)) + 1
    cav, cav_z = patch(-0.34, 0.34, -0.98, -0.6, nx, int(np.ceil(0.38 / step * 1.6)) + 1, 0.16, 0.6)
    upt, upt_z = patch(-0.21, 0.21, -0.72, -0.655, nx, max(3, int(np.ceil(0.065 / step)) + 1), 0.06, 0.8)
    lot, lot_z = patch(-0.19, 0.19, -0.71, -0.66, nx, max(3, int(np.ceil(0.05 / step)) + 1), 0.09, 0.8)
    extra = np.concatenate([cav, upt, lot, lms])
    kind = np.concatenate([np.full(len(cav), EXTRA_CAVITY), np.full(len(upt), EXTRA_UPPER_TEETH),
                           np.full(len(lot), EXTRA_LOWER_TEETH), np.full(68, EXTRA_LANDMARK)])  # fmt: skip
    wj_extra = np.concatenate([
        np.clip((-0.64 - cav[:, 1]) / 0.3, 0, 1), np.zeros(len(upt)), np.ones(len(lot)), _jaw_weight(lx, ly),
    ])  # fmt: skip
    for i, w in _LM_JAW_WEIGHT.items():
        wj_extra[len(extra) - 68 + i] = w
    wf_extra = np.concatenate([np.ones(len(extra) - 68), lwf])
    basis_extra = _basis_fields(extra, wf_extra, wj_extra)
    e_alb = np.empty((len(extra) - 68, 3))
    ek = kind[:-68]
    e_alb[ek == EXTRA_CAVITY] = (0.2, 0.05, 0.05)
    e_alb[(ek == EXTRA_CAVITY) & (extra[:-68, 1] < -0.8)] = (0.5, 0.2, 0.2)  # tongue
    teeth = ek >= EXTRA_UPPER_TEETH
    gaps = 1 - 0.25 * np.cos(extra[:-68, 0] * np.pi / 0.07) ** 16
    e_alb[teeth] = gaps[teeth, None] * np.array([0.95, 0.92, 0.83])
    e_spec = np.where(teeth, 0.4, 0.05)

    # Neck: an elliptic cylinder, static in the camera frame (the head turns on it).
    n_neck = max(24, int(np.ceil(2 * np.pi * 0.55 / step)))
    rows = max(12, int(np.ceil(1.8 / step)))
    NT, NY = np.meshgrid(np.linspace(-np.pi, np.pi, n_neck, endpoint=False), np.linspace(-0.4, -2.2, rows),
                         indexing="ij")  # fmt: skip
    neck = np.stack([0.55 * np.sin(NT), NY, -0.12 + 0.5 * np.cos(NT)], axis=-1).reshape(-1, 3)
    nn_ = np.stack([np.sin(NT) / 0.55, NY * 0, np.cos(NT) / 0.5], axis=-1).reshape(-1, 3)
    nn_ /= np.linalg.norm(nn_, axis=1, keepdims=True)

    # Texture (fixed noise: part of the model, not of a sample).
    rng = np.random.default_rng(12345)
    noise = rng.standard_normal((n_lon + 2, n_lat + 2))
    noise = noise[1:-1, 1:-1] * 0.5 + (noise[:-2, 1:-1] + noise[2:, 1:-1] + noise[1:-1, :-2] + noise[1:-1, 2:]) / 8
    strands = np.sin(TH * 70 + 3 * np.sin(PH * 7)) * 0.5 + rng.standard_normal(TH.shape) * 0.5
    blush = _gauss2(x, y, 0.48, -0.3, 0.14, 0.12) * wf
    ear_inner = _smoothstep(0.6 - ear_r2, 0.0, 0.4)
    skin = (1 + 0.05 * noise - 0.2 * ear_inner)[..., None] + blush[..., None] * np.array([0.04, -0.04, -0.04])
    lm_xy = lms[:, :2]
    # Texture and wrinkles are averaged over 3x3 sub-samples per grid cell, so thin lines (lids,
    # brows, creases) come out as partial coverage instead of aliasing into dashes.
    tex: dict[str, np.ndarray] = {}
    wr = np.zeros((N_AU, n_lon * n_lat))
    d_th, d_ph = theta[1] - theta[0], phi[1] - phi[0]
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            th_s, ph_s = TH + i * d_th / 3, PH + j * d_ph / 3
            Xs, Ys, Zs = np.cos(ph_s) * np.sin(th_s), np.sin(ph_s), np.cos(ph_s) * np.cos(th_s)
            xs, ys, wfs = HEAD_A * _egg(Ys) * Xs, HEAD_B * Ys, _smoothstep(Zs, 0.12, 0.5)
            for k, val in _canonical_texture(xs, ys, wfs, lm_xy).items():
                tex[k] = tex.get(k, 0.0) + val / 9
            wr += _wrinkle_maps(xs.reshape(-1), ys.reshape(-1), wfs.reshape(-1)) / 9
    attr = np.zeros((n_lon, n_lat, N_ATTR))
    attr[..., A_SKIN] = skin
    attr[..., A_WF] = wf
    attr[..., A_ZBASE] = z_base
    attr[..., A_STRANDS] = strands
    attr[..., A_EYE] = tex["eye"]
    attr[..., A_DARK] = tex["dark"]
    attr[..., A_LIP] = tex["lip"]
    attr[..., A_BROW_THIN] = tex["brow0"]
    attr[..., A_BROW_THICK] = tex["brow1"]
    attr[..., A_BEARD] = tex["beard"]
    attr[..., A_THETA] = TH
    hair = np.stack([_hair_mask(TH, X, Y, x, y, s) for s in range(N_HAIR_STYLES)], axis=-1)
    attr[..., A_HAIR:] = hair
    dirs = np.stack([X, Y * 0.8 + 0.2, Z], axis=-1)
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    hair_disp = np.moveaxis(hair, -1, 0)[..., None] * dirs[None]
    # Normals are linearised in the blendshapes (secant over half a unit), so a sample needs no
    # per-point cross products: n = n_rest + sum_k c_k dn_k, then renormalised.
    rest = np.stack([_grid_normals(head + 0.1 * hair_disp[s], wrap=True) for s in range(N_HAIR_STYLES)])
    n0 = _grid_normals(head, wrap=True)
    basis_head = np.zeros((N_ID + N_AU, front_hi - front_lo, n_lat, 6))
    basis_head[..., :3] = basis_pos.reshape(N_ID + N_AU, front_hi - front_lo, n_lat, 3)
    for k in range(N_ID + N_AU):
        moved = head.copy()
        moved[front_lo:front_hi] += 0.5 * basis_head[k, ..., :3]
        basis_head[k, ..., 3:] = (_grid_normals(moved, wrap=True) - n0)[front_lo:front_hi] / 0.5
    K = N_ID + N_AU
    f32 = np.float32
    return FaceModel(
        n_lon=n_lon,
        n_lat=n_lat,
        head=head.astype(f32),
        front_lo=front_lo,
        front_hi=front_hi,
        basis_head=np.ascontiguousarray(basis_head.reshape(K, -1), dtype=f32),
        attr=np.ascontiguousarray(attr.reshape(-1, N_ATTR), dtype=f32),
        wrinkles=np.ascontiguousarray(wr.T, dtype=f32),
        hair_disp=hair_disp.astype(f32),
        normals=rest.astype(f32),
        extra=extra.astype(f32),
        extra_kind=kind.astype(np.int8),
        extra_zskin=np.concatenate([cav_z, upt_z, lot_z, lms[:, 2]]).astype(f32),
        extra_albedo=e_alb.astype(f32),
        extra_spec=e_spec.astype(f32),
        basis_extra=np.ascontiguousarray(basis_extra.reshape(K, -1), dtype=f32),
        neck=neck.astype(f32),
        neck_normals=nn_.astype(f32),
        eye_mask=attr.reshape(-1, N_ATTR)[:, A_EYE].astype(f32) > 0.05,
    )


def _interp(x: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Piecewise-linear curve through landmark points ``[k, 2]`` (sorted by x on the fly)."""
    order = np.argsort(pts[:, 0], kind="stable")
    return np.interp(x, pts[order, 0], pts[order, 1])


# --------------------------------------------------------------------------------------------------
# Subjects and expressions
# --------------------------------------------------------------------------------------------------
_SKIN_TONES = np.array(
    [[0.96, 0.80, 0.70], [0.87, 0.67, 0.54], [0.76, 0.56, 0.42], [0.62, 0.43, 0.30], [0.45, 0.30, 0.21],
     [0.32, 0.21, 0.15]], dtype=np.float32,
)  # fmt: skip
_HAIR_COLOURS = np.array(
    [[0.06, 0.05, 0.05], [0.17, 0.11, 0.07], [0.32, 0.20, 0.11], [0.70, 0.55, 0.33], [0.50, 0.22, 0.10],
     [0.55, 0.55, 0.55], [0.10, 0.08, 0.07]], dtype=np.float32,
)  # fmt: skip
_IRIS_COLOURS = np.array(
    [[0.25, 0.14, 0.07], [0.12, 0.07, 0.04], [0.25, 0.42, 0.62], [0.28, 0.40, 0.22], [0.42, 0.30, 0.15]],
    dtype=np.float32,
)


@dataclass(frozen=True)
class Subject:
    """One synthetic person: shape traits, colours, hairstyle and a resting-face bias."""

    subject_id: int
    identity: np.ndarray  # [N_ID] trait coefficients, about N(0, 0.6)
    scale: np.ndarray  # [3] head scale per axis
    skin: np.ndarray  # [3] RGB in [0, 1]
    lip: np.ndarray
    hair: np.ndarray
    brow: np.ndarray
    iris: np.ndarray
    hair_style: int
    hair_volume: float
    brow_thickness: float
    beard: float  # 0 none .. 1 dark stubble
    resting: np.ndarray  # [N_AU] a person's resting expression (small activations)


def _cdf(p: list[float]) -> np.ndarray:
    c = np.array(p, dtype=np.float64).cumsum()
    return c / c[-1]


# Hair and iris colour priors (light skin, dark skin) as cumulative distributions for _draw_index.
_HAIR_CDF = (_cdf([0.25, 0.25, 0.18, 0.1, 0.06, 0.08, 0.08]), _cdf([0.5, 0.3, 0.1, 0.0, 0.0, 0.05, 0.05]))
_IRIS_CDF = (_cdf([0.3, 0.3, 0.15, 0.1, 0.15]), _cdf([0.35, 0.55, 0.02, 0.02, 0.06]))
_HEAD_SCALE_SD = np.array([0.05, 0.045, 0.04])


def _draw_index(rng: np.random.Generator, cdf: np.ndarray) -> int:
    """``rng.choice(len(cdf), p=...)`` without its argument checks (a tenth of the time): numpy draws
    one uniform and searches the normalised cumulative sum exactly so, so the result is the same."""
    return int(cdf.searchsorted(rng.random(), side="right"))


def sample_subject(seed: int, subject_id: int) -> Subject:
    """The subject ``subject_id`` of the population drawn with ``seed`` (deterministic)."""
    words = [int(seed) & 0xFFFFFFFF, 0x5B1EC7, int(subject_id)]
    # A uint32 array seeds as the list of the same ints does (when each fits 32 bits), a third sooner.
    rng = np.random.default_rng(np.array(words, dtype=np.uint32) if 0 <= words[2] <= 0xFFFFFFFF else words)
    t = rng.uniform(0, len(_SKIN_TONES) - 1)
    i = min(int(t), len(_SKIN_TONES) - 2)
    skin = _SKIN_TONES[i] * (1 - (t - i)) + _SKIN_TONES[i + 1] * (t - i)
    skin = _clip(skin * rng.uniform(0.95, 1.05, 3), 0, 1)
    dark = float(skin.mean())
    hair_idx = _draw_index(rng, _HAIR_CDF[0] if dark > 0.5 else _HAIR_CDF[1])
    hair = _clip(_HAIR_COLOURS[hair_idx] * rng.uniform(0.85, 1.15, 3), 0, 1)
    brow = _clip(hair * 0.8 if hair_idx not in (3, 5) else hair * 0.6, 0, 1)
    lip_red = np.array([0.72, 0.36, 0.36], dtype=np.float32)
    lip = _clip(skin * rng.uniform(0.55, 0.75) + lip_red * rng.uniform(0.2, 0.45) * (0.5 + dark), 0, 1)
    iris = _IRIS_COLOURS[_draw_index(rng, _IRIS_CDF[0] if dark > 0.6 else _IRIS_CDF[1])]
    resting = np.zeros(N_AU, dtype=np.float32)
    for _ in range(rng.integers(0, 3)):
        resting[rng.integers(0, N_AU)] += rng.uniform(0.05, 0.22)
    male = rng.random() < 0.5
    return Subject(
        subject_id=int(subject_id),
        identity=rng.normal(0.0, 0.6, N_ID).clip(-1.5, 1.5).astype(np.float32),
        # = rng.normal(1.0, _HEAD_SCALE_SD) (numpy computes loc + scale * z), without its broadcasting overhead
        scale=_clip(1.0 + _HEAD_SCALE_SD * rng.standard_normal(3), 0.9, 1.1).astype(np.float32),
        skin=skin.astype(np.float32),
        lip=lip.astype(np.float32),
        hair=hair.astype(np.float32),
        brow=brow.astype(np.float32),
        iris=iris.astype(np.float32),
        hair_style=int(rng.integers(0, N_HAIR_STYLES)) if male else int(rng.choice([1, 3, 0, 2])),
        hair_volume=float(rng.uniform(0.03, 0.16)),
        brow_thickness=float(rng.uniform(0.8, 1.35) * (1.1 if male else 0.9)),
        beard=float(rng.uniform(0.0, 1.0) if (male and rng.random() < 0.4) else 0.0),
        resting=resting,
    )


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


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------
@dataclass
class RenderResult:
    """One rendered sample.

    ``image`` uint8 ``[S, S, 3]``; ``depth`` float32 ``[S, S]`` in [0, 1] (0 = background, larger =
    nearer the camera, linear in camera depth: 1 unit = 3 canonical head units); ``landmarks`` float32
    ``[68, 2]`` as (x, y) pixel coordinates (pixel ``i`` spans ``[i, i+1)``); ``visibility`` bool ``[68]``
    (False when self-occluded, covered by an occluder or outside the image).
    """

    image: np.ndarray
    depth: np.ndarray
    landmarks: np.ndarray
    visibility: np.ndarray


@functools.lru_cache(maxsize=8)  # as face_model's: it keeps those models alive
def _face_model_for(image_size: int, density: float) -> FaceModel:
    """``face_model(*grid_size(image_size, density))`` with one cache lookup a render instead of two."""
    return face_model(*grid_size(image_size, density))


def grid_size(image_size: int, density: float = 1.0) -> tuple[int, int]:
    """Head sampling (longitudes, latitudes): about one point per 1.5 pixels at ``image_size``.

    Each point is splatted onto 2x2 pixels, so this spacing leaves no gaps.
    """
    n_lon = max(48, int(round(image_size * 1.9 * density / 2)) * 2)
    n_lat = max(28, int(round(image_size * 1.1 * density)))
    return n_lon, n_lat


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``R = Rz(roll) Rx(pitch) Ry(yaw)`` (degrees) in the head-frame conventions of this module."""
    # math on scalars: the same values as numpy's ufuncs at a tenth of the call overhead.
    cy, sy = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    cp, sp = math.cos(math.radians(pitch)), math.sin(math.radians(pitch))
    cr, sr = math.cos(math.radians(roll)), math.sin(math.radians(roll))
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


def _grid_normals(P: np.ndarray, wrap: bool = False) -> np.ndarray:
    """Outward unit normals ``[n_lon, n_lat, 3]`` of a (longitude, latitude) grid surface.

    Central differences; longitude wraps around when ``wrap``, other edges are one-sided.
    """
    if wrap:
        d_lon = np.roll(P, -1, axis=0) - np.roll(P, 1, axis=0)
    else:
        d_lon = np.empty_like(P)
        d_lon[1:-1] = P[2:] - P[:-2]
        d_lon[0] = P[1] - P[0]
        d_lon[-1] = P[-1] - P[-2]
    d_lat = np.empty_like(P)
    d_lat[:, 1:-1] = P[:, 2:] - P[:, :-2]
    d_lat[:, 0] = P[:, 1] - P[:, 0]
    d_lat[:, -1] = P[:, -1] - P[:, -2]
    a0, a1, a2 = d_lon[..., 0], d_lon[..., 1], d_lon[..., 2]
    b0, b1, b2 = d_lat[..., 0], d_lat[..., 1], d_lat[..., 2]
    n = np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
    n += 1e-5 * P  # the poles: fall back to the radial direction
    n /= np.sqrt(np.einsum("...i,...i->...", n, n))[..., None] + 1e-12
    return n


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
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    return xx, yy


@functools.lru_cache(maxsize=8)
def _hat_weights(size: int, cells: int) -> np.ndarray:
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


def _occluder_params(kind: str, rng: np.random.Generator) -> dict:
    p: dict = {"kind": kind}
    if kind == "sunglasses":
        p.update(ax=rng.uniform(0.17, 0.23), ay=rng.uniform(0.11, 0.15), colour=rng.uniform(0.02, 0.18, 3))
    elif kind == "mask":
        base = [(0.55, 0.72, 0.85), (0.92, 0.92, 0.92), (0.1, 0.1, 0.12), (0.45, 0.6, 0.75)][rng.integers(0, 4)]
        p.update(colour=np.array(base) * rng.uniform(0.9, 1.05))
    elif kind == "scarf":
        p.update(
            colour=rng.uniform(0.05, 0.9, 3),
            colour2=rng.uniform(0.05, 0.9, 3),
            wave_a=rng.uniform(0, 0.05),
            phase=rng.uniform(0, 6.3),
            stripe=rng.uniform(15, 40),
            angle=rng.uniform(0, np.pi),
        )
    elif kind == "hair":
        p.update(
            offset=rng.uniform(-0.06, 0.12),
            slope=rng.uniform(-0.6, 0.6),
            x0=rng.uniform(-0.3, 0.3),
            phase=rng.uniform(0, 6.3),
        )
    return p


_FRONT_LIMIT = np.deg2rad(100)  # on-face occluders stop 100 degrees of longitude from the face centre


def _occluder_cover(p: dict, x: np.ndarray, y: np.ndarray, theta: np.ndarray, L: np.ndarray) -> np.ndarray:
    """Coverage in [0, 1] of an on-face occluder at head-frame points (``x``, ``y``, longitude ``theta``)."""
    kind = p["kind"]
    front = np.abs(theta) < _FRONT_LIMIT
    if kind == "sunglasses":
        cov = np.zeros_like(x)
        for e in (slice(36, 42), slice(42, 48)):
            c = L[e, :2].mean(0)
            r2 = ((x - c[0]) / p["ax"]) ** 2 + ((y - c[1] - 0.015) / p["ay"]) ** 2
            cov = np.maximum(cov, _smoothstep(1 - r2, -0.02, 0.05))
        ey = L[36:48, 1].mean() + 0.05
        bar = np.abs(y - ey) < 0.017
        return np.maximum(cov, bar) * front
    if kind == "mask":
        top = L[29, 1] - 0.02 - 0.3 * x**2
        bottom = L[8, 1] - 0.06 + 0.55 * x**2
        strap = (np.abs(x) > 0.7) & ((np.abs(y - L[29, 1] + 0.1) < 0.015) | (np.abs(y - L[6, 1]) < 0.015))
        face = _smoothstep(top - y, -0.02, 0.03) * _smoothstep(y - bottom, -0.02, 0.03)
        face = face * _smoothstep(0.88 - np.abs(x), 0, 0.05)
        return np.maximum(face, strap) * front
    if kind == "scarf":
        top = L[33, 1] - 0.02 + p["wave_a"] * np.sin(9 * x + p["phase"])
        return _smoothstep(top - y, -0.02, 0.04)
    if kind == "hair":
        eye_y = L[36:48, 1].mean()
        edge = eye_y + p["offset"] + p["slope"] * (x - p["x0"]) + 0.03 * np.sin(14 * x + p["phase"])
        return _smoothstep(y - edge, -0.02, 0.03) * front
    return np.zeros_like(x)


def _occluder_albedo(p: dict, sub: Subject, x: np.ndarray, y: np.ndarray, strands: np.ndarray):
    """Albedo ``[n, 3]`` and specular weight of on-face occluder material at (``x``, ``y``)."""
    kind = p["kind"]
    if kind == "sunglasses":
        return (p["colour"] * (1 + 0.5 * np.clip(y - 0.1, -0.2, 0.2))[:, None]).astype(np.float32), 0.9
    if kind == "mask":
        pleat = 1 - 0.12 * np.cos(np.pi * y / 0.09) ** 8
        return (p["colour"] * pleat[:, None]).astype(np.float32), 0.05
    if kind == "scarf":
        t = x * np.cos(p["angle"]) + y * np.sin(p["angle"])
        stripe = (np.sin(p["stripe"] * t) > 0.3)[:, None]
        return np.where(stripe, p["colour2"], p["colour"]).astype(np.float32), 0.05
    return (sub.hair * (1 + 0.3 * strands)[:, None]).astype(np.float32), 0.25  # hair


def _image_occluder(kind: str, rng: np.random.Generator, S: int, lmk: np.ndarray, sub: Subject):
    """A hand or random blocks drawn over the image: coverage ``[S, S]`` and colour ``[S, S, 3]``."""
    xx, yy = _pixel_grid(S)
    if kind == "hand":
        targets = [np.arange(48, 68), np.array([7, 8, 9]), np.arange(36, 42), np.arange(42, 48),
                   np.array([2, 3, 4, 48]), np.array([12, 13, 14, 54])]  # fmt: skip
        c = lmk[targets[rng.integers(0, len(targets))]].mean(0) + rng.normal(0, 0.04 * S, 2)
        ang = rng.uniform(-0.9, 0.9) + (np.pi if rng.random() < 0.3 else 0.0)
        dx, dy = xx - c[0], yy - c[1]
        a = dx * np.cos(ang) + dy * np.sin(ang)
        b = -dx * np.sin(ang) + dy * np.cos(ang)
        s = S * rng.uniform(0.8, 1.1)
        mask = _smoothstep(1 - (a / (0.15 * s)) ** 2 - (b / (0.17 * s)) ** 2, -0.05, 0.1)
        shade = 0.85 + 0.15 * np.clip(-a / (0.15 * s), -1, 1)
        w = 0.055 * s
        for k, off in enumerate((-1.5, -0.5, 0.5, 1.5)):
            length = (0.18 + 0.04 * (k in (1, 2))) * s * rng.uniform(0.85, 1.1)
            fa = a - off * w * 1.1
            finger = (np.abs(fa) < w / 2) & (b < -0.08 * s) & (b > -0.08 * s - length)
            mask = np.maximum(mask, finger)
            shade = np.where(finger, 0.95 - 0.45 * (np.abs(fa) / (w / 2)) ** 4, shade)
        sgn = 1.0 if rng.random() < 0.5 else -1.0
        ta = (a * np.cos(np.pi / 4) + b * np.sin(np.pi / 4) * sgn) * sgn - 0.12 * s
        tb = -a * np.sin(np.pi / 4) * sgn + b * np.cos(np.pi / 4)
        thumb = (np.abs(tb) < w * 0.55) & (ta > 0) & (ta < 0.18 * s)
        mask = np.maximum(mask, thumb)
        tone = sub.skin if rng.random() < 0.7 else _SKIN_TONES[rng.integers(0, len(_SKIN_TONES))]
        return mask.astype(np.float32), (tone * shade[..., None]).astype(np.float32)
    mask = np.zeros((S, S), dtype=np.float32)
    colour = np.zeros((S, S, 3), dtype=np.float32)
    centre = lmk[27:68].mean(0)
    for _ in range(rng.integers(1, 3)):
        c = centre + rng.normal(0, 0.12 * S, 2)
        hw, hh = rng.uniform(0.1, 0.22, 2) * S
        m = (np.abs(xx - c[0]) < hw) & (np.abs(yy - c[1]) < hh)
        tex = rng.uniform(0.0, 1.0, 3).astype(np.float32) * (1 + 0.2 * rng.standard_normal((S, S, 1), np.float32))
        colour = np.where(m[..., None], tex, colour)
        mask = np.maximum(mask, m)
    return mask, colour


@functools.lru_cache(maxsize=16)
def _void_dtype(nbytes: int) -> np.dtype:
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


_FLIP_Y = np.array([1, -1], dtype=np.float32)  # image y runs down, camera y up
_EMPTY_KEY = np.iinfo(np.int64).max  # a z-buffer pixel no point reached


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


_EYE_CORNERS = np.array([36, 39, 42, 45])  # landmarks at the corners of the right and left eye


def _surface_albedo(
    fm: FaceModel, subject: Subject, au: np.ndarray, idx: np.ndarray, P: np.ndarray, L: np.ndarray,
    gaze: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Albedo ``[3, n]`` (channel-first) and specular weight ``[n]`` of the head-grid points ``idx`` (into the
    full grid) at head-frame positions ``P [n, 3]``: skin, beard, wrinkles, brows, lips, lids, eyes and hair.

    Every step is per point, so a caller passes only the points that won a pixel of the z-buffer. Colours are
    channel-first because numpy runs an ``[n, 3]`` array broadcast against ``[3]`` or ``[n, 1]`` as n loops of
    3 elements (5-10x slower than 3 loops of n); every element sees the same float32 operations either way.
    """
    A = _take_rows(fm.attr, idx)
    col = np.empty((3, len(idx)), dtype=np.float32)
    for c in range(3):
        np.multiply(A[:, A_SKIN.start + c], subject.skin[c], out=col[c])
    if subject.beard > 0:
        col *= 1 - subject.beard * 0.4 * A[:, A_BEARD] * (0.7 + 0.3 * A[:, A_STRANDS])
    if np.count_nonzero(au):
        wr = _take_rows(fm.wrinkles, idx) @ au
        col *= 1 - np.minimum(wr, 0.6)
    t = np.float32(min(max((subject.brow_thickness - BROW_THIN) / (BROW_THICK - BROW_THIN), 0.0), 1.0))
    brow = np.minimum(A[:, A_BROW_THIN] * (1 - t) + A[:, A_BROW_THICK] * t, 1)
    # Brows, lips and hair cover few points: blend only those (the rest would add exact zeros).
    i = _nonzero1d(brow > 0)
    _blend_into(col, i, brow[i], subject.brow[:, None] * (1 + 0.3 * A[i, A_STRANDS]))
    i = _nonzero1d(A[:, A_LIP] > 0)
    _blend_into(col, i, A[i, A_LIP], subject.lip[:, None])
    col *= 1 - A[:, A_DARK]
    eye_pts = _nonzero1d(A[:, A_EYE] > 0.05)
    if eye_pts.size:
        ex, ey = P[eye_pts, 0], P[eye_pts, 1]
        ecol = np.empty((eye_pts.size, 3), dtype=np.float32)
        ecol[:] = (0.9, 0.88, 0.85)
        # Both eyes at once: rows of [2, n_eye] arrays, each element the same float64 steps as one eye at a
        # time; the colours are then painted eye by eye (iris, pupil, glint), in that order.
        corners = L[_EYE_CORNERS, :2]  # [4, 2]: outer and inner corner of each eye
        centre = (corners[0::2] + corners[1::2]) / 2 + np.array([gaze[0], 0.01 + gaze[1]])  # [2, 2] float64
        d = corners[1::2] - corners[0::2]
        # = np.linalg.norm(d[e]), which computes it so, at a third of the cost
        ri = np.array([0.22 * float(np.sqrt(d[0].dot(d[0]))), 0.22 * float(np.sqrt(d[1].dot(d[1])))])[:, None]
        dx, dy = ex - centre[:, :1], ey - centre[:, 1:]
        r = np.hypot(dx, dy)
        rr = r[..., None]
        shade = subject.iris * (0.65 + 0.5 * rr / ri[..., None]) * np.where(rr > 0.85 * ri[..., None], 0.55, 1.0)
        iris, pupil = r < ri, r < 0.42 * ri
        glint = np.hypot(dx + 0.3 * ri, dy - 0.3 * ri) < 0.17 * ri
        for e in (0, 1):
            ecol[iris[e]] = shade[e, iris[e]]
            ecol[pupil[e]] = 0.03
            ecol[glint[e]] = 0.95
        w = A[eye_pts, A_EYE]
        col[:, eye_pts] = col[:, eye_pts] * (1 - w) + ecol.T * w * (1 - A[eye_pts, A_DARK])
    hair = A[:, A_HAIR + subject.hair_style]
    i = _nonzero1d(hair > 0)
    _blend_into(col, i, hair[i], subject.hair[:, None] * (1 + 0.3 * A[i, A_STRANDS]))
    spec = 0.1 + 0.4 * A[:, A_EYE] + 0.25 * A[:, A_LIP] + 0.1 * hair
    return col, spec


def render_face(
    subject: Subject,
    au: np.ndarray,
    yaw: float,
    pitch: float,
    roll: float,
    occluder: str,
    image_size: int,
    rng: np.random.Generator,
    density: float = 1.0,
    clutter: bool = True,
    degrade: bool = True,
) -> RenderResult:
    """Render one face.

    ``au``: AU activations ``[N_AU]``; angles in degrees (|yaw| <= 90); ``occluder`` one of
    :data:`OCCLUDERS`; ``rng`` supplies every remaining random choice (camera, light, background,
    occluder placement, blur, noise), so a fixed generator state gives byte-identical output.
    ``clutter=False`` draws a plain grey background; ``degrade=False`` skips colour jitter, blur and noise.
    """
    if occluder not in OCCLUDERS:
        raise ValueError(f"unknown occluder {occluder!r}; expected one of {OCCLUDERS}")
    S = int(image_size)
    fm = _face_model_for(S, density)
    nl = fm.n_lat
    au = np.asarray(au, dtype=np.float32)
    coef = np.concatenate([subject.identity, au], dtype=np.float32)
    scale = subject.scale

    # -- geometry of the longitudes that can face the camera, in the head frame --
    # math.radians multiplies by the same double pi/180 as np.deg2rad, without a numpy scalar round trip
    centre_col = int(round((math.pi - math.radians(yaw)) / (2 * math.pi) * fm.n_lon - 0.5))  # longitude -yaw faces us
    half = int(math.ceil(math.radians(108) / (2 * math.pi) * fm.n_lon))
    a, b = centre_col - half, centre_col + half
    # Away from the longitude seam (|yaw| up to about 70) the columns are one slice: copy it, no gather.
    seam = not (0 <= a and b <= fm.n_lon)
    take = np.arange(a, b) % fm.n_lon if seam else slice(a, b)
    head = fm.head[take].copy()
    normals = fm.normals[subject.hair_style][take].copy()
    lo, hi = max(a, fm.front_lo), min(b, fm.front_hi)
    if hi > lo:
        blk = fm.basis_head[:, (lo - fm.front_lo) * nl * 6 : (hi - fm.front_lo) * nl * 6]
        delta = (coef @ blk).reshape(hi - lo, nl, 6)
        for c in range(3):  # channel by channel (see _mul_xyz)
            head[lo - a : hi - a, :, c] += delta[..., c]
            normals[lo - a : hi - a, :, c] += delta[..., 3 + c]
    head += subject.hair_volume * fm.hair_disp[subject.hair_style][take]
    head = _mul_xyz(head, scale, out=head).reshape(-1, 3)
    inv = np.empty_like(normals)
    for c in range(3):  # normals transform with the inverse scale
        np.divide(normals[..., c], scale[c], out=inv[..., c])
    normals = inv.reshape(-1, 3)
    extra = (fm.extra + (coef @ fm.basis_extra).reshape(-1, 3)) * scale
    L = extra[-68:]  # landmarks, head frame
    extra = extra[:-68]

    # -- camera: perspective, the mid-face centred with jitter --
    R = rotation_matrix(yaw, pitch, roll).astype(np.float32)
    # One draw of consecutive uniforms: rng.uniform(lo, hi) is lo + (hi - lo) * u of the same doubles.
    u_dist, u_focal = rng.random(2).tolist()
    dist = 6.0 + (9.0 - 6.0) * u_dist
    focal = 0.5 * S * (0.9 + (1.08 - 0.9) * u_focal) * (dist - 0.8)
    mid = R @ np.array([0.0, -0.22, 0.75], dtype=np.float32)
    shift = rng.normal(0.0, 0.03 * S, 2)
    cam = np.array([mid[0], mid[1], dist], dtype=np.float32)  # camera position, rotated-head frame
    cam_h = R.T @ cam

    to_cam = np.empty_like(head)
    for c in range(3):
        np.subtract(cam_h[c], head[:, c], out=to_cam[:, c])
    facing = _rowdot(normals, to_cam) > 0  # the sign needs no unit normals
    vis = _nonzero1d(facing)
    P = _take_rows(head, vis)
    # Index into the full head grid. Without the seam the window's points are the grid's from column a on,
    # so an offset does what an integer divmod (slow: ~10 ns an element) and a gather would.
    if seam:
        lon, lat = np.divmod(vis, nl)
        gidx = take[lon] * nl + lat
    else:
        gidx = vis + a * nl
    # The gaze is drawn whenever an eye point faces the camera, before the occluder's draws.
    gaze = rng.normal(0.0, 0.012, 2) if np.count_nonzero(fm.eye_mask[gidx]) else None

    # -- extras (mouth cavity, teeth) and neck --
    e_col = fm.extra_albedo
    e_spec = fm.extra_spec
    neck = _mul_xyz(fm.neck, scale)
    neck_skin = subject.skin * 0.95
    n_col = None  # [n_neck, 3] where a scarf recolours the neck; else every point is neck_skin

    # -- on-face occluders: recolour and lift the covered points --
    lm_cov = np.zeros(68, dtype=np.float32)
    occ, cov = None, None
    if occluder in ("sunglasses", "mask", "scarf", "hair"):
        occ = _occluder_params(occluder, rng)
        cov = _occluder_cover(occ, P[:, 0], P[:, 1], fm.attr[gidx, A_THETA], L)  # its colour comes after the z-buffer
        sel = _nonzero1d(cov > 0.01)
        if sel.size:
            c = cov[sel]
            if occluder in ("mask", "scarf"):
                zbase = fm.attr[gidx[sel], A_ZBASE]
                lift = np.maximum(zbase * scale[2] + (0.1 if occluder == "mask" else 0.13) - P[sel, 2], 0)
            else:
                lift = np.float32(0.07 if occluder == "sunglasses" else 0.05)
            P[sel, 2] += lift * c
        if occluder in ("mask", "scarf"):
            # Fabric spans an open mouth: the cavity patch takes the fabric's colour and place.
            ec = _occluder_cover(occ, extra[:, 0], extra[:, 1], np.zeros(len(extra)), L) > 0.5
            if np.count_nonzero(ec):
                e_col = e_col.copy()
                e_col[ec] = _occluder_albedo(occ, subject, extra[ec, 0], extra[ec, 1], extra[ec, 0])[0]
                extra[ec, 2] = fm.extra_zskin[:-68][ec] * scale[2] + 0.1
        if occluder == "scarf":
            n_col = np.empty((len(neck), 3), dtype=np.float32)
            n_col[:] = neck_skin
            nc = neck[:, 1] > -2.0
            n_col[nc] = _occluder_albedo(occ, subject, neck[nc, 0], neck[nc, 1], neck[nc, 0])[0]
            neck = neck * np.array([1.2, 1.0, 1.2], dtype=np.float32) + np.array([0, 0, 0.03], dtype=np.float32)
        lm_cov = _occluder_cover(occ, L[:, 0], L[:, 1], np.arctan2(L[:, 0], L[:, 2]), L)

    # -- shade (head frame for the head, camera frame for the neck) and project --
    # Light direction, ambient and diffuse weights and the colour tint: eight consecutive uniforms, drawn at once.
    u = rng.random(8)
    ul = u[:5].tolist()
    light = np.array(
        [-0.8 + (0.8 - -0.8) * ul[0], -0.1 + (0.9 - -0.1) * ul[1], 0.6 + (1.2 - 0.6) * ul[2]], dtype=np.float32
    )
    # np.linalg.norm of a 1-D float array is sqrt(x.dot(x)), at a fifth of the call's cost
    light /= np.sqrt(light.dot(light))
    halfv = light + np.array([0, 0, 1], dtype=np.float32)
    halfv /= np.sqrt(halfv.dot(halfv))
    ambient, diffuse = np.float32(0.35 + (0.55 - 0.35) * ul[3]), np.float32(0.45 + (0.75 - 0.45) * ul[4])
    tint = (1 + (-0.06 + (0.06 - -0.06) * u[5:])).astype(np.float32)
    neck_to_cam = np.empty_like(neck)
    for c in range(3):
        np.subtract(cam[c], neck[:, c], out=neck_to_cam[:, c])
    n_facing = _rowdot(fm.neck_normals, neck_to_cam) > 0
    n_surf = len(P) + len(extra)
    neck_shown = _nonzero1d(n_facing)
    neck_vis = _take_rows(neck, neck_shown)
    Pc = np.empty((n_surf + len(neck_vis), 3), dtype=np.float32)
    np.matmul(np.concatenate([P, extra]), R.T, out=Pc[:n_surf])
    Pc[n_surf:] = neck_vis
    Zc = dist - Pc[:, 2]
    u = (S / 2 + shift[0]) + (focal * (Pc[:, 0] - cam[0])) / Zc
    v = (S / 2 + shift[1]) - (focal * (Pc[:, 1] - cam[1])) / Zc

    # Each point covers the 2x2 pixels around it; the z-buffer keeps the nearest point per pixel.
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

    # Colour and shade only the points that won a pixel (about a third): every step below is per point.
    drawn = np.zeros(len(u), dtype=bool)
    drawn[win] = True
    pts = _nonzero1d(drawn)
    n_head, n_extra = len(P), len(extra)
    h_end = np.count_nonzero(drawn[:n_head])  # = np.searchsorted(pts, n_head): pts is drawn's sorted nonzeros
    e_end = h_end + np.count_nonzero(drawn[n_head : n_head + n_extra])
    ph, pe, pn = pts[:h_end], pts[h_end:e_end] - n_head, pts[e_end:] - (n_head + n_extra)
    col, spec = _surface_albedo(fm, subject, au, gidx[ph], _take_rows(P, ph), L, gaze)
    if cov is not None:
        sel = _nonzero1d(cov[ph] > 0.01)
        if sel.size:
            q = ph[sel]
            oc, osp = _occluder_albedo(occ, subject, P[q, 0], P[q, 1], fm.attr[gidx[q], A_STRANDS])
            c = cov[q]
            _blend_into(col, sel, c, oc.T)
            spec[sel] += c * (osp - spec[sel])
    Nv = _take_rows(normals, vis[ph])
    norm = np.sqrt(_rowdot(Nv, Nv))
    for c in range(3):
        Nv[:, c] /= norm
    neck_pts = neck_shown[pn]
    nh, ne = len(ph), len(pe)
    N_all = np.empty((len(pts), 3), dtype=np.float32)
    np.matmul(Nv, R.T, out=N_all[:nh])
    N_all[nh : nh + ne] = R[:, 2]
    N_all[nh + ne :] = _take_rows(fm.neck_normals, neck_pts)
    C_all = np.empty((3, len(pts)), dtype=np.float32)  # [3, N], like col
    C_all[:, :nh] = col
    C_all[:, nh : nh + ne] = _take_rows(e_col, pe).T
    C_all[:, nh + ne :] = neck_skin[:, None] if n_col is None else _take_rows(n_col, neck_pts).T
    K_all = np.empty(len(pts), dtype=np.float32)
    K_all[:nh] = spec
    K_all[nh : nh + ne] = e_spec[pe]
    K_all[nh + ne :] = 0.08
    ndl = np.maximum(N_all @ light, 0)  # unit vectors: the dot product never exceeds 1
    ndh = np.maximum(N_all @ halfv, 0)
    ndh *= ndh
    ndh *= ndh
    ndh *= ndh
    ndh *= ndh  # ** 16, by squaring
    shaded = C_all * ((ambient + diffuse * ndl) * tint[:, None]) + K_all * ndh * 0.6
    shaded = np.ascontiguousarray(shaded.T)  # rows, for the row gather below

    # The splats go straight onto the background (drawn here: no random draw lies between), and the gap
    # filling weighs only filled neighbours, so the background under them never counts.
    img = _contiguous_copy(_background(rng, S)) if clutter else np.full((S, S, 3), 0.5, dtype=np.float32)
    rank = np.empty(len(u), dtype=np.int64)  # a drawn point's row in shaded (a cumsum of drawn, 3x faster)
    rank[pts] = np.arange(len(pts))
    _rows_view(img.reshape(-1, 3))[hit] = _rows_view(_take_rows(shaded, rank[win]))
    zflat = np.zeros(S * S, dtype=np.float32)
    zflat[hit] = (zkey[hit] >> 21).astype(np.int32).view(np.float32)
    img, zimg, filled = _fill_gaps(img, zflat.reshape(S, S))

    # -- landmarks and their visibility (z-buffer test, occluders, image bounds) --
    Lr = L @ R.T
    lz = dist - Lr[:, 2]
    # x and y together: x = (S/2 + shift_x) + t_x and y = (S/2 + shift_y) - t_y, as a sum with -t_y (exact).
    t = focal * (Lr[:, :2] - cam[:2]) / lz[:, None]
    t *= _FLIP_Y
    lmk = ((S / 2 + shift) + t).astype(np.float32)
    lij = np.minimum(np.maximum(np.floor(lmk).astype(int), 0), S - 1)
    li, lj = lij[:, 0], lij[:, 1]
    inside = np.logical_and.reduce((lmk >= 0) & (lmk < S), axis=1)
    zat = zimg[lj, li]
    # Tolerance: a contour point on the silhouette shares its pixel with nearby nearer skin.
    visible = inside & ((zat == 0) | (lz <= zat + 0.2)) & (lm_cov < 0.5)

    # -- background, image-space occluders, degradations --
    # In place on a fresh array: the same float32 steps as clip((dist - z + 1.5) / 3, 0, 1) where filled, else 0.
    depth = dist - zimg
    depth += 1.5
    depth /= 3.0
    np.maximum(depth, 0.0, out=depth)
    np.minimum(depth, 1.0, out=depth)
    depth[~filled] = 0.0
    if occluder in ("hand", "block"):
        mask, colour = _image_occluder(occluder, rng, S, lmk, subject)
        img += mask[..., None] * (colour - img)
        near = min(float(depth.max()) + 0.05, 1.0) if depth.max() > 0 else 0.9
        depth = np.where(mask > 0.5, np.float32(near), depth)
        visible &= mask[lj, li] <= 0.5
    if degrade:
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
    else:
        img = _blur(img, 0.4 * S / 64)
    # In place (img is this call's own array): the same values as clip, * 255 and + 0.5 with fresh arrays.
    np.maximum(img, 0.0, out=img)
    np.minimum(img, 1.0, out=img)
    img *= 255.0
    img += 0.5
    image = img.astype(np.uint8)
    return RenderResult(image=image, depth=depth, landmarks=lmk, visibility=visible)

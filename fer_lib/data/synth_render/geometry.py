"""The canonical head's geometry: shape constants, the 68 landmarks, facial relief, the identity and AU
displacement fields (blendshapes), the head rotation and grid normals.

Coordinates (head frame, canonical units; the head is about 1.85 wide and 2.5 tall): ``x`` to the
viewer's right, ``y`` up, ``z`` towards the camera; eyes at ``y ~ 0.06``, mouth at ``y ~ -0.68``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .fields import _gauss, _gauss2, _segment_profile, _smoothstep

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

# iBUG 68-point layout, neutral canonical (x, y). Index order: jaw 0-16 (viewer's left to right),
# brows 17-26, nose bridge 27-30, nose base 31-35, eyes 36-47, outer lips 48-59, inner lips 60-67.
_BROW_R = [(-0.62, 0.26), (-0.52, 0.33), (-0.40, 0.36), (-0.28, 0.355), (-0.15, 0.315)]
_EYE_R = [(-0.56, 0.06), (-0.46, 0.115), (-0.33, 0.115), (-0.22, 0.06), (-0.33, 0.02), (-0.46, 0.02)]
_OUTER_LIP = [  # 48 .. 54 corner to corner along the upper lip, then 55 .. 59 back along the lower
    (-0.30, -0.68), (-0.20, -0.625), (-0.08, -0.598), (0.0, -0.612), (0.08, -0.598), (0.20, -0.625), (0.30, -0.68),
    (0.20, -0.745), (0.09, -0.78), (0.0, -0.785), (-0.09, -0.78), (-0.20, -0.745),
]  # fmt: skip
_INNER_LIP = [  # 60 .. 64 corner to corner along the upper lip, then 65 .. 67 back along the lower
    (-0.27, -0.678), (-0.12, -0.672), (0.0, -0.671), (0.12, -0.672), (0.27, -0.678),
    (0.12, -0.679), (0.0, -0.68), (-0.12, -0.679),
]  # fmt: skip
#: Landmarks that belong to the lower lip / jaw (inner lower lip shares the rest line with the upper).
_LM_JAW_WEIGHT = {60: 0.5, 64: 0.5, 61: 0.0, 62: 0.0, 63: 0.0, 65: 1.0, 66: 1.0, 67: 1.0}
_JAW_DROP = 0.3  # AU26: the jaw's rotation about the hinge axis at unit activation (radians, linearised)


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
    """The (longitude, latitude) of the front head surface point at canonical (``x``, ``y``)."""
    Y = y / HEAD_B
    phi = float(np.arcsin(Y))
    s = x / (HEAD_A * _egg(np.asarray(Y)) * np.cos(phi))
    return float(np.arcsin(np.clip(s, -1.0, 1.0))), phi


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


# --------------------------------------------------------------------------------------------------
# Blendshapes: displacement fields of the identity traits and action units
# --------------------------------------------------------------------------------------------------
_Put = Callable[..., None]  # put(name, dx=0.0, dy=0.0, dz=0.0): add a displacement field to a trait or AU


def _basis_fields(P: np.ndarray, wf: np.ndarray, wj: np.ndarray) -> np.ndarray:
    """Displacement fields of the identity traits and AUs at canonical points ``P [M, 3]``.

    ``wf``: front weight (facial region), ``wj``: jaw weight. Returns ``[N_ID + N_AU, M, 3]``.
    """
    x, y, z = P[:, 0], P[:, 1], P[:, 2]
    M = len(P)
    B = np.zeros((N_ID + N_AU, M, 3))

    def put(name: str, dx=0.0, dy=0.0, dz=0.0) -> None:
        k = ID_NAMES.index(name) if name in ID_NAMES else N_ID + AU_INDEX[name]
        B[k, :, 0] += dx * wf
        B[k, :, 1] += dy * wf
        B[k, :, 2] += dz * wf

    _identity_fields(put, x, y)
    _upper_face_au_fields(put, x, y, wj)
    _lower_face_au_fields(put, x, y, z, wj)
    # Jaw drop also applies outside the face weight (under the chin): undo the wf factor there.
    k26 = N_ID + AU_INDEX["AU26"]
    B[k26, :, 1] = -_JAW_DROP * (z - HINGE_Z) * wj
    B[k26, :, 2] = 0.4 * _JAW_DROP * (y - HINGE_Y) * wj
    return B


def _identity_fields(put: _Put, x: np.ndarray, y: np.ndarray) -> None:
    """The identity traits' fields (unit = a large but plausible deviation) at points ``x, y [M]``."""
    sx = np.sign(x)
    lower = _smoothstep(-y, 0.2, 0.9)
    eye_win = _gauss2(x, y, 0.39, 0.07, 0.14, 0.07)
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


def _upper_face_au_fields(put: _Put, x: np.ndarray, y: np.ndarray, wj: np.ndarray) -> None:
    """Brow, lid, cheek and nose AUs (1, 2, 4, 5, 6, 7, 9; unit = the apex of a strong expression) at
    points ``x, y [M]`` with jaw weight ``wj [M]``."""
    sx = np.sign(x)
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


def _lower_face_au_fields(put: _Put, x: np.ndarray, y: np.ndarray, z: np.ndarray, wj: np.ndarray) -> None:
    """Mouth and jaw AUs (12, 14, 15, 16, 20, 23, 25, 26) at points ``x, y, z [M]`` with jaw weight ``wj [M]``."""
    sx = np.sign(x)
    mouth_win = _gauss(x, y, 0.0, MOUTH_Y, 0.32, 0.13)
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
    put("AU26", dy=-_JAW_DROP * (z - HINGE_Z) * wj, dz=0.4 * _JAW_DROP * (y - HINGE_Y) * wj)


# --------------------------------------------------------------------------------------------------
# Pose and normals
# --------------------------------------------------------------------------------------------------
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

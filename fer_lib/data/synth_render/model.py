"""The face model at one grid resolution: canonical head grid, blendshape bases (positions and linearised
normals), mouth cavity and teeth, landmarks, neck and per-point texture, built once per resolution and cached.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .fields import _smoothstep
from .geometry import (
    _LM_JAW_WEIGHT,
    HEAD_A,
    HEAD_B,
    HEAD_C,
    N_AU,
    N_ID,
    _basis_fields,
    _egg,
    _grid_normals,
    _jaw_weight,
    _landmark_thetaphi,
    _relief,
)
from .texture import N_HAIR_STYLES, _hair_mask, _skin_and_strands, _supersampled_texture

# Columns of FaceModel.attr: per-point canonical texture that moves with the skin.
A_SKIN = slice(0, 3)  # skin albedo multiplier (texture noise, blush, ear shading)
A_WF, A_ZBASE, A_STRANDS, A_EYE, A_DARK, A_LIP, A_BROW_THIN, A_BROW_THICK, A_BEARD, A_THETA = range(3, 13)
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


@dataclass
class _HeadGrid:
    """The canonical head sampled on a (longitude, latitude) grid; every array but ``theta``/``phi`` is
    ``[n_lon, n_lat]`` (``head`` ``[n_lon, n_lat, 3]``)."""

    theta: np.ndarray  # [n_lon] longitudes
    phi: np.ndarray  # [n_lat] latitudes
    TH: np.ndarray
    PH: np.ndarray
    X: np.ndarray  # unit-sphere coordinates
    Y: np.ndarray
    Z: np.ndarray
    x: np.ndarray  # canonical x, y (before the ears)
    y: np.ndarray
    wf: np.ndarray  # front (facial region) weight
    z_base: np.ndarray  # ellipsoid depth without relief
    ear_r2: np.ndarray  # squared normalised distance from the ear centre
    head: np.ndarray  # [n_lon, n_lat, 3] positions with relief and ears


def _head_grid(n_lon: int, n_lat: int) -> _HeadGrid:
    """The egg-shaped head with facial relief and ears on an ``[n_lon, n_lat]`` grid."""
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
    return _HeadGrid(theta, phi, TH, PH, X, Y, Z, x, y, wf, z_base, ear_r2, head)


def _landmark_points() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 68 landmarks as points of the head surface ``[68, 3]`` (so every blendshape moves them with the
    skin), their front weights ``[68]`` and their jaw weights ``[68]`` (before ``_LM_JAW_WEIGHT``)."""
    lm_tp = _landmark_thetaphi()
    lt, lp = lm_tp[:, 0], lm_tp[:, 1]
    lX, lY, lZ = np.cos(lp) * np.sin(lt), np.sin(lp), np.cos(lp) * np.cos(lt)
    lx, ly = HEAD_A * _egg(lY) * lX, HEAD_B * lY
    lwf = _smoothstep(lZ, 0.12, 0.5)
    return np.stack([lx, ly, HEAD_C * lZ**0.8 + _relief(lx, ly) * lwf], axis=-1), lwf, _jaw_weight(lx, ly)


def _mouth_patch(x0, x1, y0, y1, nx, ny, depth, curve) -> tuple[np.ndarray, np.ndarray]:
    """A curved ``nx x ny`` patch behind the lips over ``[x0, x1] x [y0, y1]``, ``depth`` behind the skin:
    points ``[nx * ny, 3]`` and the skin depth in front of each ``[nx * ny]``."""
    gx, gy = np.meshgrid(np.linspace(x0, x1, nx), np.linspace(y0, y1, ny), indexing="ij")
    gx, gy = gx.reshape(-1), gy.reshape(-1)
    Yn = gy / HEAD_B
    Xn = gx / (HEAD_A * _egg(Yn))
    zs = HEAD_C * np.sqrt(np.clip(1 - Xn**2 - Yn**2, 0.0, 1.0)) ** 0.8 + _relief(gx, gy)
    return np.stack([gx, gy, zs - depth - curve * gx**2], axis=-1), zs


def _mouth_extras(step: float, lms: np.ndarray, lwf: np.ndarray, lwj: np.ndarray) -> dict[str, np.ndarray]:
    """Mouth cavity (dark, tongue at the back), upper and lower teeth, then the landmarks ``lms [68, 3]``
    (front and jaw weights ``lwf``, ``lwj`` ``[68]``), for a grid spacing ``step``: ``extra [E, 3]``,
    ``kind [E]``, ``zskin [E]``, ``basis [K, E, 3]``, and ``albedo [E - 68, 3]`` and ``spec [E - 68]`` of the
    patches."""
    nx = int(np.ceil(0.7 / step)) + 1
    cav, cav_z = _mouth_patch(-0.34, 0.34, -0.98, -0.6, nx, int(np.ceil(0.38 / step * 1.6)) + 1, 0.16, 0.6)
    upt, upt_z = _mouth_patch(-0.21, 0.21, -0.72, -0.655, nx, max(3, int(np.ceil(0.065 / step)) + 1), 0.06, 0.8)
    lot, lot_z = _mouth_patch(-0.19, 0.19, -0.71, -0.66, nx, max(3, int(np.ceil(0.05 / step)) + 1), 0.09, 0.8)
    extra = np.concatenate([cav, upt, lot, lms])
    kind = np.concatenate([np.full(len(cav), EXTRA_CAVITY), np.full(len(upt), EXTRA_UPPER_TEETH),
                           np.full(len(lot), EXTRA_LOWER_TEETH), np.full(68, EXTRA_LANDMARK)])  # fmt: skip
    wj_extra = np.concatenate([
        np.clip((-0.64 - cav[:, 1]) / 0.3, 0, 1), np.zeros(len(upt)), np.ones(len(lot)), lwj,
    ])  # fmt: skip
    for i, w in _LM_JAW_WEIGHT.items():
        wj_extra[len(extra) - 68 + i] = w
    wf_extra = np.concatenate([np.ones(len(extra) - 68), lwf])
    e_alb = np.empty((len(extra) - 68, 3))
    ek = kind[:-68]
    e_alb[ek == EXTRA_CAVITY] = (0.2, 0.05, 0.05)
    e_alb[(ek == EXTRA_CAVITY) & (extra[:-68, 1] < -0.8)] = (0.5, 0.2, 0.2)  # tongue
    teeth = ek >= EXTRA_UPPER_TEETH
    gaps = 1 - 0.25 * np.cos(extra[:-68, 0] * np.pi / 0.07) ** 16
    e_alb[teeth] = gaps[teeth, None] * np.array([0.95, 0.92, 0.83])
    return {
        "extra": extra,
        "kind": kind,
        "zskin": np.concatenate([cav_z, upt_z, lot_z, lms[:, 2]]),
        "basis": _basis_fields(extra, wf_extra, wj_extra),
        "albedo": e_alb,
        "spec": np.where(teeth, 0.4, 0.05),
    }


def _neck(step: float) -> tuple[np.ndarray, np.ndarray]:
    """The neck, an elliptic cylinder static in the camera frame (the head turns on it), sampled about every
    ``step``: points ``[Nn, 3]`` and unit normals ``[Nn, 3]``."""
    n_neck = max(24, int(np.ceil(2 * np.pi * 0.55 / step)))
    rows = max(12, int(np.ceil(1.8 / step)))
    NT, NY = np.meshgrid(np.linspace(-np.pi, np.pi, n_neck, endpoint=False), np.linspace(-0.4, -2.2, rows),
                         indexing="ij")  # fmt: skip
    neck = np.stack([0.55 * np.sin(NT), NY, -0.12 + 0.5 * np.cos(NT)], axis=-1).reshape(-1, 3)
    nn_ = np.stack([np.sin(NT) / 0.55, NY * 0, np.cos(NT) / 0.5], axis=-1).reshape(-1, 3)
    nn_ /= np.linalg.norm(nn_, axis=1, keepdims=True)
    return neck, nn_


def _attr_table(g: _HeadGrid, lm_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-point texture of the grid ``g`` with landmarks ``lm_xy [68, 2]``: ``attr [n_lon, n_lat, N_ATTR]``
    (columns ``A_*``), wrinkles ``[N_AU, n_lon * n_lat]`` and hair coverage ``[n_lon, n_lat, N_HAIR_STYLES]``."""
    skin, strands = _skin_and_strands(g.TH, g.PH, g.x, g.y, g.wf, g.ear_r2)
    tex, wr = _supersampled_texture(g.TH, g.PH, g.theta[1] - g.theta[0], g.phi[1] - g.phi[0], lm_xy)
    attr = np.zeros((*g.TH.shape, N_ATTR))
    attr[..., A_SKIN] = skin
    attr[..., A_WF] = g.wf
    attr[..., A_ZBASE] = g.z_base
    attr[..., A_STRANDS] = strands
    attr[..., A_EYE] = tex["eye"]
    attr[..., A_DARK] = tex["dark"]
    attr[..., A_LIP] = tex["lip"]
    attr[..., A_BROW_THIN] = tex["brow0"]
    attr[..., A_BROW_THICK] = tex["brow1"]
    attr[..., A_BEARD] = tex["beard"]
    attr[..., A_THETA] = g.TH
    hair = np.stack([_hair_mask(g.TH, g.X, g.Y, g.x, g.y, s) for s in range(N_HAIR_STYLES)], axis=-1)
    attr[..., A_HAIR:] = hair
    return attr, wr, hair


def _normal_bases(
    g: _HeadGrid, hair: np.ndarray, basis_pos: np.ndarray, front_lo: int, front_hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hair displacement ``[N_HAIR_STYLES, n_lon, n_lat, 3]``, rest normals per hairstyle (same shape) and the
    head basis ``[K, n_front, n_lat, 6]``: the displacement fields ``basis_pos [K, n_front * n_lat, 3]`` and
    their normal changes. Normals are linearised in the blendshapes (secant over half a unit), so a sample
    needs no per-point cross products: n = n_rest + sum_k c_k dn_k, then renormalised."""
    head = g.head
    dirs = np.stack([g.X, g.Y * 0.8 + 0.2, g.Z], axis=-1)
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    hair_disp = np.moveaxis(hair, -1, 0)[..., None] * dirs[None]
    rest = np.stack([_grid_normals(head + 0.1 * hair_disp[s], wrap=True) for s in range(N_HAIR_STYLES)])
    n0 = _grid_normals(head, wrap=True)
    n_lat = head.shape[1]
    basis_head = np.zeros((N_ID + N_AU, front_hi - front_lo, n_lat, 6))
    basis_head[..., :3] = basis_pos.reshape(N_ID + N_AU, front_hi - front_lo, n_lat, 3)
    for k in range(N_ID + N_AU):
        moved = head.copy()
        moved[front_lo:front_hi] += 0.5 * basis_head[k, ..., :3]
        basis_head[k, ..., 3:] = (_grid_normals(moved, wrap=True) - n0)[front_lo:front_hi] / 0.5
    return hair_disp, rest, basis_head


@functools.lru_cache(maxsize=8)
def face_model(n_lon: int, n_lat: int) -> FaceModel:
    """Build (once per resolution) the canonical head, patches, bases and textures."""
    g = _head_grid(n_lon, n_lat)
    head = g.head
    front_cols = np.nonzero(np.abs(g.theta) < np.deg2rad(105))[0]
    front_lo, front_hi = int(front_cols[0]), int(front_cols[-1]) + 1
    Pf = head[front_lo:front_hi].reshape(-1, 3)
    basis_pos = _basis_fields(Pf, g.wf[front_lo:front_hi].reshape(-1), _jaw_weight(Pf[:, 0], Pf[:, 1]))
    lms, lwf, lwj = _landmark_points()
    step = 2 * np.pi / n_lon  # about the head grid spacing in canonical units
    mouth = _mouth_extras(step, lms, lwf, lwj)
    neck, neck_normals = _neck(step)
    attr, wr, hair = _attr_table(g, lms[:, :2])
    hair_disp, rest, basis_head = _normal_bases(g, hair, basis_pos, front_lo, front_hi)
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
        extra=mouth["extra"].astype(f32),
        extra_kind=mouth["kind"].astype(np.int8),
        extra_zskin=mouth["zskin"].astype(f32),
        extra_albedo=mouth["albedo"].astype(f32),
        extra_spec=mouth["spec"].astype(f32),
        basis_extra=np.ascontiguousarray(mouth["basis"].reshape(K, -1), dtype=f32),
        neck=neck.astype(f32),
        neck_normals=neck_normals.astype(f32),
        eye_mask=attr.reshape(-1, N_ATTR)[:, A_EYE].astype(f32) > 0.05,
    )


def grid_size(image_size: int, density: float = 1.0) -> tuple[int, int]:
    """Head sampling (longitudes, latitudes): about one point per 1.5 pixels at ``image_size``.

    Each point is splatted onto 2x2 pixels, so this spacing leaves no gaps.
    """
    n_lon = max(48, int(round(image_size * 1.9 * density / 2)) * 2)
    n_lat = max(28, int(round(image_size * 1.1 * density)))
    return n_lon, n_lat


@functools.lru_cache(maxsize=8)  # as face_model's: it keeps those models alive
def _face_model_for(image_size: int, density: float) -> FaceModel:
    """``face_model(*grid_size(image_size, density))`` with one cache lookup a render instead of two."""
    return face_model(*grid_size(image_size, density))

"""Per-sample surface colour of the head points that won a pixel: skin, beard, wrinkles, brows, lips, lids,
eyes (iris, pupil, glint, gaze) and hair, from the face model's canonical texture and the subject's colours."""

from __future__ import annotations

import numpy as np

from .model import (
    A_BEARD,
    A_BROW_THICK,
    A_BROW_THIN,
    A_DARK,
    A_EYE,
    A_HAIR,
    A_LIP,
    A_SKIN,
    A_STRANDS,
    FaceModel,
)
from .occluders import _FaceOccluder, _occluder_albedo
from .raster import _blend_into, _nonzero1d, _take_rows
from .subject import Subject
from .texture import BROW_THICK, BROW_THIN

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
        ecol = _eye_colours(subject, P[eye_pts, 0], P[eye_pts, 1], L, gaze)
        w = A[eye_pts, A_EYE]
        col[:, eye_pts] = col[:, eye_pts] * (1 - w) + ecol.T * w * (1 - A[eye_pts, A_DARK])
    hair = A[:, A_HAIR + subject.hair_style]
    i = _nonzero1d(hair > 0)
    _blend_into(col, i, hair[i], subject.hair[:, None] * (1 + 0.3 * A[i, A_STRANDS]))
    spec = 0.1 + 0.4 * A[:, A_EYE] + 0.25 * A[:, A_LIP] + 0.1 * hair
    return col, spec


def _colour_head(
    fm: FaceModel, subject: Subject, au: np.ndarray, P: np.ndarray, gidx: np.ndarray, ph: np.ndarray,
    L: np.ndarray, gaze: np.ndarray | None, occ: _FaceOccluder,
) -> tuple[np.ndarray, np.ndarray]:
    """Albedo ``[3, h]`` (channel-first) and specular weight ``[h]`` of the drawn head points ``ph [h]`` (into
    the facing points ``P [n, 3]``, ``gidx [n]``): the face's texture, then the on-face occluder's material
    blended over it by its coverage."""
    col, spec = _surface_albedo(fm, subject, au, gidx[ph], _take_rows(P, ph), L, gaze)
    if occ.cov is not None:
        sel = _nonzero1d(occ.cov[ph] > 0.01)
        if sel.size:
            q = ph[sel]
            oc, osp = _occluder_albedo(occ.params, subject, P[q, 0], P[q, 1], fm.attr[gidx[q], A_STRANDS])
            c = occ.cov[q]
            _blend_into(col, sel, c, oc.T)
            spec[sel] += c * (osp - spec[sel])
    return col, spec


def _eye_colours(subject: Subject, ex: np.ndarray, ey: np.ndarray, L: np.ndarray, gaze: np.ndarray) -> np.ndarray:
    """Colours ``[n_eye, 3]`` (float32) of eye points at head-frame ``ex, ey [n_eye]``: sclera, then iris, pupil
    and glint of both eyes, centred between the corner landmarks of ``L [68, 3]`` and shifted by ``gaze [2]``."""
    ecol = np.empty((ex.size, 3), dtype=np.float32)
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
    return ecol

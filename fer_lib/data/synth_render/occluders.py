"""Occluders: on-face ones (sunglasses, mask, scarf, hair) are materials on the head points, placed
relative to the deformed landmarks, that recolour and lift the skin they cover; image-space ones (a hand,
random blocks) are drawn over the finished face."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fields import _smoothstep
from .raster import _pixel_grid
from .subject import _SKIN_TONES, Subject

OCCLUDERS: tuple[str, ...] = ("none", "sunglasses", "mask", "hand", "hair", "scarf", "block")


@dataclass
class _FaceOccluder:
    """An on-face occluder: its drawn ``params``, coverage ``cov [n_vis]`` of the facing head points (both
    None without one) and coverage ``lm_cov [68]`` of the landmarks."""

    params: dict | None
    cov: np.ndarray | None
    lm_cov: np.ndarray


def _occluder_params(kind: str, rng: np.random.Generator) -> dict:
    """Draw the random look of an on-face occluder (size, colours, pattern, edge): a dict with ``kind``."""
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
    return _hand(rng, S, lmk, sub) if kind == "hand" else _blocks(rng, S, lmk)


def _hand(rng: np.random.Generator, S: int, lmk: np.ndarray, sub: Subject) -> tuple[np.ndarray, np.ndarray]:
    """A hand (palm, four fingers, thumb) over a random face region near the landmarks ``lmk [68, 2]``
    (pixels): coverage ``[S, S]`` and colour ``[S, S, 3]``, both float32."""
    xx, yy = _pixel_grid(S)
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


def _blocks(rng: np.random.Generator, S: int, lmk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One or two textured rectangles near the mid-face landmarks ``lmk [68, 2]`` (pixels): coverage
    ``[S, S]`` and colour ``[S, S, 3]``, both float32."""
    xx, yy = _pixel_grid(S)
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


def _occlude_image(
    occluder: str, rng: np.random.Generator, subject: Subject, img: np.ndarray, depth: np.ndarray,
    lmk: np.ndarray, visible: np.ndarray, li: np.ndarray, lj: np.ndarray,
) -> np.ndarray:
    """Draw a hand or blocks over the composed image ``img [S, S, 3]`` (in place), mark the landmarks they
    cover (pixel column/row ``li, lj [68]``) not visible in ``visible [68]`` (in place) and bring their
    pixels near in the depth map ``depth [S, S]``; returns the new depth map ``[S, S]`` (float32)."""
    S = img.shape[0]
    mask, colour = _image_occluder(occluder, rng, S, lmk, subject)
    img += mask[..., None] * (colour - img)
    near = min(float(depth.max()) + 0.05, 1.0) if depth.max() > 0 else 0.9
    depth = np.where(mask > 0.5, np.float32(near), depth)
    visible &= mask[lj, li] <= 0.5
    return depth

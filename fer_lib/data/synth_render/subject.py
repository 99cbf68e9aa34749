"""Subjects: one synthetic person's shape traits, colours, hairstyle and resting face, drawn
deterministically from (population seed, subject id)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fields import _clip
from .geometry import N_AU, N_ID
from .texture import N_HAIR_STYLES

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
    """Normalised cumulative distribution ``[k]`` of the weights ``p``."""
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

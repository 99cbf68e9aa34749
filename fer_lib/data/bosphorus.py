"""Bosphorus (Savran et al., 2008): textured 3-D face scans of 105 subjects, read as CM-CNN's (seed 002) aligned
grey and depth images.

As distributed, one folder per subject holds ``.bnt`` range scans (:func:`fer_lib.data.scans.read_bnt`), each
with its 2-D image and landmark files::

    bs000/bs000_E_HAPPY_0.bnt     the scan: x, y, z, u, v per grid point
    bs000/bs000_E_HAPPY_0.png     its 2-D image (the texture the u, v point into)

Expression scans are ``<SUBJECT>_E_<EMOTION>_<N>`` with EMOTION one of ANGER DISGUST FEAR HAPPY SADNESS
SURPRISE; the neutral (``_N_N_``), action-unit (``_LFAU_`` ...), pose (``_YR_`` ...) and occlusion (``_O_``)
scans are skipped and counted. ``root`` is the folder of the subject folders (or its parent with a
``BosphorusDB/`` folder).

Protocols (``protocol``), on the six basic expressions:

- ``p1`` (CM-CNN's Protocol I, Sect. IV-A): ``num_subjects`` = 60 subjects drawn (with ``seed``) among those with
  all six expression scans, one scan each (the lowest ``N``): 60 x 6 = 360 samples;
- ``all``: every expression scan.

Folds are subject-independent (``num_folds`` = 10, as the paper's tenfold cross-validation). Images are
fitted from the scans at ``image_size`` (148, the paper's input) by :class:`fer_lib.data.scans.ScanDataset`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from fer_lib.data import register_dataset
from fer_lib.data._common import add_skip, check_root, draw_complete_subjects, subject_fold_split
from fer_lib.data.errors import DatasetLayoutError
from fer_lib.data.labels import SIX_BASIC
from fer_lib.data.scans import ScanDataset

BOSPHORUS_TO_CANONICAL: dict[str, str] = {
    "ANGER": "anger", "DISGUST": "disgust", "FEAR": "fear", "HAPPY": "happiness", "SADNESS": "sadness",
    "SURPRISE": "surprise",
}  # fmt: skip
LAYOUT = ("<SUBJECT>/<SUBJECT>_E_<EMOTION>_<N>.bnt range scans with their .png images (e.g. "
          "bs000/bs000_E_HAPPY_0.bnt; EMOTION: ANGER DISGUST FEAR HAPPY SADNESS SURPRISE)")
_SCAN = re.compile(r"^(bs\d{3})_(.+)$", re.IGNORECASE)
_EXPRESSION = re.compile(r"^E_([A-Z]+)_(\d+)$", re.IGNORECASE)
PROTOCOLS: tuple[str, ...] = ("p1", "all")


@register_dataset("bosphorus")
def build_bosphorus(
    root: str | os.PathLike | None = None,
    split: str = "all",
    fold: int | None = None,
    protocol: str = "p1",
    num_folds: int = 10,
    num_subjects: int = 60,
    seed: int = 0,
    image_size: int = 148,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
) -> ScanDataset:
    """Bosphorus (module docstring); ``metadata``: ``subject``, ``emotion``, ``take``, ``fold``, ``path``."""
    path = check_root(root, "bosphorus", LAYOUT)
    if (path / "BosphorusDB").is_dir():
        path = path / "BosphorusDB"
    if protocol not in PROTOCOLS:
        raise ValueError(f"bosphorus: protocol must be one of {PROTOCOLS}, got {protocol!r}")
    records, skipped = [], {}
    for file in sorted(path.glob("*/*.bnt")):
        match = _SCAN.match(file.stem)
        kind = _EXPRESSION.match(match.group(2)) if match else None
        if kind is None or kind.group(1).upper() not in BOSPHORUS_TO_CANONICAL:
            add_skip(skipped, "not one of the six basic expression scans (neutral, AU, pose, occlusion)", 1)
            continue
        emotion = kind.group(1).upper()
        records.append((file, match.group(1).lower(), emotion, int(kind.group(2)), BOSPHORUS_TO_CANONICAL[emotion]))
    if not records:
        raise DatasetLayoutError(f"bosphorus: no expression scan under {path}; expected {LAYOUT}")
    frame = pd.DataFrame(records, columns=["path", "subject", "emotion", "take", "class"])
    if protocol == "p1":
        first = frame.sort_values("take").drop_duplicates(["subject", "emotion"])
        add_skip(skipped, "a second take of a subject's expression (protocol p1 keeps one)", len(frame) - len(first))
        frame = draw_complete_subjects(first, num_subjects, seed, "bosphorus", protocol, skipped,
                                       "subject without all six expressions (protocol p1)",
                                       "all six expression scans").sort_values(["subject", "emotion"])
    frame = subject_fold_split(frame, split, fold, num_folds, seed, "bosphorus")
    return ScanDataset("bosphorus", SIX_BASIC, frame["path"].tolist(),
                       frame["class"].map(SIX_BASIC.index).to_numpy(dtype=np.int64),
                       frame[["subject", "emotion", "take", "fold"]], image_size=image_size, transform=transform,
                       return_meta=return_meta, skipped=skipped)


__all__ = ["BOSPHORUS_TO_CANONICAL", "LAYOUT", "PROTOCOLS", "build_bosphorus"]

"""BU-3DFE as 2-D images: the distributed frontal textures, and 2-D renders of its 3-D models at given views
(``bu3dfe``, GMS-LPA); and its 3-D models as aligned grey and depth images (``bu3dfe-3d``, CM-CNN).

BU-3DFE (Yin et al., 2006) holds 100 subjects x (6 expressions x 4 intensities + neutral) 3-D face models.
As distributed, each subject folder holds the models and one frontal 2-D texture per model::

    F0001/F0001_AN01WH_F3D.wrl     the 3-D model (VRML)
    F0001/F0001_AN01WH_F2D.bmp     its frontal 2-D texture image

(subject ``F0001``/``M0001``; expression ``AN DI FE HA SA SU`` with intensity ``01``-``04``, or ``NE00``;
the subject's race code, e.g. ``WH``). The multi-view protocols of the FER papers (GMS-LPA, seed 001) use
2-D renders of the models at fixed views, which the database does not ship: each group renders its own.
fer_lib does not render the VRML models; it reads renders saved in this layout::

    views/F0001/F0001_AN01_y+30_p+00.png      (yaw and pitch in degrees, signed; .png, .jpg or .bmp)

``root`` is the folder of the subject folders (or its parent with a ``BU-3DFE/`` folder). With a
``views/`` folder the renders are read; without one, the ``*_F2D.bmp`` textures, as yaw 0, pitch 0.

Protocols (``protocol``), on six classes (neutral excluded):

- ``p1``: yaw 0, 30, 45, 60, 90 at pitch 0, intensities 1-4 (100 x 6 x 4 x 5 = 12,000 images);
- ``p2``: yaw -45..+45 x pitch -30..+30 in 15-degree steps, the strongest intensity (7 x 5 x 6 x 100 = 21,000);
- ``all``: every image found.

Folds are subject-independent (:func:`fer_lib.data.splits.subject_kfold`, ``num_folds`` = 5, ``seed``).
A protocol's view that no image has is an error naming the missing views (renders of another protocol).
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
from fer_lib.data._common import (
    IMAGE_SUFFIXES,
    ImageFileDataset,
    add_skip,
    check_root,
    draw_complete_subjects,
    subject_fold_split,
)
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.labels import SIX_BASIC
from fer_lib.data.scans import ScanDataset

#: BU-3DFE expression code -> canonical class name.
BU3DFE_TO_CANONICAL: dict[str, str] = {
    "AN": "anger", "DI": "disgust", "FE": "fear", "HA": "happiness", "SA": "sadness", "SU": "surprise",
    "NE": "neutral",
}  # fmt: skip
#: Protocol -> (yaws, pitches, intensities).
PROTOCOLS: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = {
    "p1": ((0, 30, 45, 60, 90), (0,), (1, 2, 3, 4)),
    "p2": ((-45, -30, -15, 0, 15, 30, 45), (-30, -15, 0, 15, 30), (4,)),
}
LAYOUT = (
    "views/<SUBJECT>/<SUBJECT>_<EX><II>_y<+YAW>_p<+PITCH>.png renders (e.g. views/F0001/F0001_AN01_y+30_p+00.png), "
    "or the distributed <SUBJECT>/<SUBJECT>_<EX><II><RACE>_F2D.bmp frontal textures (EX: AN DI FE HA SA SU NE)"
)
_VIEW = re.compile(r"^([FM]\d{4})_([A-Z]{2})(\d{2})_y([+-]?\d+)_p([+-]?\d+)$", re.IGNORECASE)
_TEXTURE = re.compile(r"^([FM]\d{4})_([A-Z]{2})(\d{2})[A-Z]{2}_F2D$", re.IGNORECASE)


def _records(path: Any) -> tuple[list[tuple], str]:
    views = path / "views"
    if views.is_dir():
        pattern, files, source = _VIEW, sorted(views.glob("*/*")), "renders"
    else:
        pattern, files, source = _TEXTURE, sorted(path.glob("*/*_F2D.*")), "frontal textures"
    records = []
    for file in files:
        if file.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        match = pattern.match(file.stem)
        if match is None:
            raise LabelFileError(f"bu3dfe: file name {file} does not follow the layout; expected {LAYOUT}")
        subject, code, level, *pose = match.groups()
        code = code.upper()
        if code not in BU3DFE_TO_CANONICAL:
            raise LabelFileError(f"bu3dfe: {file} has unknown expression code {code!r}; known: "
                                 f"{sorted(BU3DFE_TO_CANONICAL)}")
        yaw, pitch = (int(pose[0]), int(pose[1])) if pose else (0, 0)
        records.append((file, subject.upper(), code, int(level), yaw, pitch, BU3DFE_TO_CANONICAL[code]))
    return records, source


@register_dataset("bu3dfe")
def build_bu3dfe(
    root: str | os.PathLike | None = None,
    split: str = "all",
    fold: int | None = None,
    protocol: str = "p1",
    num_folds: int = 5,
    seed: int = 0,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
    yaw: float | None = None,
) -> ImageFileDataset:
    """BU-3DFE (see the module docstring); ``metadata``: ``subject``, ``code``, ``intensity``, ``yaw``,
    ``pitch``, ``fold``. ``yaw`` keeps one view (after the folds are drawn, so they stay the protocol's)."""
    path = check_root(root, "bu3dfe", LAYOUT)
    if (path / "BU-3DFE").is_dir():
        path = path / "BU-3DFE"
    if protocol not in (*PROTOCOLS, "all"):
        raise ValueError(f"bu3dfe: protocol must be one of {[*PROTOCOLS, 'all']}, got {protocol!r}")
    records, source = _records(path)
    if not records:
        raise DatasetLayoutError(f"bu3dfe: no images under {path}; expected {LAYOUT}")
    frame = pd.DataFrame(records, columns=["path", "subject", "code", "intensity", "yaw", "pitch", "class"])
    skipped: dict[str, int] = {}
    neutral = frame["class"] == "neutral"
    add_skip(skipped, "neutral (excluded)", int(neutral.sum()))
    frame = frame[~neutral]
    if protocol in PROTOCOLS:
        yaws, pitches, levels = PROTOCOLS[protocol]
        keep = frame["yaw"].isin(yaws) & frame["pitch"].isin(pitches) & frame["intensity"].isin(levels)
        add_skip(skipped, f"not in protocol {protocol} (view or intensity)", int((~keep).sum()))
        frame = frame[keep]
        found = set(zip(frame["yaw"], frame["pitch"], strict=True))
        missing = sorted({(y, p) for y in yaws for p in pitches} - found)
        if missing:
            raise DatasetLayoutError(
                f"bu3dfe: protocol {protocol} needs views (yaw, pitch) {missing} that no image under {path} has "
                f"({source} found); expected {LAYOUT}")
    frame = subject_fold_split(frame, split, fold, num_folds, seed, "bu3dfe")
    if yaw is not None:
        if not (frame["yaw"] == yaw).any():
            raise DatasetLayoutError(f"bu3dfe: no image at yaw {yaw} in protocol {protocol} under {path}")
        frame = frame[frame["yaw"] == yaw]
    frame = frame.reset_index(drop=True)
    return ImageFileDataset(
        "bu3dfe",
        SIX_BASIC,
        frame["path"].tolist(),
        frame["class"].map(SIX_BASIC.index).to_numpy(dtype=np.int64),
        frame[["subject", "code", "intensity", "yaw", "pitch", "fold"]].astype({"yaw": float, "pitch": float}),
        transform=transform,
        return_meta=return_meta,
        skipped=skipped,
    )


__all__ = ["BU3DFE_TO_CANONICAL", "LAYOUT", "PROTOCOLS", "build_bu3dfe"]


# -- the 3-D models, as CM-CNN's aligned grey and depth images -----------------------------------------------
#: CM-CNN's (seed 002) protocols on the 3-D models: the intensity level each keeps (ledger CM-CNN 6: P1 the
#: strongest, P2 the second strongest), 60 subjects x 6 expressions = 360 samples each, tenfold.
SCAN_PROTOCOLS: dict[str, int] = {"p1": 4, "p2": 3}
LAYOUT_3D = ("<SUBJECT>/<SUBJECT>_<EX><II><RACE>_F3D.wrl VRML models with their <SUBJECT>_<EX><II><RACE>_F3D.bmp "
             "textures (e.g. F0001/F0001_AN04WH_F3D.wrl; EX: AN DI FE HA SA SU NE)")
_MODEL = re.compile(r"^([FM]\d{4})_([A-Z]{2})(\d{2})([A-Z]{2})_F3D$", re.IGNORECASE)


@register_dataset("bu3dfe-3d")
def build_bu3dfe_3d(
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
    """BU-3DFE's 3-D models for CM-CNN (seed 002): each ``_F3D.wrl`` model and its texture fitted into a grey and
    a depth image at ``image_size`` (:class:`fer_lib.data.scans.ScanDataset`). ``protocol``: ``p1`` / ``p2``
    (:data:`SCAN_PROTOCOLS`: ``num_subjects`` drawn with ``seed`` among those with all six expressions at the
    protocol's intensity, one model each) or ``all`` (every non-neutral model). Folds: subject-independent,
    ``num_folds`` = 10. ``metadata``: ``subject``, ``code``, ``intensity``, ``race``, ``fold``, ``path``."""
    path = check_root(root, "bu3dfe-3d", LAYOUT_3D)
    if (path / "BU-3DFE").is_dir():
        path = path / "BU-3DFE"
    if protocol not in (*SCAN_PROTOCOLS, "all"):
        raise ValueError(f"bu3dfe-3d: protocol must be one of {[*SCAN_PROTOCOLS, 'all']}, got {protocol!r}")
    records = []
    for file in sorted(path.glob("*/*_F3D.wrl")):
        match = _MODEL.match(file.stem)
        if match is None or match.group(2).upper() not in BU3DFE_TO_CANONICAL:
            raise LabelFileError(f"bu3dfe-3d: file name {file} does not follow the layout; expected {LAYOUT_3D}")
        subject, code, level, race = match.groups()
        records.append((file, subject.upper(), code.upper(), int(level), race.upper(),
                        BU3DFE_TO_CANONICAL[code.upper()]))
    if not records:
        raise DatasetLayoutError(f"bu3dfe-3d: no _F3D.wrl model under {path}; expected {LAYOUT_3D}")
    frame = pd.DataFrame(records, columns=["path", "subject", "code", "intensity", "race", "class"])
    skipped: dict[str, int] = {}
    neutral = frame["class"] == "neutral"
    add_skip(skipped, "neutral (excluded)", int(neutral.sum()))
    frame = frame[~neutral]
    if protocol in SCAN_PROTOCOLS:
        level = SCAN_PROTOCOLS[protocol]
        at_level = frame["intensity"] == level
        add_skip(skipped, f"intensity other than {level} (protocol {protocol})", int((~at_level).sum()))
        frame = frame[at_level]
        frame = draw_complete_subjects(frame, num_subjects, seed, "bu3dfe-3d", protocol, skipped,
                                       f"subject without all six expressions at intensity {level}",
                                       f"all six expressions at intensity {level}")
    frame = subject_fold_split(frame, split, fold, num_folds, seed, "bu3dfe-3d")
    return ScanDataset("bu3dfe-3d", SIX_BASIC, frame["path"].tolist(),
                       frame["class"].map(SIX_BASIC.index).to_numpy(dtype=np.int64),
                       frame[["subject", "code", "intensity", "race", "fold"]], image_size=image_size,
                       transform=transform, return_meta=return_meta, skipped=skipped)

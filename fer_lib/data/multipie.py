"""CMU Multi-PIE, the expression subset: six expressions recorded across four sessions, 15 cameras.

Distributed layout (``root`` holds ``data/``, or is it)::

    data/session01/multiview/001/01/05_1/001_01_01_051_07.png
         session   kind      subj rec camera  subject_session_recording_camera_illumination

The expression of a recording follows the database's recording table: session 1 = neutral, smile;
session 2 = neutral, surprise, squint; session 3 = neutral, smile, disgust; session 4 = neutral, neutral,
scream. Cameras in the horizontal plane and their yaw (degrees; negative = the subject's right)::

    11_0 -90  12_0 -75  09_0 -60  08_0 -45  13_0 -30  14_0 -15  05_1 0
    05_0 +15  04_1 +30  19_0 +45  20_0 +60  01_0 +75  24_0 +90

(the two cameras above the head, 08_1 and 19_1, are ignored).

Protocol ``gmslpa`` (GMS-LPA, seed 001; after Moore and Bowden): seven poses 0..90 in 15-degree steps on one
half of the rig (``side``: ``"right"`` = the cameras with yaw 0..+90, ``"left"`` = 0..-90; the papers do not
say which), illumination ``illumination`` (07, the frontal flash, by default), one image per subject,
expression and pose: each expression from the first session and recording that holds it; subjects without all
six expressions are skipped, then the ``max_subjects`` (100) lowest ids kept: 7 x 6 x 100 = 4,200 images.
``yaw`` in the metadata is the absolute angle. Folds are subject-independent (``num_folds`` = 5). The paper
states none of side, illumination or session: ledger entry GMS-LPA 19.
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
from fer_lib.data._common import IMAGE_SUFFIXES, ImageFileDataset, add_skip, check_root, subject_fold_split
from fer_lib.data.errors import DatasetLayoutError, LabelFileError

#: Multi-PIE's six expressions (its own; not the six basic ones).
MULTIPIE_CLASSES: tuple[str, ...] = ("neutral", "smile", "surprise", "squint", "disgust", "scream")
#: (session, recording) -> expression.
RECORDINGS: dict[tuple[int, int], str] = {
    (1, 1): "neutral", (1, 2): "smile",
    (2, 1): "neutral", (2, 2): "surprise", (2, 3): "squint",
    (3, 1): "neutral", (3, 2): "smile", (3, 3): "disgust",
    (4, 1): "neutral", (4, 2): "neutral", (4, 3): "scream",
}  # fmt: skip
#: Camera (as in the file name, e.g. ``051`` for folder ``05_1``) -> yaw in degrees.
CAMERA_YAW: dict[str, int] = {
    "110": -90, "120": -75, "090": -60, "080": -45, "130": -30, "140": -15, "051": 0,
    "050": 15, "041": 30, "190": 45, "200": 60, "010": 75, "240": 90,
}  # fmt: skip
LAYOUT = ("data/sessionSS/multiview/<subject>/<recording>/<camera>/<subject>_<SS>_<recording>_<camera>_<ill>.png, "
          "e.g. data/session01/multiview/001/01/05_1/001_01_01_051_07.png")
_NAME = re.compile(r"^(\d{3})_(\d{2})_(\d{2})_(\d{3})_(\d{2})$")


def _scan(path: Any) -> pd.DataFrame:
    records = []
    for file in sorted(path.glob("data/session*/multiview/*/*/*/*")):
        if file.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        match = _NAME.match(file.stem)
        if match is None:
            raise LabelFileError(f"multipie: file name {file} is not subject_session_recording_camera_ill; "
                                 f"expected {LAYOUT}")
        subject, session, recording, camera, illumination = match.groups()
        records.append((file, int(subject), int(session), int(recording), camera, int(illumination)))
    return pd.DataFrame(records, columns=["path", "subject", "session", "recording", "camera", "illumination"])


@register_dataset("multipie")
def build_multipie(
    root: str | os.PathLike | None = None,
    split: str = "all",
    fold: int | None = None,
    side: str = "right",
    illumination: int = 7,
    max_subjects: int | None = 100,
    num_folds: int = 5,
    seed: int = 0,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
    yaw: float | None = None,
) -> ImageFileDataset:
    """Multi-PIE's expression protocol (see the module docstring); ``metadata``: ``subject``, ``session``,
    ``recording``, ``camera``, ``yaw`` (absolute), ``fold``. ``yaw`` keeps one pose (after the folds are drawn)."""
    path = check_root(root, "multipie", LAYOUT)
    if side not in ("right", "left"):
        raise ValueError(f"multipie: side must be 'right' or 'left', got {side!r}")
    frame = _scan(path)
    if frame.empty:
        raise DatasetLayoutError(f"multipie: no images under {path}; expected {LAYOUT}")
    skipped: dict[str, int] = {}
    frame["class"] = [RECORDINGS.get((s, r)) for s, r in zip(frame["session"], frame["recording"], strict=True)]
    frame["yaw"] = frame["camera"].map(CAMERA_YAW)
    sign = 1 if side == "right" else -1
    keep = frame["class"].notna() & frame["yaw"].notna() & (frame["illumination"] == illumination)
    keep &= frame["yaw"].fillna(0).mul(sign).ge(0)
    add_skip(skipped, f"other camera, side, illumination or recording (side {side}, illumination "
                      f"{illumination:02d})", int((~keep).sum()))
    frame = frame[keep].copy()
    none_left = (f"multipie: no subject under {path} has all six expressions at illumination {illumination:02d} on "
                 f"the {side} side; expected {LAYOUT}")
    if frame.empty:
        raise DatasetLayoutError(none_left)
    # Each expression once per subject and pose: from the first session and recording that holds it.
    frame = frame.sort_values(["subject", "class", "yaw", "session", "recording"])
    first = frame.groupby(["subject", "class"])[["session", "recording"]].transform("first")
    later = (frame["session"] != first["session"]) | (frame["recording"] != first["recording"])
    add_skip(skipped, "expression already recorded in an earlier session", int(later.sum()))
    frame = frame[~later]
    complete = frame.groupby("subject")["class"].nunique() == len(MULTIPIE_CLASSES)
    incomplete = ~frame["subject"].map(complete)
    add_skip(skipped, "subject without all six expressions", int(incomplete.sum()))
    frame = frame[~incomplete]
    if max_subjects is not None:
        kept = sorted(frame["subject"].unique())[:max_subjects]
        beyond = ~frame["subject"].isin(kept)
        add_skip(skipped, f"beyond the first {max_subjects} subjects", int(beyond.sum()))
        frame = frame[~beyond]
    if frame.empty:
        raise DatasetLayoutError(none_left)
    frame = frame.sort_values(["subject", "session", "recording", "yaw"]).reset_index(drop=True)
    frame["yaw"] = frame["yaw"].abs().astype(float)
    frame = subject_fold_split(frame, split, fold, num_folds, seed, "multipie")
    if yaw is not None:
        if not (frame["yaw"] == abs(float(yaw))).any():
            raise DatasetLayoutError(f"multipie: no image at yaw {yaw} on the {side} side under {path}")
        frame = frame[frame["yaw"] == abs(float(yaw))]
    frame = frame.reset_index(drop=True)
    return ImageFileDataset(
        "multipie",
        MULTIPIE_CLASSES,
        frame["path"].tolist(),
        frame["class"].map(MULTIPIE_CLASSES.index).to_numpy(dtype=np.int64),
        frame[["subject", "session", "recording", "camera", "yaw", "fold"]],
        transform=transform,
        return_meta=return_meta,
        skipped=skipped,
    )


__all__ = ["CAMERA_YAW", "LAYOUT", "MULTIPIE_CLASSES", "RECORDINGS", "build_multipie"]

"""JAFFE: 213 grey images of 10 Japanese female subjects, ``KA.AN1.39.tiff`` = subject.expression+index.id.

Expression codes AN, DI, FE, HA, NE, SA, SU (``NE`` is neutral). ``root`` is the folder of the
``.tiff`` files (or its parent with a ``jaffe/`` folder); other files (README ...) are ignored.
Protocols: ``loso`` (leave one subject out: fold k = subject k in sorted order, 10 folds) or
``kfold`` (subject-independent ``num_folds`` folds, :func:`fer_lib.data.splits.subject_kfold`).
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
from fer_lib.data._common import ImageFileDataset, add_skip, check_root, select_fold
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.labels import SEVEN_CLASSES, SIX_BASIC
from fer_lib.data.splits import leave_one_subject_out, subject_kfold

#: JAFFE expression code -> canonical class name.
JAFFE_TO_CANONICAL: dict[str, str] = {
    "AN": "anger",
    "DI": "disgust",
    "FE": "fear",
    "HA": "happiness",
    "NE": "neutral",
    "SA": "sadness",
    "SU": "surprise",
}
LAYOUT = "a folder of SUBJECT.EXPRn.ID.tiff files, e.g. KA.AN1.39.tiff (expressions AN DI FE HA NE SA SU)"
_NAME = re.compile(r"^([A-Z]{2})\.([A-Z]{2})(\d+)\.(\d+)\.tiff?$", re.IGNORECASE)


@register_dataset("jaffe")
def build_jaffe(
    root: str | os.PathLike | None = None,
    split: str = "all",
    fold: int | None = None,
    protocol: str = "loso",
    num_folds: int = 10,
    seed: int = 0,
    include_neutral: bool = True,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
) -> ImageFileDataset:
    """JAFFE (see the module docstring); ``metadata``: ``subject``, ``code``, ``index``, ``image_id``, ``fold``."""
    path = check_root(root, "jaffe", LAYOUT)
    if (path / "jaffe").is_dir():
        path = path / "jaffe"
    if protocol not in ("loso", "kfold"):
        raise ValueError(f"jaffe: protocol must be 'loso' or 'kfold', got {protocol!r}")
    records = []
    for file in sorted(path.iterdir()):
        if file.suffix.lower() not in (".tif", ".tiff"):
            continue
        match = _NAME.match(file.name)
        if match is None:
            raise LabelFileError(f"jaffe: file name {file} is not SUBJECT.EXPRn.ID.tiff; expected {LAYOUT}")
        subject, code, index, image_id = match.groups()
        code = code.upper()
        if code not in JAFFE_TO_CANONICAL:
            raise LabelFileError(
                f"jaffe: {file} has unknown expression code {code!r}; known: {sorted(JAFFE_TO_CANONICAL)}"
            )
        records.append((file, subject.upper(), code, int(index), int(image_id), JAFFE_TO_CANONICAL[code]))
    if not records:
        raise DatasetLayoutError(f"jaffe: no .tiff images in {path}; expected {LAYOUT}")
    frame = pd.DataFrame(records, columns=["path", "subject", "code", "index", "image_id", "class"])
    classes = SEVEN_CLASSES if include_neutral else SIX_BASIC
    skipped: dict[str, int] = {}
    neutral = ~frame["class"].isin(classes)
    add_skip(skipped, "neutral (excluded)", int(neutral.sum()))
    frame = frame[~neutral].reset_index(drop=True)
    subjects = frame["subject"].to_numpy()
    if protocol == "loso":
        frame["fold"] = leave_one_subject_out(subjects)
        num_folds = int(frame["fold"].max()) + 1
    else:
        frame["fold"] = subject_kfold(subjects, num_folds, seed=seed)
    keep = select_fold(frame["fold"].to_numpy(), split, fold, num_folds, "jaffe")
    frame = frame.iloc[keep].reset_index(drop=True)
    return ImageFileDataset(
        "jaffe",
        classes,
        frame["path"].tolist(),
        frame["class"].map(classes.index).to_numpy(dtype=np.int64),
        frame[["subject", "code", "index", "image_id", "fold"]],
        transform=transform,
        return_meta=return_meta,
        skipped=skipped,
    )

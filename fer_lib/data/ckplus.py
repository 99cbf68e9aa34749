"""CK+ (extended Cohn-Kanade): the distributed layout and the 48x48 ``CK+48`` re-distribution.

Distributed layout (``root`` holds both folders):

- ``cohn-kanade-images/S005/001/S005_001_00000001.png`` ... (frames of each sequence, neutral to apex);
- ``Emotion/S005/001/S005_001_00000011_emotion.txt`` holding one number, 0..7 = neutral, anger,
  contempt, disgust, fear, happy, sadness, surprise (only 327 of the 593 sequences are labelled).

The usual protocol: the last ``frames_per_sequence`` (3) frames of each labelled sequence take its
label; with ``include_neutral=True`` the first frame of each labelled sequence is a neutral sample.
Sequences without an emotion file are skipped and counted. Folds are subject-independent
(:func:`fer_lib.data.splits.subject_kfold`, ``num_folds`` = 10, ``seed``).

``CK+48/<class>/S010_004_00000017.png`` (class folders anger, contempt, disgust, fear, happy, sadness,
surprise; ``root`` may be the ``CK+48`` folder or its parent) uses the same folds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from fer_lib.data import register_dataset
from fer_lib.data._common import IMAGE_SUFFIXES, ImageFileDataset, add_skip, check_root, find_first, subject_fold_split
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.labels import CANONICAL_CLASSES, canonical_name

#: CK+ emotion code -> canonical class name.
CKPLUS_TO_CANONICAL: dict[int, str] = {
    0: "neutral",
    1: "anger",
    2: "contempt",
    3: "disgust",
    4: "fear",
    5: "happiness",
    6: "sadness",
    7: "surprise",
}
LAYOUT = (
    "cohn-kanade-images/Sxxx/yyy/Sxxx_yyy_zzzzzzzz.png with Emotion/Sxxx/yyy/Sxxx_yyy_zzzzzzzz_emotion.txt, "
    "or CK+48/<class>/Sxxx_yyy_zzzzzzzz.png"
)
_NAME = re.compile(r"^(S\d+)_(\d+)_(\d+)$", re.IGNORECASE)


def ckplus_classes(include_neutral: bool, include_contempt: bool) -> tuple[str, ...]:
    """The canonical classes kept, in canonical order."""
    return tuple(
        c
        for c in CANONICAL_CLASSES
        if (c != "neutral" or include_neutral) and (c != "contempt" or include_contempt)
    )


def read_emotion_file(path: Path) -> int:
    """The emotion code (0..7) in a CK+ ``*_emotion.txt`` file."""
    text = path.read_text().strip()
    try:
        value = float(text)
    except ValueError as err:
        raise LabelFileError(f"ckplus: {path} holds {text!r}; expected one number 0..7") from err
    if value != int(value) or int(value) not in CKPLUS_TO_CANONICAL:
        raise LabelFileError(f"ckplus: {path} holds {text!r}; expected one number 0..7")
    return int(value)


def _frames(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _records_distributed(
    images: Path, emotions: Path, frames_per_sequence: int, include_neutral: bool, skipped: dict[str, int]
) -> list[tuple]:
    records = []
    for subject_dir in sorted(p for p in images.iterdir() if p.is_dir()):
        for seq_dir in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
            frames = _frames(seq_dir)
            if not frames:
                continue
            label_files = sorted((emotions / subject_dir.name / seq_dir.name).glob("*_emotion.txt"))
            if not label_files:
                add_skip(skipped, "unlabelled sequence", 1)
                continue
            code = read_emotion_file(label_files[0])
            seq = (subject_dir.name, seq_dir.name)
            if len(frames) < frames_per_sequence + int(include_neutral):
                raise DatasetLayoutError(
                    f"ckplus: sequence {seq_dir} has {len(frames)} frames, fewer than the protocol needs"
                )
            for frame in frames[-frames_per_sequence:]:
                records.append((frame, CKPLUS_TO_CANONICAL[code], *seq, frame.stem, code))
            if include_neutral:
                records.append((frames[0], "neutral", *seq, frames[0].stem, 0))
    return records


def _records_ck48(root: Path) -> list[tuple]:
    records = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            cls = canonical_name(class_dir.name)
        except ValueError as err:
            raise LabelFileError(f"ckplus: class folder {class_dir}: {err}; expected {LAYOUT}") from err
        for file in _frames(class_dir):
            match = _NAME.match(file.stem)
            if match is None:
                raise LabelFileError(f"ckplus: file name {file} is not Sxxx_yyy_zzzzzzzz; expected {LAYOUT}")
            records.append((file, cls, match.group(1).upper(), match.group(2), file.stem, -1))
    return records


@register_dataset("ckplus")
def build_ckplus(
    root: str | os.PathLike | None = None,
    split: str = "all",
    fold: int | None = None,
    num_folds: int = 10,
    seed: int = 0,
    frames_per_sequence: int = 3,
    include_neutral: bool = False,
    include_contempt: bool = True,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
) -> ImageFileDataset:
    """CK+ (see the module docstring). ``split``: ``all``, or ``train`` / ``test`` of ``fold``.

    ``metadata``: ``subject``, ``sequence``, ``frame``, ``ck_label`` (-1 in CK+48) and ``fold``.
    """
    path = check_root(root, "ckplus", LAYOUT)
    skipped: dict[str, int] = {}
    images = find_first([path / "cohn-kanade-images", path / "extended-cohn-kanade-images" / "cohn-kanade-images"])
    if images is not None:
        emotions = find_first([path / "Emotion", path / "Emotion_labels" / "Emotion", images.parent / "Emotion"])
        if emotions is None:
            raise DatasetLayoutError(f"ckplus: {path} has {images.name}/ but no Emotion/ folder; expected {LAYOUT}")
        records = _records_distributed(images, emotions, frames_per_sequence, include_neutral, skipped)
    else:
        ck48 = path / "CK+48" if (path / "CK+48").is_dir() else path
        records = _records_ck48(ck48)
    if not records:
        raise DatasetLayoutError(f"ckplus: no labelled images under {path}; expected {LAYOUT}")
    frame = pd.DataFrame(records, columns=["path", "class", "subject", "sequence", "frame", "ck_label"])
    classes = ckplus_classes(include_neutral, include_contempt)
    dropped = ~frame["class"].isin(classes)
    add_skip(skipped, "contempt (excluded)", int((frame["class"] == "contempt")[dropped].sum()))
    add_skip(skipped, "neutral (excluded)", int((frame["class"] == "neutral")[dropped].sum()))
    frame = subject_fold_split(frame[~dropped], split, fold, num_folds, seed, "ckplus")
    targets = frame["class"].map(classes.index).to_numpy(dtype=np.int64)
    return ImageFileDataset(
        "ckplus",
        classes,
        frame["path"].tolist(),
        targets,
        frame[["subject", "sequence", "frame", "ck_label", "fold"]],
        transform=transform,
        return_meta=return_meta,
        skipped=skipped,
    )

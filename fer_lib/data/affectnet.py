"""AffectNet (manually annotated part): ``training.csv`` / ``validation.csv`` + ``Manually_Annotated_Images/``.

The csv columns are ``subDirectory_filePath, face_x, face_y, face_width, face_height,
facial_landmarks, expression, valence, arousal``; ``expression`` 0..10 = Neutral, Happy, Sad, Surprise,
Fear, Disgust, Anger, Contempt, None, Uncertain, Non-Face. Codes 8..10 are skipped and counted;
``num_classes=7`` also skips contempt. The csv files may sit in ``root`` or in
``root/Manually_Annotated_file_lists/``. Splits: ``train`` (training.csv) and ``val`` / ``test``
(validation.csv, the set papers report as AffectNet's test set). ``crop_face=True`` crops the csv's
face box; ``extras['landmarks']`` gives the 68 annotated points as a float32 ``[68, 2]`` tensor.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from fer_lib.data import register_dataset
from fer_lib.data._common import ImageFileDataset, add_skip, check_images_exist, check_root, find_first
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.labels import CANONICAL_CLASSES, SEVEN_CLASSES

#: AffectNet expression code -> canonical class name (codes 8..10 are not expressions).
AFFECTNET_TO_CANONICAL: dict[int, str] = {
    0: "neutral",
    1: "happiness",
    2: "sadness",
    3: "surprise",
    4: "fear",
    5: "disgust",
    6: "anger",
    7: "contempt",
}
NON_EXPRESSION = {8: "none", 9: "uncertain", 10: "non-face"}
COLUMNS = (
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
)
LAYOUT = (
    "training.csv / validation.csv (columns " + ",".join(COLUMNS) + ") and Manually_Annotated_Images/<subdir>/<file>"
)
CSV_OF = {"train": "training.csv", "val": "validation.csv", "test": "validation.csv"}


class AffectNet(ImageFileDataset):
    """AffectNet; ``metadata``: ``file``, ``expression``, ``valence``, ``arousal``, ``facial_landmarks``."""

    def extras(self, index: int) -> dict[str, Any]:
        import torch

        text = self.metadata.at[index, "facial_landmarks"]
        if not isinstance(text, str) or not text.strip():
            return {}
        points = np.array([float(v) for v in text.split(";") if v.strip()], dtype=np.float32)
        if points.size != 136:
            return {}
        return {"landmarks": torch.from_numpy(points.reshape(68, 2))}


def read_affectnet_csv(path: Path) -> pd.DataFrame:
    """Read and check an AffectNet csv (with or without the header line)."""
    with open(path) as handle:
        first = handle.readline()
    header = 0 if first.startswith("subDirectory_filePath") else None
    try:
        frame = pd.read_csv(path, header=header, names=None if header == 0 else list(COLUMNS),
                            dtype={"subDirectory_filePath": str, "facial_landmarks": str})
    except (OSError, pd.errors.ParserError) as err:
        raise LabelFileError(f"affectnet: cannot parse {path} ({err}); expected {LAYOUT}") from err
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise LabelFileError(f"affectnet: {path} lacks columns {missing}; expected {LAYOUT}")
    expression = pd.to_numeric(frame["expression"], errors="coerce")
    bad = np.flatnonzero(~expression.isin(range(11)).to_numpy())
    if len(bad):
        line = bad[0] + (2 if header == 0 else 1)
        raise LabelFileError(f"affectnet: {path} line {line}: expression {frame['expression'].iloc[bad[0]]!r} "
                             f"is not 0..10")
    frame["expression"] = expression.astype(np.int64)
    return frame


@register_dataset("affectnet")
def build_affectnet(
    root: str | os.PathLike | None = None,
    split: str = "train",
    num_classes: int = 8,
    crop_face: bool = False,
    require_images: bool = True,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
) -> AffectNet:
    """AffectNet with 8 (canonical, with contempt) or 7 classes (see the module docstring)."""
    path = check_root(root, "affectnet", LAYOUT)
    if split not in CSV_OF:
        raise ValueError(f"affectnet: unknown split {split!r}; expected train, val or test")
    if num_classes not in (7, 8):
        raise ValueError(f"affectnet: num_classes must be 8 or 7, got {num_classes}")
    name = CSV_OF[split]
    csv_path = find_first([path / name, path / "Manually_Annotated_file_lists" / name])
    if csv_path is None:
        raise DatasetLayoutError(f"affectnet: no {name} in {path} or {path / 'Manually_Annotated_file_lists'}; "
                                 f"expected {LAYOUT}")
    frame = read_affectnet_csv(csv_path)
    classes = CANONICAL_CLASSES if num_classes == 8 else SEVEN_CLASSES
    skipped: dict[str, int] = {}
    for code, reason in NON_EXPRESSION.items():
        add_skip(skipped, reason, int((frame["expression"] == code).sum()))
    frame = frame[frame["expression"] < 8]
    if num_classes == 7:
        add_skip(skipped, "contempt (7 classes)", int((frame["expression"] == 7).sum()))
        frame = frame[frame["expression"] < 7]
    frame = frame.reset_index(drop=True)
    image_root = find_first(
        [path / "Manually_Annotated_Images", path / "Manually_Annotated" / "Manually_Annotated_Images"]
    )
    if image_root is None:
        if require_images:
            raise DatasetLayoutError(f"affectnet: no Manually_Annotated_Images/ in {path}; expected {LAYOUT}")
        image_root = path / "Manually_Annotated_Images"
    paths = [image_root / p for p in frame["subDirectory_filePath"]]
    if require_images:
        check_images_exist(paths, "affectnet", LAYOUT)
    targets = np.array([classes.index(AFFECTNET_TO_CANONICAL[c]) for c in frame["expression"]], dtype=np.int64)
    boxes = frame[["face_x", "face_y", "face_width", "face_height"]].to_numpy(dtype=np.int64) if crop_face else None
    meta = frame[["subDirectory_filePath", "expression", "valence", "arousal", "facial_landmarks"]].rename(
        columns={"subDirectory_filePath": "file"}
    )
    dataset = AffectNet(
        "affectnet", classes, paths, targets, meta, transform=transform, return_meta=return_meta, skipped=skipped,
        crop_boxes=boxes,
    )
    return dataset

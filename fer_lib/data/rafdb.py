"""RAF-DB basic emotions: ``EmoLabel/list_patition_label.txt`` + ``Image/aligned/*_aligned.jpg``.

The label file is space separated without header, ``train_00001.jpg 5``, labels 1..7 = Surprise, Fear,
Disgust, Happiness, Sadness, Anger, Neutral (12,271 train / 3,068 test). ``image_type`` picks
``aligned`` (100x100, ``<stem>_aligned.jpg``) or ``original`` (``<stem>.jpg``). ``root`` may also be
the ``basic/`` folder's parent. ``require_images=False`` builds targets and metadata from the label
file alone (images are then read, and checked, only when accessed). ``metadata['source_id']`` is
``rafdb:<stem>`` (``rafdb:train_00001``), the id :mod:`fer_lib.data.identity` compares.
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
from fer_lib.data._common import ImageFileDataset, check_images_exist, check_root, find_first
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.labels import SEVEN_CLASSES

#: RAF-DB native label (1..7) -> canonical class name.
RAFDB_TO_CANONICAL: dict[int, str] = {
    1: "surprise",
    2: "fear",
    3: "disgust",
    4: "happiness",
    5: "sadness",
    6: "anger",
    7: "neutral",
}
#: Index = native label (0 unused) -> index in SEVEN_CLASSES.
NATIVE_TO_INDEX = np.array([-1] + [SEVEN_CLASSES.index(RAFDB_TO_CANONICAL[k]) for k in range(1, 8)])
LABEL_FILE = "list_patition_label.txt"
LAYOUT = (
    "EmoLabel/list_patition_label.txt ('train_00001.jpg 5' lines, labels 1..7) and "
    "Image/aligned/<stem>_aligned.jpg (or Image/original/<stem>.jpg)"
)
SPLITS = ("train", "test", "all")


def find_label_file(root: Path) -> Path:
    """The RAF-DB label file under ``root`` (several common nestings), else a layout error."""
    if root.is_file():
        return root
    found = find_first(
        [root / "EmoLabel" / LABEL_FILE, root / "basic" / "EmoLabel" / LABEL_FILE, root / LABEL_FILE]
    )
    if found is None:
        raise DatasetLayoutError(f"rafdb: no {LABEL_FILE} under {root}; expected {LAYOUT}")
    return found


def read_label_file(path: Path) -> pd.DataFrame:
    """Parse the label file into columns ``name`` (e.g. ``train_00001``), ``split``, ``raf_label``."""
    names, labels = [], []
    with open(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) not in RAFDB_TO_CANONICAL:
                raise LabelFileError(
                    f"rafdb: {path} line {line_no}: {line.strip()!r} is not '<image>.jpg <label 1..7>'"
                )
            stem = parts[0].rsplit(".", 1)[0]
            if not (stem.startswith("train_") or stem.startswith("test_")):
                raise LabelFileError(f"rafdb: {path} line {line_no}: image {parts[0]!r} is not train_* or test_*")
            names.append(stem)
            labels.append(int(parts[1]))
    frame = pd.DataFrame({"name": names, "raf_label": labels})
    frame["split"] = frame["name"].str.split("_").str[0]
    return frame


def rafdb_ids(stems) -> list[str]:
    """The source ids ``rafdb:<stem>`` of RAF-DB images (``train_00001``; any ``_aligned`` suffix removed)."""
    return ["rafdb:" + str(stem).removesuffix("_aligned") for stem in stems]


def image_path(image_root: Path, stem: str, image_type: str) -> Path:
    """Where RAF-DB keeps the image of ``stem`` (``train_00001``)."""
    if image_type == "aligned":
        return image_root / "aligned" / f"{stem}_aligned.jpg"
    return image_root / "original" / f"{stem}.jpg"


def find_image_root(root: Path, label_file: Path) -> Path:
    base = label_file.parent.parent if label_file.parent.name == "EmoLabel" else label_file.parent
    found = find_first([base / "Image", root / "Image", root / "basic" / "Image"])
    return found if found is not None else base / "Image"


@register_dataset("rafdb")
def build_rafdb(
    root: str | os.PathLike | None = None,
    split: str = "train",
    image_type: str = "aligned",
    require_images: bool = True,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
) -> ImageFileDataset:
    """RAF-DB basic in the canonical 7-class order; ``metadata``: ``name``, ``raf_label``, ``split``,
    ``source_id``."""
    path = check_root(root, "rafdb", LAYOUT)
    if split not in SPLITS:
        raise ValueError(f"rafdb: unknown split {split!r}; expected one of {SPLITS}")
    if image_type not in ("aligned", "original"):
        raise ValueError(f"rafdb: image_type must be 'aligned' or 'original', got {image_type!r}")
    label_file = find_label_file(path)
    frame = read_label_file(label_file)
    if split != "all":
        frame = frame[frame["split"] == split].reset_index(drop=True)
    frame["source_id"] = rafdb_ids(frame["name"])
    image_root = find_image_root(path, label_file)
    paths = [image_path(image_root, s, image_type) for s in frame["name"]]
    if require_images:
        if not (image_root / image_type).is_dir():
            raise DatasetLayoutError(
                f"rafdb: image folder {image_root / image_type} does not exist; expected {LAYOUT}. "
                f"Pass require_images=False to build from the labels alone."
            )
        check_images_exist(paths, "rafdb", LAYOUT)
    return ImageFileDataset(
        "rafdb",
        SEVEN_CLASSES,
        paths,
        NATIVE_TO_INDEX[frame["raf_label"].to_numpy()],
        frame,
        transform=transform,
        return_meta=return_meta,
    )

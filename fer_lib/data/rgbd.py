"""RGB-D face image pairs (Kinect-style): CM-CNN's CCZU-FER (seed 002) and any data in the same layout, read
as aligned grey and depth images.

Layout (one folder per subject and expression; depth registered to the colour image, as Kinect's
``MapDepthToColorImagePoint`` gives it)::

    <subject>/<expression>/<frame>_color.png     colour (or grey) image
    <subject>/<expression>/<frame>_depth.png     16-bit depth in millimetres, 0 = no reading

``expression`` is a canonical class name (anger, disgust, fear, happiness, sadness, surprise, neutral). The
database CM-CNN collected (CCZU-FER) is not public; VT-KFER's Kinect recordings are distributed in their own
format, which fer_lib does not parse: export the frames to this layout to use them.

Each pair is cropped to the face: the largest Viola-Jones detection on the colour image (the whole image when
none is found, counted in ``metadata['face_found']``), the same box on the depth image. Within the box, the
valid depth readings are fitted with :func:`fer_lib.data.preprocess.fit_depth_map` (CM-CNN's gridfit step,
which fills the sensor's holes); the depth image keeps the face (readings within ``face_depth_mm`` of the
nearest one), 0 elsewhere, nearer brighter, in (0, 1] as SynthFER's. Six classes by default (neutral left
out, as CM-CNN's classifier; ``classes="seven"`` keeps it). Folds are subject-independent (``num_folds`` = 10).
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
from fer_lib.data._common import LoadedDataset, add_skip, check_root, subject_fold_split
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.labels import SEVEN_CLASSES, SIX_BASIC
from fer_lib.data.preprocess import FaceDetector, face_depth, fit_depth_map

LAYOUT = ("<subject>/<expression>/<frame>_color.png with <frame>_depth.png (16-bit millimetres, 0 = no reading); "
          "expression: anger disgust fear happiness sadness surprise neutral")
_COLOR = re.compile(r"^(.+)_color$", re.IGNORECASE)


def read_depth_mm(path: str | os.PathLike) -> np.ndarray:
    """A 16-bit depth PNG as float millimetres ``[H, W]`` (0 = no reading); 8-bit files are refused (they cannot
    hold millimetres)."""
    with Image.open(path) as image:
        if image.mode not in ("I;16", "I;16B", "I;16L", "I"):
            raise LabelFileError(f"{path}: a depth image must be 16-bit millimetres, got PIL mode {image.mode}")
        return np.asarray(image, dtype=np.float64)


def depth_face_image(depth_mm: np.ndarray, size: int, face_depth_mm: float = 150.0) -> np.ndarray:
    """A cropped depth reading ``[h, w]`` (mm, 0 = none) as the face's depth image ``[size, size]`` in [0, 1]:
    the valid readings within ``face_depth_mm`` of the nearest are fitted on the grid (holes filled); the rest
    is 0; nearer is brighter."""
    from scipy.ndimage import binary_closing, binary_fill_holes

    depth_mm = np.asarray(depth_mm, dtype=np.float64)
    valid = depth_mm > 0
    if valid.sum() < 3:
        return np.zeros((size, size), dtype=np.float32)
    near = float(np.percentile(depth_mm[valid], 1))
    face = valid & (depth_mm <= near + face_depth_mm)
    h, w = depth_mm.shape
    rows, cols = np.nonzero(face)
    # x = column, y = -row (image orientation), z = -millimetres (+z towards the camera).
    points = np.column_stack([cols, -rows, -depth_mm[face]]).astype(np.float64)
    z = fit_depth_map(points, (size, size), bounds=(0, w - 1, -(h - 1), 0))
    # The face region with the sensor's holes closed (the fit has filled their depth).
    region = binary_fill_holes(binary_closing(face, iterations=2))
    mask = np.asarray(Image.fromarray(region.astype(np.uint8) * 255).resize((size, size), Image.NEAREST)) > 0
    return face_depth(z, mask)


class RGBDPairs(LoadedDataset):
    """Colour + depth pairs (module docstring): ``load_image`` is the face crop's colour image at
    ``image_size``, ``extras()['depth']`` its depth image on the same grid; each pair is processed once."""

    def __init__(self, frame: pd.DataFrame, classes, image_size: int, face_depth_mm: float,
                 transform: Callable[[Image.Image], Any] | None, return_meta: bool, skipped: dict[str, int]):
        targets = frame["class"].map(list(classes).index).to_numpy(dtype=np.int64)
        super().__init__("rgbd-pairs", classes, targets, frame.drop(columns=["class"]), transform, return_meta,
                         skipped)
        self.image_size = int(image_size)
        self.face_depth_mm = float(face_depth_mm)
        self._pairs: dict[int, tuple[Image.Image, np.ndarray]] = {}
        self._detector: FaceDetector | None = None

    def pair(self, index: int) -> tuple[Image.Image, np.ndarray]:
        """``(colour crop at image_size, depth image [image_size, image_size])`` of sample ``index``."""
        if index not in self._pairs:
            color = Image.open(self.metadata.at[index, "path"]).convert("RGB")
            depth = read_depth_mm(self.metadata.at[index, "depth_path"])
            if depth.shape != (color.height, color.width):
                raise LabelFileError(f"{self.metadata.at[index, 'depth_path']}: depth {depth.shape} and colour "
                                     f"{(color.height, color.width)} differ in size: the pair is not registered")
            self._detector = self._detector or FaceDetector()
            box = self._detector.largest(np.asarray(color))
            self.metadata.at[index, "face_found"] = box is not None
            x, y, w, h = (0, 0, color.width, color.height) if box is None else (int(v) for v in box)
            size = self.image_size
            crop = color.crop((x, y, x + w, y + h)).resize((size, size), Image.BILINEAR)
            self._pairs[index] = (crop, depth_face_image(depth[y:y + h, x:x + w], size, self.face_depth_mm))
        return self._pairs[index]

    def load_image(self, index: int) -> Image.Image:
        return self.pair(index)[0]

    def extras(self, index: int) -> dict[str, Any]:
        return {"depth": self.pair(index)[1]}


@register_dataset("rgbd-pairs")
def build_rgbd_pairs(
    root: str | os.PathLike | None = None,
    split: str = "all",
    fold: int | None = None,
    num_folds: int = 10,
    seed: int = 0,
    classes: str = "six",
    image_size: int = 148,
    face_depth_mm: float = 150.0,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
) -> RGBDPairs:
    """RGB-D pairs (module docstring); ``metadata``: ``subject``, ``frame``, ``fold``, ``path``, ``depth_path``,
    ``face_found``."""
    path = check_root(root, "rgbd-pairs", LAYOUT)
    if classes not in ("six", "seven"):
        raise ValueError(f"rgbd-pairs: classes must be 'six' or 'seven', got {classes!r}")
    names = list(SIX_BASIC if classes == "six" else SEVEN_CLASSES)
    records, skipped = [], {}
    for color in sorted(path.glob("*/*/*_color.*")):
        expression = color.parent.name.lower()
        if expression not in SEVEN_CLASSES:
            raise LabelFileError(f"rgbd-pairs: folder {color.parent} is not an expression; expected {LAYOUT}")
        frame_id = _COLOR.match(color.stem).group(1)
        depth = color.with_name(f"{frame_id}_depth.png")
        if not depth.is_file():
            raise DatasetLayoutError(f"rgbd-pairs: {color} has no depth image {depth.name}; expected {LAYOUT}")
        if expression not in names:
            add_skip(skipped, f"{expression} (not among the {classes} classes)", 1)
            continue
        records.append((color, depth, color.parent.parent.name, frame_id, expression))
    if not records:
        raise DatasetLayoutError(f"rgbd-pairs: no colour/depth pair under {path}; expected {LAYOUT}")
    frame = pd.DataFrame(records, columns=["path", "depth_path", "subject", "frame", "class"])
    frame = subject_fold_split(frame, split, fold, num_folds, seed, "rgbd-pairs")
    frame["path"], frame["depth_path"] = frame["path"].map(str), frame["depth_path"].map(str)
    frame["face_found"] = pd.array([pd.NA] * len(frame), dtype="boolean")
    return RGBDPairs(frame[["subject", "frame", "fold", "path", "depth_path", "face_found", "class"]], names,
                     image_size, face_depth_mm, transform, return_meta, skipped)


__all__ = ["LAYOUT", "RGBDPairs", "build_rgbd_pairs", "depth_face_image", "read_depth_mm"]

"""Helpers shared by the real-dataset loaders: root checks, clear errors, image-file datasets, folds."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from fer_lib.data.base import FERDataset, to_rgb_pil
from fer_lib.data.errors import DatasetLayoutError
from fer_lib.data.splits import subject_kfold

#: Image file suffixes the folder loaders accept (lower case).
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm", ".ppm")


def check_root(root: str | os.PathLike | None, dataset: str, layout: str) -> Path:
    """``root`` as an existing :class:`Path`, or a :class:`DatasetLayoutError` describing ``layout``."""
    if root is None:
        raise DatasetLayoutError(f"{dataset}: no root given; expected {layout}")
    path = Path(root).expanduser()
    if not path.exists():
        raise DatasetLayoutError(f"{dataset}: root {path} does not exist; expected {layout}")
    return path


def find_first(candidates: Sequence[Path]) -> Path | None:
    """The first existing path of ``candidates``, or ``None``."""
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return None


def read_rgb(path: str | os.PathLike, dataset: str) -> Image.Image:
    """Open an image file as RGB; an unreadable or missing file raises an error naming it."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                # 16-bit grey (some CK+ frames): scale to 8 bits before the RGB conversion.
                array = np.asarray(image, dtype=np.float64)
                peak = array.max() if array.max() > 0 else 1.0
                return to_rgb_pil((array * (255.0 / peak)).round().astype(np.uint8))
            return image.convert("RGB")
    except FileNotFoundError as err:
        raise DatasetLayoutError(f"{dataset}: image {path} is missing") from err
    except (UnidentifiedImageError, OSError) as err:
        raise DatasetLayoutError(f"{dataset}: image {path} cannot be read ({err})") from err


def add_skip(skipped: dict[str, int], reason: str, count: int) -> None:
    """Record ``count`` samples skipped for ``reason`` (zero counts are not recorded)."""
    if count:
        skipped[reason] = skipped.get(reason, 0) + int(count)


def check_images_exist(paths: Sequence[Path], dataset: str, layout: str) -> None:
    """Raise one error naming the missing images (the first few) when any listed image is absent."""
    missing = [p for p in paths if not p.is_file()]
    if missing:
        shown = ", ".join(str(p) for p in missing[:3])
        raise DatasetLayoutError(
            f"{dataset}: {len(missing)} of {len(paths)} listed images are missing (e.g. {shown}); "
            f"expected {layout}. Pass require_images=False to build from the labels alone."
        )


class LoadedDataset(FERDataset):
    """A dataset built by a real-dataset loader: its ``name``, the samples it ``skipped`` by reason, and
    optional per-sample ``soft_labels`` ``(N, C)`` given as ``extras['soft_label']`` (FERPlus votes)."""

    def __init__(
        self,
        name: str,
        classes: Sequence[str],
        targets: Sequence[int] | np.ndarray,
        metadata: pd.DataFrame | None = None,
        transform: Callable[[Image.Image], Any] | None = None,
        return_meta: bool = False,
        skipped: dict[str, int] | None = None,
        soft_labels: np.ndarray | None = None,
    ) -> None:
        super().__init__(classes, targets, metadata, transform=transform, return_meta=return_meta)
        self.name = name
        self.skipped = dict(skipped or {})
        self.soft_labels = soft_labels

    def extras(self, index: int) -> dict[str, Any]:
        if self.soft_labels is None:
            return {}
        import torch

        return {"soft_label": torch.from_numpy(self.soft_labels[index])}


class ImageFileDataset(LoadedDataset):
    """A dataset whose samples are image files (paths kept in ``metadata['path']``).

    ``options``: ``transform``, ``return_meta``, ``skipped`` and ``soft_labels`` of :class:`LoadedDataset`.
    """

    def __init__(
        self,
        name: str,
        classes: Sequence[str],
        paths: Sequence[Path | str],
        targets: Sequence[int] | np.ndarray,
        metadata: pd.DataFrame | None = None,
        *,
        crop_boxes: np.ndarray | None = None,
        **options: Any,
    ) -> None:
        metadata = pd.DataFrame(index=range(len(paths))) if metadata is None else metadata.copy()
        metadata = metadata.reset_index(drop=True)
        metadata["path"] = [str(p) for p in paths]
        super().__init__(name, classes, targets, metadata, **options)
        #: Optional (N, 4) x, y, w, h face boxes to crop before the transform (AffectNet).
        self.crop_boxes = crop_boxes

    def load_image(self, index: int) -> Image.Image:
        image = read_rgb(self.metadata.at[index, "path"], self.name)
        if self.crop_boxes is not None:
            x, y, w, h = (int(v) for v in self.crop_boxes[index])
            if w > 0 and h > 0:
                image = image.crop((x, y, x + w, y + h))
        return image


class ArrayDataset(LoadedDataset):
    """A dataset whose images are rows of a uint8 array ``(N, H, W)`` (FER2013-style csv pixels).

    ``options``: ``transform``, ``return_meta``, ``skipped`` and ``soft_labels`` of :class:`LoadedDataset`.
    """

    def __init__(
        self,
        name: str,
        classes: Sequence[str],
        pixels: np.ndarray,
        rows: np.ndarray,
        targets: Sequence[int] | np.ndarray,
        metadata: pd.DataFrame | None = None,
        **options: Any,
    ) -> None:
        super().__init__(name, classes, targets, metadata, **options)
        #: The shared decoded pixel table (not copied) and the row of each sample in it.
        self.pixels = pixels
        self.rows = np.asarray(rows, dtype=np.int64)

    def image_array(self, index: int) -> np.ndarray:
        """The raw grey ``(H, W)`` uint8 image of sample ``index``."""
        return self.pixels[self.rows[index]]

    def load_image(self, index: int) -> Image.Image:
        return to_rgb_pil(np.ascontiguousarray(self.image_array(index)))


def select_fold(
    fold_ids: np.ndarray, split: str, fold: int | None, num_folds: int, dataset: str
) -> np.ndarray:
    """Indices of ``split`` (``all``, ``train`` = every fold but ``fold``, ``test`` = fold ``fold``)."""
    if split == "all":
        return np.arange(len(fold_ids))
    if split not in ("train", "test"):
        raise ValueError(f"{dataset}: unknown split {split!r}; expected 'all', 'train' or 'test'")
    if fold is None:
        raise ValueError(f"{dataset}: split {split!r} needs fold=0..{num_folds - 1}")
    if not 0 <= fold < num_folds:
        raise ValueError(f"{dataset}: fold {fold} out of range 0..{num_folds - 1}")
    mask = fold_ids == fold
    return np.flatnonzero(~mask if split == "train" else mask)


def draw_complete_subjects(frame: pd.DataFrame, num_subjects: int, seed: int, dataset: str, protocol: str,
                           skipped: dict[str, int], incomplete: str, what: str) -> pd.DataFrame:
    """The rows of ``num_subjects`` subjects drawn with ``seed`` among those whose rows cover every class of
    ``frame['class']``'s protocol (the six basic expressions): the subjects are sorted first, so the draw does not
    depend on file order. Rows of incomplete subjects are counted in ``skipped`` under ``incomplete``, those of
    subjects not drawn under "subject not drawn for protocol <protocol>"; too few complete subjects is an error
    naming ``what`` they need and how many there are."""
    complete = frame.groupby("subject")["class"].transform("nunique") == 6
    add_skip(skipped, incomplete, int((~complete).sum()))
    subjects = sorted(frame.loc[complete, "subject"].unique())
    if len(subjects) < num_subjects:
        raise DatasetLayoutError(f"{dataset}: the protocol needs {num_subjects} subjects with {what}; found "
                                 f"{len(subjects)}")
    chosen = set(np.random.default_rng(seed).choice(subjects, size=num_subjects, replace=False))
    drawn = frame[complete & frame["subject"].isin(chosen)]
    add_skip(skipped, f"subject not drawn for protocol {protocol}", int(complete.sum()) - len(drawn))
    return drawn


def subject_fold_split(frame: pd.DataFrame, split: str, fold: int | None, num_folds: int, seed: int,
                       dataset: str) -> pd.DataFrame:
    """``frame`` (one row per image, with a ``subject`` column) given subject-independent folds (a ``fold``
    column, :func:`fer_lib.data.splits.subject_kfold`) and cut to ``split`` (:func:`select_fold`)."""
    frame = frame.reset_index(drop=True)
    frame["fold"] = subject_kfold(frame["subject"].to_numpy(), num_folds, seed=seed)
    return frame.iloc[select_fold(frame["fold"].to_numpy(), split, fold, num_folds, dataset)].reset_index(drop=True)

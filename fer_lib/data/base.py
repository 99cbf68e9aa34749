"""The dataset interface every fer_lib dataset (real or synthetic) implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image
from torch.utils.data import Dataset


class FERDataset(Dataset):
    """A labelled face-image dataset in fer_lib's canonical label space.

    Subclasses fill ``classes`` (canonical names, index = label), ``targets`` (int64 array, one per
    sample) and ``metadata`` (a DataFrame with one row per sample; columns such as ``subject``,
    ``yaw``, ``occlusion`` where the dataset has them) and implement :meth:`load_image`.

    ``dataset[i]`` returns ``(transform(image), label)``; with ``return_meta=True`` it returns
    ``(transform(image), label, extras)`` where ``extras`` is a dict of per-sample extras
    (``index`` and whatever :meth:`extras` gives: depth maps, landmarks, soft labels ...).
    Images are handed to ``transform`` as RGB ``PIL.Image`` objects (grey sources are repeated
    to three channels), the same interface as torchvision's datasets.
    """

    name: str = "dataset"
    #: ``real`` or ``synthetic``: every result says which kind of data produced it.
    data_kind: str = "real"

    def __init__(
        self,
        classes: Sequence[str],
        targets: Sequence[int] | np.ndarray,
        metadata: pd.DataFrame | None = None,
        transform: Callable[[Image.Image], Any] | None = None,
        return_meta: bool = False,
    ) -> None:
        self.classes = list(classes)
        self.targets = np.asarray(targets, dtype=np.int64)
        if metadata is None:
            metadata = pd.DataFrame(index=range(len(self.targets)))
        if len(metadata) != len(self.targets):
            raise ValueError(f"metadata has {len(metadata)} rows but there are {len(self.targets)} targets")
        self.metadata = metadata.reset_index(drop=True)
        self.transform = transform
        self.return_meta = return_meta
        #: Samples a protocol skipped, by reason: {reason: count}. Nothing is dropped silently.
        self.skipped: dict[str, int] = {}

    # -- to implement -------------------------------------------------------------------------
    def load_image(self, index: int) -> Image.Image:
        """The raw sample ``index`` as an RGB PIL image (no transform applied)."""
        raise NotImplementedError

    def extras(self, index: int) -> dict[str, Any]:
        """Optional per-sample extras (depth, landmarks, soft labels); empty by default."""
        return {}

    # -- shared behaviour ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        image = self.load_image(index)
        x = self.transform(image) if self.transform is not None else image
        y = int(self.targets[index])
        if not self.return_meta:
            return x, y
        extras = {"index": index, **self.extras(index)}
        return x, y, extras

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> pd.Series:
        """Number of samples per class, indexed by class name (zeros included)."""
        counts = np.bincount(self.targets, minlength=len(self.classes))
        return pd.Series(counts, index=self.classes, name="count")

    def subset(self, indices: Sequence[int] | np.ndarray) -> FERSubset:
        """A view on some samples that keeps ``classes``, ``targets`` and ``metadata`` consistent."""
        return FERSubset(self, np.asarray(indices, dtype=np.int64))

    def describe(self) -> str:
        skipped = f", skipped {self.skipped}" if self.skipped else ""
        return f"{self.name} ({self.data_kind}): {len(self)} samples, {self.num_classes} classes{skipped}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class FERSubset(FERDataset):
    """Some samples of a parent :class:`FERDataset` (a split fold, an occlusion subset ...)."""

    def __init__(self, parent: FERDataset, indices: np.ndarray) -> None:
        if len(indices) and (indices.min() < 0 or indices.max() >= len(parent)):
            raise IndexError(f"subset indices out of range for a dataset of {len(parent)} samples")
        super().__init__(
            parent.classes,
            parent.targets[indices],
            parent.metadata.iloc[indices],
            transform=parent.transform,
            return_meta=parent.return_meta,
        )
        self.parent = parent
        self.indices = indices
        self.name = parent.name
        self.data_kind = parent.data_kind

    def load_image(self, index: int) -> Image.Image:
        return self.parent.load_image(int(self.indices[index]))

    def extras(self, index: int) -> dict[str, Any]:
        return self.parent.extras(int(self.indices[index]))


def to_rgb_pil(array: np.ndarray) -> Image.Image:
    """A uint8 HxW (grey) or HxWx3 array as an RGB PIL image (grey repeated to three channels)."""
    if array.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image array, got {array.dtype}")
    if array.ndim == 2:
        return Image.fromarray(array, mode="L").convert("RGB")
    if array.ndim == 3 and array.shape[2] == 3:
        return Image.fromarray(array, mode="RGB")
    raise ValueError(f"expected an HxW or HxWx3 image, got shape {array.shape}")

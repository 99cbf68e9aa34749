"""Facial modalities packed into one image: CM-CNN's grey, LBP and depth inputs (and HOG / Gabor for its
ablation rows), so every fer_lib pipeline (per-image transforms, in-memory batches, the engine) carries them
unchanged.

:class:`ModalityImages` wraps any :class:`~fer_lib.data.base.FERDataset`: its image ``i`` is an RGB PIL image
whose channel ``k`` is modality ``modalities[k]`` of the wrapped dataset's image ``i``, all computed at the
wrapped image's own size (LBP, HOG and Gabor from its grey image, :mod:`fer_lib.data.preprocess`); with fewer
than three modalities the remaining channels repeat the first (a one-modality image is then an ordinary grey
image). ``depth`` comes from the wrapped dataset's ``extras(i)["depth"]`` (SynthFER's rendered depth, or a
loader's map fitted from a 3-D scan with :func:`~fer_lib.data.preprocess.fit_depth_map`): nearer is brighter,
background 0. Geometric augmentation moves all channels together, so the modalities stay aligned; colour
augmentation must not be used on them (the ``cmcnn`` transform profile has none).

Loaders take it through the ``modalities`` option of :func:`fer_lib.protocols.load_split`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image

from fer_lib.data.base import FERDataset
from fer_lib.data.preprocess import depth_image, feature_image, to_gray

MODALITIES: tuple[str, ...] = ("gray", "lbp", "depth", "hog", "gabor")
#: The paper's letters for its Table II/III rows (G, L, D, H, B).
MODALITY_LETTERS: dict[str, str] = {"gray": "G", "lbp": "L", "depth": "D", "hog": "H", "gabor": "B"}


def check_modalities(modalities: Sequence[str] | str) -> tuple[str, ...]:
    """``modalities`` as a tuple of one to three distinct names of :data:`MODALITIES`, else a ``ValueError``."""
    names = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    if not 1 <= len(names) <= 3 or len(set(names)) != len(names) or any(m not in MODALITIES for m in names):
        raise ValueError(f"modalities must be 1 to 3 distinct names among {', '.join(MODALITIES)}; got {names}")
    return names


def modality_image(image: Image.Image, modality: str, depth: np.ndarray | None = None) -> np.ndarray:
    """One modality of a face image as a uint8 ``[H, W]`` array (``depth``: the sample's depth map)."""
    if modality == "depth":
        if depth is None:
            raise ValueError("the depth modality needs the sample's depth map (extras()['depth'])")
        depth = np.asarray(depth, dtype=np.float64)
        if depth.shape != (image.height, image.width):
            depth = np.asarray(Image.fromarray(depth.astype(np.float32), mode="F").resize(image.size, Image.BILINEAR))
        return depth_image(depth, background=0.0)
    if modality == "gray":
        return to_gray(image)
    return np.asarray(feature_image(to_gray(image), modality), dtype=np.uint8)


class ModalityImages(FERDataset):
    """``dataset`` with each image replaced by its modalities packed into the channels (module docstring).

    Labels, metadata (``source_id`` included), ``extras`` and the data kind are the wrapped dataset's.
    """

    def __init__(self, dataset: FERDataset, modalities: Sequence[str] | str,
                 transform: Callable[[Image.Image], Any] | None = None, return_meta: bool = False) -> None:
        self.modalities = check_modalities(modalities)
        super().__init__(dataset.classes, dataset.targets, dataset.metadata, transform, return_meta)
        if "depth" in self.modalities and len(dataset) and "depth" not in dataset.extras(0):
            raise ValueError(f"{dataset.name} has no depth maps (extras()['depth']): the depth modality needs a "
                             "dataset with 3-D data (synth-rgbd, or a loader that reads scans)")
        self.dataset = dataset
        self.name = f"{dataset.name}[{'+'.join(self.modalities)}]"
        self.data_kind = dataset.data_kind
        self.skipped = dict(dataset.skipped)

    def load_image(self, index: int) -> Image.Image:
        image = self.dataset.load_image(index).convert("RGB")
        depth = self.dataset.extras(index).get("depth") if "depth" in self.modalities else None
        channels = [modality_image(image, m, depth) for m in self.modalities]
        channels += [channels[0]] * (3 - len(channels))
        return Image.fromarray(np.dstack(channels), mode="RGB")

    def extras(self, index: int) -> dict[str, Any]:
        return self.dataset.extras(index)


__all__ = ["MODALITIES", "MODALITY_LETTERS", "ModalityImages", "check_modalities", "modality_image"]

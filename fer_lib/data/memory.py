"""Datasets held in memory as uint8 tensors and augmented a whole batch at a time.

Decoding a PIL image and running torchvision's per-image transforms costs about as much as a ResNet-18
training step on a small face, so a training loop fed image by image spends much of its time in the data
path. A dataset that fits in memory is decoded once, resized to the recipe's input size and stored as a
uint8 tensor ``[N, C, S, S]`` (``C = 1`` for grey sources such as FER2013, expanded to 3 channels per
batch). :meth:`InMemoryImages.batches` draws the order from a seeded generator, gathers a batch, applies
a :class:`BatchAugment` to the whole batch and normalises it, on whatever device the tensor lives on.

The device-side path (the ``paper`` scale on a GPU): the images are stored at their native size when that is
smaller than the input (:func:`store_size_for`: FER2013's 48 px, RAF-DB's aligned 100 px), copied to the
device once, and each batch is resized to the input size there (bilinear) before it is augmented, so a
224-px epoch never leaves the GPU and FER2013 takes 66 MB of its memory instead of 1.4 GB.

FER2013 at 64 px: 28,709 x 64 x 64 bytes = 118 MB; at its native 48 px, 66 MB.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from fer_lib.data.base import FERDataset
from fer_lib.data.transforms import GMSLPA_ROTATION, GMSLPA_SCALE, GMSLPA_SHIFT, IMAGENET_MEAN, IMAGENET_STD


@dataclasses.dataclass(frozen=True)
class BatchAugment:
    """Random augmentation of a float batch ``[B, 3, S, S]`` in ``[0, 1]`` (before normalisation).

    - ``flip``: horizontal flip with probability 0.5;
    - ``shift``: translation by up to ``shift * S`` pixels in each direction (whole pixels, zero fill:
      torchvision's random crop with padding);
    - ``rotate``: with probability ``rotate_p``, a rotation by up to ``rotate`` degrees (bilinear);
    - ``scale``: a zoom by a factor drawn uniformly from ``[1 - scale, 1 + scale]`` (bilinear);
    - ``erase_p``: random erasing after normalisation (a rectangle of ``erase_scale`` of the area, aspect
      ratio 0.3-3.3, set to 0 = the mean colour), as torchvision's ``RandomErasing``.

    One ``grid_sample`` applies flip, shift and rotation together; a batch without rotation samples
    exact pixel centres, so flips and shifts do not blur.
    """

    flip: bool = True
    shift: float = 0.0
    rotate: float = 0.0
    rotate_p: float = 0.0
    scale: float = 0.0
    erase_p: float = 0.0
    erase_scale: tuple[float, float] = (0.02, 0.25)

    def geometric(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Flip, shift and rotate ``x [B, C, S, S]`` (float) with per-sample random parameters."""
        b, _, h, w = x.shape
        if not (self.flip or self.shift or self.scale or (self.rotate and self.rotate_p)):
            return x
        sign = torch.ones(b)
        if self.flip:
            sign = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
        max_shift = round(self.shift * w)
        shifts = (torch.randint(-max_shift, max_shift + 1, (2, b), generator=generator).float() if max_shift
                  else torch.zeros(2, b))
        angle = torch.zeros(b)
        if self.rotate and self.rotate_p:
            apply = torch.rand(b, generator=generator) < self.rotate_p
            angle = torch.where(apply, (torch.rand(b, generator=generator) * 2 - 1) * math.radians(self.rotate), 0.0)
        cos, sin = torch.cos(angle), torch.sin(angle)
        if self.scale:
            # Zooming in by z samples a 1/z-wide window of the input.
            zoom = 1.0 + (torch.rand(b, generator=generator) * 2 - 1) * self.scale
            cos, sin = cos / zoom, sin / zoom
        # Output pixel -> input pixel in normalised coordinates (align_corners=False: a pixel is 2/S wide).
        theta = torch.zeros(b, 2, 3)
        theta[:, 0, 0], theta[:, 0, 1] = cos * sign, -sin
        theta[:, 1, 0], theta[:, 1, 1] = sin * sign, cos
        theta[:, 0, 2] = -2.0 * shifts[0] / w
        theta[:, 1, 2] = -2.0 * shifts[1] / h
        grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def erase(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Random erasing of a normalised batch: each sample, with probability ``erase_p``, one rectangle."""
        if not self.erase_p:
            return x
        b, _, h, w = x.shape
        apply = torch.rand(b, generator=generator) < self.erase_p
        area = (self.erase_scale[0] + torch.rand(b, generator=generator) * (self.erase_scale[1] - self.erase_scale[0]))
        log_ratio = math.log(0.3) + torch.rand(b, generator=generator) * (math.log(1 / 0.3) - math.log(0.3))
        ratio = torch.exp(log_ratio)
        eh = (torch.sqrt(area * h * w * ratio)).round().clamp(1, h).long()
        ew = (torch.sqrt(area * h * w / ratio)).round().clamp(1, w).long()
        top = (torch.rand(b, generator=generator) * (h - eh + 1).float()).long()
        left = (torch.rand(b, generator=generator) * (w - ew + 1).float()).long()
        # The random numbers come from the (CPU) generator; the mask is built where the batch lives.
        device = x.device
        rows = torch.arange(h, device=device)[None, :]
        cols = torch.arange(w, device=device)[None, :]
        top, left, eh, ew, apply = (t.to(device) for t in (top, left, eh, ew, apply))
        in_rows = (rows >= top[:, None]) & (rows < (top + eh)[:, None])
        in_cols = (cols >= left[:, None]) & (cols < (left + ew)[:, None])
        mask = in_rows[:, :, None] & in_cols[:, None, :] & apply[:, None, None]
        return x.masked_fill(mask[:, None], 0.0)


#: Batch augmentations by transform profile (see :func:`fer_lib.data.transforms.build_transform`).
AUGMENTS: dict[str, BatchAugment | None] = {
    "eval": None,
    "basic": BatchAugment(flip=True),
    "shift": BatchAugment(flip=True, shift=0.1),
    # PCNN's authors: flip; with p = 0.2 a 20-degree rotation plus a random crop with 32 px padding at 224;
    # random erasing. The batched form draws rotation and shift independently with the same strengths.
    "pcnn": BatchAugment(flip=True, shift=32 / 224, rotate=20.0, rotate_p=0.2, erase_p=0.5),
    "poster": BatchAugment(flip=True, erase_p=0.5, erase_scale=(0.02, 0.1)),
    "gmslpa": BatchAugment(flip=True, shift=GMSLPA_SHIFT, rotate=GMSLPA_ROTATION, rotate_p=1.0, scale=GMSLPA_SCALE),
    "cmcnn": None,  # CM-CNN states no augmentation
}


def augment_for(profile: str, train: bool) -> BatchAugment | None:
    """The batch augmentation of a transform profile (``None`` for evaluation)."""
    if profile not in AUGMENTS:
        raise ValueError(f"unknown transform profile {profile!r}; expected one of {', '.join(AUGMENTS)}")
    return AUGMENTS[profile] if train else None


def store_size_for(dataset: FERDataset, image_size: int) -> int:
    """The side at which :meth:`InMemoryImages.from_dataset` stores ``dataset`` for inputs of ``image_size``:
    its native side when its (first) image is square and smaller (resized on the device per batch), else
    ``image_size``. Upscaling once on the CPU would only multiply the memory and the transfer."""
    if not len(dataset):
        return image_size
    width, height = dataset.load_image(0).size
    return width if width == height and width < image_size else image_size


def resize_batch(x: torch.Tensor, size: int) -> torch.Tensor:
    """A float batch ``[B, C, s, s]`` resized to ``[B, C, size, size]`` (bilinear, antialiased when shrinking,
    as PIL's resize of the per-image transforms); unchanged when already that size."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                         antialias=size < max(x.shape[-2:]))


def _decode(image: Image.Image, size: int) -> np.ndarray:
    """An RGB PIL image -> uint8 ``[3, size, size]`` (antialiased resize, as the per-image transforms)."""
    if image.size != (size, size):
        image = image.resize((size, size), Image.BILINEAR, reducing_gap=None)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1)


class InMemoryImages(FERDataset):
    """A :class:`FERDataset` decoded once into ``images`` (uint8 ``[N, C, S, S]``), with batched augmentation.

    ``output_size``: the side of the batches (default: the stored side); a smaller stored side is resized per
    batch on the device (:func:`resize_batch`). ``dataset[i]`` gives the normalised, un-augmented image
    ``[3, output_size, output_size]`` and its label (for tools that read samples one by one); training and
    evaluation loops use :meth:`batches`. The images are copied to a device once and kept there.
    ``source_size``: how many samples the split had before a recipe's size cap (a dry run's plan).
    """

    def __init__(
        self,
        images: torch.Tensor,
        source: FERDataset,
        augment: BatchAugment | None = None,
        targets: np.ndarray | None = None,
        metadata=None,
        output_size: int | None = None,
        normalisation: tuple[Sequence[float], Sequence[float]] = (IMAGENET_MEAN, IMAGENET_STD),
    ) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"images must be uint8 [N, 1 or 3, S, S], got {images.dtype} {list(images.shape)}")
        targets = source.targets if targets is None else targets
        super().__init__(source.classes, targets, source.metadata if metadata is None else metadata)
        if len(images) != len(self.targets):
            raise ValueError(f"{len(images)} images for {len(self.targets)} targets")
        self.images = images
        self.output_size = int(output_size or images.shape[-1])
        self.augment = augment
        self.source_size = int(getattr(source, "source_size", len(self.targets)))
        self._on_device: dict[str, torch.Tensor] = {}
        self.name = source.name
        self.data_kind = source.data_kind
        self.skipped = dict(source.skipped)
        self.normalisation = (tuple(normalisation[0]), tuple(normalisation[1]))
        self._mean = torch.tensor(self.normalisation[0], dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(self.normalisation[1], dtype=torch.float32).view(1, 3, 1, 1)

    @classmethod
    def from_dataset(cls, dataset: FERDataset, image_size: int, augment: BatchAugment | None = None,
                     progress: bool = False, store_size: int | None = None,
                     normalisation: tuple[Sequence[float], Sequence[float]] = (IMAGENET_MEAN, IMAGENET_STD),
                     ) -> InMemoryImages:
        """Decode every image of ``dataset`` (its own transform is ignored) for batches of ``image_size`` pixels,
        stored at ``store_size`` (default ``image_size``; :func:`store_size_for` picks the native side), and
        normalised with ``normalisation`` (mean, std; a profile's is ``transforms.NORMALISATION[profile]``).

        Grey sources (every image with equal channels) are stored with one channel.
        """
        n = len(dataset)
        side = int(store_size or image_size)
        frames = np.empty((n, 3, side, side), dtype=np.uint8)
        for i in tqdm(range(n), desc=f"decode {dataset.name}", disable=not progress, leave=False):
            frames[i] = _decode(dataset.load_image(i), side)
        grey = bool(n) and bool((frames[:, 0] == frames[:, 1]).all() and (frames[:, 1] == frames[:, 2]).all())
        images = torch.from_numpy(np.ascontiguousarray(frames[:, :1] if grey else frames))
        return cls(images, dataset, augment, output_size=image_size, normalisation=normalisation)

    # -- one sample at a time (tools) -------------------------------------------------------
    def load_image(self, index: int) -> Image.Image:
        pixels = self.images[index].expand(3, -1, -1).permute(1, 2, 0).numpy()
        return Image.fromarray(np.ascontiguousarray(pixels), "RGB")

    def __getitem__(self, index: int):
        x = resize_batch(self.images[index : index + 1].to(torch.float32) / 255.0, self.output_size)
        x = self._normalise(x)[0]
        y = int(self.targets[index])
        return (x, y, {"index": index}) if self.return_meta else (x, y)

    def subset(self, indices: Sequence[int] | np.ndarray) -> InMemoryImages:
        idx = np.asarray(indices, dtype=np.int64)
        return InMemoryImages(self.images[torch.from_numpy(idx)], self, self.augment, self.targets[idx],
                              self.metadata.iloc[idx], output_size=self.output_size,
                              normalisation=self.normalisation)

    def on_device(self, device: str | torch.device) -> torch.Tensor:
        """The stored images on ``device``, copied there on first use and kept (one copy per device)."""
        key = str(torch.device(device))
        if key not in self._on_device:
            self._on_device[key] = self.images.to(device)
        return self._on_device[key]

    # -- whole batches (training and evaluation loops) --------------------------------------
    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return (x - self._mean.to(x.device)) / self._std.to(x.device)

    def batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: str | torch.device = "cpu",
        augment: bool = True,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches ``(x [B, 3, S, S] float32 normalised, y [B] int64)`` on ``device``, ``S = output_size``.

        ``shuffle`` draws the order from ``generator``; ``augment`` applies the dataset's augmentation
        (with random numbers from the same generator, so an epoch is reproducible from its seed). Gathering,
        resizing, augmenting and normalising all run on ``device``.
        """
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        images = self.on_device(device)
        targets = torch.as_tensor(np.array(self.targets, dtype=np.int64), device=images.device)
        order = order.to(images.device)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            x = resize_batch(images[idx].to(torch.float32).div_(255.0), self.output_size)
            if augment and self.augment is not None:
                x = self.augment.geometric(x, generator)
            x = self._normalise(x)
            if augment and self.augment is not None:
                x = self.augment.erase(x, generator)
            yield x, targets[idx]

    def num_batches(self, batch_size: int) -> int:
        return math.ceil(len(self) / batch_size)


__all__ = ["AUGMENTS", "BatchAugment", "InMemoryImages", "augment_for", "resize_batch", "store_size_for"]

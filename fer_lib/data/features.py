"""A training set of a frozen network's outputs, computed once: training the rest of a model without re-running it.

When a model's first stages are frozen (POSTER's IR50 image stream and MobileFaceNet landmark stream at the ``cpu``
scale), every epoch would run them forward again on the same images, for most of the step's cost. A
:class:`FrozenFeatures` set runs them once per image, and once more per mirrored image (the only augmentation that
survives: the flip is drawn per sample and per epoch, as :class:`~fer_lib.data.memory.InMemoryImages` draws it),
and keeps the outputs in memory (bfloat16). Its batches are ``(features, y)``: whatever ``encode`` returns for a
batch of images (a tensor or a tuple of tensors, e.g. POSTER's ``StreamFeatures``), which the model takes in place
of the images. Pixel-level augmentation (random erasing, shifts) cannot be applied to cached outputs: a recipe
that caches trains with flips only, and its run key says so.

Computing them is the costly part (POSTER's two streams over FERPlus's 25,060 faces and mirrors: most of an hour on
one core), so a caller can name a file (``store``) where they are kept between processes, under a key of its own
that covers the frozen weights, the code and the images.

It knows no model: ``encode`` is any function of a normalised image batch ``[B, 3, S, S]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from fer_lib.data.memory import InMemoryImages
from fer_lib.io import atomic_save

Encoded = Any  # a tensor [B, ...] or a (named) tuple of them


def _fields(fn: Callable[..., torch.Tensor], *items: Encoded) -> Encoded:
    """``fn`` applied to the tensors of ``items`` field by field: to the tensors themselves, or to each field of
    (named) tuples, rebuilt as the first item's type."""
    first = items[0]
    if isinstance(first, torch.Tensor):
        return fn(*items)
    fields = [fn(*parts) for parts in zip(*items, strict=True)]
    return type(first)(*fields) if hasattr(first, "_fields") else type(first)(fields)


def _rows(encoded: Encoded) -> int:
    return len(encoded if isinstance(encoded, torch.Tensor) else encoded[0])


class _Rows:
    """Rows of an encoder's outputs written in place into tensors allocated once, from the first batch's shapes:
    collecting the batches and concatenating them held every feature twice (POSTER on FERPlus: 7.6 GB)."""

    def __init__(self, total: int, dtype: torch.dtype) -> None:
        self.total, self.dtype, self.filled, self.data = total, dtype, 0, None

    def add(self, part: Encoded) -> None:
        if self.data is None:
            self.data = _fields(lambda t: torch.empty((self.total, *t.shape[1:]), dtype=self.dtype), part)
        end = self.filled + _rows(part)
        _fields(lambda dest, t: dest[self.filled:end].copy_(t), self.data, part)
        self.filled = end

    def result(self) -> Encoded:
        if self.filled != self.total:
            raise RuntimeError(f"the encoder produced {self.filled} rows for {self.total} images")
        return self.data


def _select(encoded: Encoded, index: torch.Tensor) -> Encoded:
    return _fields(lambda t: t[index], encoded)


def _where(mask: torch.Tensor, a: Encoded, b: Encoded) -> Encoded:
    return _fields(lambda x, y: torch.where(mask.view(-1, *([1] * (x.dim() - 1))), x, y), a, b)


def _to(encoded: Encoded, device: torch.device | str, dtype: torch.dtype | None = None) -> Encoded:
    return _fields(lambda t: t.to(device=device, dtype=dtype or t.dtype), encoded)


class FrozenFeatures(torch.utils.data.Dataset):
    """``encode``'s outputs for every image of ``images`` and (with ``flip``) its mirror image, computed on first use.

    ``batches`` yields ``(features, y)`` in float32 on ``device``; ``augment`` picks, per sample, the mirrored
    image's features with probability 1/2 (drawn from the epoch's generator). ``dtype``: how they are kept
    (bfloat16 halves the memory: POSTER's two streams on FERPlus's 25,060 faces and their mirrors take 3.8 GB).
    ``store``: a file the outputs are read from when it exists and written to once computed (its name is the
    caller's key; a file for another number of images is recomputed and replaced).
    """

    def __init__(self, images: InMemoryImages, encode: Callable[[torch.Tensor], Encoded], flip: bool = True,
                 batch_size: int = 128, device: str | torch.device = "cpu", dtype: torch.dtype = torch.bfloat16,
                 progress: bool = True, store: str | Path | None = None) -> None:
        self.images, self.encode, self.flip = images, encode, flip
        self.store = Path(store) if store is not None else None
        self.batch_size, self.device, self.dtype, self.progress = batch_size, device, dtype, progress
        self.targets = np.asarray(images.targets)
        self.classes = list(images.classes)
        self.name, self.data_kind = images.name, images.data_kind
        self.metadata = images.metadata
        self._features: tuple[Encoded, Encoded | None] | None = None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        plain, _ = self.features()
        return _to(_select(plain, torch.tensor([index])), "cpu", torch.float32), int(self.targets[index])

    @torch.no_grad()
    def features(self) -> tuple[Encoded, Encoded | None]:
        """``(features of the images, of their mirrors or None)``, computed now if not yet."""
        if self._features is None and self.store is not None:
            self._features = self._load()
        if self._features is None:
            plain, mirrored = _Rows(len(self.images), self.dtype), _Rows(len(self.images), self.dtype)
            steps = math.ceil(len(self.images) / self.batch_size)
            batches = self.images.batches(self.batch_size, shuffle=False, device=self.device, augment=False)
            for x, _ in tqdm(batches, total=steps, desc=f"frozen features of {self.name}", disable=not self.progress,
                             mininterval=10):
                plain.add(_to(self.encode(x), "cpu"))
                if self.flip:
                    mirrored.add(_to(self.encode(x.flip(-1)), "cpu"))
            self._features = (plain.result(), mirrored.result() if self.flip else None)
            if self.store is not None:
                self._save(*self._features)
        return self._features

    def _save(self, plain: Encoded, mirrored: Encoded | None) -> None:
        fields = (lambda e: [e] if isinstance(e, torch.Tensor) else list(e))
        stored = {"images": len(self.images), "plain": fields(plain),
                  "mirrored": fields(mirrored) if mirrored is not None else None}
        self.store.parent.mkdir(parents=True, exist_ok=True)
        atomic_save(self.store, lambda tmp: torch.save(stored, tmp))

    def _load(self) -> tuple[Encoded, Encoded | None] | None:
        if not self.store.is_file():
            return None
        stored = torch.load(self.store, map_location="cpu", weights_only=True)
        if stored.get("images") != len(self.images) or (stored["mirrored"] is None) == self.flip:
            return None  # written for other images: recomputed and replaced
        # The encoder's output type (a tensor, a named tuple of them) from one image: the file holds plain lists.
        x, _ = next(iter(self.images.batches(1, shuffle=False, device=self.device, augment=False)))
        probe = self.encode(x)

        def rebuild(fields: list[torch.Tensor]) -> Encoded:
            if isinstance(probe, torch.Tensor):
                return fields[0]
            return type(probe)(*fields) if hasattr(probe, "_fields") else type(probe)(fields)

        return rebuild(stored["plain"]), rebuild(stored["mirrored"]) if stored["mirrored"] is not None else None

    def batches(self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None,
                device: str | torch.device = "cpu", augment: bool = True) -> Iterator[tuple[Encoded, torch.Tensor]]:
        """``(features, y)`` batches on ``device`` (float32), in a seeded order; mirrored at random with ``augment``."""
        plain, mirrored = self.features()
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        targets = torch.tensor(self.targets, dtype=torch.int64)  # a copy: the targets may be a read-only view
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            batch = _select(plain, idx)
            if augment and mirrored is not None:
                use_mirror = torch.rand(len(idx), generator=generator) < 0.5
                batch = _where(use_mirror, _select(mirrored, idx), batch)
            yield _to(batch, device, torch.float32), targets[idx].to(device)

    def num_batches(self, batch_size: int) -> int:
        return math.ceil(len(self) / batch_size)


__all__ = ["FrozenFeatures"]

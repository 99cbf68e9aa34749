"""Datasets held in memory as uint8 tensors, augmented a batch at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from fer_lib.data.base import FERDataset
from fer_lib.data.memory import BatchAugment, InMemoryImages, augment_for
from fer_lib.data.transforms import build_transform


class Faces(FERDataset):
    """Tiny grey or colour images with a bright left half, so a flip is visible."""

    name = "faces"

    def __init__(self, n: int = 10, size: int = 16, grey: bool = True) -> None:
        super().__init__(["a", "b"], np.arange(n) % 2)
        rng = np.random.default_rng(0)
        self.frames = rng.integers(0, 120, (n, size, size, 3), dtype=np.uint8)
        self.frames[:, :, : size // 2] += 100
        if grey:
            self.frames[..., 1] = self.frames[..., 2] = self.frames[..., 0]

    def load_image(self, index: int) -> Image.Image:
        return Image.fromarray(self.frames[index], "RGB")


def test_grey_sources_are_stored_with_one_channel_and_read_as_three() -> None:
    grey = InMemoryImages.from_dataset(Faces(grey=True), 16)
    colour = InMemoryImages.from_dataset(Faces(grey=False), 16)
    assert grey.images.shape == (10, 1, 16, 16) and colour.images.shape == (10, 3, 16, 16)
    x, y = next(grey.batches(4))
    assert x.shape == (4, 3, 16, 16) and x.dtype == torch.float32 and y.tolist() == [0, 1, 0, 1]


def test_unaugmented_samples_equal_the_per_image_evaluation_transform() -> None:
    faces = Faces(grey=False)
    memory = InMemoryImages.from_dataset(faces, 12)
    per_image = build_transform("eval", 12, train=False)(faces.load_image(3))
    assert torch.allclose(memory[3][0], per_image, atol=1e-6)
    batch = torch.cat([x for x, _ in memory.batches(4, augment=False)])
    assert torch.allclose(batch[3], per_image, atol=1e-6)


def test_batches_are_reproducible_from_their_seed_and_cover_every_sample() -> None:
    memory = InMemoryImages.from_dataset(Faces(n=11), 16, augment_for("pcnn", train=True))

    def epoch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        parts = list(memory.batches(4, shuffle=True, generator=torch.Generator().manual_seed(seed)))
        return torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])

    (x1, y1), (x2, y2), (x3, _) = epoch(5), epoch(5), epoch(6)
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and not torch.equal(x1, x3)
    assert len(y1) == 11 and sorted(y1.tolist()) == sorted(memory.targets.tolist())


def test_flip_and_shift_move_whole_pixels() -> None:
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8) / 400
    flipped = BatchAugment(flip=True).geometric(x, torch.Generator().manual_seed(1))
    for out, original in zip(flipped, x, strict=True):
        assert torch.allclose(out, original, atol=1e-5) or torch.allclose(out, original.flip(-1), atol=1e-5)
    shifted = BatchAugment(flip=False, shift=0.25).geometric(x, torch.Generator().manual_seed(3))
    for out, original in zip(shifted, x, strict=True):
        # every non-zero output pixel is an input pixel (no interpolation blur)
        values = set(np.round(original.numpy().ravel(), 5))
        assert set(np.round(out[out != 0].numpy().ravel(), 5)) <= values


def test_erasing_zeroes_one_rectangle_per_sample() -> None:
    x = torch.ones(6, 3, 20, 20)
    out = BatchAugment(flip=False, erase_p=1.0).erase(x, torch.Generator().manual_seed(0))
    for sample in out:
        rows, cols = torch.nonzero(sample[0] == 0, as_tuple=True)
        assert len(rows) > 0
        box = sample[0, rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert (box == 0).all() and (sample[1] == sample[0]).all()


def test_subset_keeps_images_targets_and_metadata_together() -> None:
    memory = InMemoryImages.from_dataset(Faces(n=10), 16)
    part = memory.subset([1, 4, 7])
    assert isinstance(part, InMemoryImages) and len(part) == 3
    assert torch.equal(part.images[1], memory.images[4]) and part.targets.tolist() == [1, 0, 1]
    assert np.array_equal(np.asarray(part.load_image(2)), np.asarray(memory.load_image(7)))


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="uint8"):
        InMemoryImages(torch.zeros(2, 3, 4, 4), Faces(n=2))
    with pytest.raises(ValueError, match="unknown transform profile"):
        augment_for("mixup", True)

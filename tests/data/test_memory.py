"""Datasets held in memory as uint8 tensors, augmented a batch at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from fer_lib.data.base import FERDataset
from fer_lib.data.memory import BatchAugment, InMemoryImages, augment_for, resize_batch, store_size_for
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


def test_scaling_zooms_about_the_centre() -> None:
    # A bright square in the middle of a dark image: zooming in (factor > 1) makes it larger, out smaller.
    x = torch.zeros(64, 1, 32, 32)
    x[..., 12:20, 12:20] = 1.0
    out = BatchAugment(flip=False, scale=0.3).geometric(x, torch.Generator().manual_seed(0))
    areas = (out > 0.5).float().sum(dim=(1, 2, 3))
    assert areas.min() < 64 < areas.max()
    assert (out[..., 15:17, 15:17] > 0.5).all()  # the centre stays where it was
    assert 49 * 0.7**2 * 0.8 < areas.min() and areas.max() < 81 * 1.3**2 * 1.2


def test_gmslpa_profile_rotates_shifts_flips_and_scales() -> None:
    augment = augment_for("gmslpa", train=True)
    assert augment.flip and augment.shift and augment.rotate and augment.rotate_p == 1.0 and augment.scale
    image = Image.fromarray(np.full((40, 40, 3), 128, np.uint8))
    assert build_transform("gmslpa", 32, train=True)(image).shape == (3, 32, 32)


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


# -- the device-side path: stored at the native side, resized per batch -------------------------------
def test_native_side_is_stored_and_batches_come_at_the_input_size() -> None:
    faces = Faces(n=6, size=12, grey=True)
    assert store_size_for(faces, 48) == 12 and store_size_for(faces, 12) == 12 and store_size_for(faces, 8) == 8
    memory = InMemoryImages.from_dataset(faces, 48, augment_for("pcnn", train=True), store_size=12)
    assert memory.images.shape == (6, 1, 12, 12) and memory.output_size == 48
    x, _ = next(memory.batches(4, shuffle=True))
    assert x.shape == (4, 3, 48, 48)
    assert memory[0][0].shape == (3, 48, 48)
    assert memory.subset([1, 2]).output_size == 48


def test_resizing_per_batch_matches_the_per_image_resize_within_rounding() -> None:
    """The device path (48 -> 64 by torch, bilinear) against the per-image path (PIL bilinear, then to tensor):
    equal up to 8-bit rounding of PIL's output."""
    faces = Faces(n=5, size=48, grey=False)
    device_path = InMemoryImages.from_dataset(faces, 64, store_size=48)
    batch = torch.cat([x for x, _ in device_path.batches(5, augment=False)])
    per_image = torch.stack([build_transform("eval", 64, train=False)(faces.load_image(i)) for i in range(5)])
    # One 8-bit step is 1/255 before normalisation, about 0.018 after it (std 0.225).
    assert (batch - per_image).abs().max() < 0.03


def test_resize_batch_leaves_the_input_size_alone_and_antialiases_when_shrinking() -> None:
    x = torch.rand(2, 3, 16, 16)
    assert resize_batch(x, 16) is x
    stripes = torch.zeros(1, 1, 16, 16)
    stripes[..., ::2] = 1.0
    # Antialiased shrinking averages the 1-pixel stripes to grey; plain bilinear aliases them (0.1 ... 0.9).
    assert (resize_batch(stripes, 5) - 0.5).abs().max() < 0.05


def test_images_are_copied_to_a_device_once() -> None:
    memory = InMemoryImages.from_dataset(Faces(), 16)
    assert memory.on_device("cpu") is memory.on_device("cpu")
    first, second = list(memory.batches(5)), list(memory.batches(5))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, second, strict=True))

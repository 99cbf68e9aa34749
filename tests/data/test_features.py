"""A frozen network's outputs computed once per image and mirror, and served as training batches."""

from __future__ import annotations

from typing import NamedTuple

import pytest
import torch

from fer_lib.data.features import FrozenFeatures
from fer_lib.data.memory import InMemoryImages
from tests.data.test_memory import Faces


class Pair(NamedTuple):
    left: torch.Tensor
    right: torch.Tensor


class Encoder:
    """The mean brightness of each image's left and right halves (a flip swaps them); counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x: torch.Tensor) -> Pair:
        self.calls += 1
        half = x.shape[-1] // 2
        return Pair(x[..., :half].mean(dim=(1, 2, 3)), x[..., half:].mean(dim=(1, 2, 3)))


def test_outputs_are_computed_once_and_a_mirror_is_drawn_per_sample() -> None:
    images = InMemoryImages.from_dataset(Faces(n=10), 16)
    encoder = Encoder()
    frozen = FrozenFeatures(images, encoder, batch_size=4, dtype=torch.float32, progress=False)
    assert encoder.calls == 0  # nothing runs until a batch is asked for
    plain = [b for b in frozen.batches(10, augment=False)]
    assert encoder.calls == 6  # 3 batches of 4, each plain and mirrored
    (pair, y), = plain
    assert isinstance(pair, Pair) and y.tolist() == [0, 1] * 5
    assert bool((pair.left > pair.right).all())  # the bright left half
    list(frozen.batches(10))
    assert encoder.calls == 6  # cached
    g = torch.Generator().manual_seed(1)
    (mixed, _), = frozen.batches(10, generator=g)
    mirrored = mixed.left < mixed.right
    assert 0 < int(mirrored.sum()) < 10  # some samples mirrored, not all
    assert torch.allclose(mixed.left[mirrored], pair.right[mirrored], atol=1e-6)
    (again, _), = frozen.batches(10, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again.left, mixed.left)  # an epoch's draw depends on its generator only
    shuffled = [y for _, y in frozen.batches(3, shuffle=True, augment=False)]
    assert sorted(torch.cat(shuffled).tolist()) == sorted(y.tolist()) and frozen.num_batches(3) == 4


def test_features_are_kept_in_bfloat16_and_served_as_float32() -> None:
    images = InMemoryImages.from_dataset(Faces(n=4), 16)
    frozen = FrozenFeatures(images, lambda x: x.mean(dim=(2, 3)), flip=False, progress=False)
    stored, mirrored = frozen.features()
    assert stored.dtype == torch.bfloat16 and mirrored is None
    x, _ = next(frozen.batches(4))
    assert x.dtype == torch.float32 and x.shape == (4, 3)


def test_a_store_keeps_the_outputs_for_the_next_process_and_is_replaced_when_it_holds_other_images(tmp_path) -> None:
    images = InMemoryImages.from_dataset(Faces(n=10), 16)
    store = tmp_path / "frozen" / "faces.pt"
    first = FrozenFeatures(images, Encoder(), batch_size=4, progress=False, store=store)
    plain, mirrored = first.features()
    assert store.is_file()
    encoder = Encoder()
    again = FrozenFeatures(images, encoder, batch_size=4, progress=False, store=store)  # another process's
    loaded, loaded_mirrored = again.features()
    assert encoder.calls == 1  # one image, to learn the encoder's output type
    assert isinstance(loaded, Pair) and torch.equal(loaded.left, plain.left) and torch.equal(loaded.right, plain.right)
    assert torch.equal(loaded_mirrored.left, mirrored.left)
    fewer = InMemoryImages.from_dataset(Faces(n=6), 16)
    other = Encoder()
    replaced, _ = FrozenFeatures(fewer, other, batch_size=4, progress=False, store=store).features()
    assert len(replaced.left) == 6 and other.calls == 4  # 2 batches, plain and mirrored: the file said 10 images
    assert len(torch.load(store, weights_only=True)["plain"][0]) == 6


def test_outputs_are_written_in_image_order_across_batches_and_a_short_encoder_is_an_error() -> None:
    images = InMemoryImages.from_dataset(Faces(n=10), 16)
    everything, _ = next(images.batches(10, shuffle=False, augment=False))
    plain, _ = FrozenFeatures(images, Encoder(), batch_size=4, dtype=torch.float32, progress=False).features()
    assert torch.allclose(plain.left, Encoder()(everything).left, atol=1e-6)
    short = FrozenFeatures(images, lambda x: x[:1].mean(dim=(2, 3)), flip=False, batch_size=4, progress=False)
    with pytest.raises(RuntimeError, match="3 rows for 10 images"):
        short.features()

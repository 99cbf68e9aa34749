from __future__ import annotations

import numpy as np
import pytest
import torch

from fer_lib.data import FERDataset, load_dataset
from fer_lib.data import preprocess as pp
from fer_lib.data.modalities import ModalityImages, check_modalities
from fer_lib.models import create_model
from fer_lib.protocols import load_split
from fer_lib.recipes import get_recipe


@pytest.fixture(scope="module")
def rgbd() -> FERDataset:
    return load_dataset("synth-rgbd", split="test", scale="smoke", image_size=64)


def test_channels_are_the_modalities_of_the_same_face(rgbd) -> None:
    packed = ModalityImages(rgbd, ("gray", "lbp", "depth"))
    image = np.asarray(packed.load_image(0))
    gray = pp.to_gray(rgbd.load_image(0))
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert np.array_equal(image[..., 0], gray)
    assert np.array_equal(image[..., 1], np.asarray(pp.lbp_image(gray)))
    depth = rgbd.extras(0)["depth"]
    assert np.array_equal(image[..., 2] == 0, depth <= 0)  # background stays 0, the face is lit
    face = depth > 0
    # Nearer is brighter: the depth channel orders the face's pixels as the depth map does.
    assert np.corrcoef(image[..., 2][face], depth[face])[0, 1] > 0.99
    assert packed.name == f"{rgbd.name}[gray+lbp+depth]" and packed.data_kind == "synthetic"
    assert list(packed.metadata["source_id"]) == list(rgbd.metadata["source_id"])
    assert np.array_equal(packed.targets, rgbd.targets)


def test_fewer_modalities_repeat_the_first_channel(rgbd) -> None:
    one = np.asarray(ModalityImages(rgbd, "gray").load_image(1))
    assert (one[..., 0] == one[..., 1]).all() and (one[..., 1] == one[..., 2]).all()
    two = np.asarray(ModalityImages(rgbd, ("hog", "depth")).load_image(1))
    assert np.array_equal(two[..., 0], two[..., 2]) and not np.array_equal(two[..., 0], two[..., 1])


class _NoDepth(FERDataset):
    name = "flat"

    def __init__(self) -> None:
        super().__init__(["a", "b"], [0, 1])

    def load_image(self, index):
        from PIL import Image

        return Image.new("RGB", (16, 16))


def test_bad_modalities_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct names among gray, lbp, depth, hog, gabor"):
        check_modalities(("gray", "rgb"))
    with pytest.raises(ValueError, match="1 to 3"):
        check_modalities(("gray", "lbp", "hog", "depth"))
    with pytest.raises(ValueError, match="flat has no depth maps"):
        ModalityImages(_NoDepth(), ("gray", "depth"))
    assert np.asarray(ModalityImages(_NoDepth(), ("gray", "gabor")).load_image(0)).shape == (16, 16, 3)


@pytest.mark.parametrize("in_memory", [True, False])
def test_load_split_packs_modalities_for_cmcnn(in_memory: bool) -> None:
    recipe = get_recipe("resnet", "smoke", transform="cmcnn", in_memory=in_memory, image_size=48)
    split = load_split("synth-rgbd", "train", recipe, modalities=("gray", "lbp", "depth"))
    if in_memory:
        x, _ = next(split.batches(4, augment=True))
    else:
        x = torch.stack([split[i][0] for i in range(4)])
    assert x.shape == (4, 3, 48, 48)
    assert x.min() >= 0 and x.max() <= 1  # "normalized to (0, 1)", no ImageNet statistics
    assert (x[:, 2] == 0).any() and not torch.equal(x[:, 0], x[:, 1])
    model = create_model("cmcnn", num_classes=6, modalities=("gray", "lbp", "depth")).eval()
    with torch.no_grad():
        assert model(x).logits.shape == (4, 6)

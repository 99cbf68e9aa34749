"""Splits as a recipe loads them, and the occlusion / pose test subsets, on the exact-format fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fer_lib.data.fixtures import write_all
from fer_lib.data.memory import InMemoryImages
from fer_lib.protocols import splits
from fer_lib.recipes import get_recipe


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write_all(root)
    return root


def test_subset_source_names_real_and_synthetic_subsets(tmp_path: Path) -> None:
    (tmp_path / "ran_lists").mkdir()
    name, opts = splits.subset_source("rafdb", "pose>45", tmp_path)
    assert name == "rafdb-pose45" and opts == {"lists_root": str(tmp_path / "ran_lists")}
    assert splits.subset_source("ferplus", "occlusion", tmp_path)[0] == "ferplus-occlusion"
    # a data_root without ran_lists/ is taken as the lists folder itself
    assert splits.lists_root(tmp_path / "ran_lists") == tmp_path / "ran_lists"
    assert splits.subset_source("synth-inthewild", "pose>30") == ("synth-inthewild", {"subset": "pose>30"})


@pytest.mark.parametrize(
    ("base", "kind", "root", "message"),
    [
        ("rafdb", "blur", ".", "unknown subset kind"),
        ("fer2013", "occlusion", ".", "no 'occlusion' test subset"),
        ("rafdb", "occlusion", None, "pass data_root"),
    ],
)
def test_subset_source_errors(base: str, kind: str, root: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        splits.subset_source(base, kind, root)


def test_load_subset_applies_the_recipe(data_root: Path) -> None:
    recipe = get_recipe("resnet", "smoke")
    subset = splits.load_subset("ferplus", "pose>30", recipe, data_root)
    x, _ = subset[0][:2]
    assert tuple(x.shape[-2:]) == (recipe.image_size, recipe.image_size)


def test_load_split_caps_stratifies_and_is_loaded_once(data_root: Path) -> None:
    recipe = get_recipe("resnet", "smoke", max_train=6)
    train = splits.load_split("rafdb", "train", recipe, data_root, seed=0)
    assert len(train) == 6
    assert splits.load_split("rafdb", "train", recipe, data_root, seed=0) is train  # memoised
    other = splits.load_split("rafdb", "train", recipe, data_root, seed=1)
    assert other is not train and len(other) == 6
    full = splits.load_split("rafdb", "train", get_recipe("resnet", "smoke", max_train=None), data_root)
    # every class of the full split keeps at least one image in the subsample
    assert set(np.unique(train.targets)) <= set(np.unique(full.targets))


def test_real_data_without_a_root_is_an_error() -> None:
    with pytest.raises(ValueError, match="pass data_root"):
        splits.load_split("fer2013", "train", get_recipe("resnet", "smoke"), None)


def test_the_paper_recipe_keeps_fer2013_in_memory_at_48_px_and_resizes_per_batch(data_root: Path) -> None:
    recipe = get_recipe("pcnn", "paper", max_train=8)
    train = splits.load_split("fer2013", "train", recipe, data_root, seed=0)
    assert isinstance(train, InMemoryImages)
    assert train.images.shape[1:] == (1, 48, 48) and train.output_size == 224
    assert train.source_size > 8 >= len(train)  # the split's size before the cap (a dry run's plan)
    x, _ = next(train.batches(4, shuffle=True))
    assert x.shape == (4, 3, 224, 224)


def test_a_split_over_the_memory_limit_goes_through_the_per_image_path(
        data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_IN_MEMORY_GB", "0.000001")  # about 1 kB: not even one 48-px face fits
    recipe = get_recipe("pcnn", "paper", max_train=4)
    train = splits.load_split("fer2013", "train", recipe, data_root, seed=3)
    assert not isinstance(train, InMemoryImages)
    x, _ = train[0][:2]
    assert tuple(x.shape) == (3, 224, 224)  # the recipe's per-image transform (resize, augmentation)


def test_real_modality_images_are_computed_once_and_kept_between_processes(data_root: Path, tmp_path: Path,
                                                                             monkeypatch) -> None:
    """LBP / Gabor images of a real split are cached on disk: a new process (an empty split memo) reads them back,
    identical, without computing one; synthetic data is never cached."""
    from fer_lib.data import modalities

    monkeypatch.setenv("FER_LIB_CACHE", str(tmp_path / "cache"))
    calls = []
    original = modalities.modality_image
    monkeypatch.setattr(modalities, "modality_image", lambda *a, **k: calls.append(a[1]) or original(*a, **k))
    recipe = get_recipe("cmcnn", "smoke", in_memory=True, max_train=None)
    monkeypatch.setattr(splits, "_SPLITS", type(splits._SPLITS)())
    first = splits.load_split("ferplus", "train", recipe, data_root, modalities=["gray", "lbp"])
    assert isinstance(first, InMemoryImages) and calls and set(calls) == {"gray", "lbp"}
    (kept,) = (tmp_path / "cache" / "modalities").glob("*.pt")
    calls.clear()
    monkeypatch.setattr(splits, "_SPLITS", type(splits._SPLITS)())  # as in a new process
    again = splits.load_split("ferplus", "train", recipe, data_root, modalities=["gray", "lbp"])
    assert again is not first and calls == [] and torch.equal(again.images, first.images)
    other = splits.load_split("ferplus", "train", recipe, data_root, modalities=["gray", "gabor"])
    assert set(calls) == {"gray", "gabor"} and len(list(kept.parent.glob("*.pt"))) == 2
    assert not torch.equal(other.images, first.images)
    splits.load_split("synth-rgbd", "train", recipe, None, modalities=["gray", "lbp"])
    assert len(list(kept.parent.glob("*.pt"))) == 2  # synthetic: not cached

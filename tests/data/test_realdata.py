"""Split sizes, class counts and subset sizes on the real development data (../shared/data).

The first run decodes the FER2013 csv (about 10-20 s on 2 busy cores) and caches the pixels in
``~/.cache/fer_lib``; later runs load the cache in well under a second.
"""

from __future__ import annotations

import numpy as np
import pytest

from fer_lib.data import load_dataset

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture
def fer_root(shared_data):
    if not (shared_data / "fer2013").is_dir():
        pytest.skip(f"no fer2013/ in {shared_data}")
    return shared_data / "fer2013"


def test_fer2013_usages_and_class_counts(fer_root) -> None:
    sizes = {u: len(load_dataset("fer2013", root=fer_root, split=u)) for u in ("Training", "PublicTest", "PrivateTest")}
    assert sizes == {"Training": 28709, "PublicTest": 3589, "PrivateTest": 3589}
    assert len(load_dataset("fer2013", root=fer_root, split="train")) == 28709 + 3589
    training = load_dataset("fer2013", root=fer_root, split="Training")
    assert training.class_counts().to_dict() == {
        "neutral": 4965, "happiness": 7215, "sadness": 4830, "surprise": 3171, "fear": 4097, "disgust": 436,
        "anger": 3995}
    image = training[0][0]
    assert image.size == (48, 48) and image.mode == "RGB"


@pytest.mark.parametrize(
    ("label_mode", "num_classes", "expected"),
    [("majority", 8, (25060, 3199, 3153)), ("argmax", 8, (28389, 3553, 3546)), ("argmax", 7, (28224, 3529, 3519))],
)
def test_ferplus_counts(shared_data, fer_root, label_mode, num_classes, expected) -> None:
    sizes = tuple(
        len(load_dataset("ferplus", root=shared_data / "ferplus", split=s, label_mode=label_mode,
                         num_classes=num_classes))
        for s in ("train", "val", "test")
    )
    assert sizes == expected


def test_ferplus_rows_are_aligned_with_fer2013(shared_data, fer_root) -> None:
    ds = load_dataset("ferplus", root=shared_data / "ferplus", split="val", label_mode="argmax")
    first = ds.metadata.iloc[0]
    assert (first["row"], first["image_name"]) == (28709, "fer0028638.png")


def test_rafdb_labels(shared_data) -> None:
    root = shared_data / "rafdb"
    sizes = [len(load_dataset("rafdb", root=root, split=s, require_images=False)) for s in ("train", "test")]
    assert sizes == [12271, 3068]


@pytest.mark.parametrize(("name", "size"), [("rafdb-occlusion", 735), ("rafdb-pose30", 1247), ("rafdb-pose45", 558)])
def test_rafdb_subsets(shared_data, name, size) -> None:
    ds = load_dataset(name, root=shared_data / "rafdb", lists_root=shared_data / "ran_lists", require_images=False)
    assert len(ds) == size
    # the lists' 0-based labels agree with RAF-DB's own label file for every entry
    raf_index = np.array([-1, 3, 4, 5, 1, 2, 6, 0])  # RAF 1..7 -> canonical index
    assert np.array_equal(ds.targets, raf_index[ds.metadata["raf_label"].to_numpy()])


@pytest.mark.parametrize(
    ("name", "size"), [("ferplus-occlusion", 605), ("ferplus-pose30", 1170), ("ferplus-pose45", 633)]
)
def test_ferplus_subsets_resolve_to_images(shared_data, fer_root, name, size) -> None:
    ds = load_dataset(name, root=shared_data / "ferplus", lists_root=shared_data / "ran_lists")
    assert len(ds) == size and ds.skipped == {}
    assert set(ds.metadata["usage"]) == {"PrivateTest"}
    assert ds.rows.min() >= 28709 + 3589  # every image is a PrivateTest row
    assert np.asarray(ds[0][0]).shape == (48, 48, 3)

from __future__ import annotations

import gzip

import numpy as np
import pytest

from fer_lib.data import fer2013, fixtures, load_dataset
from fer_lib.data.errors import DatasetLayoutError, LabelFileError


def test_csv_protocol_splits_and_pixels(fixture_roots) -> None:
    root = fixture_roots["fer2013"]
    train = load_dataset("fer2013", root=root, split="train")
    test = load_dataset("fer2013", root=root, split="test", return_meta=True)
    # fixture: 3 Training + 1 PublicTest + 1 PrivateTest rows per class
    assert (len(train), len(test)) == (28, 7)
    assert set(train.metadata["usage"]) == {"Training", "PublicTest"}
    assert set(test.metadata["usage"]) == {"PrivateTest"}
    assert len(load_dataset("fer2013", root=root, split="PublicTest")) == 7
    assert len(load_dataset("fer2013", root=root, split="all")) == 35
    image, label, extras = test[0]
    assert image.mode == "RGB" and image.size == (48, 48) and extras["index"] == 0
    # the first PrivateTest row has native label 0 (Angry) -> canonical "anger"
    assert test.classes[label] == "anger"
    row = int(test.metadata["row"][0])
    expected = fixtures.face_image("anger", seed=(row + 1) * 7)
    assert np.array_equal(np.asarray(image)[..., 0], expected)


def test_plain_csv_and_cache(tmp_path) -> None:
    csv_path = fixtures.write_fer2013(tmp_path / "plain", per_class=(1, 1, 1), gz=False)
    fer2013._MEMO.clear()
    first = fer2013.load_fer2013_csv(csv_path, cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c").glob("fer2013_*.npz"))) == 1
    fer2013._MEMO.clear()
    second = fer2013.load_fer2013_csv(csv_path, cache_dir=tmp_path / "c")
    assert np.array_equal(first.pixels, second.pixels) and list(first.usage) == list(second.usage)
    assert fer2013.load_fer2013_csv(csv_path, cache_dir=tmp_path / "c") is second  # in-process memo


def test_image_folder_layout(tmp_path) -> None:
    root = fixtures.write_fer2013_folders(tmp_path / "folders", per_class=1)
    train = load_dataset("fer2013", root=root, split="train")
    test = load_dataset("fer2013", root=root, split="test")
    # usages come from the file-name prefixes: Training + PublicTest vs PrivateTest
    assert (len(train), len(test)) == (14, 7)
    assert train.classes[train.targets[train.metadata["path"].str.contains("/angry/")][0]] == "anger"


def _write_bad(tmp_path, body: str):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "fer2013.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(body)
    return tmp_path


def test_errors_name_path_and_layout(tmp_path) -> None:
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        load_dataset("fer2013", root=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError, match="no fer2013.csv"):
        load_dataset("fer2013", root=tmp_path / "empty")
    pixels = " ".join(["1"] * 2304)
    bad_len = _write_bad(tmp_path / "a", f"emotion,pixels,Usage\n0,{pixels},Training\n1,1 2 3,Training\n")
    with pytest.raises(LabelFileError, match="line 3: pixels must be 2304"):
        load_dataset("fer2013", root=bad_len, cache_dir=False)
    bad_label = _write_bad(tmp_path / "b", f"emotion,pixels,Usage\n9,{pixels},Training\n")
    with pytest.raises(LabelFileError, match="line 2: emotion"):
        load_dataset("fer2013", root=bad_label, cache_dir=False)
    bad_header = _write_bad(tmp_path / "c", "label,image\n0,1\n")
    with pytest.raises(LabelFileError, match="header"):
        load_dataset("fer2013", root=bad_header, cache_dir=False)
    with pytest.raises(ValueError, match="unknown split"):
        load_dataset("fer2013", root=bad_header, split="val")


def test_unknown_class_folder(tmp_path) -> None:
    (tmp_path / "train" / "smirk").mkdir(parents=True)
    (tmp_path / "test").mkdir()
    with pytest.raises(LabelFileError, match="smirk"):
        load_dataset("fer2013", root=tmp_path)

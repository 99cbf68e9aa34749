from __future__ import annotations

import pytest

from fer_lib.data import fixtures, load_dataset
from fer_lib.data.errors import DatasetLayoutError, LabelFileError


def test_splits_labels_and_images(tmp_path) -> None:
    root = fixtures.write_rafdb(tmp_path, n_train=14, n_test=7)
    train = load_dataset("rafdb", root=root, split="train", return_meta=True)
    test = load_dataset("rafdb", root=root, split="test")
    assert (len(train), len(test), len(load_dataset("rafdb", root=root, split="all"))) == (14, 7, 21)
    image, label, _ = train[0]
    assert image.size == (100, 100) and image.mode == "RGB"
    # train_00001 has RAF label 1 = Surprise
    assert train.metadata["name"][0] == "train_00001" and train.classes[label] == "surprise"
    assert [train.classes[t] for t in train.targets[:7]] == [
        "surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral"]


def test_missing_images_and_labels_only(tmp_path) -> None:
    root = fixtures.write_rafdb(tmp_path, n_train=3, n_test=2, images=False)
    with pytest.raises(DatasetLayoutError, match="Image/aligned"):
        load_dataset("rafdb", root=root)
    labels_only = load_dataset("rafdb", root=root, split="all", require_images=False)
    assert len(labels_only) == 5
    with pytest.raises(DatasetLayoutError, match="train_00001_aligned.jpg is missing"):
        labels_only[0]


def test_malformed_label_file(tmp_path) -> None:
    (tmp_path / "EmoLabel").mkdir()
    (tmp_path / "EmoLabel" / "list_patition_label.txt").write_text("train_00001.jpg 5\ntrain_00002.jpg 9\n")
    with pytest.raises(LabelFileError, match="line 2"):
        load_dataset("rafdb", root=tmp_path, require_images=False)
    with pytest.raises(ValueError, match="unknown split"):
        load_dataset("rafdb", root=tmp_path, split="val")
    (tmp_path / "other").mkdir()
    with pytest.raises(DatasetLayoutError, match="no list_patition_label.txt"):
        load_dataset("rafdb", root=tmp_path / "other")

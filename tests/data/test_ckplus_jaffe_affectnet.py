from __future__ import annotations

import pytest

from fer_lib.data import fixtures, load_dataset
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.splits import is_subject_independent


def test_ckplus_distributed_protocol(fixture_roots) -> None:
    root = fixture_roots["ckplus"]
    ds = load_dataset("ckplus", root=root)
    # 10 subjects x 3 sequences, one unlabelled; last 3 frames of each labelled sequence
    assert len(ds) == 29 * 3 and ds.skipped == {"unlabelled sequence": 1}
    assert "neutral" not in ds.classes and "contempt" in ds.classes
    assert set(ds.metadata["frame"].str[-8:].astype(int)) == {3, 4, 5}
    with_neutral = load_dataset("ckplus", root=root, include_neutral=True)
    assert len(with_neutral) == 29 * 4 and (with_neutral.class_counts()["neutral"] == 29)
    assert is_subject_independent(ds.metadata["subject"], ds.metadata["fold"].to_numpy())
    train = load_dataset("ckplus", root=root, split="train", fold=0)
    test = load_dataset("ckplus", root=root, split="test", fold=0)
    assert len(train) + len(test) == len(ds)
    assert not set(train.metadata["subject"]) & set(test.metadata["subject"])
    six = load_dataset("ckplus", root=root, include_contempt=False)
    assert len(six.classes) == 6 and six.skipped["contempt (excluded)"] > 0
    # S005/001 carries code 1 = anger
    first = ds.metadata.index[(ds.metadata["subject"] == "S005") & (ds.metadata["sequence"] == "001")][0]
    assert ds.classes[ds.targets[first]] == "anger" and ds.metadata["ck_label"][first] == 1
    with pytest.raises(ValueError, match="fold"):
        load_dataset("ckplus", root=root, split="test")


def test_ckplus_errors(tmp_path, fixture_roots) -> None:
    root = fixtures.write_ckplus(tmp_path / "ck", n_subjects=2, frames=4)
    (root / "Emotion" / "S005" / "001" / "S005_001_00000004_emotion.txt").write_text("happy\n")
    with pytest.raises(LabelFileError, match="S005_001_00000004_emotion.txt"):
        load_dataset("ckplus", root=root)
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "cohn-kanade-images").mkdir()
    with pytest.raises(DatasetLayoutError, match="Emotion"):
        load_dataset("ckplus", root=tmp_path / "only")


def test_ck48_layout(tmp_path) -> None:
    fixtures.write_ck48(tmp_path)
    ds = load_dataset("ckplus", root=tmp_path, split="test", fold=1)
    full = load_dataset("ckplus", root=tmp_path / "CK+48")
    assert len(full) == 30 and ds[0][0].size == (48, 48)
    assert full.classes[full.targets[0]] == "anger"
    (tmp_path / "CK+48" / "anger" / "bad.png").write_bytes(b"")
    with pytest.raises(LabelFileError, match="bad.png"):
        load_dataset("ckplus", root=tmp_path)


def test_jaffe_loso_and_kfold(fixture_roots, tmp_path) -> None:
    root = fixture_roots["jaffe"]
    ds = load_dataset("jaffe", root=root)
    assert len(ds) == 70 and ds.num_classes == 7
    test = load_dataset("jaffe", root=root, split="test", fold=0)
    assert set(test.metadata["subject"]) == {"KA"} and len(test) == 7
    assert test.classes[test.targets[0]] == "anger"  # KA.AN1.1.tiff
    kfold = load_dataset("jaffe", root=root, protocol="kfold", num_folds=5)
    assert kfold.metadata["fold"].nunique() == 5
    assert is_subject_independent(kfold.metadata["subject"], kfold.metadata["fold"].to_numpy())
    six = load_dataset("jaffe", root=root, include_neutral=False)
    assert len(six) == 60 and six.skipped == {"neutral (excluded)": 10}
    image = ds[0][0]
    assert image.mode == "RGB" and image.size == (64, 64)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "KA.XX1.1.tiff").write_bytes(b"")
    with pytest.raises(LabelFileError, match="XX"):
        load_dataset("jaffe", root=bad)


def test_affectnet(fixture_roots, tmp_path) -> None:
    root = fixture_roots["affectnet"]
    ds = load_dataset("affectnet", root=root, split="train", return_meta=True)
    assert len(ds) == 16 and ds.skipped == {"none": 2, "uncertain": 2, "non-face": 2}
    assert [ds.classes[t] for t in ds.targets[::2]] == list(ds.classes)  # native order == canonical order
    image, _, extras = ds[0]
    assert image.size == (64, 64) and tuple(extras["landmarks"].shape) == (68, 2)
    cropped = load_dataset("affectnet", root=root, split="val", crop_face=True)
    assert cropped[0][0].size == (56, 56)
    seven = load_dataset("affectnet", root=root, split="test", num_classes=7)
    assert len(seven) == 14 and seven.skipped["contempt (7 classes)"] == 2
    (tmp_path / "validation.csv").write_text(
        "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal\n"
        "1/a.jpg,0,0,1,1,,12,0,0\n")
    with pytest.raises(LabelFileError, match="line 2"):
        load_dataset("affectnet", root=tmp_path, split="val", require_images=False)

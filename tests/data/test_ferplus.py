from __future__ import annotations

import numpy as np
import pytest

from fer_lib.data import fixtures, load_dataset
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.ferplus import FERPLUS_TO_CANONICAL, vote_labels
from fer_lib.data.labels import SIX_BASIC

CASES = np.array([votes for votes, _ in fixtures.FERPLUS_CASES])


def test_vote_rules() -> None:
    majority, _ = vote_labels(CASES, "majority")
    # neutral, happiness, surprise (single neutral vote dropped), no majority, NF, unknown, contempt, anger
    assert majority.tolist() == [0, 1, 2, -1, 9, 8, 7, 4]
    argmax, _ = vote_labels(CASES, "argmax")
    assert argmax.tolist() == [0, 1, 2, 3, 9, 8, 7, 4]
    with pytest.raises(ValueError, match="label_mode"):
        vote_labels(CASES, "vote")


def test_csv_layout_label_modes(fixture_roots) -> None:
    root = fixture_roots["ferplus"]
    ds = load_dataset("ferplus", root=root, split="all", label_mode="majority", return_meta=True)
    # 35 rows, 1 without image name; per 8-row cycle majority keeps 5 (neutral, happy, surprise, contempt, anger)
    assert ds.skipped["no image name"] == 1
    assert len(ds) + sum(ds.skipped.values()) == 35
    assert ds.classes[int(ds.targets[0])] == "neutral"
    for i in range(len(ds)):  # the image names are not the row numbers
        assert ds.metadata["image_name"][i] == f"fer{100 + int(ds.metadata['row'][i]):07d}.png"
    argmax = load_dataset("ferplus", root=root, split="all", label_mode="argmax")
    assert len(argmax) == len(ds) + ds.skipped["no majority"]
    seven = load_dataset("ferplus", root=root, split="all", label_mode="argmax", num_classes=7)
    assert "contempt" not in seven.classes
    assert len(seven) == len(argmax) - seven.skipped["contempt (7 classes)"] and seven.skipped["contempt (7 classes)"]
    six = load_dataset("ferplus", root=root, split="all", label_mode="argmax", num_classes=6)
    assert sorted(six.classes) == sorted(SIX_BASIC)
    dropped = six.skipped["neutral, contempt (6 classes)"]
    assert dropped > seven.skipped["contempt (7 classes)"] and len(six) == len(argmax) - dropped
    assert all(six.classes[int(t)] == argmax.classes[int(a)] for t, a in
               zip(six.targets, argmax.targets[np.isin(argmax.targets, [argmax.classes.index(c) for c in six.classes])],
                   strict=True))


def test_probability_mode_soft_labels(fixture_roots) -> None:
    ds = load_dataset("ferplus", root=fixture_roots["ferplus"], split="train", label_mode="probability",
                      return_meta=True)
    for i in range(len(ds)):
        _, y, extras = ds[i]
        soft = extras["soft_label"].numpy()
        assert soft.shape == (8,) and abs(soft.sum() - 1) < 1e-6 and soft.argmax() == y
    # the "surprise" case: 6 surprise + 3 fear (the single neutral vote removed)
    row = next(i for i in range(len(ds)) if int(ds.metadata["votes_surprise"][i]) == 6)
    soft = ds[row][2]["soft_label"].numpy()
    assert soft[ds.classes.index("surprise")] == pytest.approx(6 / 9)
    assert soft[ds.classes.index("fear")] == pytest.approx(3 / 9)


def test_image_layout_soft_labels(tmp_path) -> None:
    root = fixtures.write_ferplus_folders(tmp_path, per_folder=8)
    ds = load_dataset("ferplus", root=root, split="test", label_mode="probability", return_meta=True)
    for i in range(len(ds)):
        _, y, extras = ds[i]
        soft = extras["soft_label"].numpy()
        assert soft.shape == (8,) and abs(soft.sum() - 1) < 1e-6 and soft.argmax() == y
    assert "soft_label" not in load_dataset("ferplus", root=root, split="test", return_meta=True)[0][2]


def test_split_usages(fixture_roots) -> None:
    root = fixture_roots["ferplus"]
    usages = {s: set(load_dataset("ferplus", root=root, split=s, label_mode="argmax").metadata["usage"])
              for s in ("train", "val", "test")}
    assert usages == {"train": {"Training"}, "val": {"PublicTest"}, "test": {"PrivateTest"}}


def test_image_layout(tmp_path) -> None:
    root = fixtures.write_ferplus_folders(tmp_path, per_folder=8)
    ds = load_dataset("ferplus", root=root, split="test", label_mode="majority")
    assert len(ds) == 5 and ds.skipped == {"no majority": 1, "not a face (NF)": 1, "unknown": 1}
    assert ds[0][0].size == (48, 48)
    assert [ds.classes[t] for t in ds.targets] == ["neutral", "happiness", "surprise", "contempt", "anger"]
    (root / "FER2013Valid" / "label.csv").write_text("fer0000008.png,1,2\n")
    with pytest.raises(LabelFileError, match="line 1"):
        load_dataset("ferplus", root=root, split="val")
    (root / "FER2013Test" / "fer0000016.png").unlink()
    with pytest.raises(DatasetLayoutError, match="missing"):
        load_dataset("ferplus", root=root, split="test")


def test_misaligned_votes_and_missing_pixels(tmp_path, fixture_roots) -> None:
    votes = fixture_roots["ferplus"] / "fer2013new.csv"
    short = tmp_path / "short" / "fer2013new.csv"
    short.parent.mkdir()
    short.write_text("".join(votes.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(DatasetLayoutError, match="row-aligned"):
        load_dataset("ferplus", root=short.parent, fer2013=fixture_roots["fer2013"])
    with pytest.raises(DatasetLayoutError, match="no FER2013 csv"):
        load_dataset("ferplus", root=short.parent)
    bad = tmp_path / "bad" / "fer2013new.csv"
    bad.parent.mkdir()
    bad.write_text("Usage,Image name,neutral\nTraining,fer0000000.png,1\n")
    with pytest.raises(LabelFileError, match="columns"):
        load_dataset("ferplus", root=bad.parent, fer2013=fixture_roots["fer2013"])
    with pytest.raises(ValueError, match="num_classes"):
        load_dataset("ferplus", root=votes.parent, num_classes=5)
    assert FERPLUS_TO_CANONICAL[2] == "surprise"

from __future__ import annotations

import numpy as np
import pytest

from fer_lib.data import DATASETS, list_datasets, load_dataset
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.occlusion_pose import LISTS, resolve_ferplus_names

SUBSETS = sorted(LISTS)


def test_registered() -> None:
    assert set(SUBSETS) <= set(list_datasets())
    # The subset name is bound, not an option; every subset takes split (test only).
    assert DATASETS.options("rafdb-pose30") == sorted(
        ["root", "lists_root", "split", "image_type", "require_images", "transform", "return_meta"]
    )
    assert DATASETS.options("ferplus-occlusion") == sorted(
        ["root", "lists_root", "split", "num_classes", "fer2013", "transform", "return_meta", "cache_dir"]
    )


def test_rafdb_subsets(fixture_roots) -> None:
    root, lists = fixture_roots["rafdb"], fixture_roots["lists_root"]
    occ = load_dataset("rafdb-occlusion", root=root, lists_root=lists)
    assert len(occ) == 5 and occ.metadata["occlusion"].tolist() == [1, 2, 3, 4, 1]  # CRLF list parsed
    # list labels are RAF-DB's labels minus one: the target matches the base label file's label
    base = load_dataset("rafdb", root=root, split="test")
    for i in range(len(occ)):
        j = base.metadata.index[base.metadata["name"] == occ.metadata["name"][i].replace("_aligned", "")][0]
        assert occ.targets[i] == base.targets[j]
    assert occ[0][0].size == (100, 100)
    pose30 = load_dataset("rafdb-pose30", root=root, lists_root=lists / "RAF_DB_dir")
    pose45 = load_dataset("rafdb-pose45", root=root, lists_root=lists)
    assert (len(pose30), len(pose45)) == (4, 2) and set(pose45.metadata["pose"]) == {">45"}


def test_ferplus_subsets_map_names_through_image_name(fixture_roots) -> None:
    root, lists = fixture_roots["ferplus"], fixture_roots["lists_root"]
    occ = load_dataset("ferplus-occlusion", root=root, lists_root=lists, return_meta=True)
    assert len(occ) == 6 and set(occ.metadata["usage"]) == {"PrivateTest"}
    # fixture names are fer<100 + row>, so name != row number
    assert all(int(n[3:]) == r + 100 for n, r in zip(occ.metadata["name"], occ.metadata["row"], strict=True))
    # prefixes 0..5 in FERPlus order: neutral, happiness, surprise, sadness, anger, disgust
    assert [occ.classes[t] for t in occ.targets] == ["neutral", "happiness", "surprise", "sadness", "anger", "disgust"]
    assert occ.metadata["occlusion"].tolist() == [0, 1, 2, 3, 0, 1]
    for name, n in (("ferplus-pose30", 5), ("ferplus-pose45", 3)):
        assert len(load_dataset(name, root=root, lists_root=lists / "FERplus_dir")) == n


def test_duplicate_names_prefer_the_face_row() -> None:
    names = np.array(["fer1.png", "fer2.png", "fer1.png", None], dtype=object)
    nf = np.array([10, 0, 0, 0])
    assert resolve_ferplus_names(names, nf, ["fer1", "fer2", "fer9"]).tolist() == [2, 1, -1]


def test_subset_errors(tmp_path, fixture_roots) -> None:
    with pytest.raises(DatasetLayoutError, match="rafdb_occlusion_list.txt"):
        load_dataset("rafdb-occlusion", root=fixture_roots["rafdb"], lists_root=tmp_path)
    (tmp_path / "pose_30_ferplus_list.txt").write_text("0/fer9999999.jpg\n")
    with pytest.raises(LabelFileError, match="fer9999999"):
        load_dataset("ferplus-pose30", root=fixture_roots["ferplus"], lists_root=tmp_path)
    (tmp_path / "pose_45_ferplus_list.txt").write_text("fer0000001.jpg\n")
    with pytest.raises(LabelFileError, match="line 1"):
        load_dataset("ferplus-pose45", root=fixture_roots["ferplus"], lists_root=tmp_path)
    with pytest.raises(ValueError, match="test subset"):
        load_dataset("ferplus-pose45", root=fixture_roots["ferplus"], lists_root=tmp_path, split="train")

"""Source ids (fer_lib.data.identity): what each loader writes, and check_disjoint's verdicts and errors."""

from __future__ import annotations

import numpy as np
import pytest

from fer_lib.data import fixtures, load_dataset
from fer_lib.data.base import FERDataset
from fer_lib.data.ferplus import read_votes_csv
from fer_lib.data.identity import check_disjoint, namespaces, sample_ids, shared_ids


def test_fer2013_csv_ids_are_the_rows(fixture_roots) -> None:
    ds = load_dataset("fer2013", root=fixture_roots["fer2013"], split="all")
    assert sample_ids(ds).tolist() == [f"fer2013:{r}" for r in ds.metadata["row"]] == [
        f"fer2013:{r}" for r in range(35)
    ]


def test_fer2013_folder_ids_are_the_files(tmp_path) -> None:
    root = fixtures.write_fer2013_folders(tmp_path / "folders", per_class=1)
    ds = load_dataset("fer2013", root=root, split="all")
    ids = sample_ids(ds)
    assert "fer2013-file:train/angry/Training_1001.jpg" in ids
    assert len(set(ids)) == len(ds) and namespaces(ids) == {"fer2013-file"}
    assert all(i.startswith("fer2013-file:" + f) for i, f in zip(ids, ds.metadata["folder"], strict=True))


def test_ferplus_csv_ids_are_the_fer2013_rows(fixture_roots) -> None:
    ferplus = load_dataset("ferplus", root=fixture_roots["ferplus"], split="all", label_mode="argmax")
    ids = sample_ids(ferplus)
    # the image name (fer<100 + row> in the fixture) is not the row: the id is the row
    assert ids.tolist() == [f"fer2013:{r}" for r in ferplus.metadata["row"]]
    assert ferplus.metadata["image_name"][0] != f"fer{int(ferplus.metadata['row'][0]):07d}.png"
    fer = load_dataset("fer2013", root=fixture_roots["fer2013"], split="all")
    assert set(ids) <= set(sample_ids(fer))


def test_ferplus_image_layout_ids_are_the_image_names(tmp_path) -> None:
    root = fixtures.write_ferplus_folders(tmp_path / "fp", per_folder=8)
    ds = load_dataset("ferplus", root=root, split="all", label_mode="argmax")
    assert sample_ids(ds).tolist() == ["ferplus:" + n[:-4] for n in ds.metadata["image_name"]]
    # a list naming FER2013Test images resolves to the same ids in the image layout
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "pose_30_ferplus_list.txt").write_text("0/fer0000016.jpg\n1/fer0000017.jpg\n")
    pose = load_dataset("ferplus-pose30", root=root, lists_root=lists)
    assert sample_ids(pose).tolist() == ["ferplus:fer0000016", "ferplus:fer0000017"]
    test = load_dataset("ferplus", root=root, split="test", label_mode="argmax")
    assert set(sample_ids(pose)) <= set(sample_ids(test))


def test_subset_ids_match_their_base(fixture_roots) -> None:
    lists = fixture_roots["lists_root"]
    # FERPlus list names resolve to rows through the Image name column of fer2013new.csv
    votes = read_votes_csv(fixture_roots["ferplus"] / "fer2013new.csv")
    by_name = {str(n)[:-4]: f"fer2013:{row}" for row, n in enumerate(votes["Image name"]) if isinstance(n, str)}
    rafdb_test = load_dataset("rafdb", root=fixture_roots["rafdb"], split="test")
    assert sample_ids(rafdb_test)[0] == "rafdb:test_0001"
    for name in ("ferplus-occlusion", "ferplus-pose30", "ferplus-pose45"):
        sub = load_dataset(name, root=fixture_roots["ferplus"], lists_root=lists)
        assert [by_name[n] for n in sub.metadata["name"]] == sample_ids(sub).tolist()
    for name in ("rafdb-occlusion", "rafdb-pose30", "rafdb-pose45"):
        sub = load_dataset(name, root=fixture_roots["rafdb"], lists_root=lists)
        # list stems carry "_aligned"; the id does not
        assert sample_ids(sub).tolist() == ["rafdb:" + n.removesuffix("_aligned") for n in sub.metadata["name"]]
        assert set(sample_ids(sub)) <= set(sample_ids(rafdb_test))


def test_rafdb_ids_without_images(tmp_path) -> None:
    root = fixtures.write_rafdb(tmp_path / "raf", n_train=3, n_test=2, images=False)
    ds = load_dataset("rafdb", root=root, split="all", require_images=False)
    assert sample_ids(ds).tolist() == [f"rafdb:train_{i:05d}" for i in (1, 2, 3)] + ["rafdb:test_0001",
                                                                                      "rafdb:test_0002"]


def test_synth_ids_name_the_rendered_sample() -> None:
    train = load_dataset("synth-inthewild", split="train", scale="smoke")
    test = load_dataset("synth-inthewild", split="test", scale="smoke")
    occlusion = load_dataset("synth-inthewild", split="test", scale="smoke", subset="occlusion")
    big = load_dataset("synth-inthewild", split="test", scale="smoke", image_size=96)
    other_seed = load_dataset("synth-inthewild", split="test", scale="smoke", seed=1)
    ids = sample_ids(test)
    assert ids[0].startswith("synth:synth-inthewild:seed0:") and len(set(ids)) == len(test)
    assert set(sample_ids(occlusion)) <= set(ids)  # a subset holds the same samples
    assert sample_ids(big).tolist() == ids.tolist()  # another image size renders the same samples
    assert not set(sample_ids(train)) & set(ids)
    assert not set(sample_ids(other_seed)) & set(ids)
    folds = [load_dataset("synth-multiview", split=s, scale="smoke", fold=1) for s in ("train", "test")]
    check_disjoint({"multiview train": folds[0]}, {"multiview test": folds[1]})


def test_ids_pass_through_subsets(fixture_roots) -> None:
    ds = load_dataset("fer2013", root=fixture_roots["fer2013"], split="train")
    sub = ds.subset(np.array([5, 1, 9]))
    assert sample_ids(sub).tolist() == [sample_ids(ds)[i] for i in (5, 1, 9)]
    assert sample_ids(sub.subset([2])).tolist() == [sample_ids(ds)[9]]


def test_image_file_datasets_without_ids_use_their_paths(fixture_roots) -> None:
    ds = load_dataset("jaffe", root=fixture_roots["jaffe"])
    ids = sample_ids(ds)
    assert namespaces(ids) == {"file"} and len(set(ids)) == len(ds)
    assert ids[0] == "file:" + str(fixture_roots["jaffe"].resolve() / ds.metadata["path"][0].split("/")[-1])


def test_a_dataset_without_ids_is_an_error() -> None:
    bare = FERDataset(["a", "b"], [0, 1])
    bare.name = "mystery"
    with pytest.raises(ValueError, match="mystery: no sample ids.*source_id"):
        sample_ids(bare)


def test_check_disjoint_names_the_sets_and_shared_ids(fixture_roots) -> None:
    root = fixture_roots["fer2013"]
    train = load_dataset("fer2013", root=root, split="train")
    test = load_dataset("fer2013", root=root, split="test")
    check_disjoint({"fer2013 train": train}, {"fer2013 test": test})
    public = load_dataset("fer2013", root=root, split="PublicTest")
    with pytest.raises(ValueError, match=r"'fer2013 train' \(28 images\) and 'PublicTest' \(7 images\) share 7 "
                                         r"images: fer2013:21, fer2013:22, fer2013:23, fer2013:24, fer2013:25, \.\.\."):
        check_disjoint({"fer2013 train": train}, {"fer2013 test": test, "PublicTest": public})
    assert shared_ids(train, public).tolist() == [f"fer2013:{r}" for r in range(21, 28)]


def test_check_disjoint_refuses_namespaces_it_cannot_match(tmp_path, fixture_roots) -> None:
    folders = load_dataset("fer2013", root=fixtures.write_fer2013_folders(tmp_path / "f", per_class=1), split="train")
    ferplus = load_dataset("ferplus", root=fixture_roots["ferplus"], split="test")
    with pytest.raises(ValueError, match="cannot be compared: FER2013 images named by file of the image-folder"):
        check_disjoint({"fer2013 folders": folders}, {"ferplus test": ferplus})
    # different image sources are simply disjoint
    rafdb = load_dataset("rafdb", root=fixture_roots["rafdb"], split="test")
    check_disjoint({"fer2013 folders": folders}, {"rafdb test": rafdb})

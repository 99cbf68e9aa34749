"""BU-3DFE (rendered views and distributed frontal textures) and Multi-PIE loaders, on fixtures in each layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from fer_lib.data import load_dataset
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.fixtures import write_bu3dfe, write_multipie
from fer_lib.data.identity import sample_ids
from fer_lib.data.labels import SIX_BASIC
from fer_lib.data.multipie import MULTIPIE_CLASSES


@pytest.fixture(scope="module")
def bu3dfe_root(tmp_path_factory) -> Path:
    return write_bu3dfe(tmp_path_factory.mktemp("bu") / "BU-3DFE", n_subjects=5, protocol="p1")


def test_bu3dfe_p1_reads_the_rendered_views(bu3dfe_root: Path) -> None:
    data = load_dataset("bu3dfe", root=bu3dfe_root.parent, protocol="p1")  # the parent of BU-3DFE/ works too
    meta = data.metadata
    assert data.classes == list(SIX_BASIC) and len(data) == 5 * 6 * 4 * 5
    assert sorted(meta["yaw"].unique()) == [0, 30, 45, 60, 90] and set(meta["pitch"]) == {0}
    assert set(meta["intensity"]) == {1, 2, 3, 4} and meta["subject"].nunique() == 5
    assert data.skipped == {"neutral (excluded)": 5 * 5}
    row = meta.iloc[0]
    expected = f"{row['subject']}_{row['code']}{row['intensity']:02d}_y+{int(row['yaw']):02d}_p+00.png"
    assert Path(row["path"]).name == expected
    assert data.load_image(0).mode == "RGB"


def test_bu3dfe_folds_are_subject_independent(bu3dfe_root: Path) -> None:
    tests = []
    for k in range(5):
        train = load_dataset("bu3dfe", root=bu3dfe_root, split="train", fold=k)
        test = load_dataset("bu3dfe", root=bu3dfe_root, split="test", fold=k)
        assert not set(train.metadata["subject"]) & set(test.metadata["subject"])
        assert not set(sample_ids(train)) & set(sample_ids(test))
        tests.append(len(test))
    assert sum(tests) == 600


def test_bu3dfe_protocol_needs_its_views(bu3dfe_root: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetLayoutError, match=r"protocol p2 needs views \(yaw, pitch\) \[\(-45, -30\)"):
        load_dataset("bu3dfe", root=bu3dfe_root, protocol="p2")
    p2 = load_dataset("bu3dfe", root=write_bu3dfe(tmp_path / "p2", n_subjects=5, protocol="p2",
                                                  textures=False), protocol="p2")
    assert len(p2) == 5 * 6 * 35 and set(p2.metadata["intensity"]) == {4}
    assert len(load_dataset("bu3dfe", root=bu3dfe_root, protocol="all")) == 600
    at_45 = load_dataset("bu3dfe", root=bu3dfe_root, split="test", fold=0, yaw=45)
    assert set(at_45.metadata["yaw"]) == {45} and set(at_45.metadata["fold"]) == {0}
    with pytest.raises(DatasetLayoutError, match="no image at yaw 15"):
        load_dataset("bu3dfe", root=bu3dfe_root, yaw=15)


def test_bu3dfe_without_renders_reads_the_distributed_frontal_textures(tmp_path: Path) -> None:
    root = write_bu3dfe(tmp_path / "bu", n_subjects=5, protocol="p1")
    for file in (root / "views").rglob("*.png"):
        file.unlink()
    for folder in sorted((root / "views").iterdir()):
        folder.rmdir()
    (root / "views").rmdir()
    data = load_dataset("bu3dfe", root=root, protocol="all")
    assert len(data) == 5 * 6 * 4 and set(data.metadata["yaw"]) == {0}
    assert Path(data.metadata["path"][0]).suffix == ".bmp"
    with pytest.raises(DatasetLayoutError, match="needs views"):
        load_dataset("bu3dfe", root=root, protocol="p1")  # frontal textures only: no 30-90 degree views


def test_bu3dfe_layout_errors_name_the_layout(tmp_path: Path) -> None:
    with pytest.raises(DatasetLayoutError, match="views/<SUBJECT>"):
        load_dataset("bu3dfe", root=tmp_path)
    bad = tmp_path / "bad" / "views" / "F0001"
    bad.mkdir(parents=True)
    (bad / "F0001_anger_30.png").write_bytes(b"")
    with pytest.raises(LabelFileError, match="does not follow the layout"):
        load_dataset("bu3dfe", root=tmp_path / "bad")
    with pytest.raises(ValueError, match="protocol must be"):
        load_dataset("bu3dfe", root=tmp_path / "bad", protocol="p3")


@pytest.fixture(scope="module")
def multipie_root(tmp_path_factory) -> Path:
    return write_multipie(tmp_path_factory.mktemp("mp"), n_subjects=6)


def test_multipie_gmslpa_protocol(multipie_root: Path) -> None:
    data = load_dataset("multipie", root=multipie_root)
    meta = data.metadata
    # The sixth subject has no session 4 (no scream): skipped. Five subjects x 6 expressions x 7 poses.
    assert data.classes == list(MULTIPIE_CLASSES) and len(data) == 5 * 6 * 7
    assert sorted(meta["yaw"].unique()) == list(range(0, 91, 15))
    assert set(meta["camera"]) == {"051", "050", "041", "190", "200", "010", "240"}
    assert data.skipped["subject without all six expressions"] == 5 * 7
    # Each expression from its first session: smile from session 1, neutral from session 1 recording 1.
    per_class = meta.assign(cls=[data.classes[t] for t in data.targets]).groupby("cls")["session"].unique()
    assert list(per_class["smile"]) == [1] and list(per_class["neutral"]) == [1] and list(per_class["scream"]) == [4]
    left = load_dataset("multipie", root=multipie_root, side="left")
    assert set(left.metadata["camera"]) == {"051", "140", "130", "080", "090", "120", "110"}
    assert len(load_dataset("multipie", root=multipie_root, max_subjects=2, num_folds=2)) == 2 * 6 * 7
    assert set(load_dataset("multipie", root=multipie_root, side="left", yaw=-45).metadata["camera"]) == {"080"}


def test_multipie_folds_and_errors(multipie_root: Path, tmp_path: Path) -> None:
    train = load_dataset("multipie", root=multipie_root, split="train", fold=0)
    test = load_dataset("multipie", root=multipie_root, split="test", fold=0)
    assert len(train) + len(test) == 5 * 6 * 7 and not set(train.metadata["subject"]) & set(test.metadata["subject"])
    with pytest.raises(DatasetLayoutError, match="data/sessionSS/multiview"):
        load_dataset("multipie", root=tmp_path)
    with pytest.raises(DatasetLayoutError, match="all six expressions at illumination 03"):
        load_dataset("multipie", root=multipie_root, illumination=3)
    with pytest.raises(ValueError, match="side must be"):
        load_dataset("multipie", root=multipie_root, side="up")

"""3-D scan formats (Bosphorus .bnt, BU-3DFE VRML), their projection to aligned grey + depth images, and the
loaders that read them (CM-CNN, seed 002)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fer_lib.data import fixtures, load_dataset
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.modalities import ModalityImages
from fer_lib.data.scans import Scan, read_bnt, read_vrml_scan, sample_texture, scan_images, write_bnt


def test_bnt_round_trip_drops_missing_points(tmp_path) -> None:
    grid, face = fixtures.face_scan("happiness", n=10)
    grid[2][~face] = -1e9
    path = write_bnt(tmp_path / "bs001_E_HAPPY_0.bnt", grid, -1e9, "bs001_E_HAPPY_0.png")
    scan = read_bnt(path)
    assert scan.points.shape == (int(face.sum()), 3) and scan.uv.shape == (int(face.sum()), 2)
    np.testing.assert_allclose(scan.points[:, 2], grid[2][face])
    np.testing.assert_allclose(scan.uv[:, 0], grid[3][face])
    assert scan.texture == tmp_path / "bs001_E_HAPPY_0.png"


def test_bnt_errors_name_the_problem(tmp_path) -> None:
    (tmp_path / "short.bnt").write_bytes(b"\x01\x00")
    with pytest.raises(LabelFileError, match="header too short"):
        read_bnt(tmp_path / "short.bnt")
    grid, _ = fixtures.face_scan("anger", n=6)
    path = write_bnt(tmp_path / "cut.bnt", grid, -1e9, "x.png")
    path.write_bytes(path.read_bytes()[:-80])
    with pytest.raises(LabelFileError, match="a 6 x 6 grid needs 180 values"):
        read_bnt(path)


def test_vrml_model_gives_each_vertex_its_texture_coordinate(tmp_path) -> None:
    root = fixtures.write_bu3dfe_scans(tmp_path, n_subjects=1, levels=(4,), n=12)
    path = root / "F0001" / "F0001_HA04WH_F3D.wrl"
    scan = read_vrml_scan(path)
    grid, face = fixtures.face_scan("happiness", n=12, seed=4)  # the fixture's 4th model
    assert scan.points.shape == (int(face.sum()), 3)
    np.testing.assert_allclose(scan.points[:, :2], np.column_stack([grid[0][face], grid[1][face]]), atol=1e-5)
    np.testing.assert_allclose(scan.uv, np.column_stack([grid[3][face], grid[4][face]]), atol=1e-5)
    assert scan.texture == path.with_suffix(".bmp")
    (tmp_path / "bad.wrl").write_text("#VRML V2.0 utf8\nShape { }\n")
    with pytest.raises(LabelFileError, match="no 'Coordinate"):
        read_vrml_scan(tmp_path / "bad.wrl")


def test_scan_images_align_grey_and_depth() -> None:
    grid, face = fixtures.face_scan("surprise", n=60)
    points = np.column_stack([grid[0][face], grid[1][face], grid[2][face]])
    uv = np.column_stack([grid[3][face], grid[4][face]])
    gradient = np.tile(np.linspace(50, 250, 100), (100, 1)).astype(np.uint8)  # brighter to the right
    grey, depth = scan_images(Scan(points, uv, None), 48, texture=gradient)
    assert grey.shape == depth.shape == (48, 48) and grey.dtype == np.uint8
    assert np.array_equal(grey > 0, depth > 0)  # one face mask for both modalities
    assert depth[0, 0] == 0 and depth[24, 24] > 0.8  # background corner; the nose is near the top of the range
    row = grey[24][grey[24] > 0].astype(int)
    assert (np.diff(row) >= -1).all() and row[-1] - row[0] > 100  # the texture's gradient, left to right
    np.testing.assert_allclose(sample_texture(gradient, np.array([[0.0, 0.5], [1.0, 0.5]])), [50, 250])
    # Without texture coordinates the grey image is the depth image.
    grey_only, _ = scan_images(Scan(points, None, None), 32)
    assert grey_only.max() == 255


def test_bosphorus_protocol_one(tmp_path) -> None:
    root = fixtures.write_bosphorus(tmp_path / "bosphorus")
    ds = load_dataset("bosphorus", root=root, num_subjects=10, image_size=40)
    assert len(ds) == 60 and ds.metadata["subject"].nunique() == 10
    assert sorted(ds.metadata.groupby("subject").size().unique()) == [6]
    assert ds.skipped["subject without all six expressions (protocol p1)"] == 5
    assert "bs011" not in set(ds.metadata["subject"])  # the subject without a fear scan
    assert (ds.metadata["take"] == 0).all()
    test = load_dataset("bosphorus", root=root, split="test", fold=3, num_subjects=10)
    train = load_dataset("bosphorus", root=root, split="train", fold=3, num_subjects=10)
    assert not set(test.metadata["subject"]) & set(train.metadata["subject"]) and len(test) + len(train) == 60
    image, depth = np.asarray(ds.load_image(0)), ds.extras(0)["depth"]
    assert image.shape == (40, 40, 3) and depth.shape == (40, 40) and depth.max() == pytest.approx(1.0)
    packed = np.asarray(ModalityImages(ds, ("gray", "lbp", "depth")).load_image(0))
    assert np.array_equal(packed[..., 2] == 0, depth == 0)
    assert len(load_dataset("bosphorus", root=root, protocol="all")) == 11 * 6 + 5 + 1
    with pytest.raises(DatasetLayoutError, match="needs 60 subjects with all six expression scans; found 11"):
        load_dataset("bosphorus", root=root)
    (tmp_path / "empty" / "bs000").mkdir(parents=True)
    with pytest.raises(DatasetLayoutError, match=r"bs000/bs000_E_HAPPY_0\.bnt"):
        load_dataset("bosphorus", root=tmp_path / "empty")


def test_bu3dfe_models_protocols(tmp_path) -> None:
    root = fixtures.write_bu3dfe_scans(tmp_path / "bu3dfe", n_subjects=11)
    p1 = load_dataset("bu3dfe-3d", root=root, num_subjects=10, image_size=32)
    p2 = load_dataset("bu3dfe-3d", root=root, protocol="p2", num_subjects=10, image_size=32)
    assert len(p1) == len(p2) == 60
    assert set(p1.metadata["intensity"]) == {4} and set(p2.metadata["intensity"]) == {3}
    assert p1.skipped["neutral (excluded)"] == 11 and p1.skipped["subject not drawn for protocol p1"] == 6
    assert len(load_dataset("bu3dfe-3d", root=root, protocol="all")) == 11 * 12
    image = np.asarray(p1.load_image(0))
    assert image.shape == (32, 32, 3) and p1.extras(0)["depth"].shape == (32, 32)
    with pytest.raises(ValueError, match="protocol"):
        load_dataset("bu3dfe-3d", root=root, protocol="p3")
    # The 2-D loader still reads the textures' layout; the 3-D one names its own.
    with pytest.raises(DatasetLayoutError, match="_F3D.wrl VRML models"):
        load_dataset("bu3dfe-3d", root=tmp_path / "nothing-here")


def test_scan_datasets_live_in_the_data_root_convention(tmp_path) -> None:
    from fer_lib.settings import dataset_root

    fixtures.write_bu3dfe_scans(tmp_path / "bu3dfe", n_subjects=1, levels=(4,), n=8)
    fixtures.write_bosphorus(tmp_path / "bosphorus", n_subjects=1, n=8)
    # The 3-D models live in the same BU-3DFE folder as the 2-D textures and renders.
    assert dataset_root(tmp_path, "bu3dfe-3d") == tmp_path / "bu3dfe"
    assert dataset_root(tmp_path, "bosphorus") == tmp_path / "bosphorus"


def test_rgbd_pairs_crop_and_fill_the_depth(tmp_path) -> None:
    from fer_lib.data.rgbd import read_depth_mm

    root = fixtures.write_rgbd_pairs(tmp_path / "rgbd", n_subjects=3, frames=2)
    ds = load_dataset("rgbd-pairs", root=root, image_size=32, num_folds=3)
    assert len(ds) == 3 * 6 * 2 and ds.skipped == {"neutral (not among the six classes)": 6}
    assert len(load_dataset("rgbd-pairs", root=root, classes="seven", num_folds=3)) == 3 * 7 * 2
    image, depth = ds.load_image(0), ds.extras(0)["depth"]
    assert image.size == (32, 32) and depth.shape == (32, 32)
    assert depth[0, 0] == 0 and depth.max() == pytest.approx(1.0)  # background at 1.5 m is not face
    assert (depth[8:24, 12:20] > 0).all()  # the sensor's holes are filled inside the face
    assert depth[16, 16] > depth[16, 9]  # the middle of the face is nearer than its side
    assert not ds.metadata["face_found"].isna().iloc[0]
    test = load_dataset("rgbd-pairs", root=root, split="test", fold=0, num_folds=3)
    assert test.metadata["subject"].nunique() == 1
    # Layout errors name the expected layout; an 8-bit depth image is refused.
    (root / "S01" / "joy").mkdir()
    (root / "S01" / "joy" / "000_color.png").write_bytes((root / "S01" / "anger" / "000_color.png").read_bytes())
    with pytest.raises(LabelFileError, match="is not an expression"):
        load_dataset("rgbd-pairs", root=root, num_folds=3)
    eight = tmp_path / "eight.png"
    Image.new("L", (4, 4)).save(eight)
    with pytest.raises(LabelFileError, match="16-bit millimetres"):
        read_depth_mm(eight)


def test_a_vertex_on_a_texture_seam_takes_its_first_corners_coordinate(tmp_path) -> None:
    (tmp_path / "seam.wrl").write_text(
        "#VRML V2.0 utf8\nShape { geometry IndexedFaceSet {\n"
        "coord Coordinate { point [ 0 0 0, 1 0 0, 0 1 0, 1 1 0 ] }\n"
        "texCoord TextureCoordinate { point [ 0 0, 0.5 0, 0 1, 0.9 0.9, 1 1 ] }\n"
        "coordIndex [ 0, 1, 2, -1, 1, 3, 2, -1 ]\n"
        "texCoordIndex [ 0, 1, 2, -1, 3, 4, 2, -1 ]\n} }\n")
    scan = read_vrml_scan(tmp_path / "seam.wrl")
    np.testing.assert_allclose(scan.uv, [[0, 0], [0.5, 0], [0, 1], [1, 1]])
    assert scan.texture is None

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from fer_lib.data import fixtures
from fer_lib.data import preprocess as pp


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """skimage's bundled astronaut photograph: one frontal face, 512x512 RGB."""
    return skdata.astronaut()


def test_viola_jones_finds_the_face_and_eyes(face) -> None:
    box = pp.FaceDetector().largest(face)
    assert box is not None
    x, y, w, h = box
    assert 150 < x + w / 2 < 300 and 80 < y + h / 2 < 150  # the astronaut's face
    eyes = pp.EyeDetector().eyes(face, box)
    assert eyes is not None and eyes[0][0] < eyes[1][0]
    assert abs(pp.eye_angle(*eyes)) < 10
    assert pp.FaceDetector().detect(np.zeros((64, 64), np.uint8)).shape == (0, 4)


def test_rotation_rectification_recovers_the_tilt(face) -> None:
    small = face
    detectors = {"detector": pp.FaceDetector(), "eye_detector": pp.EyeDetector()}
    upright = pp.align_face(small, **detectors)
    tilted = pp.align_face(pp.rotate_image(small, 12), **detectors)
    assert upright.detected and tilted.detected
    # rotating the photo 12 degrees counter-clockwise tilts the eye line by about -12 degrees
    assert tilted.angle - upright.angle == pytest.approx(-12, abs=4)
    out = pp.align_face(Image.fromarray(small), size=64, **detectors)
    assert isinstance(out.image, Image.Image) and out.image.size == (64, 64)
    blank = pp.align_face(np.full((40, 40), 128, np.uint8), size=32, **detectors)
    assert not blank.detected and blank.image.shape == (32, 32)


def test_rectify_levels_two_points() -> None:
    image = np.zeros((100, 100), np.uint8)
    left, right = np.array([30.0, 40.0]), np.array([70.0, 55.0])
    image[40, 30] = image[55, 70] = 255
    out = pp.rectify_rotation(image, left, right)
    ys, xs = np.nonzero(out > 40)
    assert ys.max() - ys.min() <= 2  # both bright points now on (about) one row


def test_feature_images_shapes_and_types() -> None:
    image = fixtures.face_image("happiness", size=48)
    for kind in ("gray", "equalized", "lbp", "hog", "gabor"):
        out = pp.feature_image(image, kind)
        assert out.shape == (48, 48) and out.dtype == np.uint8, kind
    pil = pp.feature_image(Image.fromarray(image), "lbp")
    assert isinstance(pil, Image.Image)
    assert len(np.unique(pp.lbp_image(image, 8, 1))) <= 10  # uniform LBP: P + 2 codes
    assert pp.hog_features(image).ndim == 1
    with pytest.raises(ValueError, match="feature image"):
        pp.feature_image(image, "sift")


def test_histogram_equalisation_spreads_a_narrow_histogram() -> None:
    rng = np.random.default_rng(0)
    narrow = rng.integers(100, 120, size=(32, 32)).astype(np.uint8)
    for method in ("global", "clahe"):
        out = pp.equalize_hist(narrow, method)
        assert np.ptp(out) > np.ptp(narrow)
    rgb = np.stack([narrow] * 3, axis=2)
    assert pp.equalize_hist(rgb).shape == (32, 32, 3)
    with pytest.raises(ValueError, match="method"):
        pp.equalize_hist(narrow, "local")


def _dlib_model() -> Path | None:
    path = pp.dlib_model_path()
    return path if path is not None and path.is_file() else None


def test_landmarks_need_dlib_or_say_how(tmp_path) -> None:
    try:
        import dlib  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="dlib-bin"):
            pp.LandmarkPredictor(tmp_path / "x.dat")
        return
    with pytest.raises(FileNotFoundError, match="face-recognition-models"):
        pp.LandmarkPredictor(tmp_path / "missing.dat")


def test_dlib_landmarks_align(face) -> None:
    """Runs wherever `make setup` ran (it installs dlib-bin and face-recognition-models, whose file it reads)."""
    pytest.importorskip("dlib", reason="dlib not installed (pip install dlib-bin)")
    if _dlib_model() is None:
        pytest.skip("shape_predictor_68_face_landmarks.dat not found: `make setup` installs face-recognition-models "
                    "(or set FER_DLIB_MODEL)")
    predictor = pp.LandmarkPredictor()
    points = predictor(pp.rotate_image(face, 12))
    assert points.shape == (68, 2)
    aligned = pp.align_by_landmarks(pp.rotate_image(face, 12), points)
    assert abs(pp.eye_angle(*pp.eyes_from_landmarks(predictor(aligned)))) < 2


def test_transform_options_keep_the_profiles() -> None:
    from fer_lib.data.transforms import PROFILES, build_transform

    image = Image.fromarray(fixtures.face_image("fear", size=48, rgb=True))
    for profile in PROFILES:
        assert tuple(build_transform(profile, 32)(image).shape) == (3, 32, 32)
    image = Image.fromarray(np.dstack([fixtures.face_image("fear", 48), np.zeros((48, 48), np.uint8),
                                       fixtures.face_image("anger", 48)]))
    x = build_transform("eval", 32, train=False, grayscale=True, equalize="clahe")(image)
    assert tuple(x.shape) == (3, 32, 32)
    # three identical grey channels before normalisation
    from fer_lib.data.transforms import denormalize

    x01 = denormalize(x)
    assert float((x01[0] - x01[1]).abs().max()) < 1e-5 and float((x01[1] - x01[2]).abs().max()) < 1e-5
    with pytest.raises(ValueError, match="method"):
        build_transform("basic", 32, equalize="local")


# -- depth images from point clouds (CM-CNN's gridfit step) ------------------------------------------------
def _face_like_surface(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A smooth dome with a nose-like bump: z in about [0, 1.3]."""
    return 1.0 - 0.5 * (x ** 2 + y ** 2) + 0.3 * np.exp(-((x / 0.15) ** 2 + (y / 0.25) ** 2))


def test_depth_fit_recovers_a_smooth_surface_from_scattered_points() -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(-1, 1, size=(6000, 2))
    points = np.column_stack([xy, _face_like_surface(xy[:, 0], xy[:, 1]) + rng.normal(0, 0.005, 6000)])
    depth = pp.fit_depth_map(points, (48, 48), bounds=(-1, 1, -1, 1), smoothness=0.5)
    gx, gy = np.meshgrid(np.linspace(-1, 1, 48), np.linspace(1, -1, 48))  # row 0 is y = +1
    error = np.abs(depth - _face_like_surface(gx, gy))
    assert depth.shape == (48, 48)
    assert np.median(error) < 0.004 and error.max() < 0.04  # the bump is the hardest part
    assert np.unravel_index(depth.argmax(), depth.shape) in {(23, 23), (23, 24), (24, 23), (24, 24)}


def test_depth_fit_fills_holes_and_keeps_the_orientation() -> None:
    rng = np.random.default_rng(1)
    xy = rng.uniform(-1, 1, size=(3000, 2))
    xy = xy[np.hypot(xy[:, 0] - 0.4, xy[:, 1] - 0.4) > 0.3]  # a hole with no point (top right)
    plane = np.column_stack([xy, 2.0 * xy[:, 1]])  # z grows with y: the top row is the highest
    depth = pp.fit_depth_map(plane, (20, 20), bounds=(-1, 1, -1, 1))
    assert np.isfinite(depth).all()
    assert depth[0].mean() > 1.8 and depth[-1].mean() < -1.8
    # A plane has no second differences: the regulariser fills the hole with the plane itself.
    gy = np.linspace(1, -1, 20)[:, None]
    assert np.abs(depth - 2.0 * gy).max() < 1e-3
    image = pp.depth_image(depth)
    assert image.dtype == np.uint8 and image[0].min() > image[-1].max()
    masked = pp.depth_image(depth, background=0.0)
    assert (masked[-1] == 0).all() and masked[0].min() > 0


def test_depth_fit_rejects_bad_input() -> None:
    cloud = np.random.default_rng(2).random((10, 3))
    with pytest.raises(ValueError, match=r"\[P, 3\]"):
        pp.fit_depth_map(np.zeros((10, 2)), (8, 8))
    with pytest.raises(ValueError, match="at least 3 x 3"):
        pp.fit_depth_map(cloud, (2, 8))
    with pytest.raises(ValueError, match="inside the bounds"):
        pp.fit_depth_map(cloud, (8, 8), bounds=(5, 6, 5, 6))
    with pytest.raises(ValueError, match="smoothness"):
        pp.fit_depth_map(cloud, (8, 8), smoothness=0)


def _dome(n: int = 2000, seed: int = 0) -> np.ndarray:
    """A face-like dome of scattered 3-D points (x, y in [-1, 1], z nearer at the centre)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-1, 1, size=(n, 2))
    return np.column_stack([xy, 1.0 - 0.5 * (xy ** 2).sum(axis=1)])


def test_cmcnn_face_gives_the_three_inputs_and_times_each_step(face) -> None:
    out = pp.cmcnn_face(face, _dome(), size=64)
    assert out.detected and out.gray.shape == out.lbp.shape == out.depth.shape == (64, 64)
    assert out.gray.dtype == out.lbp.dtype == out.depth.dtype == np.uint8
    # The dome's top (nearest) is the depth image's brightest, at the centre; LBP codes are not the grey image.
    assert out.depth[32, 32] > out.depth[2, 2] + 100 and not np.array_equal(out.lbp, out.gray)
    assert set(out.seconds) == {"align", "lbp", "depth"} and all(s > 0 for s in out.seconds.values())


def test_cmcnn_face_on_real_faces(shared_data) -> None:
    """FER2013 test faces (48 px, real people), each enlarged into a 640 x 480 capture as a camera frame would
    hold it: Viola-Jones finds most of them and every one gives CM-CNN's three 148 px inputs."""
    from fer_lib.data import load_dataset

    test = load_dataset("fer2013", root=shared_data / "fer2013", split="test")
    detectors = {"detector": pp.FaceDetector(), "eye_detector": pp.EyeDetector()}
    found = 0
    for index in range(0, 400, 20):
        frame = np.full((480, 640), 90, dtype=np.uint8)
        frame[120:312, 224:416] = np.asarray(test.load_image(index).convert("L").resize((192, 192), Image.BICUBIC))
        out = pp.cmcnn_face(frame, _dome(seed=index), **detectors)
        assert out.gray.shape == out.lbp.shape == out.depth.shape == (148, 148)
        found += out.detected
    assert found >= 14, f"Viola-Jones found {found} of 20 real faces"


def test_the_dlib_model_is_found_by_environment_or_installed_package(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FER_DLIB_MODEL", str(tmp_path / "mine.dat"))
    assert pp.dlib_model_path() == tmp_path / "mine.dat"
    monkeypatch.delenv("FER_DLIB_MODEL")
    found = pp.dlib_model_path()
    assert found is None or (found.name == pp.DLIB_MODEL_FILE and found.is_file())

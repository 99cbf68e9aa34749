"""fer_lib.explain.cam: target layers, Grad-CAM / Grad-CAM++ maps and probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fer_lib.explain import cam as C
from fer_lib.models import create_model
from fer_lib.models.outputs import TensorOutput
from tests.explain._explain_toys import SIZE, Structured


# -- layers -------------------------------------------------------------------------------------
def test_default_layer_of_resnet_is_last_block(resnet):
    assert C.target_layer(resnet) is resnet.layer4[-1]
    assert C.target_layer(TensorOutput(resnet)) is resnet.layer4[-1]  # through the library's wrapper
    assert C.target_layer(resnet, "layer3") is resnet.layer3
    assert C.target_layer(resnet, resnet.layer2) is resnet.layer2
    assert C.layer_name(resnet, resnet.layer4[-1]) == "layer4.1"


def test_model_attribute_names_the_default_layer():
    model = Structured()
    assert C.target_layer(model) is model.features
    model.gradcam_target_layer = model.features[2]  # a module works as well as a name
    assert C.target_layer(model) is model.features[2]


def test_target_layer_errors(resnet):
    with pytest.raises(ValueError, match="no default Grad-CAM layer.*'features'"):
        C.target_layer(Structured(default=None))
    with pytest.raises(ValueError, match="no layer named 'layer9'.*'layer4'"):
        C.target_layer(resnet, "layer9")
    with pytest.raises(ValueError, match="not a submodule"):
        C.target_layer(resnet, nn.Conv2d(3, 3, 1))
    with pytest.raises(TypeError):
        C.target_layer(resnet, 3)


def test_candidate_layers_start_with_a_readable_default(resnet):
    # At 224 px the ResNet's own default (layer4, 7 x 7) comes first; at 64 px it is 2 x 2, so the deepest
    # layer before it with a map of at least 7 x 7 does (layer2, 8 x 8); at 8 px no layer has one, and the
    # last layer with a spatial map comes first (layer1, 2 x 2).
    assert C.candidate_layers(resnet, 224)[0] == "layer4.1"
    names = C.candidate_layers(resnet, SIZE)
    assert names[0] == "layer2" and C.layer_map_sizes(resnet, SIZE)["layer2"] == (8, 8)
    assert {"layer1", "layer3", "layer4.1", "conv1"} <= set(names)
    assert C.candidate_layers(resnet, 8)[0] == "layer1"
    assert "avgpool" not in names and "fc" not in names  # no spatial map there
    assert not resnet.training


# -- maps ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_cams_shape_and_range(resnet, images, method):
    cams = C.compute_cams(resnet, images, method=method)
    assert cams.shape == (2, SIZE, SIZE) and cams.dtype == np.float32
    assert cams.min() >= 0.0 and cams.max() <= 1.0
    assert cams.max() > 0.5  # min-max scaled maps reach the top
    assert not resnet.training


def test_cams_depend_on_target_class_and_layer():
    torch.manual_seed(0)
    model = Structured().eval()
    x = torch.randn(2, 3, 32, 32)
    a = C.compute_cams(model, x, targets=0)
    b = C.compute_cams(model, x, targets=[5, 5])
    c = C.compute_cams(model, x, targets=0, layer="features.0")
    assert not np.allclose(a, b)
    assert not np.allclose(a, c)
    single = C.compute_cams(model, x[0], targets=0)  # one [3, H, W] image
    np.testing.assert_allclose(single[0], a[0], atol=1e-5)


def test_cams_restore_mode_flags_and_grads():
    torch.manual_seed(0)
    model = Structured().train()
    for p in model.parameters():
        p.requires_grad_(False)  # a frozen backbone has no gradients of its own
    x = torch.randn(2, 3, 32, 32)
    cams = C.compute_cams(model, x, method="gradcam++")
    assert cams.max() > 0.5
    assert model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert all(p.grad is None for p in model.parameters())
    relu = C.compute_cams(model, x, layer="features.1")  # a parameter-free layer of a frozen model
    assert relu.max() > 0.5


def test_cam_argument_errors(resnet, images):
    with pytest.raises(ValueError, match="out of range for a model with 7 outputs"):
        C.compute_cams(resnet, images, targets=7)
    with pytest.raises(ValueError, match="unknown CAM method"):
        C.compute_cams(resnet, images, method="scorecam")
    with pytest.raises(ValueError, match="3 targets for 2 images"):
        C.compute_cams(resnet, images, targets=[0, 1, 2])


def test_method_names_are_normalised():
    assert [C.method_key(m) for m in ("gradcam", "Grad-CAM", "gradcam++", "Grad-CAM++", "gradcam_pp")] == [
        "gradcam", "gradcam", "gradcam++", "gradcam++", "gradcam++"]
    with pytest.raises(ValueError, match="unknown CAM method"):
        C.method_key("eigencam")


def test_structured_outputs_go_through_the_library_wrapper():
    torch.manual_seed(0)
    model = Structured()
    x = torch.randn(2, 3, 16, 16)
    out = TensorOutput(model)(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 7)
    torch.testing.assert_close(out, model(x).logits)
    cams = C.compute_cams(model, x, method="gradcam")  # the raw structured model is wrapped inside
    assert cams.shape == (2, 16, 16)
    assert C.compute_cams(TensorOutput(model), x, method="gradcam").shape == (2, 16, 16)  # or already wrapped
    assert C.predict_proba(model, x).sum(1) == pytest.approx([1.0, 1.0])


@pytest.mark.slow
def test_pcnn_maps_come_from_the_gpn_refinement_network():
    from fer_lib.models import list_models

    if "pcnn" not in list_models():
        pytest.skip("fer_lib.models.pcnn is not available in this checkout")
    torch.manual_seed(0)
    model = create_model("pcnn", image_size=SIZE).eval()
    assert C.layer_name(model, C.target_layer(model)) == "gpn.tap"  # seed 000's Fig. 12 explains the GPN
    # The GPN's map is 2 x 2 at 64 px: the menu's default is the global trunk's 8 x 8 layer2 instead.
    sizes = C.layer_map_sizes(model, SIZE)
    assert sizes["gpn.tap"] == (2, 2)
    first = C.candidate_layers(model, SIZE, sizes=sizes)[0]
    assert first == "gfieb.layer2" and min(sizes[first]) >= C.MIN_EXPLAINING_SIDE
    cams = C.compute_cams(model, torch.randn(1, 3, SIZE, SIZE), method="gradcam++")
    assert cams.shape == (1, SIZE, SIZE) and cams.max() > 0.5


def test_map_concentration_ranks_a_peak_above_a_spread_map():
    from fer_lib.explain.cam import map_concentration

    uniform = np.ones((10, 10))
    peak = np.zeros((10, 10))
    peak[4, 4] = 1.0
    half = np.zeros((10, 10))
    half[:5] = 1.0
    assert map_concentration(np.stack([uniform, peak, half])) == pytest.approx([10.0, 100.0, 20.0])
    assert np.isnan(map_concentration(np.zeros((1, 4, 4)))[0])
    with pytest.raises(ValueError, match="maps"):
        map_concentration(uniform)


def test_poster_token_layers_are_read_as_7_by_7_maps():
    """POSTER's transformer tokens become maps through its reshape; the conv default stays first in the menu."""
    import warnings

    from fer_lib.models.poster import POSTER

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no landmark weights: a random frozen stream is fine for the maps
        model = POSTER(num_classes=3, depth=1, image_size=64, token_layout="patch").eval()
    assert model.gradcam_token_layers == ["blocks.0.block_l.norm1"]
    sizes = C.layer_map_sizes(model, 64)
    assert sizes["blocks.0.block_l.norm1"] == (7, 7) and sizes["ir_back.body"] == (7, 7)
    menu = C.candidate_layers(model, 64, sizes=sizes)
    assert menu[0] == "ir_back.body" and "blocks.0.block_l.norm1" in menu
    images = torch.randn(2, 3, 64, 64)
    maps = C.compute_cams(model, images, targets=[0, 1], layer="blocks.0.block_l.norm1")
    assert maps.shape == (2, 64, 64) and maps.max() > 0 and maps.std() > 0
    baseline = POSTER(num_classes=3, depth=1, image_size=64, fusion="none").eval()
    assert baseline.gradcam_token_layers == ["blocks.0.norm1"]
    assert C.compute_cams(baseline, images, targets=0, layer="blocks.0.norm1").std() > 0

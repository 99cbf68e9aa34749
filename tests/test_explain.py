"""Grad-CAM / Grad-CAM++ maps, layers, overlays, grid figures, run loading and the widget explorer."""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from fer_lib import explain as E
from fer_lib.data.base import FERDataset
from fer_lib.data.labels import SEVEN_CLASSES
from fer_lib.data.transforms import build_transform
from fer_lib.models import create_model

SIZE = 64
PNG = b"\x89PNG\r\n\x1a\n"


class Blobs(FERDataset):
    """Seven classes of coloured squares at class-dependent positions (enough structure for a map)."""

    name = "blobs"
    data_kind = "synthetic"

    def __init__(self, n: int = 14, transform=None) -> None:
        super().__init__(SEVEN_CLASSES, np.arange(n) % 7, transform=transform)

    def load_image(self, index: int) -> Image.Image:
        rng = np.random.default_rng(index)
        img = (rng.random((40, 40, 3)) * 60).astype(np.uint8)
        k = int(self.targets[index])
        img[4 * k : 4 * k + 12, 6:18] = (230, 200, 40)
        return Image.fromarray(img)


class Output(NamedTuple):
    logits: torch.Tensor
    extra: torch.Tensor


class Structured(nn.Module):
    """A tiny conv net returning a NamedTuple, with its own default layer."""

    def __init__(self, num_classes: int = 7, default: str | None = "features") -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1))
        self.head = nn.Linear(8, num_classes)
        if default is not None:
            self.gradcam_target_layer = default

    def forward(self, x: torch.Tensor) -> Output:
        f = torch.relu(self.features(x))
        return Output(self.head(f.mean((2, 3))), f)


@pytest.fixture(scope="module")
def resnet() -> nn.Module:
    torch.manual_seed(0)
    return create_model("resnet18").eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(2, 3, SIZE, SIZE)


# -- layers -------------------------------------------------------------------------------------
def test_default_layer_of_resnet_is_last_block(resnet):
    assert E.target_layer(resnet) is resnet.layer4[-1]
    assert E.target_layer(E.LogitsOnly(resnet)) is resnet.layer4[-1]
    assert E.target_layer(resnet, "layer3") is resnet.layer3
    assert E.target_layer(resnet, resnet.layer2) is resnet.layer2
    assert E.layer_name(resnet, resnet.layer4[-1]) == "layer4.1"


def test_model_attribute_names_the_default_layer():
    model = Structured()
    assert E.target_layer(model) is model.features
    model.gradcam_target_layer = model.features[2]  # a module works as well as a name
    assert E.target_layer(model) is model.features[2]


def test_target_layer_errors(resnet):
    with pytest.raises(ValueError, match="no default Grad-CAM layer.*'features'"):
        E.target_layer(Structured(default=None))
    with pytest.raises(ValueError, match="no layer named 'layer9'.*'layer4'"):
        E.target_layer(resnet, "layer9")
    with pytest.raises(ValueError, match="not a submodule"):
        E.target_layer(resnet, nn.Conv2d(3, 3, 1))
    with pytest.raises(TypeError):
        E.target_layer(resnet, 3)


def test_candidate_layers_start_with_the_default(resnet):
    names = E.candidate_layers(resnet, SIZE)
    assert names[0] == "layer4.1"
    assert {"layer1", "layer2", "layer3", "conv1"} <= set(names)
    assert "avgpool" not in names and "fc" not in names  # no spatial map there
    assert not resnet.training


# -- maps ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_cams_shape_and_range(resnet, images, method):
    cams = E.compute_cams(resnet, images, method=method)
    assert cams.shape == (2, SIZE, SIZE) and cams.dtype == np.float32
    assert cams.min() >= 0.0 and cams.max() <= 1.0
    assert cams.max() > 0.5  # min-max scaled maps reach the top
    assert not resnet.training


def test_cams_depend_on_target_class_and_layer():
    torch.manual_seed(0)
    model = Structured().eval()
    x = torch.randn(2, 3, 32, 32)
    a = E.compute_cams(model, x, targets=0)
    b = E.compute_cams(model, x, targets=[5, 5])
    c = E.compute_cams(model, x, targets=0, layer="features.0")
    assert not np.allclose(a, b)
    assert not np.allclose(a, c)
    single = E.compute_cams(model, x[0], targets=0)  # one [3, H, W] image
    np.testing.assert_allclose(single[0], a[0], atol=1e-5)


def test_cams_restore_mode_flags_and_grads():
    torch.manual_seed(0)
    model = Structured().train()
    for p in model.parameters():
        p.requires_grad_(False)  # a frozen backbone has no gradients of its own
    x = torch.randn(2, 3, 32, 32)
    cams = E.compute_cams(model, x, method="gradcam++")
    assert cams.max() > 0.5
    assert model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert all(p.grad is None for p in model.parameters())
    relu = E.compute_cams(model, x, layer="features.1")  # a parameter-free layer of a frozen model
    assert relu.max() > 0.5


def test_cam_argument_errors(resnet, images):
    with pytest.raises(ValueError, match="out of range for a model with 7 outputs"):
        E.compute_cams(resnet, images, targets=7)
    with pytest.raises(ValueError, match="unknown CAM method"):
        E.compute_cams(resnet, images, method="scorecam")
    with pytest.raises(ValueError, match="3 targets for 2 images"):
        E.compute_cams(resnet, images, targets=[0, 1, 2])


def test_wrapper_gives_plain_logits_for_structured_outputs():
    torch.manual_seed(0)
    model = Structured()
    x = torch.randn(2, 3, 16, 16)
    out = E.LogitsOnly(model)(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 7)
    torch.testing.assert_close(out, model(x).logits)
    cams = E.compute_cams(model, x, method="gradcam")  # raw structured model goes through the wrapper
    assert cams.shape == (2, 16, 16)
    assert E.predict_proba(model, x).sum(1) == pytest.approx([1.0, 1.0])


# -- drawing ------------------------------------------------------------------------------------
def test_overlay_shape_and_blend():
    face = np.full((40, 30, 3), 0.5, dtype=np.float32)
    cam = np.zeros((10, 10), dtype=np.float32)
    cam[:5] = 1.0
    out = E.overlay(face, cam)
    assert out.shape == (40, 30, 3) and out.dtype == np.uint8
    assert not np.array_equal(out[0, 0], out[-1, -1])  # hot top, cold bottom
    plain = E.overlay(face, cam, alpha=0.0)
    assert np.ptp(plain) == 0  # the face alone
    assert E.overlay((face * 255).astype(np.uint8), cam).shape == (40, 30, 3)
    with pytest.raises(ValueError, match="2-D map"):
        E.overlay(face, np.zeros((1, 10, 10)))


def test_to_image01_undoes_normalisation():
    img = Image.fromarray(np.tile(np.arange(32, dtype=np.uint8)[None, :, None] * 8, (32, 1, 3)))
    x = build_transform("eval", 32, train=False)(img)
    back = E.to_image01(x)
    assert back.shape == (32, 32, 3)
    np.testing.assert_allclose(back, np.asarray(img) / 255.0, atol=2e-2)


def test_grid_figure_and_png(tmp_path):
    torch.manual_seed(0)
    model = Structured()  # a tiny model keeps this test fast; the ResNet path is covered above
    data = Blobs(transform=build_transform("eval", 32, train=False))
    fig = E.cam_grid_figure(model, data, [0, 3], methods=("gradcam", "gradcam++"),
                            target_classes=["predicted", "true", "happiness"])
    axes = [ax for ax in fig.axes if ax.images]
    assert len(axes) == 2 * (1 + 2 * 3)
    assert "true: neutral" in axes[0].get_title()
    path = E.save_figure(fig, tmp_path / "grid.png")
    assert path.read_bytes()[:8] == PNG
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left nothing behind
    again = E.save_grid(tmp_path / "g2.png", model, Blobs(), [1], methods=["gradcam"], dpi=80,
                        transform=build_transform("eval", 32, train=False))
    with Image.open(again) as im:
            assert im.size[0] > 100 and im.size[1] > 100


def test_grid_needs_tensor_samples(resnet):
    with pytest.raises(TypeError, match="pass transform="):
        E.cam_grid_figure(resnet, Blobs(), [0])
    with pytest.raises(ValueError, match="unknown target class"):
        E.cam_grid_figure(resnet, Blobs(), [0], target_classes=["joy"],
                          transform=build_transform("eval", SIZE, train=False))


# -- runs ---------------------------------------------------------------------------------------
def _fake_run(tmp_path, spec) -> tuple:
    torch.manual_seed(3)
    model = create_model(spec["model"], num_classes=spec.get("num_classes", 7), **spec.get("model_options", {}))
    run = tmp_path / "run"
    run.mkdir()
    (run / "spec.json").write_text(json.dumps(spec))
    torch.save(model.state_dict(), run / "model.pt")
    return model, run


def test_load_run_rebuilds_the_model(tmp_path):
    spec = {"model": "resnet18", "model_options": {"drop_rate": 0.1}, "num_classes": 6, "image_size": 48}
    model, run = _fake_run(tmp_path, spec)
    loaded = E.load_run(run)
    assert loaded.image_size == 48 and not loaded.model.training
    x = torch.randn(1, 3, 48, 48)
    torch.testing.assert_close(loaded.model(x), model.eval()(x))
    from_file = E.load_run(run / "model.pt")  # the file finds its spec.json
    assert from_file.spec["num_classes"] == 6
    (run / "spec.json").unlink()
    with pytest.raises(ValueError, match="pass model="):
        E.load_run(run / "model.pt")
    assert E.load_run(run / "model.pt", model="resnet18", drop_rate=0.1, num_classes=6).spec["model"] == "resnet18"


def test_load_run_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        E.load_run(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        E.load_run(tmp_path)
    _, run = _fake_run(tmp_path, {"model": "resnet18", "num_classes": 7})
    (run / "spec.json").write_text(json.dumps({"model": "resnet18", "num_classes": 5}))
    with pytest.raises(ValueError, match="does not fit resnet18"):
        E.load_run(run)


def test_run_choices_prefer_the_dataset_and_check_compatible(tmp_path):
    import os

    specs = {"a": {"model": "resnet18", "dataset": "blobs", "num_classes": 7, "recipe": {"scale": "cpu"}},
             "b": {"model": "resnet18", "dataset": "other", "num_classes": 6, "recipe": {"scale": "smoke"}}}
    for k, (name, spec) in enumerate(specs.items()):
        run = tmp_path / name
        run.mkdir()
        (run / "spec.json").write_text(json.dumps(spec))
        (run / "summary.json").write_text(json.dumps({"spec": spec, "wall_seconds": 1.0}))
        os.utime(run, (1e9 + k, 1e9 + k))  # "b" is newer
    assert [f for _, f in E.run_choices(tmp_path)] == [str(tmp_path / "b"), str(tmp_path / "a")]
    choices = E.run_choices(tmp_path, dataset="blobs")
    assert choices[0] == ("resnet18 / blobs / cpu / a", str(tmp_path / "a"))
    assert E.run_choices(tmp_path / "empty") == []
    six = E.LoadedRun(Structured(num_classes=6), specs["b"], tmp_path / "b")
    with pytest.raises(ValueError, match="6 outputs but blobs has 7 classes"):
        E.check_compatible(six, Blobs(), image_size=16)
    E.check_compatible(E.LoadedRun(Structured(), specs["a"], tmp_path / "a"), Blobs(), image_size=16)


# -- explorer -----------------------------------------------------------------------------------
def test_explorer_updates_views():
    pytest.importorskip("ipywidgets")
    torch.manual_seed(0)
    run = E.LoadedRun(Structured(), {"model": "structured", "image_size": 32}, E.Path("runs/demo"))
    ex = E.CamExplorer(run, Blobs(), "blobs", "test", max_samples=10, display_size=64)
    assert list(ex.pool) == [0, 1, 3, 4, 6, 7, 9, 10, 12, 13]  # spread over the 14 samples
    assert ex.layer.options[0] == "features"
    ex.update()
    assert ex.last_error is None
    first = ex.overlay_view.value
    assert first[:8] == PNG and ex.face_view.value[:8] == PNG and ex.chart_view.value[:8] == PNG
    assert "true label: <b>neutral</b>" in ex.info.value
    ex.next_button.click()  # the widget callbacks run as they would in the browser
    assert ex.last_error is None and ex.index_box.value == ex.shown_index == 1
    assert ex.overlay_view.value != first
    ex.method.value = "gradcam"
    ex.layer.value = "features.0"
    ex.target.value = SEVEN_CLASSES.index("anger")
    assert ex.last_error is None and "explaining <b>anger</b>" in ex.info.value
    ex.index_box.value = 4  # in the pool: the slider follows
    assert ex.current_index() == ex.shown_index == 4
    ex.index_box.value = 5  # outside the pool: shown all the same
    assert ex.shown_index == 5 and "sample <b>#5</b>" in ex.info.value
    ex.filter.value = "wrong"
    assert len(ex.positions) == int((ex.preds != ex.truth).sum())
    ex.load_button.click()  # an empty path: the error is shown, not lost
    assert "type a run folder" in ex.last_error and "firebrick" in ex.status.value


def test_explorer_keeps_its_state_when_loading_fails():
    pytest.importorskip("ipywidgets")
    torch.manual_seed(0)
    run = E.LoadedRun(Structured(), {"model": "structured", "image_size": 32}, E.Path("runs/demo"))
    six = E.LoadedRun(Structured(num_classes=6), {"model": "six"}, E.Path("runs/six"))
    ex = E.CamExplorer(run, Blobs(), "blobs", "test", max_samples=6, display_size=48,
                       load_model=lambda source: six, load_data=lambda name, split, size: Blobs(4))
    ex.update()
    ex.checkpoint.value = "runs/six"
    ex.load_button.click()  # 6 outputs for 7 classes: refused, the first model stays
    assert "6 outputs" in ex.last_error
    assert ex.model is run.model and ex.run_picker.value == "runs/demo" and ex.probs.shape == (6, 7)
    ex.split_picker.value = "train"  # the injected loader gives a 4-sample set
    assert ex.last_error is None and len(ex.pool) == 4


@pytest.mark.slow
def test_pcnn_maps_come_from_the_gpn_refinement_network():
    from fer_lib.models import list_models

    if "pcnn" not in list_models():
        pytest.skip("fer_lib.models.pcnn is not available in this checkout")
    torch.manual_seed(0)
    model = create_model("pcnn", image_size=SIZE).eval()
    assert E.layer_name(model, E.target_layer(model)) == "gpn.tap"  # seed 000's Fig. 12 explains the GPN
    assert E.candidate_layers(model, SIZE)[0] == "gpn.tap"
    cams = E.compute_cams(model, torch.randn(1, 3, SIZE, SIZE), method="gradcam++")
    assert cams.shape == (1, SIZE, SIZE) and cams.max() > 0.5

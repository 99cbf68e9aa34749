"""fer_lib.explain.widget: the CamExplorer widget, check_compatible and spread_indices."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fer_lib.data.labels import SEVEN_CLASSES
from fer_lib.explain import figures as F
from fer_lib.explain import widget as W
from fer_lib.explain.figures import png_bytes
from fer_lib.runs import LoadedRun
from tests.explain._explain_toys import PNG, Blobs, Structured


def test_spread_indices():
    assert list(W.spread_indices(5, None)) == [0, 1, 2, 3, 4]
    assert list(W.spread_indices(5, 10)) == [0, 1, 2, 3, 4]
    assert list(W.spread_indices(14, 10)) == [0, 1, 3, 4, 6, 7, 9, 10, 12, 13]


def test_check_compatible(tmp_path):
    six = LoadedRun(Structured(num_classes=6), {"model": "resnet18", "dataset": "other"}, tmp_path / "b")
    with pytest.raises(ValueError, match="6 outputs but blobs has 7 classes"):
        W.check_compatible(six, Blobs(), image_size=16)
    W.check_compatible(LoadedRun(Structured(), {"model": "resnet18"}, tmp_path / "a"), Blobs(), image_size=16)


def test_explorer_updates_views():
    pytest.importorskip("ipywidgets")
    torch.manual_seed(0)
    run = LoadedRun(Structured(), {"model": "structured", "image_size": 32}, Path("runs/demo"))
    ex = W.CamExplorer(run, Blobs(), "blobs", "test", max_samples=10, display_size=64)
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
    run = LoadedRun(Structured(), {"model": "structured", "image_size": 32}, Path("runs/demo"))
    six = LoadedRun(Structured(num_classes=6), {"model": "six"}, Path("runs/six"))
    ex = W.CamExplorer(run, Blobs(), "blobs", "test", max_samples=6, display_size=48,
                       load_model=lambda source: six, load_data=lambda name, split, size: Blobs(4))
    ex.update()
    ex.checkpoint.value = "runs/six"
    ex.load_button.click()  # 6 outputs for 7 classes: refused, the first model stays
    assert "6 outputs" in ex.last_error
    assert ex.model is run.model and ex.run_picker.value == "runs/demo" and ex.probs.shape == (6, 7)
    ex.split_picker.value = "train"  # the injected loader gives a 4-sample set
    assert ex.last_error is None and len(ex.pool) == 4


@pytest.mark.slow
def test_explorer_opens_a_gmslpa_run(tmp_path: Path) -> None:
    """A GMS-LPA run from the run cache opens in the explorer: its GMS branch's last unit is the default layer."""
    pytest.importorskip("ipywidgets")
    from fer_lib.data import load_dataset
    from fer_lib.protocols import view_rows
    from fer_lib.results import ResultTable
    from fer_lib.runs import load_run
    from fer_lib.settings import RunContext

    ctx = RunContext.resolve("gmslpa", "1", "smoke", "synth-multiview", None, "cpu", [0], tmp_path / "out", quiet=True)
    trained = view_rows(ctx, ResultTable(ctx), {"table2_sms_lpa": "GMS-LPA"}, "synth-multiview", [0], 5,
                        {0: "0°"}, dataset_options={"angles": "bu3dfe"}, recipe_overrides={"init": None})
    run = load_run(trained["table2_sms_lpa"].runs[0][0].run_dir)
    assert run.spec["model"] == "gmslpa"
    data = load_dataset("synth-multiview", split="test", scale="smoke", fold=0, image_size=32)
    ex = W.CamExplorer(run, data, "synth-multiview", "test", max_samples=4, display_size=48)
    # At 224 px the GMS branch's last unit (7 x 7) is the default; at this run's 32 px it is 1 x 1, so the
    # menu starts at the deepest layer with a readable map.
    from fer_lib.explain.cam import candidate_layers

    assert candidate_layers(run.model, 224)[0] == "global_branch.layer4.2"
    assert ex.layer.value == candidate_layers(run.model, 32)[0] != "global_branch.layer4.2"
    ex.update()
    assert ex.last_error is None and ex.overlay_view.value[:8] == PNG and ex.probs.shape == (4, 6)


def test_explorer_opens_a_cmcnn_run_on_its_modalities(tmp_path: Path) -> None:
    """A CM-CNN run opens on its packed modalities (grey, LBP, depth) with its own normalisation, the menu offers
    each modality's network, and the face drawn is the modality of the chosen layer. Loaded after a model of 2-D
    faces, whose data have no depth, it switches to its own dataset instead of failing."""
    pytest.importorskip("ipywidgets")
    from fer_lib.data import load_dataset
    from fer_lib.protocols import view_rows
    from fer_lib.results import ResultTable
    from fer_lib.runs import load_run
    from fer_lib.settings import RunContext

    ctx = RunContext.resolve("cmcnn", "ii", "smoke", "synth-rgbd", None, "cpu", [0], tmp_path / "out", quiet=True)
    trained = view_rows(ctx, ResultTable(ctx), {"table2_g_l_d_cmfn": "G + L + D + CMFN"}, "synth-rgbd", [0], 10, {},
                        average_column="BU-3DFE P1")
    run = load_run(trained["table2_g_l_d_cmfn"].runs[0][0].run_dir)
    assert run.setting("modalities") == ["gray", "lbp", "depth"] and run.setting("transform") == "cmcnn"

    def load(name: str, split: str, size: int):
        return load_dataset(name, split=split, scale="smoke", image_size=size, fold=0)

    rgbd = load("synth-rgbd", "test", 32)
    ex = W.CamExplorer(run, rgbd, "synth-rgbd", "test", load_data=load, max_samples=4, display_size=48)
    assert ex.dataset.modalities == ("gray", "lbp", "depth") and ex.source_dataset is rgbd
    image = ex.dataset[0][0]
    assert image.shape[0] == 3 and 0.0 <= float(image.min()) and float(image.max()) <= 1.0  # no ImageNet scaling
    assert {"fens.gray.stages.0", "fens.depth.stages.0"} <= set(ex.layer.options)
    ex.layer.value = "fens.depth.stages.0"
    ex.update()
    assert ex.last_error is None and ex.overlay_view.value[:8] == PNG and ex.probs.shape == (4, 6)
    assert ex.face_view.value == png_bytes(F.input_face(ex.model, image, "fens.depth.stages.0"), 48)

    # From a model of 2-D faces on a dataset without depth, loading the CM-CNN run moves to synth-rgbd.
    toy = LoadedRun(Structured(), {"model": "structured", "image_size": 32}, Path("runs/demo"))
    plain = W.CamExplorer(toy, Blobs(), "blobs", "test", load_model=lambda _: run, load_data=load,
                          max_samples=4, display_size=48)
    plain.load_source(str(run.source))
    assert plain.dataset_picker.value == "synth-rgbd" and plain.dataset.modalities == ("gray", "lbp", "depth")

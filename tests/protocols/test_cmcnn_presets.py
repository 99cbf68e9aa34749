from __future__ import annotations

import pytest

from fer_lib.papers import reference
from fer_lib.protocols import get_preset, list_presets
from fer_lib.protocols.cmcnn import MODALITY_ROWS, modality_row
from fer_lib.protocols.training import TrainingJob
from fer_lib.recipes import get_recipe


def test_modality_rows_parse_to_model_options() -> None:
    assert modality_row("G + L + D + CMFN") == (("gray", "lbp", "depth"), "cmfn")
    assert modality_row("G + D") == (("gray", "depth"), "concat")
    assert modality_row("B") == (("gabor",), "cmfn")
    assert modality_row("G + H + D + CMFN") == (("gray", "hog", "depth"), "cmfn")
    with pytest.raises(ValueError, match="not a Table II/III row"):
        modality_row("G + X")


def test_presets_cover_the_papers_rows() -> None:
    table2 = [get_preset("cmcnn", n).row for n in list_presets("cmcnn", "II")]
    assert table2 == list(MODALITY_ROWS) == list(dict.fromkeys(reference("cmcnn", "ii")["row"]))
    assert list(dict.fromkeys(reference("cmcnn", "iii")["row"])) == list(MODALITY_ROWS)
    table1 = [get_preset("cmcnn", n).row for n in list_presets("cmcnn", "I")]
    assert sorted(table1) == sorted(dict.fromkeys(reference("cmcnn", "i")["row"]))
    full = get_preset("cmcnn", "table2_g_l_d_cmfn").setup
    assert full.options == {"modalities": ["gray", "lbp", "depth"], "fusion": "cmfn"}
    assert full.loss_options == {"gamma": 2.0, "sigma": 0.1}
    assert get_preset("cmcnn", "table1_focal_2").setup.loss_options == {"gamma": 2.0, "sigma": 0.0}
    assert get_preset("cmcnn", "table1_cce").setup.loss == "ce"


def test_the_data_follow_the_models_modalities() -> None:
    recipe = get_recipe("cmcnn", "smoke")
    job = TrainingJob(get_preset("cmcnn", "table2_g_d").setup, "synth-rgbd", recipe, {"fold": 2})
    assert job.loader_options() == {"fold": 2, "modalities": ["gray", "depth"]}
    assert job.loader_options({"fold": 0, "modalities": ["lbp"]})["modalities"] == ["gray", "depth"]
    default = TrainingJob(get_preset("cmcnn", "table1_cce").setup, "synth-rgbd", recipe)
    assert default.loader_options() == {"modalities": ["gray", "lbp", "depth"]}
    resnet = TrainingJob(get_preset("pcnn", "table2_resnet18").setup, "synth-inthewild", get_recipe("resnet", "smoke"))
    assert resnet.loader_options({"subset": "occlusion"}) == {"subset": "occlusion"}

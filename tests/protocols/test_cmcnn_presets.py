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


def test_table_ones_proposed_row_is_table_twos_run() -> None:
    """Table I's soft focal (gamma 2) row and Table II's G + L + D + CMFN are the same training: one cache key."""
    assert get_preset("cmcnn", "table1_soft_focal_2").setup == get_preset("cmcnn", "table2_g_l_d_cmfn").setup
    assert get_preset("cmcnn", "table1_cce").setup.options == get_preset("cmcnn", "table2_g_l_d_cmfn").setup.options


def test_the_data_follow_the_models_modalities() -> None:
    recipe = get_recipe("cmcnn", "smoke")
    job = TrainingJob(get_preset("cmcnn", "table2_g_d").setup, "synth-rgbd", recipe, {"fold": 2})
    assert job.loader_options() == {"fold": 2, "modalities": ["gray", "depth"]}
    assert job.loader_options({"fold": 0, "modalities": ["lbp"]})["modalities"] == ["gray", "depth"]
    default = TrainingJob(get_preset("cmcnn", "table1_cce").setup, "synth-rgbd", recipe)
    assert default.loader_options() == {"modalities": ["gray", "lbp", "depth"]}
    resnet = TrainingJob(get_preset("pcnn", "table2_resnet18").setup, "synth-inthewild", get_recipe("resnet", "smoke"))
    assert resnet.loader_options({"subset": "occlusion"}) == {"subset": "occlusion"}


def test_rgbd_columns_run_a_shared_stand_in_once(tmp_path) -> None:
    """Without the datasets every RGB-D column is synth-rgbd: only the first runs, the others name it; a real
    dataset under the data root runs as itself (a BU-3DFE fixture in its distributed layout)."""
    from fer_lib.data import fixtures
    from fer_lib.protocols.cmcnn import RGBD_STAND_IN, rgbd_columns

    columns = rgbd_columns(None, ("BU-3DFE P1", "BU-3DFE P2", "Bosphorus"))
    assert [c.dataset for c in columns.values()] == [RGBD_STAND_IN] * 3
    assert [c.same_as for c in columns.values()] == [None, "BU-3DFE P1", "BU-3DFE P1"]
    fixtures.write_bu3dfe_scans(tmp_path / "bu3dfe", n_subjects=60, n=8)  # the protocols draw 60 subjects
    real = rgbd_columns(tmp_path, ("Bosphorus", "BU-3DFE P1", "BU-3DFE P2"))
    assert real["BU-3DFE P1"] == ("bu3dfe-3d", {"protocol": "p1"}, "real data found", None)
    assert real["BU-3DFE P2"].options == {"protocol": "p2"} and real["Bosphorus"].same_as is None
    with pytest.raises(ValueError, match="unknown RGB-D column"):
        rgbd_columns(None, ("BU-3DFE P3",))


def test_the_real_2d_column_takes_the_rows_without_depth(tmp_path) -> None:
    from fer_lib.data import fixtures
    from fer_lib.protocols.cmcnn import has_depth, real_2d_column, real_2d_recipe

    assert [has_depth(n) for n in ("table2_g", "table2_g_l_cmfn", "table2_d", "table1_cce")] == [False, False, True,
                                                                                                True]
    assert real_2d_column(None)[1] is None and real_2d_recipe("cpu") == {"epochs": 6} and real_2d_recipe("paper") == {}
    fixtures.write_ferplus(tmp_path)
    column, name, options, why = real_2d_column(tmp_path)
    assert (name, options, why) == ("ferplus", {"num_classes": 6}, "real data found")


def test_the_handcrafted_claims_take_the_best_quoted_handcrafted_row() -> None:
    from fer_lib.protocols.cmcnn import HANDCRAFTED_ROW, REAL_2D_CNN_ROW, REAL_2D_COLUMN, handcrafted_claims

    frame = handcrafted_claims("v", {"BU-3DFE P1": "BU-3DFE P1", REAL_2D_COLUMN: "BU-3DFE P1"}).set_index("column")
    assert frame.loc["BU-3DFE P1", "printed_difference"] == pytest.approx(88.91 - 84.50)  # over Zhen et al.
    assert frame.loc[REAL_2D_COLUMN, "row_a"] == REAL_2D_CNN_ROW and set(frame["row_b"]) == {HANDCRAFTED_ROW}
    assert handcrafted_claims("vi", {"Bosphorus": "Bosphorus"})["printed_difference"].iloc[0] == \
        pytest.approx(85.16 - 79.72)
    assert get_preset("cmcnn", "handcrafted_hog_lbp").setup.loader_options() == {"modalities": ["gray"]}

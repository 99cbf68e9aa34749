"""Pretrained trunks: trained once as a cached run, reused by every table and seed, recorded in each result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from fer_lib.data.fixtures import write_all
from fer_lib.protocols import accuracy_rows, variant_rows
from fer_lib.protocols import pretrain as P


@pytest.fixture(autouse=True)
def _fresh_memo():
    P._pretrained.cache_clear()
    yield
    P._pretrained.cache_clear()


def test_sources_resolve(tmp_path: Path) -> None:
    assert P.resolve_source("auto", None) == "synth"
    assert P.resolve_source("auto", tmp_path) == "synth"  # no FER2013 there
    write_all(tmp_path / "data")
    assert P.resolve_source("auto", tmp_path / "data") == "fer2013"
    assert P.SOURCES["fer2013"] == ("fer2013", "Training")  # never PublicTest or PrivateTest
    with pytest.raises(ValueError, match="unknown pretraining source 'imagenet'"):
        P.resolve_source("imagenet", None)


@pytest.mark.slow
def test_a_trunk_is_trained_once_and_has_no_head(tmp_path: Path) -> None:
    write_all(tmp_path / "data")
    trunk = P.pretrained_trunk("fer2013", "smoke", "cpu", tmp_path / "data")
    state = torch.load(trunk.path, weights_only=True)
    assert "conv1.weight" in state and "layer4.1.bn2.weight" in state and not any(k.startswith("fc.") for k in state)
    spec = json.loads((trunk.path.parent / "spec.json").read_text())
    assert (spec["dataset"], spec["model"]) == ("fer2013", "resnet18")
    P._pretrained.cache_clear()
    again = P.pretrained_trunk("auto", "smoke", "cpu", tmp_path / "data")
    assert again.run == trunk.run and again.source == "fer2013"


@pytest.mark.slow
def test_fine_tuned_runs_start_from_the_trunk_and_say_so(tmp_path: Path, open_table) -> None:
    ctx, table = open_table("vii", "synth-inthewild", None)
    outs = accuracy_rows(ctx, table, {"resnet18": "ResNet-18"}, recipe_overrides={"init": "synth"})["resnet18"]
    trunk = P.pretrained_trunk("synth", "smoke", "cpu", None)
    assert outs[0].init == trunk.describe()
    spec = json.loads((outs[0].run_dir / "spec.json").read_text())
    assert spec["init"] == {"source": "synth", "trunk_run": trunk.run}
    assert spec["model_options"]["pretrained_path"] is None  # the key names the run, not a local path
    cell = table.frame().iloc[0]
    assert cell["init"] == trunk.describe() and cell["precision"] in ("fp32", "bf16")
    # A row the paper trained from scratch is not pretrained, whatever the recipe says.
    ctx2, table2 = open_table("ii", "synth-inthewild", None)
    runs = variant_rows(ctx2, table2, {"table2_resnet18": "ResNet18"}, {"RAF-DB": "synth-inthewild"},
                        recipe_overrides={"init": "synth"})[("ResNet18", "RAF-DB")]
    assert runs[0].init == "random" and table2.frame().iloc[0]["init"] == "random"


@pytest.mark.slow
def test_make_pretrain_trains_the_trunk_ahead_of_the_tables(tmp_path: Path, capsys) -> None:
    from fer_lib import reproduce

    assert reproduce.main(["pretrain", "--source", "synth", "--scale", "smoke", "--device", "cpu"]) == 0
    assert "resnet18 pretrained on synth (run resnet18-" in capsys.readouterr().out


def test_each_family_pretrains_its_own_trunk_architecture() -> None:
    from fer_lib.models import model_defaults, model_family

    gmslpa = model_family("gmslpa")
    assert gmslpa.trunk_arch(model_defaults("gmslpa"), {}) == "resnet50"
    assert gmslpa.trunk_arch(model_defaults("gmslpa"), {"trunk": "resnet34"}) == "resnet34"
    assert model_family("pcnn").trunk_arch(model_defaults("pcnn"), {}) == "resnet18"
    assert P.CPU_EPOCHS["resnet50"] < 12  # the hour's budget: a ResNet-50 step costs about 3 ResNet-18 steps


@pytest.mark.slow
def test_gmslpa_rows_start_from_a_resnet50_trunk(open_table) -> None:
    from fer_lib.protocols import view_rows

    ctx, table = open_table("1", "synth-multiview", None, paper="gmslpa")
    runs = view_rows(ctx, table, {"table1_baseline": "BU-3DFEP1 / Baseline (ResNet50)"}, "synth-multiview", [0], 5,
                     {0: "0°"}, dataset_options={"angles": "bu3dfe"}, recipe_overrides={"init": "synth"})
    out = runs["table1_baseline"].runs[0][0]
    trunk = P.pretrained_trunk("synth", "smoke", "cpu", None, arch="resnet50")
    assert out.init == trunk.describe() and trunk.run.startswith("resnet50-")
    assert json.loads((out.run_dir / "spec.json").read_text())["init"]["trunk_run"] == trunk.run

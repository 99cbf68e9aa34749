"""The paper scale's dry run: the paper recipe field by field but two optimiser steps and one evaluation batch,
written to a scratch folder; CI dry-runs PCNN Tables II and V end to end through papermill."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from fer_lib import reproduce
from fer_lib.io import results_root
from fer_lib.protocols.training import PLAN_COLUMNS
from fer_lib.recipes import CPU_DRY_RUN_BATCH, DRY_RUN_FIELDS, DRY_RUN_STEPS, dry_run_recipe, get_recipe
from fer_lib.settings import RunContext


def _flat(recipe) -> dict:
    out = dataclasses.asdict(recipe)
    out.update({f"train.{k}": v for k, v in out.pop("train").items()})
    return out


@pytest.mark.parametrize("family", ["resnet", "pcnn", "gmslpa"])
def test_dry_run_recipe_is_the_paper_recipe_field_by_field(family):
    paper = get_recipe(family, "paper", "cpu")
    dry, why = dry_run_recipe(paper, "cpu")
    a, b = _flat(paper), _flat(dry)
    changed = {k for k in a if a[k] != b[k]}
    assert {k.removeprefix("train.") for k in changed} <= set(DRY_RUN_FIELDS)
    assert dry.image_size == 224 and dry.transform == paper.transform
    assert dry.train.max_batches_per_epoch == DRY_RUN_STEPS and dry.train.epochs == 1
    assert dry.train.batch_size == CPU_DRY_RUN_BATCH and dry.max_test == CPU_DRY_RUN_BATCH
    assert f"the paper's batch is {paper.train.batch_size}" in why
    on_gpu, why_gpu = dry_run_recipe(paper, "cuda")
    assert on_gpu.train.batch_size == paper.train.batch_size and "paper's batch is" not in why_gpu


def test_a_dry_run_is_the_paper_scale_only(tmp_path):
    with pytest.raises(ValueError, match="paper recipe"):
        dry_run_recipe(get_recipe("resnet", "cpu"), "cpu")
    with pytest.raises(ValueError, match="paper scale"):
        RunContext.resolve("pcnn", "v", scale="cpu", dry_run=True, quiet=True)
    ctx = RunContext.resolve("pcnn", "v", dry_run=True, quiet=True)
    assert ctx.scale == "paper" and ctx.output_dir.parts[-2:] == ("dry-run", "pcnn")
    with pytest.raises(ValueError, match="no dry_run parameter"):
        reproduce.run_table("pcnn", "pretraining", dry_run=True, output_dir=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("table", ["v", "ii"])
def test_ci_dry_runs_the_paper_tables(tmp_path, table):
    reproduce.run_table("pcnn", table, dry_run=True, output_dir=tmp_path)
    cells = pd.read_csv(tmp_path / f"table_{table}.csv")
    assert set(cells["scale"]) == {"paper"} and cells["note"].str.startswith("DRY RUN").all()
    assert "DRY RUN" in (tmp_path / f"table_{table}.md").read_text()
    specs = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/spec.json")]
    assert specs and all(s["recipe"]["image_size"] == 224 for s in specs)
    assert all(s["train"]["max_batches_per_epoch"] == DRY_RUN_STEPS for s in specs)
    assert not (results_root() / "pcnn" / f"table_{table}.csv").exists()  # never into results/
    # The plan: every training the table runs at the paper scale, at the paper's epochs and the full split size.
    plan = pd.read_csv(tmp_path / "plan" / f"{table}.csv")
    # (Without a data root both of Table II's columns are SynthFER: each run serves two cells, planned twice.)
    assert list(plan.columns) == list(PLAN_COLUMNS) and plan["run"].nunique() == len(specs) <= len(plan)
    assert set(plan["epochs"]) == {get_recipe("pcnn", "paper").train.epochs} and set(plan["image_size"]) == {224}
    assert (plan["train_images"] > 2 * CPU_DRY_RUN_BATCH).all()  # the split's size, not the dry run's cap
    assert set(plan["table"]) == {table} and set(plan["paper"]) == {"pcnn"}

"""``make gpu-check`` at a tiny size on the CPU: every measurement runs, the projection prices each table's plan,
and the report lands in its device folder."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from fer_lib import gpu_check
from fer_lib.protocols.training import PLAN_COLUMNS


def _plan_rows(table: str, runs: list[tuple[str, str, int]]) -> list[dict]:
    return [{"paper": "pcnn", "table": table, "run": run, "model": model, "model_options": "{}", "dataset": "fer2013",
             "dataset_options": "{}", "seed": 0, "recipe_family": "pcnn", "image_size": 224, "batch_size": 256,
             "epochs": 100, "train_images": images, "test_images": 300} for run, model, images in runs]


def test_projection_prices_each_table_and_counts_a_shared_run_once() -> None:
    plan = pd.DataFrame(_plan_rows("v", [("a", "resnet18", 1000), ("b", "pcnn", 1000), ("b", "pcnn", 1000)])
                        + _plan_rows("vi", [("b", "pcnn", 1000), ("c", "manet", 500)]), columns=list(PLAN_COLUMNS))
    speeds = pd.DataFrame([{"model": "resnet18", "images_per_s": 1000.0, "note": ""},
                           {"model": "resnet18", "images_per_s": 2000.0, "note": ""},  # the fastest setting counts
                           {"model": "pcnn", "images_per_s": 500.0, "note": ""},
                           {"model": "pcnn", "images_per_s": float("nan"), "note": "failed: out of memory"}])
    out = pd.DataFrame(gpu_check.project(plan, speeds)).set_index("table")
    # v: 100 epochs x 1000 images at 2000/s and at 500/s (run b serves two cells: trained once), plus 300 test
    # images each at 3x those speeds.
    expected_v = (100_000 + 100) / 2000 + (100_000 + 100) / 500
    assert out.loc["v", "hours"] == pytest.approx(expected_v / 3600)
    assert out.loc["vi", "priced_as_slowest"] == 1  # manet was not measured: priced as PCNN, and counted
    expected_all = expected_v + (50_000 + 100) / 500
    assert out.loc["ALL", "runs"] == 3 and out.loc["ALL", "hours"] == pytest.approx(expected_all / 3600)


@pytest.mark.parametrize(("name", "slug"), [("cuda (NVIDIA H200)", "nvidia-h200"),
                                            ("cpu (AMD EPYC, 2 threads)", "amd-epyc")])
def test_device_slug(name: str, slug: str) -> None:
    assert gpu_check.device_slug(name) == slug


def test_gpu_check_runs_on_a_cpu_at_a_tiny_size(tmp_path) -> None:
    plans = tmp_path / "dry-run" / "pcnn" / "plan"
    plans.mkdir(parents=True)
    pd.DataFrame(_plan_rows("v", [("a", "resnet18", 64), ("b", "pcnn", 64)])).to_csv(plans / "v.csv", index=False)
    readme = gpu_check.run_check("cpu", None, tiny=True, plans=[tmp_path / "dry-run"], out_root=tmp_path / "gpu",
                                 compiles=(False,), data_paths=True)
    assert readme.parent.name.endswith("-tiny") and readme.parent.parent == tmp_path / "gpu"
    speeds = pd.read_csv(readme.parent / "throughput.csv")
    assert set(speeds["model"]) == {"resnet18", "pcnn"} and (speeds["images_per_s"] > 0).all()
    assert speeds["data_share"].between(0, 1).all() and (speeds["peak_memory_mib"] > 0).all()
    epoch = json.loads((readme.parent / "epoch.json").read_text())["epoch"]
    assert epoch["dataset"] == "synth-inthewild" and epoch["epoch_seconds"] > 0  # no data root: SynthFER
    projection = pd.read_csv(readme.parent / "projection.csv")
    assert list(projection["table"]) == ["v", "ALL"] and (projection["hours"] > 0).all()
    paths = pd.read_csv(readme.parent / "data_paths.csv")
    assert set(paths["data_path"]) == set(gpu_check.DATA_PATHS)
    assert paths.loc[paths["data_path"] == "per-image", "vs_per_image"].eq(1.0).all()
    text = readme.read_text()
    assert "images/s" in text and "| pcnn | v |" in text


def test_plans_are_collected_and_a_table_planned_twice_is_read_once(tmp_path) -> None:
    fresh = tmp_path / "runs" / "dry-run" / "pcnn" / "plan"
    fresh.mkdir(parents=True)
    pd.DataFrame(_plan_rows("v", [("a", "resnet18", 10)])).to_csv(fresh / "v.csv", index=False)
    written = gpu_check.collect_plans(tmp_path / "runs" / "dry-run", tmp_path / "results")
    assert [p.name for p in written] == ["pcnn_v.csv"] and written[0].parent == tmp_path / "results" / "plan"
    # An older committed plan of the same table, and one of another table.
    pd.DataFrame(_plan_rows("v", [("old", "pcnn", 99)]) + _plan_rows("vi", [("b", "pcnn", 5)])).to_csv(
        written[0], index=False)
    plan = gpu_check.read_plans([tmp_path / "runs" / "dry-run", tmp_path / "results"])
    assert sorted(plan["run"]) == ["a", "b"]  # table v from the fresh dry run only


def test_path_accuracy_writes_each_path_per_seed(tmp_path) -> None:
    readme = gpu_check.run_path_accuracy(None, seeds=(0, 1), epochs=None, scale="smoke", out_root=tmp_path)
    runs = pd.read_csv(readme.parent / "data_path_accuracy.csv")
    assert sorted(set(runs["variant"])) == ["device-side", "in-memory"] and sorted(set(runs["seed"])) == [0, 1]
    assert (runs["dataset"] == "synth-inthewild").all() and (runs["scale"] == "smoke").all()
    assert runs.loc[runs["variant"] == "device-side", "recipe"].str.contains("resized per batch").all()
    assert "| device-side |" in readme.read_text()
    with pytest.raises(ValueError, match="include the reference"):
        gpu_check.run_path_accuracy(None, paths=("device-side",), scale="smoke", out_root=tmp_path)

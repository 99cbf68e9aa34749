"""Paired-by-seed comparisons of recipe variants: the summary's arithmetic and findings, and a real (smoke) run."""

from __future__ import annotations

import pandas as pd
import pytest

from fer_lib.protocols.comparisons import RUN_COLUMNS, compare_recipes, comparison_markdown, summarize_comparison
from fer_lib.settings import RunContext


def _runs(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [{"variant": name, "overrides": "", "seed": seed, "accuracy": acc, "test_images": 100,
             "train_images": 1000, "train_seconds": 1.0, "precision": "fp32", "init": "random", "recipe": "r"}
            for name, accs in values.items() for seed, acc in enumerate(accs)]
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS))


def test_summary_pairs_by_seed_and_names_the_finding() -> None:
    summary = summarize_comparison(_runs({"a": [60.0, 62.0, 64.0], "same": [60.2, 61.9, 64.1],
                                          "better": [62.0, 64.1, 65.9], "noisy": [63.0, 60.0, 66.0]}), "a").set_index(
        "variant")
    assert summary.loc["a", "finding"] == "the reference" and summary.loc["a", "mean"] == pytest.approx(62.0)
    # Paired differences 0.2, -0.1, 0.1: the seeds' own spread (std 2) is far larger than the unpaired gap.
    assert summary.loc["same", "diff_mean"] == pytest.approx(0.2 / 3)
    assert summary.loc["same", "finding"].startswith("no difference detected")
    assert summary.loc["same", "diff_ci_low"] < 0 < summary.loc["same", "diff_ci_high"]
    # 2.0, 2.1, 1.9: the interval of the paired difference excludes 0 although the means' spreads overlap.
    assert summary.loc["better", "finding"].startswith("differs: higher")
    # 3, -2, 2: the interval contains 0 and the mean (1) is within the seeds' std: not a detected difference.
    assert summary.loc["noisy", "diff_ci_low"] < 0 < summary.loc["noisy", "diff_ci_high"]


def test_one_seed_is_not_resolved() -> None:
    summary = summarize_comparison(_runs({"a": [60.0], "b": [61.0]}), "a").set_index("variant")
    assert summary.loc["b", "finding"].startswith("not resolved") and summary.loc["b", "diff_mean"] == 1.0
    assert pd.isna(summary.loc["b", "diff_ci_low"])
    runs = _runs({"a": [60.0], "b": [61.0]})
    assert "+1.00 (no interval: one seed)" in "\n".join(comparison_markdown(runs, summary.reset_index(), "t"))


def test_unknown_reference_raises_before_training(tmp_path) -> None:
    ctx = RunContext.resolve("pcnn", "x", "smoke", None, None, "cpu", [0], tmp_path, quiet=True)
    with pytest.raises(ValueError, match="reference variant"):
        compare_recipes(ctx, "resnet18", "synth-inthewild", {"a": {}}, reference="b")


def test_variants_train_separately_and_compare_by_seed(tmp_path) -> None:
    ctx = RunContext.resolve("pcnn", "x", "smoke", None, None, "cpu", [0, 1], tmp_path, quiet=True)
    variants = {"in-memory": {"in_memory": True}, "per-image": {"in_memory": False}}
    runs, summary = compare_recipes(ctx, "resnet18", "synth-inthewild", variants, "in-memory")
    assert list(runs["variant"]) == ["in-memory", "in-memory", "per-image", "per-image"]
    assert list(runs["seed"]) == [0, 1, 0, 1] and runs["accuracy"].between(0, 100).all()
    assert runs["recipe"].str.contains("data in memory").tolist() == [True, True, False, False]
    assert list(summary["variant"]) == ["in-memory", "per-image"]
    text = "\n".join(comparison_markdown(runs, summary, "t"))
    assert "| per-image | in_memory=False |" in text and "minus reference (95% CI)" in text

"""Does a change to the recipe change what training produces? Paired-by-seed comparisons of recipe variants.

The question a new code path must answer before it replaces an old one (the paper scale's device-side data
path against the in-memory path it replaces): train the same model on the same data once per variant and seed,
and compare each variant's test accuracy with the reference variant's, seed by seed. Seeds pair the runs: a
seed fixes the initialisation of the head and the shuffle order, so the per-seed difference isolates the
variant. The verdict is the 95 % Student-t interval of the mean paired difference over seeds, read beside the
seeds' own spread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fer_lib.metrics import mean_std, seed_ci
from fer_lib.protocols.tables import train_model
from fer_lib.settings import RunContext

#: The columns of :func:`compare_recipes`' per-run frame.
RUN_COLUMNS: tuple[str, ...] = (
    "variant", "overrides", "seed", "accuracy", "test_images", "train_images", "train_seconds", "precision", "init",
    "recipe",
)  # fmt: skip
#: The columns of :func:`compare_recipes`' summary (one row per variant).
SUMMARY_COLUMNS: tuple[str, ...] = (
    "variant", "reference", "seeds", "mean", "std", "diff_mean", "diff_ci_low", "diff_ci_high", "finding",
)  # fmt: skip


def compare_recipes(
    context: RunContext,
    model_name: str,
    dataset: str,
    variants: Mapping[str, Mapping[str, Any]],
    reference: str,
    common: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train ``model_name`` on ``dataset`` with each variant's recipe overrides (on top of ``common``) for every
    seed of ``context``, and compare each variant with ``reference`` paired by seed.

    Returns ``(runs, summary)``: one row per variant and seed (:data:`RUN_COLUMNS`; accuracy on the dataset's
    test split, in %), and one row per variant (:data:`SUMMARY_COLUMNS`): mean and standard deviation over seeds,
    the mean paired difference variant - reference with its 95 % interval (needs two seeds or more), and the
    finding in words. Runs go through the run cache like any table's, so an interrupted comparison resumes.
    """
    if reference not in variants:
        raise ValueError(f"the reference variant {reference!r} is not one of {sorted(variants)}")
    rows = []
    for variant, overrides in variants.items():
        recipe, outcomes = train_model(context, model_name, dataset, recipe_overrides={**dict(common or {}),
                                                                                     **dict(overrides)})
        for out in outcomes:
            test = out.metrics["test"]
            rows.append({"variant": variant, "overrides": _describe(overrides), "seed": out.seed,
                         "accuracy": float(test["accuracy"]), "test_images": len(test["targets"]),
                         "train_images": out.train_size, "train_seconds": out.train_seconds,
                         "precision": out.precision, "init": out.init, "recipe": recipe.describe()})
    runs = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    return runs, summarize_comparison(runs, reference)


def summarize_comparison(runs: pd.DataFrame, reference: str) -> pd.DataFrame:
    """One row per variant of ``runs`` (:data:`RUN_COLUMNS`): its mean and spread over seeds and its paired
    difference from ``reference`` (see :func:`compare_recipes`)."""
    by_variant = {name: dict(zip(group["seed"], group["accuracy"], strict=True))
                  for name, group in runs.groupby("variant", sort=False)}
    base = by_variant[reference]
    out = []
    for name, values in by_variant.items():
        mean, std = mean_std(list(values.values()))
        row = {"variant": name, "reference": reference, "seeds": ",".join(str(s) for s in sorted(values)),
               "mean": mean, "std": std, "diff_mean": float("nan"), "diff_ci_low": float("nan"),
               "diff_ci_high": float("nan"), "finding": "the reference"}
        if name != reference:
            diffs = [values[s] - base[s] for s in sorted(set(values) & set(base))]
            if diffs:
                row["diff_mean"] = mean_std(diffs)[0]
            if len(diffs) >= 2:
                row["diff_ci_low"], row["diff_ci_high"] = seed_ci(diffs)
            row["finding"] = _finding(row, max(std, mean_std(list(base.values()))[1]))
        out.append(row)
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


def _finding(row: dict[str, Any], seed_std: float) -> str:
    """The finding of a summary row whose paired difference and interval are filled in."""
    low, high, mean = row["diff_ci_low"], row["diff_ci_high"], row["diff_mean"]
    if pd.isna(low):
        return "not resolved: fewer than two paired seeds"
    if low > 0 or high < 0:
        side = "higher" if low > 0 else "lower"
        return f"differs: {side} than the reference (the 95% CI of the paired difference excludes 0)"
    if abs(mean) <= seed_std:
        return ("no difference detected: the 95% CI of the paired difference contains 0 and its mean is within "
                "one seed standard deviation")
    return "not resolved: the 95% CI contains 0 but the mean difference exceeds the seeds' standard deviation"


def _describe(overrides: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(overrides.items())) or "(the recipe as it is)"


def comparison_markdown(runs: pd.DataFrame, summary: pd.DataFrame, title: str) -> list[str]:
    """The comparison as Markdown lines: the recipe, the per-seed accuracies, the paired differences."""
    seeds = sorted(runs["seed"].unique())
    first = runs[runs["variant"] == summary["reference"].iloc[0]].iloc[0]
    lines = [f"## {title}", "",
             f"- recipe (reference): {first['recipe']}",
             f"- {int(first['train_images'])} training images, {int(first['test_images'])} test images; "
             f"initialisation: {first['init']}; precision: {first['precision']}", "",
             "| variant | overrides | " + " | ".join(f"seed {s}" for s in seeds)
             + " | mean ± std | minus reference (95% CI) | finding |",
             "|---|---|" + "---:|" * len(seeds) + "---:|---:|---|"]
    for r in summary.to_dict("records"):
        mine = runs[runs["variant"] == r["variant"]].set_index("seed")
        cells = " | ".join(f"{mine.loc[s, 'accuracy']:.2f}" if s in mine.index else "" for s in seeds)
        if r["variant"] == r["reference"]:
            diff = ""
        elif pd.isna(r["diff_ci_low"]):
            diff = f"{r['diff_mean']:+.2f} (no interval: one seed)"
        else:
            diff = f"{r['diff_mean']:+.2f} ({r['diff_ci_low']:+.2f} to {r['diff_ci_high']:+.2f})"
        lines.append(f"| {r['variant']} | {mine['overrides'].iloc[0]} | {cells} | {r['mean']:.2f} ± {r['std']:.2f} | "
                     f"{diff} | {r['finding']} |")
    return lines


__all__ = ["RUN_COLUMNS", "SUMMARY_COLUMNS", "comparison_markdown", "compare_recipes", "summarize_comparison"]

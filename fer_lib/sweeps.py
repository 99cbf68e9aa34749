"""Hyper-parameter sweeps behind the papers' figures.

:func:`balance_sweep` trains PCNN with several balance parameters (alpha, beta) of the two-phase
facial semantic loss ``alpha * CE(GPN) + beta * CE(LPN)`` (seed 000, Fig. 10). Each run has the
same specification as :func:`fer_lib.experiment.variant_rows` gives the PCNN presets with the same
weights, so the sweep reuses Table I's / Table II's trained models for (10, 10) and (12, 8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from fer_lib.experiment import load_split, train_and_evaluate
from fer_lib.losses import FacialSemanticLoss
from fer_lib.recipes import get_recipe


def balance_sweep(
    run,
    pairs: Sequence[tuple[float, float]],
    dataset: str,
    dataset_options: Mapping[str, Any] | None = None,
    model_options: Mapping[str, Any] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Train and test PCNN on ``dataset`` for each ``(alpha, beta)`` of ``pairs`` and each seed of ``run``.

    ``run`` supplies ``scale``, ``device``, ``data_root`` and ``seeds`` (a
    :class:`fer_lib.results.TableRun`). ``model_options`` change the PCNN (default: the paper
    configuration, e.g. ``{"pretrained_path": ...}``). Returns one row per (pair, seed) with columns
    ``alpha``, ``beta``, ``seed``, ``accuracy`` (%), ``ci_low``, ``ci_high`` (bootstrap 95%),
    ``n_test``, ``dataset``, ``scale``, ``from_cache`` and ``run`` (the run's folder under the run cache,
    ``fer_lib.io.runs_root()``: a name, so a committed table does not carry this machine's paths).
    """
    from fer_lib.metrics import bootstrap_ci

    if not pairs:
        raise ValueError("pairs is empty: give at least one (alpha, beta)")
    opts = dict(dataset_options or {})
    recipe = get_recipe("pcnn", run.scale, run.device, **dict(recipe_overrides or {}))
    print(recipe.describe())
    test_set = load_split(dataset, "test", recipe, run.data_root, train=False, **opts)
    rows = []
    for seed in run.seeds:
        train_set = load_split(dataset, "train", recipe, run.data_root, seed=seed, **opts)
        for alpha, beta in pairs:
            # Floats, as in the presets: the run-cache key hashes the JSON text (12 and 12.0 differ).
            alpha, beta = float(alpha), float(beta)
            out = train_and_evaluate("pcnn", recipe, train_set, {"test": test_set}, seed=seed,
                                     model_options=dict(model_options or {}),
                                     loss_fn=FacialSemanticLoss(alpha=alpha, beta=beta), dataset_name=dataset,
                                     dataset_options=opts)
            test = out.metrics["test"]
            low, high = bootstrap_ci(test["targets"], test["predictions"])
            cached = " (cached)" if out.from_cache else ""
            print(f"alpha={alpha:g}, beta={beta:g}, seed {seed}: {test['accuracy']:.2f}% on {len(test_set)} "
                  f"test images{cached}")
            rows.append({"alpha": alpha, "beta": beta, "seed": seed, "accuracy": test["accuracy"], "ci_low": low,
                         "ci_high": high, "n_test": len(test_set), "dataset": dataset, "scale": run.scale,
                         "from_cache": out.from_cache,
                         "run": out.run_dir.name if out.run_dir is not None else ""})
    return pd.DataFrame(rows)


__all__ = ["balance_sweep"]

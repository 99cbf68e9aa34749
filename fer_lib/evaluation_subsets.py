"""Evaluation beyond one test split: occlusion / pose test subsets and subject-independent folds.

Tables VIII and IX of PCNN (seed 000) test models trained on a base dataset (RAF-DB, FERPlus) on
subsets of its test set (the RAN occlusion and pose lists); Tables III and IV (CK+, JAFFE) use
subject-independent folds. The functions here add those protocols on top of
:mod:`fer_lib.experiment` without changing how a model is trained:

- :func:`train_model` trains (or loads from the run cache) exactly the run that
  :func:`fer_lib.experiment.accuracy_rows` trains for the same model, dataset, scale and seed, and
  evaluates it on any extra test sets — so Tables VIII/IX reuse Tables VI/VII's models and the
  figure notebooks reuse the tables' models;
- :func:`subset_source` / :func:`load_subset` name and load the subset of a base dataset: the RAN
  lists for real data (``<data_root>/ran_lists``), ``subset=...`` of SynthFER for synthetic data;
- :func:`subset_rows` fills a table whose columns are subsets;
- :func:`fold_rows` trains and tests on subject-independent folds.

``run`` arguments are :class:`fer_lib.results.TableRun` objects (only ``scale``, ``device``,
``data_root`` and ``seeds`` are read, plus ``add`` in the ``*_rows`` functions).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fer_lib.data import FERDataset
from fer_lib.experiment import RunOutcome, load_split, model_loss, recipe_family, train_and_evaluate
from fer_lib.recipes import Recipe, get_recipe

#: Subset kinds of a base test set (the RAN lists' conditions).
SUBSET_KINDS: tuple[str, ...] = ("occlusion", "pose>30", "pose>45")

#: (real base dataset, subset kind) -> registered subset dataset (see :mod:`fer_lib.data.occlusion_pose`).
REAL_SUBSETS: dict[tuple[str, str], str] = {
    ("rafdb", "occlusion"): "rafdb-occlusion",
    ("rafdb", "pose>30"): "rafdb-pose30",
    ("rafdb", "pose>45"): "rafdb-pose45",
    ("ferplus", "occlusion"): "ferplus-occlusion",
    ("ferplus", "pose>30"): "ferplus-pose30",
    ("ferplus", "pose>45"): "ferplus-pose45",
}

#: Sub-folder of ``data_root`` holding the RAN lists (``RAF_DB_dir/``, ``FERplus_dir/``).
LISTS_DIR = "ran_lists"


def lists_root(data_root: str | os.PathLike) -> Path:
    """The folder of the RAN lists: ``<data_root>/ran_lists`` when present, else ``data_root`` itself."""
    root = Path(data_root).expanduser()
    return root / LISTS_DIR if (root / LISTS_DIR).is_dir() else root


def subset_source(
    base: str, kind: str, data_root: str | os.PathLike | None = None
) -> tuple[str, dict[str, Any]]:
    """``(dataset name, loader options)`` of the ``kind`` subset of ``base``'s test set.

    Synthetic bases (``synth-*``) select the subset with ``subset=kind``; real bases use the RAN
    list datasets with ``lists_root`` under ``data_root``. Raises ``ValueError`` for an unknown
    kind or a base dataset without such a subset.
    """
    if kind not in SUBSET_KINDS:
        raise ValueError(f"unknown subset kind {kind!r}; expected one of {', '.join(SUBSET_KINDS)}")
    if base.startswith("synth"):
        return base, {"subset": kind}
    key = (base.split("-")[0], kind)
    if key not in REAL_SUBSETS:
        bases = sorted({b for b, _ in REAL_SUBSETS})
        raise ValueError(f"dataset {base!r} has no {kind!r} test subset; real bases with subsets: {bases}")
    if data_root is None:
        raise ValueError(f"the {kind} subset of {base!r} is real data: pass data_root (holding {LISTS_DIR}/)")
    return REAL_SUBSETS[key], {"lists_root": str(lists_root(data_root))}


def load_subset(
    base: str, kind: str, recipe: Recipe, data_root: str | os.PathLike | None = None, **options: Any
) -> FERDataset:
    """The ``kind`` subset of ``base``'s test set with the recipe's evaluation transform and test cap."""
    name, opts = subset_source(base, kind, data_root)
    return load_split(name, "test", recipe, data_root, train=False, **{**opts, **options})


def train_model(
    run,
    model_name: str,
    dataset: str,
    extra_tests: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
    train_split: str = "train",
    test_split: str = "test",
    model_options: Mapping[str, Any] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> tuple[Recipe, list[RunOutcome]]:
    """Train ``model_name`` on ``dataset`` for every seed of ``run`` (the loop behind
    :func:`fer_lib.experiment.accuracy_rows`: same splits, recipe, loss and run-cache key, so a
    model trained by a table notebook is loaded, not retrained) and evaluate it on the test split
    (``metrics["test"]``) and on every ``extra_tests`` entry (``{metrics key: (dataset, loader
    options)}``, loaded with the same recipe). Returns the recipe and one outcome per seed.
    """
    recipe = get_recipe(recipe_family(model_name), run.scale, run.device, **dict(recipe_overrides or {}))
    print(recipe.describe())
    test_set = load_split(dataset, test_split, recipe, run.data_root, train=False, seed=0)
    extra = {key: load_split(name, "test", recipe, run.data_root, train=False, seed=0, **dict(opts))
             for key, (name, opts) in (extra_tests or {}).items()}
    outcomes = []
    for seed in run.seeds:
        train_set = load_split(dataset, train_split, recipe, run.data_root, seed=seed)
        out = train_and_evaluate(model_name, recipe, train_set, {"test": test_set, **extra}, seed=seed,
                                 model_options=model_options, loss_fn=model_loss(model_name), dataset_name=dataset)
        cached = " (loaded from the run cache)" if out.from_cache else ""
        sizes = ", ".join(f"{k} {len(v)}" for k, v in {"test": test_set, **extra}.items())
        print(f"{model_name} on {dataset}, seed {seed}{cached}: " + ", ".join(
            f"{k} {m['accuracy']:.2f}%" for k, m in out.metrics.items()) + f" (images: {sizes})")
        outcomes.append(out)
    return recipe, outcomes


def subset_rows(
    run,
    models: Mapping[str, str],
    columns: Mapping[str, tuple[str, str]],
    full_test_columns: Mapping[str, str] | None = None,
    model_options: Mapping[str, Mapping[str, Any]] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> dict[tuple[str, str], list[RunOutcome]]:
    """Fill a table whose columns are test subsets.

    ``models``: ``{model name: paper row}``; ``columns``: ``{paper column: (base dataset, subset
    kind)}``. Each model is trained once per base dataset (see :func:`train_model`) and evaluated on
    each of its columns' subsets; one cell per (row, column), the mean ± std over seeds with the
    first seed's bootstrap CI. ``full_test_columns`` (``{base dataset: column label}``) also adds
    the base's whole test set as a column, to show the drop on the subsets. Returns the outcomes
    per (model name, base dataset).
    """
    from fer_lib.metrics import bootstrap_ci
    from fer_lib.models import list_models

    bases: dict[str, dict[str, str]] = {}
    for column, (base, kind) in columns.items():
        bases.setdefault(base, {})[column] = kind
    outcomes: dict[tuple[str, str], list[RunOutcome]] = {}
    for model_name, paper_row in models.items():
        if model_name not in list_models():
            print(f"skipping {model_name}: not available in this version of fer_lib")
            continue
        for base, kinds in bases.items():
            sources = {column: subset_source(base, kind, run.data_root) for column, kind in kinds.items()}
            recipe, outs = train_model(run, model_name, base, sources,
                                       model_options=(model_options or {}).get(model_name),
                                       recipe_overrides=recipe_overrides)
            outcomes[(model_name, base)] = outs
            # column -> (metrics key, dataset name, what the cell was tested on)
            cells = {column: (column, sources[column][0], f"{sources[column][0]}"
                              + (f" subset {kinds[column]}" if base.startswith("synth") else ""))
                     for column in kinds}
            if full_test_columns and base in full_test_columns:
                cells[full_test_columns[base]] = ("test", base, f"the whole {base} test set")
            for column, (key, name, what) in cells.items():
                first = outs[0].metrics[key]
                run.add(paper_row, column, [o.metrics[key]["accuracy"] for o in outs],
                        ci=bootstrap_ci(first["targets"], first["predictions"]), dataset=name, runs=outs,
                        note=f"trained on {base} ({recipe.scale} recipe), tested on {len(first['targets'])} images "
                             f"of {what}")
    return outcomes


def fold_rows(
    run,
    models: Mapping[str, str],
    dataset: str,
    folds: Sequence[int],
    num_folds: int,
    column: str = "Accuracy(%)",
    dataset_options: Mapping[str, Any] | None = None,
    model_options: Mapping[str, Mapping[str, Any]] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> dict[str, list[list[RunOutcome]]]:
    """Subject-independent cross-validation: for each model of ``models`` (``{model name: paper
    row}``), each seed of ``run`` and each fold of ``folds`` (of ``num_folds``), train on the other
    folds and test on the fold. Adds one cell per model: per seed, the accuracy of the pooled
    predictions of the folds run (every test image counted once); mean ± std over seeds, bootstrap
    CI of the first seed's pooled predictions. The loader gets ``split``, ``fold`` and
    ``dataset_options``; its fold assignment must be subject-independent and have ``num_folds``
    folds (CK+, JAFFE's leave-one-subject-out on its 10 subjects and ``synth-rgbd`` all have 10 by
    default; pass e.g. ``{"num_folds": 5}`` where a loader takes it). Returns ``{model name:
    [[outcome per fold] per seed]}``.
    """
    from fer_lib.metrics import accuracy, bootstrap_ci
    from fer_lib.models import list_models

    folds = [int(f) for f in folds]
    if not folds or any(not 0 <= f < num_folds for f in folds):
        raise ValueError(f"folds must be a non-empty list of indices in 0..{num_folds - 1}, got {folds}")
    opts = dict(dataset_options or {})
    outcomes: dict[str, list[list[RunOutcome]]] = {}
    for model_name, paper_row in models.items():
        if model_name not in list_models():
            print(f"skipping {model_name}: not available in this version of fer_lib")
            continue
        recipe = get_recipe(recipe_family(model_name), run.scale, run.device, **dict(recipe_overrides or {}))
        print(recipe.describe())
        per_seed: list[list[RunOutcome]] = []
        pooled: list[tuple[np.ndarray, np.ndarray]] = []
        for seed in run.seeds:
            outs, targets, preds = [], [], []
            for fold in folds:
                train_set = load_split(dataset, "train", recipe, run.data_root, seed=seed, fold=fold, **opts)
                test_set = load_split(dataset, "test", recipe, run.data_root, train=False, fold=fold, **opts)
                out = train_and_evaluate(model_name, recipe, train_set, {"test": test_set}, seed=seed,
                                         model_options=(model_options or {}).get(model_name),
                                         loss_fn=model_loss(model_name), dataset_name=dataset,
                                         dataset_options=opts, spec_extra={"fold": fold})
                test = out.metrics["test"]
                cached = " (loaded from the run cache)" if out.from_cache else ""
                print(f"{model_name} seed {seed} fold {fold}/{num_folds}: {test['accuracy']:.2f}% on "
                      f"{len(test_set)} test images ({len(train_set)} training){cached}")
                outs.append(out)
                targets.append(test["targets"])
                preds.append(test["predictions"])
            per_seed.append(outs)
            pooled.append((np.concatenate(targets), np.concatenate(preds)))
        outcomes[model_name] = per_seed
        values = [accuracy(t, p) for t, p in pooled]
        scope = "all folds" if len(folds) == num_folds else f"fold(s) {', '.join(map(str, folds))} of {num_folds}"
        run.add(paper_row, column, values, ci=bootstrap_ci(*pooled[0]), dataset=dataset,
                runs=[out for outs in per_seed for out in outs],
                note=f"trained here ({recipe.scale} recipe), subject-independent {scope}, "
                     f"{len(pooled[0][0])} test images")
    return outcomes


__all__ = [
    "LISTS_DIR",
    "REAL_SUBSETS",
    "SUBSET_KINDS",
    "fold_rows",
    "lists_root",
    "load_subset",
    "subset_rows",
    "subset_source",
    "train_model",
]

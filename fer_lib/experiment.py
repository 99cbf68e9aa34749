"""The steps every table notebook shares: load a split at a scale, train (or load from the run
cache) a model with a recipe, and evaluate it — so the notebooks themselves stay a parameters cell,
a few calls, a table and a figure.

``data_root`` convention: a folder with one sub-folder per dataset, named as in :data:`DATASET_DIRS`
(``fer2013/``, ``ferplus/``, ``rafdb/``, ``ran_lists/`` ...), which is also the layout of the
development data in ``../shared/data``. A ``data_root`` that is itself a dataset's folder works too.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fer_lib.data import FERDataset, load_dataset
from fer_lib.data.transforms import build_transform
from fer_lib.engine import evaluate, train_cached
from fer_lib.models import create_model
from fer_lib.models import model_options as model_options_of
from fer_lib.recipes import Recipe

#: Sub-folder of ``data_root`` holding each dataset.
DATASET_DIRS: dict[str, str] = {
    "fer2013": "fer2013",
    "ferplus": "ferplus",
    "rafdb": "rafdb",
    "ckplus": "ckplus",
    "jaffe": "jaffe",
    "affectnet": "affectnet",
}


def dataset_root(data_root: str | os.PathLike, dataset: str) -> Path:
    """The folder of ``dataset`` under ``data_root`` (``data_root/<name>`` if present, else ``data_root``)."""
    base = dataset.split("-")[0]
    root = Path(data_root).expanduser()
    sub = root / DATASET_DIRS.get(base, base)
    return sub if sub.is_dir() else root


def stratified_subsample(dataset: FERDataset, n: int | None, seed: int = 0) -> FERDataset:
    """At most ``n`` samples keeping the class proportions (deterministic for a seed)."""
    if n is None or n >= len(dataset):
        return dataset
    rng = np.random.default_rng(seed)
    targets = dataset.targets
    chosen = []
    for cls in np.unique(targets):
        idx = np.flatnonzero(targets == cls)
        take = max(1, round(n * len(idx) / len(targets)))
        chosen.append(rng.choice(idx, size=min(take, len(idx)), replace=False))
    indices = np.sort(np.concatenate(chosen))[:n]
    return dataset.subset(indices)


def load_split(
    dataset: str,
    split: str,
    recipe: Recipe,
    data_root: str | os.PathLike | None = None,
    train: bool | None = None,
    seed: int = 0,
    **options: Any,
) -> FERDataset:
    """Load ``split`` of ``dataset`` with the recipe's transform, subsampled to the recipe's size.

    Synthetic datasets are generated at the recipe's scale and image size; real ones are read from
    ``data_root``. ``train`` (default: ``split == "train"``) selects augmentation and the size cap.
    """
    train = (split == "train") if train is None else train
    transform = build_transform(recipe.transform, recipe.image_size, train=train)
    if dataset.startswith("synth"):
        ds = load_dataset(dataset, split=split, scale=recipe.scale, image_size=recipe.image_size,
                          transform=transform, **options)
    else:
        if data_root is None:
            raise ValueError(f"dataset {dataset!r} is real data: pass data_root (the folder holding your copy)")
        ds = load_dataset(dataset, root=dataset_root(data_root, dataset), split=split, transform=transform,
                          **options)
    return stratified_subsample(ds, recipe.max_train if train else recipe.max_test, seed)


@dataclasses.dataclass
class RunOutcome:
    """A trained model and its evaluation on one or more test sets."""

    model: nn.Module
    metrics: dict[str, dict[str, Any]]
    history: Any
    run_dir: Path | None
    from_cache: bool
    wall_seconds: float
    classes: list[str] = dataclasses.field(default_factory=list)
    train_size: int = 0
    #: How long the training itself took (when the run was trained, also for a run loaded from the cache).
    train_seconds: float = float("nan")


def train_and_evaluate(
    model_name: str,
    recipe: Recipe,
    train_set: FERDataset,
    test_sets: Mapping[str, FERDataset],
    seed: int = 0,
    model_options: Mapping[str, Any] | None = None,
    loss_fn: Callable | None = None,
    spec_extra: Mapping[str, Any] | None = None,
    dataset_name: str | None = None,
    dataset_options: Mapping[str, Any] | None = None,
) -> RunOutcome:
    """Train ``create_model(model_name, **model_options)`` with ``recipe`` and ``seed`` (or load the
    cached run with the same specification) and evaluate it on every test set.

    The run cache key covers the model and its options, the dataset, its loader options and its size,
    the recipe, the loss (:func:`fer_lib.losses.loss_identity`), the seed and ``spec_extra`` (anything
    else that changes the weights, e.g. a fold). Every table that trains the same model the same way
    therefore shares one run.
    """
    from fer_lib.losses import loss_identity, loss_weight_sum

    model_options = dict(model_options or {})
    num_classes = len(train_set.classes)
    if "image_size" in model_options_of(model_name):
        model_options.setdefault("image_size", recipe.image_size)
    spec = {
        "model": model_name, "model_options": model_options, "num_classes": num_classes,
        "dataset": dataset_name or getattr(train_set, "name", "dataset"),
        "dataset_options": dict(dataset_options or {}), "train_size": len(train_set),
        "classes": list(train_set.classes), "recipe": recipe.identity(), "loss": loss_identity(loss_fn),
        "seed": seed, **dict(spec_extra or {}),
    }
    cfg = dataclasses.replace(recipe.train, seed=seed, lr=recipe.lr_for(loss_weight_sum(loss_fn)))
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    model, result = train_cached(spec, lambda: create_model(model_name, num_classes=num_classes, **model_options),
                                 train_set, cfg, loss_fn=loss_fn)
    metrics = {name: evaluate(model, ds, batch_size=cfg.eval_batch_size or 128, device=cfg.device)
               for name, ds in test_sets.items()}
    return RunOutcome(model, metrics, result.history, result.run_dir, result.from_cache,
                      time.perf_counter() - t0, list(train_set.classes), len(train_set), float(result.wall_seconds))


def recipe_family(model_name: str) -> str:
    """Which recipe family trains ``model_name`` (PCNN and its variants vs plain baselines)."""
    return "pcnn" if model_name.startswith("pcnn") else "resnet"


def model_loss(model_name: str, **loss_options: Any) -> Callable | None:
    """The training loss a model family uses; ``None`` = CE on the logits.

    PCNN: the two-phase facial semantic loss. MA-Net: CE on each branch, weighted by beta (0.6) for the
    local and 1 - beta for the global branch, as its paper trains it (not CE on the fused logits).
    """
    if model_name.startswith("pcnn"):
        from fer_lib.losses import FacialSemanticLoss

        return FacialSemanticLoss(**loss_options)
    if model_name.startswith("manet"):
        from fer_lib.models.manet import MANetLoss

        return MANetLoss(**loss_options)
    return None


def accuracy_rows(
    run,
    models: Mapping[str, str],
    column: str = "Accuracy(%)",
    train_split: str = "train",
    test_split: str = "test",
    model_options: Mapping[str, Mapping[str, Any]] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> dict[str, list[RunOutcome]]:
    """Train and test each model of ``models`` (``{model name: paper row label}``) on ``run.dataset``
    for every seed of ``run``, and add one cell per model (mean ± std over seeds; 95% CI: a bootstrap over the
    test images for one seed, the t-interval over seeds for several) to ``run``. Models not registered in this
    version of fer_lib are reported and skipped.
    """
    from fer_lib.evaluation_subsets import train_model  # it builds on this module
    from fer_lib.metrics import bootstrap_ci
    from fer_lib.models import list_models

    outcomes: dict[str, list[RunOutcome]] = {}
    for model_name, paper_row in models.items():
        if model_name not in list_models():
            print(f"skipping {model_name}: not available in this version of fer_lib")
            continue
        recipe, outcomes[model_name] = train_model(
            run, model_name, run.dataset, train_split=train_split, test_split=test_split,
            model_options=(model_options or {}).get(model_name), recipe_overrides=recipe_overrides,
        )  # fmt: skip
        first = outcomes[model_name][0].metrics["test"]
        run.add(paper_row, column, [o.metrics["test"]["accuracy"] for o in outcomes[model_name]],
                ci=bootstrap_ci(first["targets"], first["predictions"]), runs=outcomes[model_name],
                note=f"trained here ({recipe.scale} recipe, {outcomes[model_name][0].train_size} training images)")
    return outcomes


def resolve_dataset(real_name: str, data_root: str | os.PathLike | None, synthetic_name: str = "synth-inthewild",
                    **options: Any) -> tuple[str, str]:
    """``(dataset name, reason)``: ``real_name`` when its data is readable under ``data_root``, else
    ``synthetic_name`` with the reason (no data root, or the loader's layout error — e.g. RAF-DB's labels
    without its images)."""
    if data_root is None:
        return synthetic_name, "no data_root given"
    try:
        load_dataset(real_name, root=dataset_root(data_root, real_name), split="test", **options)
    except (FileNotFoundError, ValueError) as err:
        return synthetic_name, f"{real_name} not usable under {data_root}: {err}"
    return real_name, "real data found"


def variant_rows(
    run,
    variants: Mapping[str, str],
    columns: Mapping[str, str],
    dataset_options: Mapping[str, Mapping[str, Any]] | None = None,
    model_overrides: Mapping[str, Any] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> dict[tuple[str, str], list[RunOutcome]]:
    """Train every PCNN preset of ``variants`` (``{preset name: paper row}``, see
    :func:`fer_lib.models.pcnn.pcnn_variant`) on every dataset of ``columns`` (``{paper column: dataset
    name}``) for each seed of ``run``, and add one cell per (row, column) to ``run``.

    The preset fixes the model, its options and the loss weights (alpha, beta); the recipe follows the
    model family at ``run.scale``. ``dataset_options`` passes loader options per dataset (e.g. FERPlus
    ``label_mode``); ``model_overrides`` (e.g. ``pretrained_path``) apply to every preset.
    """
    from fer_lib.metrics import bootstrap_ci
    from fer_lib.models.pcnn import pcnn_variant
    from fer_lib.recipes import get_recipe

    outcomes: dict[tuple[str, str], list[RunOutcome]] = {}
    splits: dict[tuple, FERDataset] = {}

    def split_for(dataset: str, split: str, recipe: Recipe, seed: int, opts: dict) -> FERDataset:
        # Presets of one family share their recipe: load (and subsample) each split once, not once per row.
        key = (dataset, split, recipe.image_size, recipe.transform, recipe.max_train, recipe.max_test, seed,
               tuple(sorted(opts.items())))
        if key not in splits:
            splits[key] = load_split(dataset, split, recipe, run.data_root, seed=seed, **opts)
        return splits[key]

    for column, dataset in columns.items():
        opts = dict((dataset_options or {}).get(dataset, {}))
        for preset_name, paper_row in variants.items():
            preset = pcnn_variant(preset_name)
            recipe = get_recipe(recipe_family(preset.model), run.scale, run.device, **dict(recipe_overrides or {}))
            options = {**preset.model_kwargs, **dict(model_overrides or {})}
            if not preset.paper_pretrained:
                options.pop("pretrained_path", None)  # the paper trained this row from scratch
            runs = []
            for seed in run.seeds:
                train_set = split_for(dataset, "train", recipe, seed, opts)
                test_set = split_for(dataset, "test", recipe, 0, opts)
                loss = preset.loss() if preset.model == "pcnn" else None
                out = train_and_evaluate(preset.model, recipe, train_set, {"test": test_set}, seed=seed,
                                         model_options=options, loss_fn=loss, dataset_name=dataset,
                                         dataset_options=opts)
                cached = " (cached)" if out.from_cache else ""
                print(f"[{column}: {dataset}] {paper_row} seed {seed}: {out.metrics['test']['accuracy']:.2f}%"
                      f" in {out.wall_seconds:.0f} s{cached}")
                runs.append(out)
            first = runs[0].metrics["test"]
            run.add(paper_row, column, [o.metrics["test"]["accuracy"] for o in runs],
                    ci=bootstrap_ci(first["targets"], first["predictions"]), dataset=dataset, runs=runs,
                    note=f"{preset_name}: alpha={preset.alpha:g}, beta={preset.beta:g}; {recipe.scale} recipe, "
                         f"{len(train_set)} training images")
            outcomes[(paper_row, column)] = runs
    return outcomes

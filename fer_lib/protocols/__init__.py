"""Table protocols: how a paper's table turns trainings into reproduced cells.

Layers, bottom up (each imports only the ones above it in this list)::

    splits.py    load a dataset split as a recipe trains/tests on it; occlusion/pose test subsets
    training.py  ModelSetup (model, options, loss), TrainingJob (setup, recipe, dataset) and run_seeds, the ONE
                 per-seed loop: train or load from the run cache (fer_lib.runs), evaluate, print a line per seed
    presets.py   table-row presets (a row's ModelSetup), registered per paper
    tables.py    the protocols: accuracy_rows, variant_rows, subset_rows, variant_subset_rows, fold_rows,
                 init_rows, balance_sweep, train_model
    views.py     multi-view and cross-dataset protocols: view_rows, class_view_rows, transfer_rows
    comparisons.py  compare_recipes: recipe variants trained per seed, compared paired by seed
    <paper>.py   a paper's presets (pcnn.py: Tables I and II; gmslpa.py: Tables 1-4, 6, Fig. 9)
                 poster.py: Table 1 (per-class recalls of a confusion matrix, the stratified 122-image subset)

A notebook resolves its settings (:class:`fer_lib.settings.RunContext`), opens a
:class:`fer_lib.results.ResultTable`, and calls one protocol::

    ctx = RunContext.resolve("pcnn", "v", scale, dataset, data_root, device, seeds, output_dir,
                             real_dataset="fer2013")
    table = ResultTable(ctx)
    outcomes = accuracy_rows(ctx, table, {"resnet18": "ResNet-18 [17]", "pcnn": "PCNN(Ours)"})
    table.save()
"""

from __future__ import annotations

from fer_lib.protocols import cmcnn, gmslpa, pcnn, poster  # noqa: F401 -- registers the papers' table-row presets
from fer_lib.protocols.comparisons import compare_recipes
from fer_lib.protocols.presets import Preset, get_preset, list_presets, register_presets, select_rows
from fer_lib.protocols.splits import (
    LISTS_DIR,
    REAL_SUBSETS,
    SUBSET_KINDS,
    lists_root,
    load_split,
    load_subset,
    stratified_subsample,
    subset_source,
)
from fer_lib.protocols.tables import (
    accuracy_rows,
    balance_sweep,
    fold_rows,
    init_rows,
    subset_rows,
    train_model,
    variant_rows,
    variant_subset_rows,
)
from fer_lib.protocols.training import (
    ModelSetup,
    RunOutcome,
    TrainingJob,
    default_loss,
    recipe_for,
    run_seeds,
    train_and_evaluate,
)
from fer_lib.protocols.views import ViewPredictions, class_view_rows, transfer_rows, view_rows
from fer_lib.settings import RunContext, resolve_dataset

__all__ = [
    "LISTS_DIR",
    "ModelSetup",
    "REAL_SUBSETS",
    "SUBSET_KINDS",
    "Preset",
    "RunContext",
    "RunOutcome",
    "TrainingJob",
    "ViewPredictions",
    "accuracy_rows",
    "balance_sweep",
    "class_view_rows",
    "compare_recipes",
    "default_loss",
    "fold_rows",
    "init_rows",
    "get_preset",
    "list_presets",
    "lists_root",
    "load_split",
    "load_subset",
    "recipe_for",
    "register_presets",
    "resolve_dataset",
    "run_seeds",
    "select_rows",
    "stratified_subsample",
    "subset_rows",
    "subset_source",
    "train_and_evaluate",
    "train_model",
    "transfer_rows",
    "variant_rows",
    "variant_subset_rows",
    "view_rows",
]

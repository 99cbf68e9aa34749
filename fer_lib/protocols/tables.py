"""The table protocols: how a paper's table turns trainings into reproduced cells.

Every protocol builds :class:`~fer_lib.protocols.training.TrainingJob` s, runs them through the one
per-seed loop (:func:`~fer_lib.protocols.training.run_seeds`) and adds one cell per (row, column) to a
:class:`fer_lib.results.ResultTable` — the mean over seeds; the 95% interval is a bootstrap over the
test images for one seed and the t-interval over seeds for several (``ResultTable.add``).

- :func:`accuracy_rows`: models x one dataset (PCNN Tables V-VII).
- :func:`variant_rows`: a paper's table-row presets x datasets (ablations, PCNN Tables I-II).
- :func:`subset_rows`: models trained on a base dataset, tested on its occlusion / pose subsets (VIII-IX);
  :func:`variant_subset_rows` the same for table-row presets (GMS-LPA Table 11).
- :func:`fold_rows`: subject-independent cross-validation, predictions pooled over folds (III-IV).
- multi-view and cross-dataset protocols (GMS-LPA Tables 1-12): :mod:`fer_lib.protocols.views`.
- :func:`balance_sweep`: PCNN's loss weights (alpha, beta) swept (Fig. 10); returns a frame.
- :func:`train_model`: the training behind :func:`accuracy_rows`, for figures that need the models.
- :func:`init_rows`: one model from different initialisations (random, pretrained trunks) x datasets.

Unknown model or preset names raise before anything trains: a typo never silently loses a row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fer_lib.data import FERDataset
from fer_lib.metrics import accuracy, bootstrap_ci, majority_floor
from fer_lib.models import check_model, model_defaults, model_family, model_options
from fer_lib.protocols import grid
from fer_lib.protocols.jobs import submit
from fer_lib.protocols.landmarks import trained_landmark_stream
from fer_lib.protocols.presets import Preset, get_preset
from fer_lib.protocols.pretrain import pretrained_trunk, resolve_source
from fer_lib.protocols.splits import load_split, subset_source
from fer_lib.protocols.training import (
    TRAINED_LANDMARKS,
    ModelSetup,
    PretrainedTrunk,
    RunOutcome,
    RunTask,
    TrainingJob,
    cached_run,
    recipe_for,
    run_seeds,
)
from fer_lib.recipes import Recipe
from fer_lib.results import ResultTable
from fer_lib.settings import RunContext


def _check_models(models: Mapping[str, Any]) -> None:
    for name in models:
        check_model(name)


def _add_accuracy_cell(
    table: ResultTable,
    row: str,
    column: str,
    runs: Sequence[RunOutcome],
    values: Sequence[float],
    ci: tuple[float, float] | None,
    dataset: str,
    note: str,
    targets: Any = None,
) -> None:
    """One cell: a value per seed; ``ci`` (a bootstrap over the test images) is kept for one seed only;
    ``targets`` (the test labels) give the cell's majority-class floor. A run whose job failed makes the cell
    MISSING (NaN), with the job's error in its note."""
    failed = [o for o in runs if getattr(o, "failure", "")]
    if failed:
        reason = failed[0].failure.strip().splitlines()[0] if failed[0].failure.strip() else "unknown"
        note = f"MISSING: the job of seed(s) {', '.join(str(o.seed) for o in failed)} failed ({reason}); {note}"
    floor = majority_floor(targets) if targets is not None and len(targets) else None
    table.add(row, column, values, ci=ci if len(values) == 1 else None, dataset=dataset, runs=runs, note=note,
              majority_floor=floor)


def _add_test_cell(table: ResultTable, row: str, column: str, runs: Sequence[RunOutcome], key: str, dataset: str,
                   note: str) -> None:
    tests = [o.metrics[key] for o in runs]
    # The evaluation already computed the bootstrap CI (metrics.summarize): reuse it.
    _add_accuracy_cell(table, row, column, runs, [t["accuracy"] for t in tests],
                       (tests[0]["ci_low"], tests[0]["ci_high"]), dataset, note, tests[0]["targets"])


def _job(context: RunContext, setup: ModelSetup, dataset: str, recipe_overrides: Mapping[str, Any] | None = None,
         **fields: Any) -> TrainingJob:
    """A job for ``setup`` on ``dataset`` with its family's recipe at the context's scale."""
    return TrainingJob(setup, dataset, recipe_for(setup.model, context, **dict(recipe_overrides or {})), **fields)


def _run(context: RunContext, job: TrainingJob, tests: Mapping[str, FERDataset],
         pretrained: bool = True) -> list[RunOutcome]:
    """:func:`run_seeds`, starting from the recipe's pretrained trunk when it names one, the model takes it and
    the row is ``pretrained`` (a table row the paper trained from scratch is not; a ``pretrained_path`` the
    caller gave wins)."""
    init = None
    if (pretrained and job.recipe.init and "pretrained_path" in model_options(job.setup.model)
            and job.setup.options.get("pretrained_path") is None):
        arch = model_family(job.setup.model).trunk_arch(model_defaults(job.setup.model), dict(job.setup.options))
        init = pretrained_trunk(job.recipe.init, context.scale, context.device, context.data_root, arch=arch,
                                executor=context.executor)
    landmarks = None
    if job.setup.options.get("landmark_weights") == TRAINED_LANDMARKS:
        landmarks = trained_landmark_stream(context)
    failures = None
    if context.executor is not None and grid.collecting() is None and not context.dry_run:
        failures = _train_as_jobs(context, job, init, landmarks)
    return run_seeds(context, job, tests, init, landmarks, failures)


def _train_as_jobs(context: RunContext, job: TrainingJob, init: PretrainedTrunk | None,
                   landmarks: PretrainedTrunk | None) -> dict[str, str]:
    """The seeds of ``job`` the run cache lacks, trained as one job array by the context's executor (a notebook's
    ``executor`` parameter); returns ``{run: error}`` of the jobs that failed (their cells are marked missing).
    ``make reproduce EXECUTOR=...`` instead collects the whole table's trainings first
    (:func:`fer_lib.reproduce.run_grid`)."""
    tasks, runs = [], []
    for seed in context.seeds:
        train_set = load_split(job.dataset, job.train_split, job.recipe, context.data_root, seed=seed,
                               **job.loader_options())
        run, complete = cached_run(job, train_set, seed, init, landmarks)
        if not complete:
            runs.append(run)
            tasks.append(RunTask.of(context, job, seed, init, landmarks))
    results = submit(tasks, context.executor, grid.new_folder(context.paper, context.table) / "jobs")
    return {run: r.error for run, r in zip(runs, results, strict=True) if r.state == "failed"}


def _test_sets(context: RunContext, job: TrainingJob, test_split: str = "test",
               extra_tests: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None) -> dict[str, FERDataset]:
    """The job's own test split (``"test"``) and each ``extra_tests`` entry (``{key: (dataset, loader
    options)}``), loaded with the job's recipe for evaluation."""
    tests = {"test": load_split(job.dataset, test_split, job.recipe, context.data_root, train=False,
                                **job.loader_options())}
    for key, (name, options) in (extra_tests or {}).items():
        tests[key] = load_split(name, "test", job.recipe, context.data_root, train=False,
                                **job.loader_options(options))
    return tests


def train_model(
    context: RunContext,
    model_name: str,
    dataset: str,
    extra_tests: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
    train_split: str = "train",
    test_split: str = "test",
    model_options: Mapping[str, Any] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
    dataset_options: Mapping[str, Any] | None = None,
    announce: bool = True,
) -> tuple[Recipe, list[RunOutcome]]:
    """Train ``model_name`` on ``dataset`` for every seed of ``context`` with its family's recipe and loss
    (the run :func:`accuracy_rows` trains, so a figure loads a table's model instead of retraining), and
    evaluate it on the test split (``metrics["test"]``) and on each ``extra_tests`` entry (``{metrics key:
    (dataset, loader options)}``, loaded with the same recipe). Prints the recipe unless ``announce`` is
    false. Returns the recipe and one outcome per seed.
    """
    opts = dict(dataset_options or {})
    job = _job(context, ModelSetup(model_name, dict(model_options or {})), dataset, recipe_overrides,
               dataset_options=opts, train_split=train_split)
    if announce:
        print(job.recipe.describe())
    return job.recipe, _run(context, job, _test_sets(context, job, test_split, extra_tests))


def accuracy_rows(
    context: RunContext,
    table: ResultTable,
    models: Mapping[str, str],
    column: str = "Accuracy(%)",
    train_split: str = "train",
    test_split: str = "test",
    model_options: Mapping[str, Mapping[str, Any]] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
    dataset_options: Mapping[str, Any] | None = None,
) -> dict[str, list[RunOutcome]]:
    """Train and test each model of ``models`` (``{model name: paper row label}``) on ``context.dataset``
    for every seed, and add one cell per model. Returns the outcomes per model name."""
    _check_models(models)
    outcomes: dict[str, list[RunOutcome]] = {}
    for model_name, paper_row in models.items():
        recipe, outs = train_model(context, model_name, context.dataset, train_split=train_split,
                                   test_split=test_split, model_options=(model_options or {}).get(model_name),
                                   recipe_overrides=recipe_overrides, dataset_options=dataset_options)
        outcomes[model_name] = outs
        _add_test_cell(table, paper_row, column, outs, "test", context.dataset,
                       f"trained here ({recipe.scale} recipe, {outs[0].train_size} training images)")
    return outcomes


def init_rows(
    context: RunContext,
    table: ResultTable,
    inits: Mapping[str, str | None],
    columns: Mapping[str, str],
    model_name: str = "resnet18",
) -> dict[tuple[str, str], list[RunOutcome]]:
    """Fine-tune ``model_name`` from each initialisation of ``inits`` (``{row label: pretraining source}``,
    ``None`` = random initialisation; sources of :mod:`fer_lib.protocols.pretrain`) on each dataset of
    ``columns`` (``{column label: dataset}``) with its family's recipe, and add one cell per (row, column).

    A source the recipe's own ``init`` already resolves to is not overridden, so those cells are the very runs
    the other tables train (e.g. Table V's ResNet-18), shared through the run cache. Returns the outcomes per
    (row, column).
    """
    check_model(model_name)
    for source in inits.values():
        if source is not None:
            resolve_source(source, context.data_root)  # an unknown source raises before anything trains
    outcomes: dict[tuple[str, str], list[RunOutcome]] = {}
    default = recipe_for(model_name, context).init
    for row, source in inits.items():
        same = source is not None and default is not None and (
            resolve_source(default, context.data_root) == resolve_source(source, context.data_root))
        overrides = {} if same else {"init": source}
        for column, dataset in columns.items():
            recipe, outs = train_model(context, model_name, dataset, recipe_overrides=overrides, announce=False)
            outcomes[(row, column)] = outs
            _add_test_cell(table, row, column, outs, "test", dataset,
                           f"{outs[0].init}; fine-tuned here ({recipe.scale} recipe, {outs[0].train_size} "
                           "training images)")
    return outcomes


def _preset_job(context: RunContext, preset: Preset, dataset: str, dataset_options: Mapping[str, Any],
                model_overrides: Mapping[str, Any] | None, recipe_overrides: Mapping[str, Any] | None,
                label: str) -> TrainingJob:
    """The job of a table-row preset on ``dataset``: the preset's model, options and loss with the family's
    recipe; ``model_overrides`` (e.g. ``pretrained_path``) apply only to rows the paper pretrained."""
    options = {**preset.setup.options, **dict(model_overrides or {})}
    if not preset.paper_pretrained:
        options.pop("pretrained_path", None)  # the paper trained this row from scratch
    return _job(context, dataclasses.replace(preset.setup, options=options), dataset, recipe_overrides,
                dataset_options=dict(dataset_options), label=label)


def variant_rows(
    context: RunContext,
    table: ResultTable,
    variants: Mapping[str, str],
    columns: Mapping[str, str],
    dataset_options: Mapping[str, Mapping[str, Any]] | None = None,
    model_overrides: Mapping[str, Any] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> dict[tuple[str, str], list[RunOutcome]]:
    """Train every preset of ``variants`` (``{preset name: paper row}``, presets of ``context.paper``, see
    :mod:`fer_lib.protocols.presets`) on every dataset of ``columns`` (``{paper column: dataset name}``) for
    each seed, and add one cell per (row, column).

    The preset fixes the model, its options and the loss; the recipe follows the model's family.
    ``dataset_options`` passes loader options per dataset (e.g. FERPlus ``label_mode``);
    ``model_overrides`` (e.g. ``pretrained_path``) apply to every preset whose paper row was pretrained.
    """
    presets = {name: get_preset(context.paper, name) for name in variants}
    outcomes: dict[tuple[str, str], list[RunOutcome]] = {}
    for column, dataset in columns.items():
        opts = dict((dataset_options or {}).get(dataset, {}))
        test_sets: dict[tuple, FERDataset] = {}
        for preset_name, paper_row in variants.items():
            preset = presets[preset_name]
            job = _preset_job(context, preset, dataset, opts, model_overrides, recipe_overrides,
                              f"[{column}: {dataset}] {paper_row}")
            loader = job.loader_options(opts)
            key = (job.recipe.scale, job.recipe.image_size, job.recipe.transform, job.recipe.max_test,
                   repr(sorted(loader.items())))
            if key not in test_sets:
                test_sets[key] = load_split(dataset, "test", job.recipe, context.data_root, train=False, **loader)
            runs = _run(context, job, {"test": test_sets[key]}, pretrained=preset.paper_pretrained)
            _add_test_cell(table, paper_row, column, runs, "test", dataset,
                           f"{preset_name}: {preset.setup.describe_loss()}; {job.recipe.scale} recipe, "
                           f"{runs[0].train_size} training images")
            outcomes[(paper_row, column)] = runs
    return outcomes


def subset_rows(
    context: RunContext,
    table: ResultTable,
    models: Mapping[str, str],
    columns: Mapping[str, tuple[str, str]],
    full_test_columns: Mapping[str, str] | None = None,
    model_options: Mapping[str, Mapping[str, Any]] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> dict[tuple[str, str], list[RunOutcome]]:
    """Fill a table whose columns are test subsets.

    ``models``: ``{model name: paper row}``; ``columns``: ``{paper column: (base dataset, subset kind)}``.
    Each model is trained once per base dataset (the run of :func:`train_model`) and evaluated on each of
    its columns' subsets. ``full_test_columns`` (``{base dataset: column label}``) also adds the base's
    whole test set as a column, to show the drop on the subsets. Returns the outcomes per (model, base).
    """
    _check_models(models)
    outcomes: dict[tuple[str, str], list[RunOutcome]] = {}
    for model_name, paper_row in models.items():
        for base, sources in _subset_sources(context, columns).items():
            recipe, outs = train_model(context, model_name, base, sources,
                                       model_options=(model_options or {}).get(model_name),
                                       recipe_overrides=recipe_overrides)
            outcomes[(model_name, base)] = outs
            _add_subset_cells(table, paper_row, base, columns, sources, (full_test_columns or {}).get(base), outs,
                              f"trained on {base} ({recipe.scale} recipe)")
    return outcomes


def variant_subset_rows(
    context: RunContext,
    table: ResultTable,
    variants: Mapping[str, str],
    columns: Mapping[str, tuple[str, str]],
    full_test_columns: Mapping[str, str] | None = None,
    model_overrides: Mapping[str, Any] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> dict[tuple[str, str], list[RunOutcome]]:
    """:func:`subset_rows` for a paper's table-row presets (``{preset name: paper row}``) instead of model
    names, for rows that are options of one model (GMS-LPA Table 11: ResNet-50, GMS, LPA, GMS-LPA). Each
    preset is trained once per base dataset and tested on its whole test set and on each column's subset.
    Returns the outcomes per (preset, base)."""
    presets = {name: get_preset(context.paper, name) for name in variants}
    outcomes: dict[tuple[str, str], list[RunOutcome]] = {}
    for preset_name, paper_row in variants.items():
        for base, sources in _subset_sources(context, columns).items():
            job = _preset_job(context, presets[preset_name], base, {}, model_overrides, recipe_overrides,
                              f"[{base}] {paper_row}")
            outs = _run(context, job, _test_sets(context, job, extra_tests=sources),
                        pretrained=presets[preset_name].paper_pretrained)
            outcomes[(preset_name, base)] = outs
            _add_subset_cells(table, paper_row, base, columns, sources, (full_test_columns or {}).get(base), outs,
                              f"{preset_name}: trained on {base} ({job.recipe.scale} recipe)")
    return outcomes


def _subset_sources(context: RunContext,
                    columns: Mapping[str, tuple[str, str]]) -> dict[str, dict[str, tuple[str, dict[str, Any]]]]:
    """The columns grouped by base dataset: ``{base: {column: (subset dataset, loader options)}}``."""
    bases: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {}
    for column, (base, kind) in columns.items():
        bases.setdefault(base, {})[column] = subset_source(base, kind, context.data_root)
    return bases


def _add_subset_cells(table: ResultTable, paper_row: str, base: str, columns: Mapping[str, tuple[str, str]],
                      sources: Mapping[str, tuple[str, Any]], whole_column: str | None, outs: Sequence[RunOutcome],
                      trained: str) -> None:
    """One cell per subset column of ``base`` (and its whole test set's, with ``whole_column``)."""
    kinds = {column: kind for column, (b, kind) in columns.items() if b == base}
    for column, (key, name, what) in _subset_cells(base, kinds, sources, whole_column).items():
        tested = len(outs[0].metrics[key]["targets"])
        _add_test_cell(table, paper_row, column, outs, key, name, f"{trained}, tested on {tested} images of {what}")


def _subset_cells(base: str, kinds: Mapping[str, str], sources: Mapping[str, tuple[str, Any]],
                  whole_column: str | None) -> dict[str, tuple[str, str, str]]:
    """``{column: (metrics key, dataset name, what the cell was tested on)}`` of one base dataset's columns."""
    suffix = {column: f" subset {kind}" if base.startswith("synth") else "" for column, kind in kinds.items()}
    cells = {column: (column, sources[column][0], sources[column][0] + suffix[column]) for column in kinds}
    if whole_column:
        cells[whole_column] = ("test", base, f"the whole {base} test set")
    return cells


def _check_folds(folds: Sequence[int], num_folds: int) -> list[int]:
    folds = [int(f) for f in folds]
    if not folds or any(not 0 <= f < num_folds for f in folds):
        raise ValueError(f"folds must be a non-empty list of indices in 0..{num_folds - 1}, got {folds}")
    return folds


def _scope(folds: list[int], num_folds: int) -> str:
    return "all folds" if len(folds) == num_folds else f"fold(s) {', '.join(map(str, folds))} of {num_folds}"


def _pool_folds(per_fold: Sequence[Sequence[RunOutcome]]
                ) -> tuple[list[list[RunOutcome]], list[tuple[np.ndarray, np.ndarray]]]:
    """``[fold][seed]`` outcomes regrouped ``[seed][fold]``, and per seed the test ``(targets, predictions)``
    pooled over the folds (every test image once)."""
    per_seed = [list(runs) for runs in zip(*per_fold, strict=True)]
    pooled = [(np.concatenate([o.metrics["test"]["targets"] for o in runs]),
               np.concatenate([o.metrics["test"]["predictions"] for o in runs])) for runs in per_seed]
    return per_seed, pooled


def fold_rows(
    context: RunContext,
    table: ResultTable,
    models: Mapping[str, str],
    dataset: str,
    folds: Sequence[int],
    num_folds: int,
    column: str = "Accuracy(%)",
    dataset_options: Mapping[str, Any] | None = None,
    model_options: Mapping[str, Mapping[str, Any]] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> dict[str, list[list[RunOutcome]]]:
    """Subject-independent cross-validation: for each model of ``models`` (``{model name: paper row}``),
    each fold of ``folds`` (of ``num_folds``) and each seed, train on the other folds and test on the fold.

    One cell per model: per seed, the accuracy of the predictions pooled over the folds run (every test
    image counted once). The loader gets ``split``, ``fold`` and ``dataset_options``; its fold assignment
    must be subject-independent with ``num_folds`` folds (CK+, JAFFE's leave-one-subject-out on its 10
    subjects and ``synth-rgbd`` have 10 by default). Returns ``{model name: [[outcome per fold] per seed]}``.
    """
    folds = _check_folds(folds, num_folds)
    _check_models(models)
    opts = dict(dataset_options or {})
    outcomes: dict[str, list[list[RunOutcome]]] = {}
    for model_name, paper_row in models.items():
        per_fold: list[list[RunOutcome]] = []  # [fold][seed]
        for fold in folds:
            recipe, outs = train_model(context, model_name, dataset,
                                       model_options=(model_options or {}).get(model_name),
                                       recipe_overrides=recipe_overrides, dataset_options={**opts, "fold": fold},
                                       announce=fold == folds[0])
            per_fold.append(outs)
        per_seed, pooled = _pool_folds(per_fold)
        outcomes[model_name] = per_seed
        scope = _scope(folds, num_folds)
        _add_accuracy_cell(table, paper_row, column, [o for runs in per_seed for o in runs],
                           [accuracy(t, p) for t, p in pooled], bootstrap_ci(*pooled[0]) if len(pooled) == 1 else None,
                           dataset,
                           f"trained here ({recipe.scale} recipe), subject-independent {scope}, "
                           f"{len(pooled[0][0])} test images", pooled[0][0])
    return outcomes


def balance_sweep(
    context: RunContext,
    pairs: Sequence[tuple[float, float]],
    dataset: str,
    dataset_options: Mapping[str, Any] | None = None,
    model_options: Mapping[str, Any] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Train and test PCNN on ``dataset`` for each ``(alpha, beta)`` of ``pairs`` (the weights of its
    two-phase loss) and each seed; the runs with the weights of a Table I/II preset are that preset's.

    Returns one row per (pair, seed): ``alpha``, ``beta``, ``seed``, ``accuracy`` (%), ``ci_low``,
    ``ci_high`` (bootstrap 95% over the test images), ``n_test``, ``dataset``, ``scale``, ``from_cache``
    and ``run`` (the run's folder name under the run cache, so a committed table carries no local path).
    """
    if not pairs:
        raise ValueError("pairs is empty: give at least one (alpha, beta)")
    opts = dict(dataset_options or {})
    rows = []
    for alpha, beta in pairs:
        # Floats, as in the presets: the run-cache key hashes the JSON text (12 and 12.0 differ).
        alpha, beta = float(alpha), float(beta)
        setup = ModelSetup("pcnn", dict(model_options or {}), "facial_semantic", {"alpha": alpha, "beta": beta})
        job = _job(context, setup, dataset, recipe_overrides, dataset_options=opts,
                   label=f"PCNN alpha={alpha:g}, beta={beta:g}")
        test_set = load_split(dataset, "test", job.recipe, context.data_root, train=False,
                              **job.loader_options(opts))
        for out in _run(context, job, {"test": test_set}):
            test = out.metrics["test"]
            rows.append({"alpha": alpha, "beta": beta, "seed": out.seed, "accuracy": test["accuracy"],
                         "ci_low": test["ci_low"], "ci_high": test["ci_high"], "n_test": len(test_set),
                         "dataset": dataset, "scale": context.scale, "from_cache": out.from_cache,
                         "run": out.run_dir.name if out.run_dir is not None else ""})
    return pd.DataFrame(rows)


__all__ = [
    "accuracy_rows", "balance_sweep", "fold_rows", "init_rows", "subset_rows", "train_model", "variant_rows",
    "variant_subset_rows",
]

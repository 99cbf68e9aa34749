"""Multi-view and cross-dataset table protocols (GMS-LPA, seed 001), on the same per-seed loop as
:mod:`fer_lib.protocols.tables`.

- :func:`view_rows`: presets x folds of a multi-view dataset, one column per view (GMS-LPA Tables 1-4, 6, 8, 10);
- :func:`class_view_rows`: one preset's recall per class and view (Tables 5, 7, 9);
- :func:`transfer_rows`: presets trained on one dataset (or view) and tested on another (Table 12).

A view is any value of the test images' metadata (``yaw`` by default; ``intensity`` for Fig. 17).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fer_lib.metrics import accuracy, bootstrap_ci
from fer_lib.protocols.presets import Preset, get_preset
from fer_lib.protocols.splits import load_split
from fer_lib.protocols.tables import (
    _add_accuracy_cell,
    _add_test_cell,
    _check_folds,
    _pool_folds,
    _preset_job,
    _run,
    _scope,
)
from fer_lib.protocols.training import RunOutcome
from fer_lib.results import ResultTable
from fer_lib.settings import RunContext


@dataclasses.dataclass
class ViewPredictions:
    """One preset's test predictions over the folds run, per seed, with each test image's view."""

    #: ``[[outcome per fold] per seed]``.
    runs: list[list[RunOutcome]]
    #: Each pooled test image's view (``view_key`` metadata), in the order of the pooled predictions.
    views: np.ndarray
    #: Per seed, ``(targets, predictions)`` pooled over the folds.
    pooled: list[tuple[np.ndarray, np.ndarray]]
    classes: list[str]

    def frame(self, seed_index: int = 0) -> pd.DataFrame:
        """The pooled predictions of one seed: ``target``, ``prediction``, ``view``."""
        targets, predictions = self.pooled[seed_index]
        return pd.DataFrame({"target": targets, "prediction": predictions, "view": self.views})


def _view_predictions(context: RunContext, preset: Preset, paper_row: str, dataset: str, folds: list[int],
                      views: Mapping[float, str], view_key: str, dataset_options: Mapping[str, Any],
                      model_overrides: Mapping[str, Any] | None,
                      recipe_overrides: Mapping[str, Any] | None) -> ViewPredictions:
    """Train ``preset`` on every fold but each of ``folds`` and test on it, for every seed; every view of
    ``views`` must be among each test fold's ``view_key`` values (checked before anything trains)."""
    per_fold: list[list[RunOutcome]] = []
    view_of: list[np.ndarray] = []
    for fold in folds:
        job = _preset_job(context, preset, dataset, {**dataset_options, "fold": fold}, model_overrides,
                          recipe_overrides, f"[{dataset} fold {fold}] {paper_row}")
        test = load_split(dataset, "test", job.recipe, context.data_root, train=False, **job.loader_options())
        if view_key not in test.metadata:
            raise ValueError(f"{dataset}'s test images have no {view_key!r} metadata to split the views by")
        view_of.append(test.metadata[view_key].to_numpy(dtype=float))
        missing = [v for v in views if not np.isclose(view_of[-1], float(v)).any()]
        if missing:
            raise ValueError(f"no test image of {dataset} (fold {fold}) has {view_key} = "
                             f"{', '.join(f'{v:g}' for v in missing)} (columns {[views[v] for v in missing]})")
        per_fold.append(_run(context, job, {"test": test}, pretrained=preset.paper_pretrained))
    per_seed, pooled = _pool_folds(per_fold)
    return ViewPredictions(per_seed, np.concatenate(view_of), pooled, list(per_seed[0][0].classes))


def view_rows(
    context: RunContext,
    table: ResultTable,
    variants: Mapping[str, str],
    dataset: str,
    folds: Sequence[int],
    num_folds: int,
    views: Mapping[float, str],
    view_key: str = "yaw",
    average_column: str = "Accuracy (%)",
    dataset_options: Mapping[str, Any] | None = None,
    model_overrides: Mapping[str, Any] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> dict[str, ViewPredictions]:
    """Multi-view, subject-independent cross-validation of a paper's table-row presets, one column per view
    (GMS-LPA Tables 1-4: accuracy per observation angle, then their average).

    For each preset of ``variants`` (``{preset name: paper row}``), each fold of ``folds`` (of ``num_folds``)
    and each seed: train on the other folds, test on the fold. ``views`` maps a value of the test images'
    ``view_key`` metadata (e.g. yaw 30) to its column; a view's cell is the accuracy over its test images
    pooled over the folds run, and ``average_column`` the mean over the views (the papers' average of the
    angle columns); with no ``views``, only ``average_column``, the accuracy over every test image.
    Returns each preset's :class:`ViewPredictions`.
    """
    folds = _check_folds(folds, num_folds)
    presets = {name: get_preset(context.paper, name) for name in variants}
    scope = _scope(folds, num_folds)
    outcomes: dict[str, ViewPredictions] = {}
    for preset_name, paper_row in variants.items():
        result = _view_predictions(context, presets[preset_name], paper_row, dataset, folds, views, view_key,
                                   dict(dataset_options or {}), model_overrides, recipe_overrides)
        outcomes[preset_name] = result
        runs = [o for seed_runs in result.runs for o in seed_runs]
        pooled = result.pooled
        per_view: dict[str, list[float]] = {}
        for value, column in views.items():
            mask = np.isclose(result.views, float(value))
            per_view[column] = [accuracy(t[mask], p[mask]) for t, p in pooled]
            ci = bootstrap_ci(pooled[0][0][mask], pooled[0][1][mask]) if len(pooled) == 1 else None
            _add_accuracy_cell(table, paper_row, column, runs, per_view[column], ci, dataset,
                               f"{preset_name}: subject-independent {scope}, {int(mask.sum())} test "
                               f"images at {view_key} {value:g}", pooled[0][0][mask])
        if views:
            averages = [float(np.mean(values)) for values in zip(*per_view.values(), strict=True)]
            what = f"mean of the {len(views)} view columns"
        else:
            averages, what = [accuracy(t, p) for t, p in pooled], "every test image"
        _add_accuracy_cell(table, paper_row, average_column, runs, averages,
                           bootstrap_ci(*pooled[0]) if len(pooled) == 1 else None, dataset,
                           f"{preset_name}: {what}, subject-independent {scope}, "
                           f"{len(pooled[0][0])} test images", pooled[0][0])
    return outcomes


def _recalls(targets: np.ndarray, predictions: np.ndarray, view_of: np.ndarray, num_classes: int,
             views: Mapping[float, str]) -> np.ndarray:
    """``[class, view]`` recall in percent (NaN where a class has no test image at a view)."""
    out = np.full((num_classes, len(views)), np.nan)
    for j, value in enumerate(views):
        at = np.isclose(view_of, float(value))
        for k in range(num_classes):
            chosen = at & (targets == k)
            if chosen.any():
                out[k, j] = 100.0 * float((predictions[chosen] == k).mean())
    return out


def class_view_rows(
    context: RunContext,
    table: ResultTable,
    preset: str,
    dataset: str,
    folds: Sequence[int],
    num_folds: int,
    views: Mapping[float, str],
    class_rows: Mapping[str, str] | None = None,
    view_key: str = "yaw",
    average_row: str = "Average",
    average_column: str = "Average (%)",
    dataset_options: Mapping[str, Any] | None = None,
    model_overrides: Mapping[str, Any] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> ViewPredictions:
    """One preset's accuracy per expression and view (GMS-LPA Tables 5, 7, 9): the same trainings as
    :func:`view_rows` (shared through the run cache), one row per class and one column per view.

    A cell is the recall of the class among the test images at that view, pooled over the folds run;
    ``average_column`` is a class's mean over the views, ``average_row`` a view's mean over the classes.
    ``class_rows`` maps the dataset's class names to the paper's row labels (unmapped classes keep their name).
    Returns the :class:`ViewPredictions` (for the per-view confusion matrices).
    """
    folds = _check_folds(folds, num_folds)
    if not views:
        raise ValueError("views must name at least one view column")
    found = get_preset(context.paper, preset)
    result = _view_predictions(context, found, preset, dataset, folds, views, view_key, dict(dataset_options or {}),
                               model_overrides, recipe_overrides)
    runs = [o for seed_runs in result.runs for o in seed_runs]
    scope = _scope(folds, num_folds)
    labels = {c: (class_rows or {}).get(c, c) for c in result.classes}
    recalls = np.stack([_recalls(t, p, result.views, len(result.classes), views) for t, p in result.pooled])
    for k, cls in enumerate(result.classes):
        for j, (value, column) in enumerate(views.items()):
            mask = (result.pooled[0][0] == k) & np.isclose(result.views, float(value))
            _add_accuracy_cell(table, labels[cls], column, runs, list(recalls[:, k, j]), None, dataset,
                               f"{preset}: recall of {cls} at {view_key} {value:g}, {int(mask.sum())} test images, "
                               f"subject-independent {scope}")
        _add_accuracy_cell(table, labels[cls], average_column, runs, list(np.nanmean(recalls[:, k, :], axis=1)), None,
                           dataset, f"{preset}: {cls}'s mean over the {len(views)} views")
    for j, (value, column) in enumerate(views.items()):
        _add_accuracy_cell(table, average_row, column, runs, list(np.nanmean(recalls[:, :, j], axis=1)), None, dataset,
                           f"{preset}: mean recall over the {len(result.classes)} classes at {view_key} {value:g}")
    _add_accuracy_cell(table, average_row, average_column, runs, list(np.nanmean(recalls, axis=(1, 2))), None, dataset,
                       f"{preset}: mean over classes and views, subject-independent {scope}, "
                       f"{len(result.pooled[0][0])} test images")
    return result


def transfer_rows(
    context: RunContext,
    table: ResultTable,
    variants: Mapping[str, str],
    source: tuple[str, Mapping[str, Any], str],
    target: tuple[str, Mapping[str, Any], str],
    column: str = "Accuracy",
    model_overrides: Mapping[str, Any] | None = None,
    recipe_overrides: Mapping[str, Any] | None = None,
) -> dict[str, list[RunOutcome]]:
    """Cross-database and cross-view testing (GMS-LPA Table 12): each preset of ``variants`` (``{preset: paper
    row}``) trained on ``source`` and tested on ``target``, each ``(dataset, loader options, split)``; one cell
    per preset in ``column``. The two must share their classes (checked before anything trains). A
    within-dataset row is a source and target of the same dataset with its ``train`` / ``test`` splits."""
    presets = {name: get_preset(context.paper, name) for name in variants}
    (s_name, s_options, s_split), (t_name, t_options, t_split) = source, target
    outcomes: dict[str, list[RunOutcome]] = {}
    for preset_name, paper_row in variants.items():
        job = dataclasses.replace(
            _preset_job(context, presets[preset_name], s_name, s_options, model_overrides, recipe_overrides,
                        f"[{s_name} {s_split} -> {t_name} {t_split}] {paper_row}"), train_split=s_split)
        train = load_split(s_name, s_split, job.recipe, context.data_root, train=True, seed=context.seeds[0],
                           **job.loader_options(s_options))
        test = load_split(t_name, t_split, job.recipe, context.data_root, train=False,
                          **job.loader_options(t_options))
        if list(train.classes) != list(test.classes):
            raise ValueError(f"{s_name} and {t_name} have different classes ({list(train.classes)} vs "
                             f"{list(test.classes)}): a transfer row needs the same classes in the same order")
        runs = _run(context, job, {"test": test}, pretrained=presets[preset_name].paper_pretrained)
        outcomes[preset_name] = runs
        _add_test_cell(table, paper_row, column, runs, "test", t_name,
                       f"{preset_name}: trained on {s_name} {dict(s_options)} ({s_split}, {runs[0].train_size} "
                       f"images), tested on {t_name} {dict(t_options)} ({t_split}); {job.recipe.scale} recipe")
    return outcomes


__all__ = ["ViewPredictions", "class_view_rows", "transfer_rows", "view_rows"]

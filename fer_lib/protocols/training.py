"""Train one model one way for every seed of a run — the one loop every table protocol is built on.

A :class:`TrainingJob` is everything that determines a training except the seed: the
:class:`ModelSetup` (model, options, loss), the recipe and the dataset. :func:`run_seeds` trains it
(or loads it from the run cache, :mod:`fer_lib.runs`) for each seed of a
:class:`fer_lib.settings.RunContext`, evaluates it on the test sets it is given, prints one line per
seed and returns one :class:`RunOutcome` per seed.

The model family's registration names its default loss and recipe family
(``register_model("pcnn", loss="facial_semantic", recipe="pcnn")``); a job may override the loss.
Two tables that train the same model the same way build equal jobs, so they share one cached run.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from fer_lib.data import FERDataset
from fer_lib.data import features as features_module
from fer_lib.data.features import FrozenFeatures
from fer_lib.data.memory import InMemoryImages
from fer_lib.engine import AUTOCAST_DTYPES, evaluate
from fer_lib.io import atomic_save, atomic_write_text, code_keyed_cache_file, runs_root
from fer_lib.losses import build_loss, loss_identity, loss_weight_sum
from fer_lib.models import check_model, create_model, model_defaults, model_family, model_options
from fer_lib.protocols import grid
from fer_lib.protocols.splits import load_split
from fer_lib.recipes import Recipe, dry_run_recipe, get_recipe
from fer_lib.runs import is_complete, run_dir_for, run_key, slurm_job_of, train_cached
from fer_lib.settings import RunContext

#: A model option value meaning "the landmark regressor fer_lib trains" (POSTER's ``landmark_weights``).
TRAINED_LANDMARKS = "trained"


def _jsonable(value: Any) -> Any:
    """Tuples as lists, recursively: loader options go into JSON run specs and cache keys."""
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def recipe_for(model_name: str, context: RunContext, **overrides: Any) -> Recipe:
    """The recipe of ``model_name``'s registered recipe family at the context's scale and device (for a dry
    run, the paper recipe cut to two optimiser steps: :func:`fer_lib.recipes.dry_run_recipe`)."""
    recipe = get_recipe(model_family(model_name).recipe, context.scale, context.device, **overrides)
    return dry_run_recipe(recipe, context.device)[0] if context.dry_run else recipe


def default_loss(model_name: str, **options: Any) -> nn.Module:
    """The registered default loss of ``model_name``'s family, built with ``options``."""
    return build_loss(model_family(model_name).loss, **options)


@dataclasses.dataclass(frozen=True)
class ModelSetup:
    """What is trained: a registered model, its options and its loss (``loss=None``: the family's default,
    built with ``loss_options``). A table-row preset names one; a :class:`TrainingJob` trains one."""

    model: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    loss: str | None = None
    loss_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_model(self.model)

    def build_loss(self) -> nn.Module:
        if self.loss is None:
            return default_loss(self.model, **self.loss_options)
        return build_loss(self.loss, **self.loss_options)

    def loader_options(self) -> dict[str, Any]:
        """The model options its data must follow (``ModelFamily.data_options``, e.g. CM-CNN's ``modalities``),
        with the model's defaults for those not set."""
        names = model_family(self.model).data_options
        if not names:
            return {}
        defaults = model_defaults(self.model)
        return {name: _jsonable(self.options.get(name, defaults.get(name))) for name in names}

    def describe_loss(self) -> str:
        """``"facial_semantic(alpha=12, beta=8)"``, for a cell's note."""
        opts = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.loss_options.items())
        return (self.loss or model_family(self.model).loss) + (f"({opts})" if opts else "")


@dataclasses.dataclass(frozen=True)
class TrainingJob:
    """One model setup trained with one recipe on one dataset: everything that determines its weights but the
    seed. ``dataset_options`` go to the loader of every split (e.g. FERPlus ``label_mode``, a ``fold``);
    ``label`` names the job in the printed lines."""

    setup: ModelSetup
    dataset: str
    recipe: Recipe
    dataset_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    train_split: str = "train"
    label: str = ""

    def describe(self) -> str:
        return self.label or f"{self.setup.model} on {self.dataset}"

    def loader_options(self, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``options`` (default: the job's ``dataset_options``) plus what the model requires of every loader
        (:meth:`ModelSetup.loader_options`): pass these to every split of any dataset the job reads."""
        return {**dict(self.dataset_options if options is None else options), **self.setup.loader_options()}


@dataclasses.dataclass(frozen=True)
class PretrainedTrunk:
    """A pretrained trunk a job starts from (:mod:`fer_lib.protocols.pretrain` trains them): its weights
    file and the run that trained it."""

    source: str
    arch: str
    path: Path
    #: The pretraining run's folder name (its run-cache key): what a fine-tuned run's key records.
    run: str
    train_seconds: float

    def describe(self) -> str:
        return f"{self.arch} pretrained on {self.source} (run {self.run})"


#: A pretraining run's trunk (its weights without the classification head), in the run's folder.
TRUNK_FILE = "trunk.pt"


def save_trunk(out: RunOutcome) -> Path:
    """The trunk of a pretraining run as :data:`TRUNK_FILE` in its folder, written once; a job that pretrains
    (:attr:`RunTask.keep_trunk`) and :mod:`fer_lib.protocols.pretrain` both write it."""
    path = out.run_dir / TRUNK_FILE
    if not path.is_file():
        trunk = {k: v for k, v in out.model.state_dict().items() if not k.startswith("fc.")}
        atomic_save(path, lambda tmp: torch.save(trunk, tmp))
    return path


@dataclasses.dataclass
class RunOutcome:
    """A trained model (one seed of a job) and its evaluation on one or more test sets."""

    model: nn.Module
    #: ``{test-set key: fer_lib.engine.evaluate(...) dict}``; the main test split is ``"test"``.
    metrics: dict[str, dict[str, Any]]
    history: Any
    run_dir: Path | None
    from_cache: bool
    wall_seconds: float
    classes: list[str] = dataclasses.field(default_factory=list)
    train_size: int = 0
    #: How long the training itself took (for a run loaded from the cache: when it was trained).
    train_seconds: float = float("nan")
    seed: int = 0
    #: Where the weights started: ``random`` or the pretrained trunk's description.
    init: str = "random"
    #: The training precision (fp32, bf16, fp16).
    precision: str = "fp32"
    #: The SLURM job that trained the run (a cluster grid, :mod:`fer_lib.protocols.grid`); empty when trained
    #: outside SLURM.
    slurm_job: str = ""
    #: Why there is no model: the error of the job that should have trained it (a cluster grid); its metrics then
    #: hold NaN accuracies and no predictions, and its cells say MISSING with this reason.
    failure: str = ""


@dataclasses.dataclass(frozen=True)
class RunTask:
    """One training of a table's grid as a job performs it (:mod:`fer_lib.protocols.jobs`): ``job`` with
    ``seed``, its data under ``data_root``, its run in ``runs_root``, from ``init`` (a pretrained trunk) and with
    ``landmarks`` (POSTER's trained landmark stream) where the job needs them."""

    job: TrainingJob
    seed: int
    data_root: str | None
    runs_root: str
    init: PretrainedTrunk | None = None
    landmarks: PretrainedTrunk | None = None
    #: A trunk's pretraining (:mod:`fer_lib.protocols.pretrain`): the job also saves the trunk file, and a grid
    #: runs it before the trainings that start from it.
    keep_trunk: bool = False

    @classmethod
    def of(cls, context: RunContext, job: TrainingJob, seed: int, init: PretrainedTrunk | None = None,
           landmarks: PretrainedTrunk | None = None) -> RunTask:
        """The task of ``job`` with ``seed`` on the context's data, into this process's run cache."""
        return cls(job, seed, str(context.data_root) if context.data_root else None, str(runs_root()), init, landmarks)

    def describe(self) -> str:
        return f"{self.job.describe()}, seed {self.seed}"


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """What :func:`train_and_evaluate` derives from a job before training: the model's options as built and as
    keyed, the run's spec, the engine configuration and the loss."""

    options: dict[str, Any]
    build_options: dict[str, Any]
    spec: dict[str, Any]
    about: dict[str, Any]
    cfg: Any
    loss_fn: nn.Module

    def run_dir(self, root: Path | None = None) -> Path:
        return run_dir_for({**self.spec, "train": self.cfg.identity()}, root)


def _prepare(job: TrainingJob, train_set: FERDataset, seed: int, init: PretrainedTrunk | None,
             landmarks: PretrainedTrunk | None) -> _Prepared:
    recipe, setup = job.recipe, job.setup
    options = dict(setup.options)
    num_classes = len(train_set.classes)
    if "image_size" in model_options(setup.model):
        options.setdefault("image_size", recipe.image_size)
    if recipe.freeze_trunk:
        if "freeze_trunk" not in model_options(setup.model):
            raise ValueError(f"the {recipe.family} recipe freezes the trunk, which {setup.model} has no option for")
        options["freeze_trunk"] = True
    for name, value in recipe.model_options:
        if name not in model_options(setup.model):
            raise ValueError(f"the {recipe.family} recipe sets the model option {name!r}, which {setup.model} lacks")
        options.setdefault(name, value)  # the caller's choice wins
    loss_fn = setup.build_loss()
    # The key holds every constructor option, defaults included: a changed default is another model.
    resolved = {**model_defaults(setup.model), **options}
    build_options = dict(options)
    if init is not None:
        build_options["pretrained_path"] = str(init.path)  # a local path: the key names the run instead
    if options.get("landmark_weights") == TRAINED_LANDMARKS:
        if landmarks is None:
            raise ValueError(f"{setup.model}: landmark_weights={TRAINED_LANDMARKS!r} needs the trained landmark "
                             "regressor (protocols.landmarks.trained_landmark_stream)")
        build_options["landmark_weights"] = str(landmarks.path)
        resolved["landmark_weights"] = f"run:{landmarks.run}"
    spec = {
        "model": setup.model, "model_options": resolved, "num_classes": num_classes, "dataset": job.dataset,
        "dataset_options": dict(job.dataset_options), "train_size": len(train_set),
        "classes": list(train_set.classes), "recipe": recipe.identity(), "loss": loss_identity(loss_fn),
        "seed": seed, **({"init": {"source": init.source, "trunk_run": init.run}} if init is not None else {}),
    }
    about = {"scale": recipe.scale, "recipe_family": recipe.family, "max_test": recipe.max_test}
    cfg = dataclasses.replace(recipe.train, seed=seed, lr=recipe.lr_for(loss_weight_sum(loss_fn)))
    return _Prepared(options, build_options, spec, about, cfg, loss_fn)


def cached_run(job: TrainingJob, train_set: FERDataset, seed: int = 0, init: PretrainedTrunk | None = None,
               landmarks: PretrainedTrunk | None = None) -> tuple[str, bool]:
    """``(run folder name, whether the run cache holds it complete)`` for what :func:`train_and_evaluate` would
    train, without training."""
    run_dir = _prepare(job, train_set, seed, init, landmarks).run_dir()
    return run_dir.name, is_complete(run_dir)


def train_and_evaluate(
    job: TrainingJob,
    train_set: FERDataset,
    test_sets: Mapping[str, FERDataset],
    seed: int = 0,
    init: PretrainedTrunk | None = None,
    cache_root: Path | None = None,
    landmarks: PretrainedTrunk | None = None,
) -> RunOutcome:
    """Train ``job`` with ``seed`` on ``train_set`` (or load the cached run with the same specification)
    and evaluate it on every test set.

    The run-cache key covers the model and its options, the dataset, its loader options, its size and
    classes, the recipe, the loss (:func:`fer_lib.losses.loss_identity`), the seed and, with ``init`` (a
    :class:`fer_lib.protocols.pretrain.PretrainedTrunk`), the pretraining run the trunks start from.
    ``cache_root``: another run cache than ``runs/`` (a dry run's scratch folder). ``landmarks``: the landmark
    regressor fer_lib trained (:mod:`fer_lib.protocols.landmarks`) for a model whose ``landmark_weights`` option
    says ``"trained"`` (POSTER's frozen landmark stream); the key names its run.
    """
    recipe, setup = job.recipe, job.setup
    prepared = _prepare(job, train_set, seed, init, landmarks)
    options, cfg = prepared.options, prepared.cfg
    num_classes = len(train_set.classes)
    t0 = time.perf_counter()
    torch.manual_seed(seed)

    def build() -> nn.Module:
        return create_model(setup.model, num_classes=num_classes, **prepared.build_options)

    fit_set: Any = train_set
    built: nn.Module | None = None
    if recipe.cache_frozen:
        built = build()  # the frozen parts' outputs come from this model, trained below
        fit_set = _frozen_features(built, train_set, job, prepared.spec["model_options"], cfg.device,
                                     cfg.precision)
    model, result = train_cached(prepared.spec, build if built is None else (lambda: built), fit_set, cfg,
                                 loss_fn=prepared.loss_fn, about=prepared.about, root=cache_root)
    metrics = {name: evaluate(model, ds, batch_size=cfg.eval_batch_size or 128, device=cfg.device)
               for name, ds in test_sets.items()}
    user_weights = options.get("pretrained_path")
    start = init.describe() if init is not None else (f"weights from {Path(user_weights).name}" if user_weights
                                                        else "random")
    if recipe.freeze_trunk:
        start += ", trunk frozen"
    if landmarks is not None and options.get("landmark_weights") == TRAINED_LANDMARKS:
        start += f"; landmark stream: {landmarks.describe()}"
    return RunOutcome(model, metrics, result.history, result.run_dir, result.from_cache,
                      time.perf_counter() - t0, list(train_set.classes), len(train_set),
                      float(result.wall_seconds), seed, start, cfg.precision,
                      slurm_job_of(result.run_dir) if result.run_dir is not None else "")


#: Frozen parts' outputs per training set, kept for the process: the rows and seeds of a table reuse them.
_FROZEN: dict[str, FrozenFeatures] = {}


def _frozen_features(model: nn.Module, train_set: FERDataset, job: TrainingJob, options: Mapping[str, Any],
                     device: str, precision: str = "fp32") -> FrozenFeatures:
    """``train_set`` as the outputs of ``model``'s frozen parts (computed on first use; shared by every run whose
    frozen parts are the same: the model's ``stream_identity``, else all its options, and the same images).
    They are computed in the training's ``precision``, as the frozen parts would run inside its steps (bf16
    autocast: 2.3x faster than fp32 for POSTER's two streams on this CPU, measured 2026-12-07)."""
    if not job.recipe.freeze_trunk:
        raise ValueError(f"the {job.recipe.family} recipe caches frozen outputs but freezes nothing: set freeze_trunk")
    if not hasattr(model, "stream_features"):
        raise ValueError(f"{job.setup.model} has no frozen parts whose outputs could be cached (no stream_features)")
    if not isinstance(train_set, InMemoryImages):
        raise ValueError("caching frozen outputs needs the training images in memory (a recipe with in_memory)")
    images = list(train_set.metadata["source_id"]) if "source_id" in train_set.metadata else None
    if images is None:
        raise ValueError(f"{job.dataset}: caching frozen outputs needs each sample's source_id")
    identity = model.stream_identity() if hasattr(model, "stream_identity") else {"options": dict(options)}
    key = run_key({"model": job.setup.model, "frozen": identity, "dataset": job.dataset, "images": images,
                   "dataset_options": dict(job.dataset_options), "image_size": job.recipe.image_size,
                   "normalisation": list(train_set.normalisation), "precision": precision})
    if key not in _FROZEN:
        autocast_dtype = AUTOCAST_DTYPES.get(precision)

        def encode(images: torch.Tensor) -> Any:
            with torch.autocast(device_type=images.device.type, dtype=autocast_dtype,
                                enabled=autocast_dtype is not None):
                return model.stream_features(images)

        _FROZEN[key] = FrozenFeatures(train_set, encode, device=device, store=_frozen_store(key, model, train_set))
    return _FROZEN[key]


def _frozen_store(key: str, model: nn.Module, train_set: InMemoryImages) -> Path | None:
    """Where the frozen outputs of real images are kept between processes (the key above, plus the source of the
    model's and the feature cache's code); ``None`` for synthetic images (rendered and encoded in minutes)."""
    if train_set.data_kind != "real":
        return None
    return code_keyed_cache_file("frozen", [key], (inspect.getmodule(type(model)), features_module))


#: The columns of a dry run's plan (:func:`record_plan`): one row per training the table runs at the paper scale.
PLAN_COLUMNS: tuple[str, ...] = (
    "paper", "table", "run", "model", "model_options", "dataset", "dataset_options", "seed", "recipe_family",
    "image_size", "batch_size", "epochs", "train_images", "test_images",
)  # fmt: skip
#: Plan rows recorded in this process, per plan file (a notebook's kernel records one table).
_PLANS: dict[Path, list[dict[str, Any]]] = {}


def plan_path(context: RunContext) -> Path:
    """Where a dry run writes its table's plan: ``<output_dir>/plan/<table>.csv``."""
    return context.output_dir / "plan" / f"{context.table}.csv"


def record_plan(context: RunContext, job: TrainingJob, train_set: FERDataset, test_sets: Mapping[str, FERDataset],
                seed: int) -> None:
    """Record one training of a dry run as the paper scale would run it: the paper recipe's epochs and batch
    and the split's size before the dry run's cap (``source_size``). ``run`` identifies the training across
    tables (model, options, data, loss, seed), so a projection over several tables counts a shared run once."""
    paper = get_recipe(job.recipe.family, "paper", context.device)
    what = {"model": job.setup.model, "options": dict(job.setup.options), "loss": job.setup.describe_loss(),
            "dataset": job.dataset, "dataset_options": dict(job.dataset_options), "split": job.train_split,
            "seed": seed}
    run = run_key(what)
    row = {"paper": context.paper, "table": context.table, "run": run, "model": job.setup.model,
           "model_options": json.dumps(dict(job.setup.options), sort_keys=True, default=str),
           "dataset": job.dataset, "dataset_options": json.dumps(dict(job.dataset_options), sort_keys=True,
                                                                 default=str),
           "seed": seed, "recipe_family": job.recipe.family, "image_size": paper.image_size,
           "batch_size": paper.train.batch_size, "epochs": paper.train.epochs,
           "train_images": int(getattr(train_set, "source_size", len(train_set))),
           "test_images": sum(int(getattr(t, "source_size", len(t))) for t in test_sets.values())}
    path = plan_path(context)
    rows = _PLANS.setdefault(path, [])
    rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, pd.DataFrame(rows, columns=list(PLAN_COLUMNS)).to_csv(index=False))


def _stand_in(job: TrainingJob, train_set: FERDataset, test_sets: Mapping[str, FERDataset], seed: int,
              init: PretrainedTrunk | None, landmarks: PretrainedTrunk | None, folder: Path) -> RunOutcome:
    """A grid's first pass: the job's model after one optimiser step on one batch, tested on one batch, in the
    pass's own folder: the notebook runs on to find every training, and nothing of it is kept as a result."""
    batch = job.recipe.train.batch_size
    if init is not None and not Path(init.path).is_file():
        init = None  # the trunk's pretraining is itself one of the grid's jobs: the stand-in starts from random
    cut = dataclasses.replace(job, recipe=dataclasses.replace(job.recipe, train=dataclasses.replace(
        job.recipe.train, epochs=1, max_batches_per_epoch=1, progress=False)))
    first = train_set.subset(range(min(len(train_set), batch)))
    tests = {k: t.subset(range(min(len(t), batch))) for k, t in test_sets.items()}
    return train_and_evaluate(cut, first, tests, seed=seed, init=init, landmarks=landmarks,
                              cache_root=folder / "stand-in-runs")


def _missing(train_set: FERDataset, test_sets: Mapping[str, FERDataset], seed: int, error: str) -> RunOutcome:
    nan = float("nan")
    metrics = {k: {"accuracy": nan, "ci_low": nan, "ci_high": nan, "targets": np.asarray(t.targets)}
               for k, t in test_sets.items()}
    return RunOutcome(None, metrics, None, None, False, 0.0, list(train_set.classes), len(train_set), nan, seed,
                      "none (its job failed)", "", failure=error)


def run_seeds(context: RunContext, job: TrainingJob, test_sets: Mapping[str, FERDataset],
              init: PretrainedTrunk | None = None, landmarks: PretrainedTrunk | None = None,
              failures: Mapping[str, str] | None = None) -> list[RunOutcome]:
    """Train and evaluate ``job`` for every seed of ``context``; one printed line and outcome per seed.

    Each seed trains on its own stratified subsample of the training split (when the recipe caps it);
    the test sets are the caller's, the same for every seed. ``failures`` (``{run: error}``, and in a cluster
    grid's second pass :func:`fer_lib.protocols.grid.failure`): runs whose job failed; their outcome is missing
    (NaN accuracy, :attr:`RunOutcome.failure`), never trained here instead.
    """
    outcomes = []
    collect = grid.collecting() if not context.dry_run else None
    for seed in context.seeds:
        train_set = load_split(job.dataset, job.train_split, job.recipe, context.data_root, seed=seed,
                               **job.loader_options())
        # A dry run keeps its runs beside its results (runs/dry-run/<paper>/runs), out of the run cache.
        cache_root = context.output_dir / "runs" if context.dry_run else None
        if context.dry_run:
            record_plan(context, job, train_set, test_sets, seed)
        run, complete = cached_run(job, train_set, seed, init, landmarks) if not context.dry_run else ("", True)
        error = (dict(failures or {}).get(run) or grid.failure(run)) if not complete else None
        if error:
            print(f"{job.describe()}, seed {seed}: MISSING, the job that should have trained {run} failed:\n{error}",
                  flush=True)
            outcomes.append(_missing(train_set, test_sets, seed, error))
            continue
        if not complete and collect is not None:
            grid.record(collect, run, RunTask.of(context, job, seed, init, landmarks))
            outcomes.append(_stand_in(job, train_set, test_sets, seed, init, landmarks, collect))
            print(f"{job.describe()}, seed {seed}: {run} collected for the grid's jobs", flush=True)
            continue
        out = train_and_evaluate(job, train_set, test_sets, seed=seed, init=init, cache_root=cache_root,
                                 landmarks=landmarks)
        scores = ", ".join(f"{key} {m['accuracy']:.2f}% of {len(m['targets'])}" for key, m in out.metrics.items())
        cached = "loaded from the run cache" if out.from_cache else f"trained in {out.train_seconds:.0f} s"
        print(f"{job.describe()}, seed {seed}: {scores} ({len(train_set)} training images; {cached})", flush=True)
        outcomes.append(out)
    return outcomes


__all__ = [
    "PLAN_COLUMNS",
    "TRAINED_LANDMARKS",
    "TRUNK_FILE",
    "ModelSetup",
    "PretrainedTrunk",
    "RunOutcome",
    "RunTask",
    "cached_run",
    "TrainingJob",
    "default_loss",
    "plan_path",
    "recipe_for",
    "record_plan",
    "run_seeds",
    "save_trunk",
    "train_and_evaluate",
]

"""POSTER's landmark stream, trained here: a MobileFaceNet 68-point regressor (:class:`fer_lib.models.poster.
MobileFaceNet`) on SynthFER's ground-truth points and on real faces labelled by dlib (:mod:`fer_lib.data.landmarks`).

POSTER freezes a landmark network the authors trained elsewhere; fer_lib cannot download it, so it trains its own,
once per scale, as an ordinary cached and resumable run of the run cache (the recipe family ``landmarks``), and
POSTER's ``landmark_weights`` loads the run's ``model.pt``. A user with the authors' file passes that instead.

- :func:`landmark_data`: the training faces (SynthFER's in-the-wild training split; FER2013's ``Training`` faces dlib
  finds, when the data root has FER2013) and the test faces (SynthFER's test subjects against the ground truth;
  FER2013's ``PublicTest`` faces against dlib). No test face's subject or image is trained on.
- :func:`train_landmark_regressor`: the cached training (the engine's ``fit`` with the :data:`LANDMARKS` task:
  the training NME per epoch).
- :func:`landmark_errors` / :func:`error_summary`: each test face's NME (% of the inter-ocular distance) and per
  set and group the mean with a bootstrap interval, the median, the failure rate (NME above 10 %) and the floor a
  regressor must beat: the NME of answering the training set's mean shape for every face.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fer_lib import metrics as M
from fer_lib.data.landmarks import NUM_POINTS, LandmarkSet, concat, dlib_landmarks, synth_landmarks
from fer_lib.engine import Task, TrainConfig, iterate_batches, to_device
from fer_lib.io import runs_root
from fer_lib.losses import build_loss, landmarks_of
from fer_lib.models.poster import MobileFaceNet
from fer_lib.protocols.training import PretrainedTrunk
from fer_lib.recipes import Recipe, dry_run_recipe, get_recipe
from fer_lib.results import CI_OVER_SEEDS, ResultTable
from fer_lib.runs import train_cached
from fer_lib.settings import RunContext, resolve_dataset

#: A face whose NME exceeds this (in % of the inter-ocular distance) counts as a failure (the usual 300-W cut).
FAILURE_NME = 10.0
SYNTH_TEST = "SynthFER test subjects (ground truth)"
REAL_TEST = "FER2013 PublicTest (against dlib)"


# -- the engine's task ----------------------------------------------------------------------------------
def _nme_total(output, target: torch.Tensor) -> float:
    predicted = landmarks_of(output).detach().float().view(-1, NUM_POINTS, 2).cpu().numpy()
    return float(M.landmark_nme(predicted, target.view(-1, NUM_POINTS, 2).cpu().numpy()).sum())


def _validate(model: torch.nn.Module, val_set: LandmarkSet, cfg: TrainConfig) -> dict[str, float]:
    predicted = predict_landmarks(model, val_set, cfg.eval_batch_size or cfg.batch_size, cfg.device)
    return {"val_nme": float(M.landmark_nme(predicted, val_set.points.numpy()).mean())}


#: What :func:`fer_lib.engine.fit` measures while the regressor trains: the mean NME (%) of the training batches.
LANDMARKS = Task("train_nme", _nme_total, _validate)


@torch.no_grad()
def predict_landmarks(model: torch.nn.Module, dataset: LandmarkSet, batch_size: int = 128,
                      device: str | torch.device = "cpu") -> np.ndarray:
    """The model's points ``[N, 68, 2]`` for every face of ``dataset`` (in order), normalised to [0, 1]."""
    model.eval().to(device)
    out = [landmarks_of(model(to_device(x, device))).float().view(-1, NUM_POINTS, 2).cpu().numpy()
           for x, _ in iterate_batches(dataset, batch_size, shuffle=False, device=device, augment=False)]
    return np.concatenate(out) if out else np.zeros((0, NUM_POINTS, 2), np.float32)


# -- data -----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class LandmarkData:
    """The training faces (one set per source) and the test sets, with a sentence on where each came from."""

    train: list[LandmarkSet]
    tests: dict[str, LandmarkSet]
    notes: list[str]

    def train_set(self) -> LandmarkSet:
        return concat("+".join(part.name for part in self.train), self.train)


def _grey_faces(dataset) -> np.ndarray:
    """A FER2013 split's faces as uint8 ``[N, 48, 48]`` (the csv's pixels, or the image files)."""
    if hasattr(dataset, "pixels") and hasattr(dataset, "rows"):
        return np.asarray(dataset.pixels[dataset.rows], dtype=np.uint8)
    return np.stack([np.asarray(dataset.load_image(i).convert("L").resize((48, 48))) for i in range(len(dataset))])


def _cap(dataset: LandmarkSet, limit: int | None, seed: int) -> LandmarkSet:
    if limit is None or len(dataset) <= limit:
        return dataset
    keep = np.sort(np.random.default_rng(seed).choice(len(dataset), size=limit, replace=False))
    return dataset.subset(keep)


def landmark_data(recipe: Recipe, data_root: str | os.PathLike | None = None, seed: int = 0) -> LandmarkData:
    """Training and test faces at ``recipe``'s face size and caps (``max_train`` per source, ``max_test`` per test
    set). FER2013 is used when ``data_root`` holds it (its ``Training`` rows to train, ``PublicTest`` to test:
    never ``PrivateTest``, FERPlus's and FER2013's test images), else SynthFER alone (the notes say so)."""
    from fer_lib.data import load_dataset

    size, scale = recipe.image_size, recipe.scale
    synth_train = synth_landmarks("train", scale, size, seed=seed, limit=recipe.max_train)
    synth_test = synth_landmarks("test", scale, size, seed=0, limit=recipe.max_test)  # every seed's test faces
    data = LandmarkData([synth_train], {SYNTH_TEST: synth_test},
                        [f"SynthFER in the wild at the {scale} scale: {len(synth_train)} training and "
                         f"{len(synth_test)} test faces of disjoint subjects, ground-truth points"])
    name, why = resolve_dataset("fer2013", data_root)
    if name != "fer2013":
        data.notes.append(f"no real faces: {why}")
        return data
    root = Path(data_root).expanduser() / "fer2013"
    for split, key in (("Training", None), ("PublicTest", REAL_TEST)):
        faces = load_dataset("fer2013", split=split, root=root)
        pixels = _grey_faces(faces)
        if key is None and recipe.max_train is not None:
            pixels, ids = pixels[: 2 * recipe.max_train], list(faces.metadata["source_id"])[: 2 * recipe.max_train]
        elif key is not None and recipe.max_test is not None:
            pixels, ids = pixels[: 2 * recipe.max_test], list(faces.metadata["source_id"])[: 2 * recipe.max_test]
        else:
            ids = list(faces.metadata["source_id"])
        labelled = dlib_landmarks(f"FER2013 {split} (dlib)", pixels, ids, image_size=size)
        found = len(labelled)
        labelled = _cap(labelled, recipe.max_train, seed) if key is None else _cap(labelled, recipe.max_test, 0)
        if key is None:
            data.train.append(labelled)
        else:
            data.tests[key] = labelled
        used = f", {len(labelled)} used" if len(labelled) < found else ""
        data.notes.append(f"FER2013 {split}: dlib found {found} of {len(pixels)} faces (48 px upsampled 4x){used}; "
                          f"its points are the {'targets' if key is None else 'reference'}")
    return data


# -- training -------------------------------------------------------------------------------------------
@dataclasses.dataclass
class LandmarkRegressor:
    """A trained landmark network: the model, its run folder (``weights``: POSTER's ``landmark_weights``), how long
    it trained, the training faces' mean shape (the floor) and the data it saw."""

    model: MobileFaceNet
    run_dir: Path
    train_seconds: float
    from_cache: bool
    mean_shape: np.ndarray
    data: LandmarkData
    recipe: Recipe
    history: pd.DataFrame
    seed: int = 0
    #: Where the weights started and the training precision (what a result cell records of its runs).
    init: str = "random"
    precision: str = "fp32"

    @property
    def weights(self) -> Path:
        return self.run_dir / "model.pt"


def _digest(dataset: LandmarkSet) -> str:
    digest = hashlib.sha1(dataset.points.numpy().tobytes())
    digest.update("\n".join(dataset.source_ids).encode())
    return digest.hexdigest()[:16]


def train_landmark_regressor(scale: str, device: str = "cpu", data_root: str | os.PathLike | None = None,
                             seed: int = 0, recipe: Recipe | None = None, cache_root: str | os.PathLike | None = None,
                             **overrides) -> LandmarkRegressor:
    """MobileFaceNet trained on :func:`landmark_data` with the ``landmarks`` recipe of ``scale`` (or ``recipe``;
    ``overrides`` replace recipe fields): loaded from the run cache (``cache_root``: another one than ``runs/``),
    or trained now (resumable, a line per epoch)."""
    recipe = recipe if recipe is not None else get_recipe("landmarks", scale, device, **overrides)
    data = landmark_data(recipe, data_root, seed)
    train_set = data.train_set()
    loss_fn = build_loss("wing", face_size=recipe.image_size)
    spec = {"model": "mobilefacenet", "task": "landmarks68", "image_size": recipe.image_size,
            "recipe": recipe.identity(), "loss": loss_fn.identity(), "seed": seed, "head_init": "mean shape",
            "train_data": [{"name": part.name, "faces": len(part), "digest": _digest(part)} for part in data.train]}
    about = {"scale": scale, "recipe_family": "landmarks", "notes": data.notes}
    cfg = dataclasses.replace(recipe.train, seed=seed)
    print(f"landmark regressor (MobileFaceNet, 68 points) on {len(train_set)} faces: {recipe.describe()}", flush=True)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    points = train_set.points.flatten(1)

    def build() -> MobileFaceNet:
        model = MobileFaceNet()
        model.start_at_shape(points.mean(0), points.std(0))
        return model

    model, result = train_cached(spec, build, train_set, cfg, loss_fn=loss_fn, about=about, task=LANDMARKS,
                                 root=cache_root)
    state = "loaded from the run cache" if result.from_cache else f"trained in {time.perf_counter() - t0:.0f} s"
    print(f"landmark regressor {result.run_dir.name}: {state}", flush=True)
    return LandmarkRegressor(model.eval(), result.run_dir, float(result.wall_seconds), result.from_cache,
                             train_set.points.numpy().mean(axis=0), data, recipe, result.history, seed,
                             precision=cfg.precision)


def _dry_run_recipe(device: str) -> Recipe:
    """A dry run's landmark recipe: the paper recipe for two optimiser steps."""
    return dry_run_recipe(get_recipe("landmarks", "paper", device), device)[0]


@functools.cache
def _cached_regressor(scale: str, device: str, data_root: str | None, dry_run_root: str | None,
                      runs: str) -> LandmarkRegressor:
    # ``runs`` (the run cache's folder) is part of the memo's key: another FER_RUNS_DIR is another cache.
    if dry_run_root is None:
        return train_landmark_regressor(scale, device, data_root)
    return train_landmark_regressor(scale, device, data_root, recipe=_dry_run_recipe(device), cache_root=dry_run_root)


def trained_landmark_stream(context: RunContext) -> PretrainedTrunk:
    """The landmark regressor of the context's scale (seed 0; trained now if the run cache lacks it, once per
    process), as the part a POSTER run with ``landmark_weights="trained"`` starts from; a dry run's is the paper
    recipe's two steps, in its own run cache."""
    root = str(Path(context.data_root).expanduser()) if context.data_root else None
    dry = str(context.output_dir / "runs") if context.dry_run else None
    regressor = _cached_regressor(context.scale, context.device, root, dry, str(runs_root()))
    sources = "+".join("synthfer" if part.data_kind == "synthetic" else "fer2013-dlib" for part in regressor.data.train)
    return PretrainedTrunk(sources, "mobilefacenet", regressor.weights, regressor.run_dir.name, regressor.train_seconds)


# -- errors ---------------------------------------------------------------------------------------------
def landmark_errors(regressor: LandmarkRegressor, device: str = "cpu") -> pd.DataFrame:
    """Each test face's NME (%): columns ``test``, ``group``, ``source_id``, ``nme`` (the regressor) and
    ``mean_shape_nme`` (the training mean shape answered for every face)."""
    frames = []
    for name, dataset in regressor.data.tests.items():
        predicted = predict_landmarks(regressor.model, dataset, device=device)
        reference = dataset.points.numpy()
        mean_shape = np.broadcast_to(regressor.mean_shape, reference.shape)
        frames.append(pd.DataFrame({"test": name, "group": dataset.groups, "source_id": dataset.source_ids,
                                    "nme": M.landmark_nme(predicted, reference),
                                    "mean_shape_nme": M.landmark_nme(mean_shape, reference)}))
    return pd.concat(frames, ignore_index=True)


def error_summary(errors: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per test set and group (and ``all`` of each set): faces, mean NME with its 95% bootstrap interval over the
    faces, median, failure rate (NME > :data:`FAILURE_NME`) and the mean-shape floor's mean NME."""
    rows = []
    for test, frame in errors.groupby("test", sort=False):
        groups = [("all", frame)] + ([(g, f) for g, f in frame.groupby("group")] if frame["group"].nunique() > 1
                                      else [])
        for group, part in groups:
            nme = part["nme"].to_numpy()
            rng = np.random.default_rng(seed)
            means = nme[rng.integers(0, len(nme), size=(1000, len(nme)))].mean(axis=1)
            rows.append({"test": test, "group": group, "faces": len(nme), "nme": float(nme.mean()),
                         "ci_low": float(np.percentile(means, 2.5)), "ci_high": float(np.percentile(means, 97.5)),
                         "median_nme": float(np.median(nme)), "failure_rate": float((nme > FAILURE_NME).mean() * 100),
                         "mean_shape_nme": float(part["mean_shape_nme"].mean())})
    return pd.DataFrame(rows)


REGRESSOR_ROW = "MobileFaceNet (trained here)"
FLOOR_ROW = "Mean shape (floor)"


def landmark_rows(context: RunContext, table: ResultTable) -> tuple[list[LandmarkRegressor], pd.DataFrame]:
    """The landmark table: the regressor trained (or loaded) for each seed of ``context``, and per test set and
    group a cell of its mean NME (%) beside the mean-shape floor's. One seed: a bootstrap interval over the faces;
    several: the interval over seeds. A dry run trains the paper recipe for two steps into its own run cache.
    Returns the regressors and every test face's errors (column ``seed``)."""
    recipe = _dry_run_recipe(context.device) if context.dry_run else None
    regressors, frames = [], []
    for seed in context.seeds:
        regressor = train_landmark_regressor(context.scale, context.device, context.data_root, seed, recipe=recipe,
                                             cache_root=context.output_dir / "runs" if context.dry_run else None)
        errors = landmark_errors(regressor, context.device)
        errors["seed"] = seed
        regressors.append(regressor)
        frames.append(errors)
    errors = pd.concat(frames, ignore_index=True)
    summaries = [error_summary(errors[errors["seed"] == seed]) for seed in context.seeds]
    one = len(context.seeds) == 1
    for i, cell in summaries[0].iterrows():
        column = cell["test"] if cell["group"] == "all" else f"{cell['test']} / {cell['group']}"
        kind = "synthetic" if cell["test"] == SYNTH_TEST else "real"
        rates = ", ".join(f"{s.loc[i, 'failure_rate']:.1f}" for s in summaries)
        medians = ", ".join(f"{s.loc[i, 'median_nme']:.2f}" for s in summaries)
        table.add(REGRESSOR_ROW, column, [s.loc[i, "nme"] for s in summaries],
                  ci=(cell["ci_low"], cell["ci_high"]) if one else None, unit="NME %", data_kind=kind, runs=regressors,
                  ci_method="bootstrap over the test faces" if one else CI_OVER_SEEDS,
                  note=f"{cell['faces']} faces; median {medians}; failures (NME > {FAILURE_NME:g}) {rates} %")
        table.add(FLOOR_ROW, column, [s.loc[i, "mean_shape_nme"] for s in summaries], unit="NME %", data_kind=kind,
                  note="the training faces' mean shape answered for every face: what a regressor must beat")
    return regressors, errors


__all__ = ["FAILURE_NME", "FLOOR_ROW", "LANDMARKS", "REAL_TEST", "REGRESSOR_ROW", "SYNTH_TEST", "LandmarkData",
           "LandmarkRegressor", "error_summary", "landmark_data", "landmark_errors", "landmark_rows",
           "predict_landmarks", "trained_landmark_stream",
           "train_landmark_regressor"]

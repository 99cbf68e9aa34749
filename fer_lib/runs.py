"""The run cache: one trained model per specification, and the public API to read it back.

A run lives in ``runs/<model>-<key>/`` (``FER_RUNS_DIR`` overrides ``runs/``)::

    spec.json      the specification: what determines the weights (hashed into <key>) + "about"
    metrics.csv    one row per epoch (fer_lib.engine.fit)
    checkpoint.pt  written every epoch; an interrupted run resumes from it (removed once the run is complete)
    model.pt       the final state dict
    summary.json   written last: the run is complete (its total training time, epochs, finish time)

The key holds only what changes the weights: model and options, dataset and loader options, the
training-set size and class list, the recipe fields that shape training, the loss, the seed and the
training configuration. Descriptive fields (the scale's name, the recipe family, the test cap) go
under ``spec["about"]``: changing how many test images a table evaluates on never retrains a model.

:func:`train_cached` trains or loads a run; :func:`load_run` rebuilds the model of a run folder or a
checkpoint file for tools (the Grad-CAM widget); :func:`run_choices` lists runs for a menu.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset

from fer_lib.engine import CHECKPOINT, CLASSIFICATION, FINAL_WEIGHTS, Task, TrainConfig, TrainResult, fit
from fer_lib.io import atomic_write_json, runs_root
from fer_lib.locking import claim

SPEC_FILE = "spec.json"
SUMMARY_FILE = "summary.json"
#: The spec entry that describes a run without being part of its key.
ABOUT = "about"


def _canonical(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _canonical(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def run_key(spec: Mapping[str, Any]) -> str:
    """A 16-hex-digit hash of what determines a run's weights (``spec`` without its ``about`` entry)."""
    keyed = {k: v for k, v in spec.items() if k != ABOUT}
    blob = json.dumps(_canonical(keyed), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_dir_for(spec: Mapping[str, Any], root: str | os.PathLike | None = None) -> Path:
    """``runs/<model>-<key>/`` for ``spec`` (its ``model`` entry names the folder)."""
    label = str(spec.get("model", "run")).replace("/", "_")
    return Path(root or runs_root()) / f"{label}-{run_key(spec)}"


def list_runs(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """Completed runs in the cache: one row per run with its folder, spec fields and training seconds."""
    rows = []
    for summary in sorted(Path(root or runs_root()).glob(f"*/{SUMMARY_FILE}")):
        info = json.loads(summary.read_text())
        spec = info.get("spec", {})
        about = spec.get(ABOUT) or {}
        rows.append({"run_dir": str(summary.parent), "model": spec.get("model"), "dataset": spec.get("dataset"),
                     "scale": about.get("scale"), "seed": spec.get("seed"),
                     "wall_seconds": info.get("wall_seconds")})
    return pd.DataFrame(rows)


def force_retrain_requested() -> bool:
    """``FORCE=1`` (or ``FER_FORCE=1``) in the environment asks every cached run to retrain."""
    return os.environ.get("FER_FORCE", os.environ.get("FORCE", "")).strip() not in ("", "0", "false", "no")


def train_cached(
    spec: Mapping[str, Any],
    build_model: Callable[[], nn.Module],
    train_set: Dataset,
    cfg: TrainConfig,
    val_set: Dataset | None = None,
    loss_fn: Callable[[Any, torch.Tensor], torch.Tensor] | None = None,
    force: bool | None = None,
    root: str | os.PathLike | None = None,
    about: Mapping[str, Any] | None = None,
    task: Task = CLASSIFICATION,
) -> tuple[nn.Module, TrainResult]:
    """Train ``build_model()`` unless a completed run with the same ``spec`` + recipe is cached.

    ``spec`` names everything else that determines the weights (model name and options, dataset,
    split or fold, image size ...); the training configuration ``cfg`` is added to it. ``about``
    (scale, recipe family ...) is stored in ``spec.json`` but not hashed; ``task`` is :func:`fit`'s. ``force``
    (default: the ``FORCE`` environment variable) retrains from scratch. An interrupted run resumes, and its
    ``wall_seconds`` is the training time of all its sessions.
    """
    full_spec = {**dict(spec), "train": cfg.identity()}
    run_path = run_dir_for(full_spec, root)
    stored_spec = _canonical({**full_spec, ABOUT: dict(about or {})})
    force = force_retrain_requested() if force is None else force
    if force and run_path.exists():
        shutil.rmtree(run_path)
    model = build_model()
    cached = _load_complete(run_path, model, cfg)
    if cached is not None:
        return cached
    # One trainer per key (fer_lib.locking): a process that finds the run claimed waits, then loads what the
    # holder trained; a claim whose holder died is taken over and the run resumes from its last checkpoint.
    with claim(run_path) as trainer:
        cached = _load_complete(run_path, model, cfg)
        if cached is not None:
            return cached
        atomic_write_json(run_path / SPEC_FILE, stored_spec)
        result = fit(model, train_set, cfg, val_set=val_set, run_dir=run_path, loss_fn=loss_fn, task=task)
        atomic_write_json(run_path / SUMMARY_FILE, {"spec": stored_spec, "completed": True,
                                                    "wall_seconds": result.wall_seconds, "epochs": cfg.epochs,
                                                    "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                                    "trained_by": trainer})  # host, process, SLURM job
        # A complete run never resumes, and its checkpoint (weights + optimiser state) is two to three times
        # model.pt: a GMS-LPA run's is 0.9 GB, so a table's grid would fill a disk with dead checkpoints.
        (run_path / CHECKPOINT).unlink(missing_ok=True)
    return model, result


def is_complete(run_path: Path) -> bool:
    """Whether ``run_path`` holds a finished run (its summary is written last, after the final weights)."""
    return (run_path / SUMMARY_FILE).is_file() and (run_path / FINAL_WEIGHTS).is_file()


def slurm_job_of(run_path: Path) -> str:
    """The SLURM job that trained the complete run at ``run_path`` (``"12_3"``), or ``""`` (trained outside SLURM,
    or before summaries recorded their trainer)."""
    try:
        trainer = json.loads((run_path / SUMMARY_FILE).read_text()).get("trained_by") or {}
    except (OSError, ValueError):
        return ""
    return str(trainer.get("slurm_job") or "")


def _load_complete(run_path: Path, model: nn.Module, cfg: TrainConfig) -> tuple[nn.Module, TrainResult] | None:
    """``model`` with the weights of the complete run at ``run_path`` (its summary is written last, after the
    final weights, so a run being written is never read), or ``None``."""
    summary_path = run_path / SUMMARY_FILE
    if not is_complete(run_path):
        return None
    state = torch.load(run_path / FINAL_WEIGHTS, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    info = json.loads(summary_path.read_text())
    history = pd.read_csv(run_path / "metrics.csv")
    return model.to(cfg.device), TrainResult(history, run_path, float(info["wall_seconds"]), from_cache=True)


# -- reading runs back ----------------------------------------------------------------------------
@dataclasses.dataclass
class LoadedRun:
    """A model rebuilt from the run cache or a checkpoint, with the spec it was trained under."""

    model: nn.Module
    spec: dict[str, Any]
    source: Path

    def setting(self, key: str) -> Any:
        """``key`` from the spec: its top level, its recipe, its model options or its ``about`` entry."""
        places = (self.spec, self.spec.get("recipe"), self.spec.get("model_options"), self.spec.get(ABOUT))
        for place in places:
            if isinstance(place, Mapping) and place.get(key) is not None:
                return place[key]
        return None

    @property
    def image_size(self) -> int | None:
        """The input side the model was trained at, when the spec says."""
        size = self.setting("image_size")
        return int(size) if size is not None else None

    @property
    def scale(self) -> str | None:
        return self.setting("scale")

    def label(self) -> str:
        """A short menu label: model / dataset / scale / seed / folder."""
        seed = self.spec.get("seed")
        parts = [str(v) for v in (self.spec.get("model"), self.spec.get("dataset"), self.scale) if v is not None]
        if seed is not None:
            parts.append(f"seed {seed}")
        return " / ".join(parts + [self.source.name])


def _num_classes(spec: Mapping[str, Any]) -> int:
    if spec.get("num_classes") is not None:
        return int(spec["num_classes"])
    if isinstance(spec.get("classes"), list | tuple):
        return len(spec["classes"])
    return 7


def _state_dict_of(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and "model" in obj and isinstance(obj["model"], Mapping):
        obj = obj["model"]  # a fer_lib.engine checkpoint.pt
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path} does not hold a state dict (name -> tensor) or a fer_lib checkpoint")
    return dict(obj)


def _weights_and_spec(path: Path) -> tuple[Path, Path]:
    """The weights file and the spec file of a run folder or a checkpoint file."""
    if path.is_dir():
        for name in (FINAL_WEIGHTS, CHECKPOINT):
            if (path / name).is_file():
                return path / name, path / SPEC_FILE
        raise FileNotFoundError(f"{path} is not a finished run: expected {FINAL_WEIGHTS} (or {CHECKPOINT}) "
                                f"beside {SPEC_FILE}")
    if path.is_file():
        return path, path.parent / SPEC_FILE
    raise FileNotFoundError(f"{path} does not exist; expected a run folder ({SPEC_FILE} + {FINAL_WEIGHTS}) or a "
                            "checkpoint file")


def load_run(
    source: str | os.PathLike,
    device: str | torch.device = "cpu",
    model: str | None = None,
    **model_options: Any,
) -> LoadedRun:
    """Rebuild a trained model from a run folder (``spec.json`` + ``model.pt``) or a checkpoint file.

    ``source``: a run folder of the cache, or a ``model.pt`` / ``checkpoint.pt`` / state-dict file
    (its folder's ``spec.json`` is used when present; otherwise ``model`` and ``model_options``
    name the architecture). The spec gives ``model`` (registry name), ``model_options`` and
    ``num_classes`` (default ``len(classes)``, else 7). Weights are read with ``weights_only=True``.
    The model is in eval mode.
    """
    from fer_lib.models import create_model

    weights, spec_path = _weights_and_spec(Path(source).expanduser())
    spec: dict[str, Any] = json.loads(spec_path.read_text()) if spec_path.is_file() else {}
    if model is not None:
        num_classes = model_options.pop("num_classes", None)
        spec = {**spec, "model": model, "model_options": {**spec.get("model_options", {}), **model_options}}
        if num_classes is not None:
            spec["num_classes"] = int(num_classes)
    if not spec.get("model"):
        raise ValueError(f"no {SPEC_FILE} beside {weights}: pass model= (a registered model name) and its options")
    built = create_model(spec["model"], num_classes=_num_classes(spec), **dict(spec.get("model_options") or {}))
    state = _state_dict_of(torch.load(weights, map_location="cpu", weights_only=True), weights)
    try:
        built.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{weights} does not fit {spec['model']} with options {spec.get('model_options')} and "
                         f"{_num_classes(spec)} classes: {err}") from err
    return LoadedRun(built.to(device).eval(), spec, Path(source).expanduser())


def run_choices(
    root: str | os.PathLike | None = None, dataset: str | None = None, scale: str | None = None
) -> list[tuple[str, str]]:
    """``(label, run folder)`` of every completed run in the cache, for a run menu.

    Runs on ``dataset`` come first, then runs at ``scale``, each group newest first.
    """
    runs = list_runs(root)
    if runs.empty:
        return []
    rows = []
    for folder in runs["run_dir"]:
        spec_path = Path(folder) / SPEC_FILE
        spec = json.loads(spec_path.read_text()) if spec_path.is_file() else {}
        info = LoadedRun(nn.Identity(), spec, Path(folder))
        rank = (dataset is not None and spec.get("dataset") == dataset, scale is not None and info.scale == scale,
                Path(folder).stat().st_mtime)
        rows.append((rank, info.label(), str(folder)))
    return [(label, folder) for _, label, folder in sorted(rows, reverse=True)]


__all__ = [
    "ABOUT",
    "LoadedRun",
    "force_retrain_requested",
    "list_runs",
    "load_run",
    "run_choices",
    "run_dir_for",
    "run_key",
    "train_cached",
]

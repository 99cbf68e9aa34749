"""Datasets: one module per dataset, a synthetic generator, transforms, and a name registry.

``load_dataset(name, root=..., split=..., fold=..., **cfg)`` returns a :class:`FERDataset`.
Dataset modules register a builder with :func:`register_dataset`; importing this package imports
them all, so every registered name is available.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

from fer_lib.data.base import FERDataset, FERSubset, to_rgb_pil
from fer_lib.data.labels import CANONICAL_CLASSES, SEVEN_CLASSES, SIX_BASIC, canonical_name

_DATASETS: dict[str, Callable[..., FERDataset]] = {}

#: Dataset modules imported on first use of the registry (a module may be absent while it is written).
_DATASET_MODULES = (
    "synth",
    "fer2013",
    "ferplus",
    "rafdb",
    "occlusion_pose",
    "ckplus",
    "jaffe",
    "affectnet",
)


def register_dataset(name: str) -> Callable[[Callable[..., FERDataset]], Callable[..., FERDataset]]:
    """Decorator: register a dataset builder under ``name`` (lower case, unique)."""

    def wrap(builder: Callable[..., FERDataset]) -> Callable[..., FERDataset]:
        if name in _DATASETS and _DATASETS[name] is not builder:
            raise ValueError(f"dataset name {name!r} is registered twice")
        _DATASETS[name] = builder
        return builder

    return wrap


def _import_dataset_modules() -> None:
    for module in _DATASET_MODULES:
        try:
            importlib.import_module(f"fer_lib.data.{module}")
        except ModuleNotFoundError as err:
            if err.name != f"fer_lib.data.{module}":
                raise


def list_datasets() -> list[str]:
    """All registered dataset names, sorted."""
    _import_dataset_modules()
    return sorted(_DATASETS)


def load_dataset(name: str, **cfg) -> FERDataset:
    """Build the dataset registered as ``name`` with its options (``root``, ``split``, ``fold`` ...).

    Unknown names and unknown options raise a ``ValueError`` that lists what is accepted.
    """
    _import_dataset_modules()
    if name not in _DATASETS:
        raise ValueError(f"unknown dataset {name!r}; registered datasets: {', '.join(sorted(_DATASETS))}")
    builder = _DATASETS[name]
    params = inspect.signature(builder).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(cfg) - set(params))
        if unknown:
            raise ValueError(
                f"dataset {name!r} got unknown option(s) {unknown}; accepted: {sorted(params)}"
            )
    return builder(**cfg)


__all__ = [
    "CANONICAL_CLASSES",
    "SEVEN_CLASSES",
    "SIX_BASIC",
    "FERDataset",
    "FERSubset",
    "canonical_name",
    "list_datasets",
    "load_dataset",
    "register_dataset",
    "to_rgb_pil",
]

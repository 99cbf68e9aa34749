"""Datasets: one module per dataset, a synthetic generator, transforms, and a name registry.

``load_dataset(name, root=..., split=..., fold=..., **cfg)`` returns a :class:`FERDataset`.
Dataset modules register a builder with :func:`register_dataset`; importing this package imports
them all (a new dataset module is added to the import list at the bottom), so every name is registered.
"""

from __future__ import annotations

from collections.abc import Callable

from fer_lib.data.base import FERDataset, FERSubset, to_rgb_pil
from fer_lib.data.labels import CANONICAL_CLASSES, SEVEN_CLASSES, SIX_BASIC, canonical_name
from fer_lib.registry import Registry

DATASETS: Registry[FERDataset] = Registry("dataset")


def register_dataset(name: str) -> Callable[[Callable[..., FERDataset]], Callable[..., FERDataset]]:
    """Decorator: register a dataset builder under ``name`` (lower case, unique)."""
    return DATASETS.register(name)


def list_datasets() -> list[str]:
    """All registered dataset names, sorted."""
    return DATASETS.names()


def load_dataset(name: str, **cfg) -> FERDataset:
    """Build the dataset registered as ``name`` with its options (``root``, ``split``, ``fold`` ...).

    Unknown names and unknown options raise a ``ValueError`` that lists what is accepted.
    """
    return DATASETS.build(name, **cfg)


# Importing the dataset modules registers their names; they import register_dataset from here, so this comes last.
from fer_lib.data import (  # noqa: E402, F401
    affectnet,
    bosphorus,
    bu3dfe,
    ckplus,
    fer2013,
    ferplus,
    jaffe,
    multipie,
    occlusion_pose,
    rafdb,
    rgbd,
    synth,
)

__all__ = [
    "CANONICAL_CLASSES",
    "DATASETS",
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

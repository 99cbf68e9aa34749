"""Loading a dataset split the way a recipe trains or tests on it, and the test subsets of a base dataset.

- :func:`load_split`: one split of a dataset with the recipe's transform, subsampled to the recipe's
  size cap (stratified, deterministic for a seed). Splits are memoised: the rows of a table that share
  a recipe load each split once.
- :func:`subset_source` / :func:`load_subset`: the occlusion / pose subsets of a base test set — the
  RAN lists for real data (``<data_root>/ran_lists``), ``subset=...`` of SynthFER for synthetic data
  (PCNN Tables VIII/IX).
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fer_lib.data import FERDataset, load_dataset, modalities, preprocess
from fer_lib.data.memory import InMemoryImages, augment_for, store_size_for
from fer_lib.data.modalities import ModalityImages
from fer_lib.data.transforms import NORMALISATION, build_transform
from fer_lib.io import atomic_save, code_keyed_cache_file
from fer_lib.recipes import Recipe
from fer_lib.settings import data_kind_of, dataset_root

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

#: How many loaded splits are kept (a table's rows share a handful; each is at most a few hundred MB).
_CACHE_SIZE = 8
_SPLITS: OrderedDict[tuple, FERDataset] = OrderedDict()


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


def in_memory_limit_bytes() -> int:
    """The largest split :func:`load_split` holds in memory (``FER_IN_MEMORY_GB``, default 16 GiB); a larger one
    (AffectNet's 287,651 training images at 224 px are 43 GB) goes through a DataLoader with workers."""
    return int(float(os.environ.get("FER_IN_MEMORY_GB", "16")) * 2**30)


def _read_split(dataset: str, split: str, recipe: Recipe, data_root: Path | None, train: bool, seed: int,
                options: dict[str, Any]) -> FERDataset:
    # The per-image transform serves the DataLoader path; in memory, images are augmented per batch instead.
    transform = build_transform(recipe.transform, recipe.image_size, train=train)
    # CM-CNN's inputs: the loader's raw images become their modalities packed into the channels, and the
    # packing wrapper applies the transform.
    options = dict(options)
    modalities = options.pop("modalities", None)
    loader_transform = transform if modalities is None else None
    if data_kind_of(dataset) == "synthetic":
        ds = load_dataset(dataset, split=split, scale=recipe.scale, image_size=recipe.image_size,
                          transform=loader_transform, **options)
    else:
        if data_root is None:
            raise ValueError(f"dataset {dataset!r} is real data: pass data_root (the folder holding your copy)")
        ds = load_dataset(dataset, root=dataset_root(data_root, dataset), split=split, transform=loader_transform,
                          **options)
    if modalities is not None:
        ds = ModalityImages(ds, modalities, transform=transform)
    source_size = len(ds)
    ds = stratified_subsample(ds, recipe.max_train if train else recipe.max_test, seed)
    ds.source_size = source_size  # before the size cap: what a dry run's plan projects
    if recipe.in_memory:
        side = store_size_for(ds, recipe.image_size) if recipe.resize_on_device else recipe.image_size
        if len(ds) * 3 * side * side <= in_memory_limit_bytes():
            ds = _in_memory(ds, recipe, side, train)
    return ds


def modality_cache_path(dataset: FERDataset, side: int) -> Path | None:
    """Where the packed modality images of a real ``dataset`` (a :class:`ModalityImages`) at
    ``side`` pixels are kept between processes (LBP, HOG and Gabor images of FERPlus's 16,201 training faces take
    tens of minutes to compute): keyed by its samples (source ids and labels), its name (with the modalities), the
    side, and the source of the code that computes them. ``None`` where nothing is cached: synthetic data (rendered
    in seconds, by code the key does not cover), another dataset, or samples without source ids."""
    if not isinstance(dataset, ModalityImages) or dataset.data_kind != "real" \
            or "source_id" not in dataset.metadata:
        return None
    parts = (json.dumps([dataset.name, side]), "\n".join(map(str, dataset.metadata["source_id"])),
             np.asarray(dataset.targets, dtype=np.int64).tobytes())
    return code_keyed_cache_file("modalities", parts, (modalities, preprocess))


def _in_memory(ds: FERDataset, recipe: Recipe, side: int, train: bool) -> InMemoryImages:
    """``ds`` decoded into memory (from the modality cache when it holds these images)."""
    augment, normalisation = augment_for(recipe.transform, train), NORMALISATION[recipe.transform]
    path = modality_cache_path(ds, side)
    if path is not None and path.is_file():
        images = torch.load(path, weights_only=True)
        if isinstance(images, torch.Tensor) and len(images) == len(ds) and images.shape[-1] == side:
            return InMemoryImages(images, ds, augment, output_size=recipe.image_size, normalisation=normalisation)
    loaded = InMemoryImages.from_dataset(ds, recipe.image_size, augment, store_size=side,
                                         normalisation=normalisation)
    if path is not None:
        atomic_save(path, lambda tmp: torch.save(loaded.images, tmp))
    return loaded


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
    ``data_root``. ``train`` (default: ``split == "train"``) selects augmentation and the size cap
    (``max_train``, else ``max_test``); ``seed`` draws the subsample. ``options`` go to the loader. A
    recipe with ``in_memory`` gets an :class:`~fer_lib.data.memory.InMemoryImages` (decoded once, augmented
    per batch).
    """
    train = (split == "train") if train is None else train
    root = Path(data_root).expanduser() if data_root is not None else None
    key = (dataset, split, recipe.scale, recipe.image_size, recipe.transform, recipe.in_memory,
           recipe.resize_on_device,
           recipe.max_train if train else recipe.max_test, train, seed, str(root), repr(sorted(options.items())))
    if key in _SPLITS:
        _SPLITS.move_to_end(key)
        return _SPLITS[key]
    loaded = _read_split(dataset, split, recipe, root, train, seed, options)
    _SPLITS[key] = loaded
    while len(_SPLITS) > _CACHE_SIZE:
        _SPLITS.popitem(last=False)
    return loaded


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
    if data_kind_of(base) == "synthetic":
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


__all__ = [
    "LISTS_DIR",
    "REAL_SUBSETS",
    "SUBSET_KINDS",
    "in_memory_limit_bytes",
    "lists_root",
    "load_split",
    "load_subset",
    "stratified_subsample",
    "subset_source",
]

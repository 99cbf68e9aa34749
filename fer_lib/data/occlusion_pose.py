"""Occlusion and pose test subsets of RAF-DB and FERPlus from the RAN lists.

The lists (Wang et al., "Region attention networks", repository Challenge-condition-FER-dataset) are
given by their directory ``lists_root`` (the repository root holding ``RAF_DB_dir/`` and
``FERplus_dir/``, or either folder itself); each list is resolved against the base dataset ``root``:

===================  ===========================  =====================================================
name                 list file                    line format
===================  ===========================  =====================================================
rafdb-occlusion      rafdb_occlusion_list.txt     ``test_0003_aligned 3 4`` (stem, RAF label 0..6, type 1..4)
rafdb-pose30         val_raf_db_list.txt          ``3/test_0004_aligned.jpg`` (RAF label 0..6 / image)
rafdb-pose45         val_raf_db_list_45.txt       as above
ferplus-occlusion    jianfei_occlusion_list.txt   ``1_fer0034656.png 8 0`` (FERPlus label 0..7, 8, type 0..3)
ferplus-pose30       pose_30_ferplus_list.txt     ``0/fer0032226.jpg`` (FERPlus label 0..7 / image)
ferplus-pose45       pose_45_ferplus_list.txt     as above
===================  ===========================  =====================================================

Labels in the lists are 0-based native labels (RAF-DB: label - 1; FERPlus: its 8-class order) and
are mapped onto the canonical classes. ``ferNNNNNNN`` names are FERPlus image names: they map to
FER2013 rows through the ``Image name`` column of ``fer2013new.csv`` (not through the number).
A name that cannot be resolved is an error (nothing is dropped silently).

``metadata['source_id']`` is the id of the same image in its base dataset (:mod:`fer_lib.data.identity`):
``rafdb:<stem>``, ``fer2013:<row>`` (FERPlus csv layout) or ``ferplus:<stem>`` (FERPlus image layout).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from fer_lib.data import register_dataset
from fer_lib.data._common import ArrayDataset, ImageFileDataset, add_skip, check_images_exist, check_root
from fer_lib.data.base import FERDataset
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.fer2013 import fer2013_ids, load_fer2013_csv
from fer_lib.data.ferplus import (
    FOLDERS,
    NOT_FACE,
    VOTE_COLUMNS,
    classes_for,
    ferplus_ids,
    find_fer2013,
    find_votes_csv,
    native_to_index,
    read_votes_csv,
)
from fer_lib.data.labels import SEVEN_CLASSES
from fer_lib.data.rafdb import NATIVE_TO_INDEX as RAF_NATIVE_TO_INDEX
from fer_lib.data.rafdb import find_image_root, find_label_file, image_path, rafdb_ids, read_label_file

#: subset name -> (list sub-folder, list file, kind).
LISTS: dict[str, tuple[str, str, str]] = {
    "rafdb-occlusion": ("RAF_DB_dir", "rafdb_occlusion_list.txt", "occlusion"),
    "rafdb-pose30": ("RAF_DB_dir", "val_raf_db_list.txt", "pose"),
    "rafdb-pose45": ("RAF_DB_dir", "val_raf_db_list_45.txt", "pose"),
    "ferplus-occlusion": ("FERplus_dir", "jianfei_occlusion_list.txt", "occlusion"),
    "ferplus-pose30": ("FERplus_dir", "pose_30_ferplus_list.txt", "pose"),
    "ferplus-pose45": ("FERplus_dir", "pose_45_ferplus_list.txt", "pose"),
}
POSE_OF = {"pose30": ">30", "pose45": ">45"}


def find_list(lists_root: str | os.PathLike | None, name: str) -> Path:
    """The list file of subset ``name`` under ``lists_root`` (repository root or its sub-folder)."""
    folder, file, _ = LISTS[name]
    root = check_root(lists_root, name, f"a directory with {folder}/{file} (the RAN lists)")
    for candidate in (root / folder / file, root / file):
        if candidate.is_file():
            return candidate
    raise DatasetLayoutError(f"{name}: no {file} in {root} or {root / folder}; expected the RAN lists layout "
                             f"{folder}/{file}")


def read_list(path: Path, kind: str, dataset: str) -> pd.DataFrame:
    """Parse a RAN list into ``name`` (image stem), ``label`` (0-based native) and ``occlusion`` (or NaN)."""
    rows = []
    with open(path, newline="") as handle:
        for line_no, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            parts = text.split()
            try:
                if dataset == "rafdb" and kind == "occlusion":
                    if len(parts) != 3:
                        raise ValueError("expected '<stem> <label> <type>'")
                    stem, label, occ = parts[0], int(parts[1]), int(parts[2])
                elif dataset == "ferplus" and kind == "occlusion":
                    if len(parts) != 3 or "_" not in parts[0]:
                        raise ValueError("expected '<label>_<ferNNNNNNN>.png 8 <type>'")
                    label_text, image = parts[0].split("_", 1)
                    stem, label, occ = image.rsplit(".", 1)[0], int(label_text), int(parts[2])
                else:
                    if len(parts) != 1 or "/" not in parts[0]:
                        raise ValueError("expected '<label>/<image>'")
                    label_text, image = parts[0].split("/", 1)
                    stem, label, occ = image.rsplit(".", 1)[0], int(label_text), None
            except ValueError as err:
                raise LabelFileError(f"{dataset}: {path} line {line_no}: {text!r}: {err}") from err
            top = 7 if dataset == "ferplus" else 6
            if not 0 <= label <= top:
                raise LabelFileError(f"{dataset}: {path} line {line_no}: label {label} is not 0..{top}")
            rows.append((stem, label, occ))
    if not rows:
        raise LabelFileError(f"{dataset}: {path} is empty")
    return pd.DataFrame(rows, columns=["name", "label", "occlusion"])


def _subset_meta(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    meta = pd.DataFrame({"name": frame["name"], "list_label": frame["label"]})
    kind = name.split("-", 1)[1]
    if kind == "occlusion":
        meta["occlusion"] = frame["occlusion"].astype(int)
    else:
        meta["pose"] = POSE_OF[kind]
    return meta


def build_rafdb_subset(
    name: str,
    root: str | os.PathLike | None = None,
    lists_root: str | os.PathLike | None = None,
    split: str = "test",
    image_type: str = "aligned",
    require_images: bool = True,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
) -> ImageFileDataset:
    """The RAF-DB test subset ``name``; registered per subset with ``name`` bound (see :func:`_register`)."""
    _check_split(name, split)
    base = check_root(root, name, "the RAF-DB root (EmoLabel/list_patition_label.txt, Image/aligned/)")
    label_file = find_label_file(base)
    labels = read_label_file(label_file)
    frame = read_list(find_list(lists_root, name), LISTS[name][2], "rafdb")
    stems = frame["name"].str.replace(r"_aligned$", "", regex=True)
    known = dict(zip(labels["name"], labels["raf_label"], strict=True))
    unknown = [s for s in stems if s not in known]
    if unknown:
        raise LabelFileError(
            f"{name}: {len(unknown)} list entries are not in {label_file} (e.g. {unknown[0]}); is lists_root the "
            f"RAF-DB list folder?"
        )
    image_root = find_image_root(base, label_file)
    paths = [image_path(image_root, s, image_type) for s in stems]
    if require_images:
        check_images_exist(paths, name, "RAF-DB Image/aligned/<stem>_aligned.jpg")
    meta = _subset_meta(frame, name)
    meta["raf_label"] = [known[s] for s in stems]
    meta["source_id"] = rafdb_ids(stems)
    # List labels are RAF-DB's 1..7 shifted to 0..6.
    targets = RAF_NATIVE_TO_INDEX[frame["label"].to_numpy() + 1]
    return ImageFileDataset(name, SEVEN_CLASSES, paths, targets, meta, transform=transform, return_meta=return_meta)


def resolve_ferplus_names(image_names: np.ndarray, nf_votes: np.ndarray, wanted: pd.Series) -> np.ndarray:
    """Row of each ``wanted`` FERPlus stem via the ``Image name`` column (-1 when absent).

    A few names occur twice in ``fer2013new.csv``; the row that is a face (fewest NF votes) wins.
    """
    lookup: dict[str, int] = {}
    for row, image in enumerate(image_names):
        if not isinstance(image, str):
            continue
        stem = image.rsplit(".", 1)[0]
        if stem not in lookup or nf_votes[row] < nf_votes[lookup[stem]]:
            lookup[stem] = row
    return np.array([lookup.get(s, -1) for s in wanted], dtype=np.int64)


def build_ferplus_subset(
    name: str,
    root: str | os.PathLike | None = None,
    lists_root: str | os.PathLike | None = None,
    split: str = "test",
    num_classes: int = 8,
    fer2013: str | os.PathLike | None = None,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
    cache_dir: str | os.PathLike | None | bool = None,
) -> FERDataset:
    """The FERPlus test subset ``name``; registered per subset with ``name`` bound (see :func:`_register`)."""
    _check_split(name, split)
    base = check_root(root, name, "the FERPlus root (fer2013new.csv + FER2013 csv, or FER2013Test/)")
    classes = classes_for(num_classes)
    frame = read_list(find_list(lists_root, name), LISTS[name][2], "ferplus")
    skipped: dict[str, int] = {}
    targets = native_to_index(num_classes)[frame["label"].to_numpy()]
    add_skip(skipped, "contempt (7 classes)", int((targets < 0).sum()))
    keep = targets >= 0
    frame, targets = frame[keep].reset_index(drop=True), targets[keep]
    meta = _subset_meta(frame, name)
    if base.is_dir() and (base / FOLDERS["PrivateTest"]).is_dir():
        folders = [base / f for f in FOLDERS.values()]
        paths = []
        for stem in frame["name"]:
            hits = [f / f"{stem}.png" for f in folders if (f / f"{stem}.png").is_file()]
            if not hits:
                raise DatasetLayoutError(f"{name}: image {stem}.png is in none of {', '.join(map(str, folders))}")
            paths.append(hits[0])
        meta["source_id"] = ferplus_ids(frame["name"])
        return ImageFileDataset(
            name, classes, paths, targets, meta, transform=transform, return_meta=return_meta, skipped=skipped
        )
    votes_csv = find_votes_csv(base)
    if votes_csv is None:
        raise DatasetLayoutError(f"{name}: no fer2013new.csv or FER2013Test/ in {base}")
    votes = read_votes_csv(votes_csv)
    table = load_fer2013_csv(find_fer2013(base, fer2013), cache_dir=cache_dir)
    if len(table) != len(votes):
        raise DatasetLayoutError(f"{name}: {votes_csv} and the FER2013 csv are not row-aligned "
                                 f"({len(votes)} vs {len(table)} rows)")
    rows = resolve_ferplus_names(
        votes["Image name"].to_numpy(), votes[VOTE_COLUMNS[NOT_FACE]].to_numpy(), frame["name"]
    )
    if (rows < 0).any():
        missing = frame["name"][rows < 0].tolist()
        raise LabelFileError(
            f"{name}: {len(missing)} list names are not in the Image name column of {votes_csv} (e.g. {missing[0]})"
        )
    meta["row"] = rows
    meta["usage"] = table.usage[rows]
    meta["source_id"] = fer2013_ids(rows)
    return ArrayDataset(
        name, classes, table.pixels, rows, targets, meta, transform=transform, return_meta=return_meta, skipped=skipped
    )


def _register(name: str) -> None:
    # The builder is the subset function with ``name`` bound: its remaining parameters are the options
    # load_dataset checks.
    build = build_rafdb_subset if name.startswith("rafdb") else build_ferplus_subset
    builder = functools.partial(build, name)
    builder.__name__ = "build_" + name.replace("-", "_")
    builder.__doc__ = f"The {name} test subset (RAN list {LISTS[name][1]}); see the module docstring."
    register_dataset(name)(builder)


def _check_split(name: str, split: str) -> None:
    if split != "test":
        raise ValueError(f"{name} is a test subset: split must be 'test', got {split!r}")


for _name in LISTS:
    _register(_name)

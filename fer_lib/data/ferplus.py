"""FERPlus: crowd votes (10 taggers a face) re-labelling the FER2013 images.

Layouts accepted for ``root``:

- ``fer2013new.csv`` (the FERPlus repository file, directly or in ``root``), row-aligned with FER2013's
  csv: the pixels come from ``fer2013`` (a FER2013 csv path or directory; by default looked up in
  ``root`` and ``root/../fer2013``). Rows with an empty ``Image name`` (173) are dropped and counted.
- the FERPlus image layout ``FER2013Train/``, ``FER2013Valid/``, ``FER2013Test/``, each with the
  images and a headerless ``label.csv``: ``fer0000000.png,"(0, 0, 48, 48)",4,0,0,1,3,2,0,0,0,0``
  (name, optional face box, ten vote counts).

Votes are in the FERPlus order neutral, happiness, surprise, sadness, anger, disgust, fear, contempt,
unknown, NF. ``label_mode``:

- ``majority`` (the FERPlus rule): zero every vote count of 1, keep the top class only if it holds more
  than half of the remaining votes; drop rows whose winner is unknown or NF.
- ``argmax``: the most voted of the ten columns (first on ties); drop unknown / NF winners.
- ``probability``: single votes removed as in ``majority``; the target is the most voted class and
  ``extras['soft_label']`` is the vote distribution over the kept classes (float32, sums to 1).

``num_classes=7`` drops contempt samples, ``num_classes=6`` (the six basic expressions, CM-CNN's problem) neutral
and contempt samples too (counted in ``skipped``); the classes are canonical.
Splits: ``train`` (Training / FER2013Train), ``val`` (PublicTest / FER2013Valid), ``test``
(PrivateTest / FER2013Test), ``all``.

``metadata['source_id']`` names each sample's source image (:mod:`fer_lib.data.identity`): in the csv layout
``fer2013:<row>``, the id of the same image loaded as FER2013 (the ``Image name`` is not the row number); in
the image layout, which has no rows, ``ferplus:<image stem>``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from fer_lib.data import register_dataset
from fer_lib.data._common import ArrayDataset, ImageFileDataset, add_skip, check_root, find_first
from fer_lib.data.base import FERDataset
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.fer2013 import fer2013_ids, find_csv, load_fer2013_csv
from fer_lib.data.labels import CANONICAL_CLASSES, SEVEN_CLASSES, SIX_BASIC

#: FERPlus vote columns in file order.
VOTE_COLUMNS: tuple[str, ...] = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
#: FERPlus native emotion index (0..7, the 8-class order of its lists) -> canonical class name.
FERPLUS_TO_CANONICAL: dict[int, str] = {
    0: "neutral",
    1: "happiness",
    2: "surprise",
    3: "sadness",
    4: "anger",
    5: "disgust",
    6: "fear",
    7: "contempt",
}
UNKNOWN, NOT_FACE = 8, 9
LABEL_MODES: tuple[str, ...] = ("majority", "argmax", "probability")
SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("Training",),
    "val": ("PublicTest",),
    "valid": ("PublicTest",),
    "test": ("PrivateTest",),
    "all": ("Training", "PublicTest", "PrivateTest"),
    "training": ("Training",),
    "publictest": ("PublicTest",),
    "privatetest": ("PrivateTest",),
}
FOLDERS = {"Training": "FER2013Train", "PublicTest": "FER2013Valid", "PrivateTest": "FER2013Test"}
CSV_LAYOUT = (
    "fer2013new.csv (header Usage,Image name,neutral,...,contempt,unknown,NF) plus FER2013's fer2013.csv(.gz)"
)
IMAGE_LAYOUT = "FER2013Train|FER2013Valid|FER2013Test/ with images and label.csv (name,box,10 votes)"


def classes_for(num_classes: int) -> tuple[str, ...]:
    """Canonical classes of the 8-, 7- or 6-class FERPlus problem (6: the six basic expressions)."""
    if num_classes == 8:
        return CANONICAL_CLASSES
    if num_classes == 7:
        return SEVEN_CLASSES
    if num_classes == 6:
        return tuple(c for c in CANONICAL_CLASSES if c in SIX_BASIC)
    raise ValueError(f"ferplus: num_classes must be 8, 7 or 6, got {num_classes}")


def native_to_index(num_classes: int) -> np.ndarray:
    """FERPlus native index 0..7 -> index in the canonical classes (-1: not kept)."""
    classes = classes_for(num_classes)
    return np.array(
        [classes.index(FERPLUS_TO_CANONICAL[k]) if FERPLUS_TO_CANONICAL[k] in classes else -1 for k in range(8)],
        dtype=np.int64,
    )


def vote_labels(votes: np.ndarray, label_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Native labels (0..9, -1 for "no majority") and the cleaned vote counts of ``votes`` (N, 10)."""
    if label_mode not in LABEL_MODES:
        raise ValueError(f"ferplus: label_mode must be one of {LABEL_MODES}, got {label_mode!r}")
    votes = np.asarray(votes, dtype=np.float64)
    if label_mode == "argmax":
        return votes.argmax(axis=1), votes
    # A class named by a single tagger is treated as noise (FERPlus paper, section on label quality).
    cleaned = np.where(votes <= 1, 0.0, votes)
    total = cleaned.sum(axis=1)
    winner = cleaned.argmax(axis=1)
    if label_mode == "majority":
        top = cleaned.max(axis=1)
        winner = np.where((top > 0.5 * total) & (total > 0), winner, -1)
    else:
        winner = np.where(total > 0, winner, -1)
    return winner, cleaned


def _labels(
    votes: np.ndarray, label_mode: str, num_classes: int, skipped: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(kept mask, canonical targets of kept rows, soft labels of kept rows or None)."""
    native, cleaned = vote_labels(votes, label_mode)
    add_skip(skipped, "no majority", int((native == -1).sum()))
    add_skip(skipped, "unknown", int((native == UNKNOWN).sum()))
    add_skip(skipped, "not a face (NF)", int((native == NOT_FACE).sum()))
    mapping = native_to_index(num_classes)
    emotion = (native >= 0) & (native < 8)
    targets = np.full(len(native), -1, dtype=np.int64)
    targets[emotion] = mapping[native[emotion]]
    dropped = [c for c in CANONICAL_CLASSES if c not in classes_for(num_classes)]
    if dropped:
        add_skip(skipped, f"{', '.join(dropped)} ({num_classes} classes)", int((emotion & (targets == -1)).sum()))
    keep = targets >= 0
    soft = None
    if label_mode == "probability":
        # Distribution over the kept classes in canonical order.
        classes = classes_for(num_classes)
        order = [VOTE_COLUMNS.index(c) for c in classes]
        dist = cleaned[keep][:, order]
        soft = (dist / dist.sum(axis=1, keepdims=True)).astype(np.float32)
    return keep, targets[keep], soft


def _split_usages(split: str) -> tuple[str, ...]:
    key = split.lower()
    if key not in SPLITS:
        raise ValueError(f"ferplus: unknown split {split!r}; expected train, val, test or all")
    return SPLITS[key]


def read_votes_csv(path: Path) -> pd.DataFrame:
    """Read ``fer2013new.csv`` with checks; columns Usage, Image name and the ten vote columns."""
    try:
        frame = pd.read_csv(path, dtype={"Usage": str, "Image name": str})
    except (OSError, pd.errors.ParserError) as err:
        raise LabelFileError(f"ferplus: cannot parse {path} ({err}); expected {CSV_LAYOUT}") from err
    expected = ["Usage", "Image name", *VOTE_COLUMNS]
    if list(frame.columns) != expected:
        raise LabelFileError(f"ferplus: {path} has columns {list(frame.columns)}; expected {expected}")
    votes = frame[list(VOTE_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    bad = np.flatnonzero(votes.isna().any(axis=1).to_numpy())
    if len(bad):
        raise LabelFileError(f"ferplus: {path} line {bad[0] + 2}: vote counts must be integers")
    frame[list(VOTE_COLUMNS)] = votes.astype(np.int64)
    bad_usage = ~frame["Usage"].isin(SPLITS["all"])
    if bad_usage.any():
        row = int(np.flatnonzero(bad_usage.to_numpy())[0])
        raise LabelFileError(f"ferplus: {path} line {row + 2}: Usage {frame['Usage'].iloc[row]!r} is unknown")
    return frame


def find_votes_csv(root: Path) -> Path | None:
    if root.is_file():
        return root
    return find_first([root / "fer2013new.csv", root / "ferplus" / "fer2013new.csv"])


def find_fer2013(root: Path, fer2013: str | os.PathLike | None) -> Path:
    """The FER2013 csv whose rows the votes file annotates."""
    if fer2013 is not None:
        return find_csv(fer2013)
    base = root.parent if root.is_file() else root
    for candidate in (base, base.parent / "fer2013", base.parent):
        try:
            return find_csv(candidate)
        except DatasetLayoutError:
            continue
    raise DatasetLayoutError(
        f"ferplus: no FER2013 csv for the pixels near {root} (looked in {base}, {base.parent / 'fer2013'}); "
        f"pass fer2013=<path to fer2013.csv(.gz)>"
    )


class FERPlus(ArrayDataset):
    """FERPlus on FER2013 pixels; ``metadata``: ``row``, ``usage``, ``image_name``, ``fer2013_label``,
    ``source_id`` (``fer2013:<row>``) and ``votes_*`` columns."""


def ferplus_ids(image_names) -> list[str]:
    """The source ids ``ferplus:<stem>`` of FERPlus image names (the image layout, which has no csv row)."""
    return ["ferplus:" + str(name).rsplit(".", 1)[0] for name in image_names]


def ferplus_from_csv(
    votes_csv: Path,
    fer2013_csv: Path,
    split: str,
    label_mode: str,
    num_classes: int,
    transform=None,
    return_meta: bool = False,
    cache_dir: str | os.PathLike | None | bool = None,
) -> FERPlus:
    frame = read_votes_csv(votes_csv)
    table = load_fer2013_csv(fer2013_csv, cache_dir=cache_dir)
    if len(table) != len(frame):
        raise DatasetLayoutError(
            f"ferplus: {votes_csv} has {len(frame)} rows but {fer2013_csv} has {len(table)}; the two files "
            f"must be row-aligned (the FERPlus votes annotate fer2013.csv row by row)"
        )
    mismatch = np.flatnonzero(frame["Usage"].to_numpy().astype(str) != table.usage)
    if len(mismatch):
        raise DatasetLayoutError(
            f"ferplus: row {mismatch[0]} is {frame['Usage'].iloc[mismatch[0]]} in {votes_csv} but "
            f"{table.usage[mismatch[0]]} in {fer2013_csv}; the files are not row-aligned"
        )
    skipped: dict[str, int] = {}
    in_split = frame["Usage"].isin(_split_usages(split)).to_numpy()
    named = frame["Image name"].notna().to_numpy()
    add_skip(skipped, "no image name", int((in_split & ~named).sum()))
    rows = np.flatnonzero(in_split & named)
    votes = frame[list(VOTE_COLUMNS)].to_numpy(dtype=np.int64)[rows]
    keep, targets, soft = _labels(votes, label_mode, num_classes, skipped)
    rows = rows[keep]
    metadata = pd.DataFrame(
        {
            "row": rows,
            "usage": table.usage[rows],
            "image_name": frame["Image name"].to_numpy()[rows],
            "fer2013_label": table.emotion[rows],
            "source_id": fer2013_ids(rows),
        }
    )
    for j, col in enumerate(VOTE_COLUMNS):
        metadata[f"votes_{col}"] = votes[keep][:, j]
    return FERPlus(
        "ferplus",
        classes_for(num_classes),
        table.pixels,
        rows,
        targets,
        metadata,
        transform=transform,
        return_meta=return_meta,
        skipped=skipped,
        soft_labels=soft,
    )


def read_label_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """Read a FERPlus image-layout ``label.csv``: (image names, (N, 10) votes)."""
    names, votes = [], []
    with open(path, newline="") as handle:
        for line_no, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) not in (11, 12):
                raise LabelFileError(
                    f"ferplus: {path} line {line_no}: expected name,[box,]10 vote counts, got {len(row)} fields"
                )
            try:
                counts = [int(float(v)) for v in row[-10:]]
            except ValueError as err:
                raise LabelFileError(f"ferplus: {path} line {line_no}: vote counts must be numbers ({err})") from err
            names.append(row[0].strip())
            votes.append(counts)
    return names, np.asarray(votes, dtype=np.int64).reshape(-1, 10)


def ferplus_from_folders(
    root: Path, split: str, label_mode: str, num_classes: int, transform, return_meta
) -> ImageFileDataset:
    skipped: dict[str, int] = {}
    paths, targets, metas, softs = [], [], [], []
    for usage in _split_usages(split):
        folder = root / FOLDERS[usage]
        label_file = folder / "label.csv"
        if not label_file.is_file():
            raise DatasetLayoutError(f"ferplus: missing {label_file}; expected {IMAGE_LAYOUT}")
        names, votes = read_label_csv(label_file)
        keep, tgt, soft = _labels(votes, label_mode, num_classes, skipped)
        kept_names = [n for n, k in zip(names, keep, strict=True) if k]
        paths += [folder / n for n in kept_names]
        targets.append(tgt)
        metas.append(pd.DataFrame({"usage": usage, "image_name": kept_names, "source_id": ferplus_ids(kept_names)}))
        if soft is not None:
            softs.append(soft)
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise DatasetLayoutError(
            f"ferplus: {len(missing)} images named in label.csv are missing, e.g. {missing[0]}; expected {IMAGE_LAYOUT}"
        )
    return ImageFileDataset(
        "ferplus",
        classes_for(num_classes),
        paths,
        np.concatenate(targets),
        pd.concat(metas, ignore_index=True),
        transform=transform,
        return_meta=return_meta,
        skipped=skipped,
        soft_labels=np.concatenate(softs) if softs else None,
    )


@register_dataset("ferplus")
def build_ferplus(
    root: str | os.PathLike | None = None,
    split: str = "train",
    label_mode: str = "majority",
    num_classes: int = 8,
    fer2013: str | os.PathLike | None = None,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
    cache_dir: str | os.PathLike | None | bool = None,
) -> FERDataset:
    """FERPlus (see the module docstring for layouts, label modes and splits)."""
    path = check_root(root, "ferplus", f"{CSV_LAYOUT}, or {IMAGE_LAYOUT}")
    if label_mode not in LABEL_MODES:
        raise ValueError(f"ferplus: label_mode must be one of {LABEL_MODES}, got {label_mode!r}")
    classes_for(num_classes)
    if path.is_dir() and any((path / f).is_dir() for f in FOLDERS.values()):
        return ferplus_from_folders(path, split, label_mode, num_classes, transform, return_meta)
    votes_csv = find_votes_csv(path)
    if votes_csv is None:
        raise DatasetLayoutError(f"ferplus: no fer2013new.csv or FER2013Train/ in {path}; expected {CSV_LAYOUT}, "
                                 f"or {IMAGE_LAYOUT}")
    return ferplus_from_csv(
        votes_csv, find_fer2013(path, fer2013), split, label_mode, num_classes, transform, return_meta, cache_dir
    )

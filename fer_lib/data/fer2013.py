"""FER2013: the Kaggle csv (``emotion,pixels,Usage``; also ``.csv.gz``) and the image-folder re-distribution.

Layouts accepted for ``root``:

- a directory holding ``fer2013.csv`` or ``fer2013.csv.gz`` (directly or in ``fer2013/``), or the csv path;
- the image-folder layout ``train/<class>/*.jpg`` and ``test/<class>/*.jpg`` (class folders ``angry``,
  ``disgust``, ``fear``, ``happy``, ``neutral``, ``sad``, ``surprise``).

Splits: ``train`` = Training + PublicTest and ``test`` = PrivateTest (the protocol of seed 000),
``all``, and the raw usages ``Training``, ``PublicTest``, ``PrivateTest``. In the folder layout the
usage is read from the file-name prefix (``PrivateTest_123.jpg``) when every file has one; otherwise
``train``/``test`` are the two folders.

``metadata['source_id']`` names each sample's source image (:mod:`fer_lib.data.identity`): ``fer2013:<row>``
for the csv (the namespace FERPlus shares), ``fer2013-file:<path under root>`` for the folder layout, whose
file names do not give the csv row.

The decoded pixels are cached: in memory for the process and as a ``.npz`` file in ``cache_dir``
(default ``$FER_LIB_CACHE`` or ``~/.cache/fer_lib``) keyed by the csv's path, size and mtime.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from fer_lib.data import register_dataset
from fer_lib.data._common import IMAGE_SUFFIXES, ArrayDataset, ImageFileDataset, check_root, find_first
from fer_lib.data.base import FERDataset
from fer_lib.data.errors import DatasetLayoutError, LabelFileError
from fer_lib.data.labels import SEVEN_CLASSES, canonical_name
from fer_lib.io import default_cache_dir

#: FER2013's native label order (``emotion`` 0..6).
FER2013_NATIVE: tuple[str, ...] = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
#: native label -> canonical class name, written out so the mapping is explicit and testable.
FER2013_TO_CANONICAL: dict[int, str] = {
    0: "anger",
    1: "disgust",
    2: "fear",
    3: "happiness",
    4: "sadness",
    5: "surprise",
    6: "neutral",
}
#: native label -> index in SEVEN_CLASSES.
NATIVE_TO_INDEX = np.array([SEVEN_CLASSES.index(FER2013_TO_CANONICAL[k]) for k in range(7)], dtype=np.int64)

USAGES: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")
#: Split name -> usages it contains.
SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("Training", "PublicTest"),
    "test": ("PrivateTest",),
    "all": USAGES,
    "training": ("Training",),
    "publictest": ("PublicTest",),
    "privatetest": ("PrivateTest",),
}
CSV_LAYOUT = "fer2013.csv or fer2013.csv.gz with columns emotion,pixels,Usage (48x48 grey, 2304 values a row)"
FOLDER_LAYOUT = "train/<class>/*.jpg and test/<class>/*.jpg (angry, disgust, fear, happy, neutral, sad, surprise)"
SIDE = 48


@dataclass(frozen=True)
class Fer2013Table:
    """The decoded csv: ``pixels`` (N, 48, 48) uint8, ``emotion`` (N,) native labels, ``usage`` (N,) str."""

    path: Path
    pixels: np.ndarray
    emotion: np.ndarray
    usage: np.ndarray

    def __len__(self) -> int:
        return len(self.emotion)


_MEMO: dict[tuple[str, int, int], Fer2013Table] = {}


def find_csv(root: str | os.PathLike) -> Path:
    """The FER2013 csv under ``root`` (or ``root`` itself), else an error describing the layout."""
    path = check_root(root, "fer2013", CSV_LAYOUT)
    if path.is_file():
        return path
    found = find_first(
        [path / name for name in ("fer2013.csv", "fer2013.csv.gz")]
        + [path / "fer2013" / name for name in ("fer2013.csv", "fer2013.csv.gz")]
    )
    if found is None:
        raise DatasetLayoutError(f"fer2013: no fer2013.csv(.gz) in {path}; expected {CSV_LAYOUT}")
    return found


def _parse_csv(path: Path) -> Fer2013Table:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as err:
        raise DatasetLayoutError(f"fer2013: cannot read {path} ({err}); expected {CSV_LAYOUT}") from err
    header = raw[: raw.find(b"\n")].decode("utf-8", "replace").strip().lstrip("\ufeff")
    columns = [c.strip() for c in header.split(",")]
    if not {"emotion", "pixels", "Usage"} <= set(columns):
        raise LabelFileError(f"fer2013: {path} has header {header!r}; expected {CSV_LAYOUT}")
    frame = pd.read_csv(io.BytesIO(raw), dtype={"pixels": str, "Usage": str}, keep_default_na=False)
    del raw
    emotion = pd.to_numeric(frame["emotion"], errors="coerce").to_numpy()
    bad = np.flatnonzero(~np.isin(emotion, np.arange(7)))
    if len(bad):
        raise LabelFileError(
            f"fer2013: {path} line {bad[0] + 2}: emotion {frame['emotion'].iloc[bad[0]]!r} is not 0..6"
        )
    usage = frame["Usage"].to_numpy().astype(str)
    bad = np.flatnonzero(~np.isin(usage, USAGES))
    if len(bad):
        raise LabelFileError(
            f"fer2013: {path} line {bad[0] + 2}: Usage {usage[bad[0]]!r} is not one of {USAGES}"
        )
    strings = frame["pixels"].tolist()
    n = len(strings)
    # One C-level parse of all rows (a per-row split would take tens of seconds); the total count
    # check catches a short or long row, which is then located row by row for the error message.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        flat = np.fromstring(" ".join(strings), dtype=np.int64, sep=" ")
    if flat.size != n * SIDE * SIDE or (flat.size and (flat.min() < 0 or flat.max() > 255)):
        for i, s in enumerate(strings):
            values = s.split()
            if len(values) != SIDE * SIDE or not all(v.isdigit() and int(v) <= 255 for v in values):
                raise LabelFileError(
                    f"fer2013: {path} line {i + 2}: pixels must be {SIDE * SIDE} integers 0..255 "
                    f"separated by spaces, got {len(values)} values"
                )
        raise LabelFileError(f"fer2013: {path}: pixel values could not be parsed")
    pixels = flat.astype(np.uint8).reshape(n, SIDE, SIDE)
    return Fer2013Table(path, pixels, emotion.astype(np.int64), usage)


def load_fer2013_csv(
    path: str | os.PathLike, cache_dir: str | os.PathLike | None | bool = None
) -> Fer2013Table:
    """Decode a FER2013 csv(.gz) once: memoised in the process and cached as ``.npz`` on disk.

    ``cache_dir=False`` disables the disk cache (the in-process memo stays).
    """
    path = find_csv(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _MEMO:
        return _MEMO[key]
    cache_file = None
    if cache_dir is not False:
        digest = hashlib.sha1(repr(key).encode()).hexdigest()[:16]
        cache_file = Path(cache_dir or default_cache_dir()) / f"fer2013_{digest}.npz"
    table = None
    if cache_file is not None and cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as data:
                table = Fer2013Table(path, data["pixels"], data["emotion"], data["usage"].astype(str))
        except (OSError, ValueError, KeyError):
            table = None  # a damaged cache is rebuilt below
    if table is None:
        table = _parse_csv(path)
        if cache_file is not None:
            try:
                cache_file.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache_file.with_suffix(f".{os.getpid()}.tmp.npz")
                np.savez(tmp, pixels=table.pixels, emotion=table.emotion, usage=table.usage.astype("U11"))
                os.replace(tmp, cache_file)
            except OSError as err:
                warnings.warn(f"fer2013: could not write the pixel cache {cache_file}: {err}", stacklevel=2)
    _MEMO[key] = table
    return table


def fer2013_ids(rows: np.ndarray) -> list[str]:
    """The source ids ``fer2013:<row>`` of FER2013 csv data rows (shared by FERPlus, see
    :mod:`fer_lib.data.identity`)."""
    return [f"fer2013:{int(r)}" for r in rows]


def _split_usages(split: str) -> tuple[str, ...]:
    key = split.lower()
    if key not in SPLITS:
        raise ValueError(
            f"fer2013: unknown split {split!r}; expected train (Training+PublicTest), test (PrivateTest), "
            f"all, Training, PublicTest or PrivateTest"
        )
    return SPLITS[key]


class FER2013(ArrayDataset):
    """FER2013 from its csv; ``metadata`` has ``row`` (csv data row), ``usage`` and ``source_id``
    (``fer2013:<row>``, see :mod:`fer_lib.data.identity`)."""


def _from_csv(csv_path: Path, split: str, transform, return_meta, cache_dir) -> FER2013:
    table = load_fer2013_csv(csv_path, cache_dir=cache_dir)
    rows = np.flatnonzero(np.isin(table.usage, _split_usages(split)))
    metadata = pd.DataFrame({"row": rows, "usage": table.usage[rows], "source_id": fer2013_ids(rows)})
    dataset = FER2013(
        "fer2013",
        SEVEN_CLASSES,
        table.pixels,
        rows,
        NATIVE_TO_INDEX[table.emotion[rows]],
        metadata,
        transform=transform,
        return_meta=return_meta,
    )
    return dataset


def _from_folders(root: Path, split: str, transform, return_meta) -> ImageFileDataset:
    records = []
    for folder in ("train", "test"):
        for class_dir in sorted(p for p in (root / folder).iterdir() if p.is_dir()):
            try:
                cls = canonical_name(class_dir.name)
            except ValueError as err:
                raise LabelFileError(f"fer2013: class folder {class_dir}: {err}; expected {FOLDER_LAYOUT}") from err
            for file in sorted(class_dir.iterdir()):
                if file.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                prefix = file.name.split("_", 1)[0]
                records.append((file, cls, folder, prefix if prefix in USAGES else None))
    if not records:
        raise DatasetLayoutError(f"fer2013: no images under {root}/train or {root}/test; expected {FOLDER_LAYOUT}")
    frame = pd.DataFrame(records, columns=["path", "class", "folder", "usage"])
    have_usage = frame["usage"].notna().all()
    key = split.lower()
    if have_usage:
        keep = frame["usage"].isin(_split_usages(split))
    elif key in ("train", "test"):
        keep = frame["folder"] == key
    elif key == "all":
        keep = pd.Series(True, index=frame.index)
    else:
        raise ValueError(
            f"fer2013: split {split!r} needs the usage in the file names (Training_*.jpg ...), which the "
            f"files under {root} lack; use 'train', 'test' or 'all'"
        )
    frame = frame[keep].reset_index(drop=True)
    targets = frame["class"].map(SEVEN_CLASSES.index).to_numpy()
    # The folder re-distribution's file names do not give the csv row: its ids are the files.
    frame["source_id"] = ["fer2013-file:" + p.relative_to(root).as_posix() for p in frame["path"]]
    return ImageFileDataset(
        "fer2013",
        SEVEN_CLASSES,
        frame["path"].tolist(),
        targets,
        frame[["folder", "usage", "source_id"]],
        transform=transform,
        return_meta=return_meta,
    )


@register_dataset("fer2013")
def build_fer2013(
    root: str | os.PathLike | None = None,
    split: str = "train",
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
    cache_dir: str | os.PathLike | None | bool = None,
) -> FERDataset:
    """FER2013 in the canonical 7-class order (see the module docstring for layouts and splits)."""
    path = check_root(root, "fer2013", f"{CSV_LAYOUT}, or {FOLDER_LAYOUT}")
    if path.is_dir() and (path / "train").is_dir() and (path / "test").is_dir():
        return _from_folders(path, split, transform, return_meta)
    _split_usages(split)  # a bad split name fails before the (slow) first parse
    return _from_csv(find_csv(path), split, transform, return_meta, cache_dir)


def write_fer2013_csv(path: str | os.PathLike, emotion, pixels, usage) -> Path:
    """Write a FER2013-format csv (``.gz`` when the name ends so): used by fixtures and tests."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for e, p, u in zip(emotion, pixels, usage, strict=True):
            writer.writerow([int(e), " ".join(str(int(v)) for v in np.asarray(p).ravel()), u])
    return path

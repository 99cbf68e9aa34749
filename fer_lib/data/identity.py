"""Which source image each sample is, and the check that no training image is also an evaluation image.

Every sample has a *source id*, ``<namespace>:<key>``, naming the image it was read from in a namespace
shared by every dataset built on the same images (the loaders write it as ``metadata['source_id']``):

=================  ==========================================  =============================================
namespace          key                                         datasets
=================  ==========================================  =============================================
``fer2013``        the data row of ``fer2013.csv`` (0-based)   fer2013 (csv), ferplus (``fer2013new.csv``
                                                               layout), ferplus-occlusion/pose30/pose45
``fer2013-file``   the file path under the root                fer2013 image-folder re-distribution
``ferplus``        the FERPlus image stem (``fer0032220``)     ferplus image layout (``FER2013Test/``) and
                                                               its occlusion/pose subsets
``rafdb``          the image stem (``train_00001``)            rafdb, rafdb-occlusion/pose30/pose45
``synth``          protocol, seed, stream and sample key       synth-inthewild, synth-multiview, synth-rgbd
``file``           the absolute file path                      any other image-file dataset (CK+, JAFFE ...)
=================  ==========================================  =============================================

So a FERPlus test image and the FER2013 ``PrivateTest`` row it comes from have the same id, ``fer2013:<row>``
(a FERPlus ``Image name`` is not the row number: the csv layout gives the row itself). The three FER2013
namespaces name the same images in ways that cannot be matched with each other (the folder file names and
the FERPlus image names do not give the csv row), so :func:`check_disjoint` refuses to compare them rather
than call them disjoint.

Ids pass through subsets (``dataset.subset(indices)``, stratified subsamples) and anything else that
carries ``metadata`` along.

Ids name source images, not pixel content: FER2013 itself holds pixel-identical faces in different rows
(in the development copy, 288 PrivateTest rows equal a Training row, 12 rows are blank). Those copies are
the benchmark's own, present in every paper's evaluation; this check is about fer_lib's splits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from fer_lib.data.base import FERDataset

#: Column of ``metadata`` holding the source ids.
ID_COLUMN = "source_id"

#: Namespace -> (image source, what its key is). Namespaces of one source that differ cannot be compared.
NAMESPACES: dict[str, tuple[str, str]] = {
    "fer2013": ("FER2013", "fer2013.csv row"),
    "fer2013-file": ("FER2013", "file of the image-folder re-distribution"),
    "ferplus": ("FER2013", "FERPlus image name"),
    "rafdb": ("RAF-DB", "image stem"),
    "synth": ("SynthFER", "rendered sample"),
    "file": ("image files", "absolute path"),
}

#: How many shared ids an error shows.
SHOWN = 5


def sample_ids(dataset: FERDataset) -> np.ndarray:
    """The source id (``<namespace>:<key>``) of each sample of ``dataset``, as an array of strings.

    Read from ``metadata['source_id']``; a dataset without it but with image files (``metadata['path']``)
    gets ``file:<absolute path>``. Any other dataset is a :class:`ValueError` naming it.
    """
    name = getattr(dataset, "name", type(dataset).__name__)
    metadata = getattr(dataset, "metadata", None)
    if metadata is None:
        raise ValueError(f"{name}: no sample ids: {type(dataset).__name__} has no metadata")
    if ID_COLUMN in metadata.columns:
        ids = metadata[ID_COLUMN]
        if ids.isna().any():
            raise ValueError(f"{name}: {int(ids.isna().sum())} samples have no {ID_COLUMN}")
        return ids.to_numpy(dtype=str)
    if "path" in metadata.columns:
        return np.array(["file:" + os.path.abspath(p) for p in metadata["path"]], dtype=str)
    raise ValueError(
        f"{name}: no sample ids: its metadata has neither a {ID_COLUMN!r} nor a 'path' column "
        f"(columns: {', '.join(map(str, metadata.columns)) or 'none'}); its loader must write {ID_COLUMN!r}"
    )


def namespaces(ids: np.ndarray) -> set[str]:
    """The namespaces (the part before the first ``:``) occurring in ``ids``."""
    return {str(i).split(":", 1)[0] for i in np.unique(ids)}


def shared_ids(a: FERDataset, b: FERDataset) -> np.ndarray:
    """The source ids found in both ``a`` and ``b`` (sorted, unique)."""
    return np.intersect1d(sample_ids(a), sample_ids(b))


def _incomparable(left: set[str], right: set[str]) -> tuple[str, str] | None:
    """A pair of namespaces naming the same image source differently, one on each side (else ``None``)."""
    for x in sorted(left):
        for y in sorted(right):
            if x != y and x in NAMESPACES and y in NAMESPACES and NAMESPACES[x][0] == NAMESPACES[y][0]:
                return x, y
    return None


def check_disjoint(train: Mapping[str, FERDataset], evaluation: Mapping[str, FERDataset]) -> None:
    """Raise :class:`ValueError` when an image of a ``train`` set (training or pretraining) is also an
    image of an ``evaluation`` set.

    ``train`` and ``evaluation`` map a label (``"fer2013 Training (pretraining)"``) to a dataset. Every pair is
    checked; the error names each overlapping pair, how many images it shares and a few of their ids. A pair
    whose ids name the same images in namespaces that cannot be matched (FER2013 csv rows against FERPlus
    image names, say) is an error too: the check cannot tell, so it does not pass.
    """
    train_ids = {label: np.unique(sample_ids(ds)) for label, ds in train.items()}
    eval_ids = {label: np.unique(sample_ids(ds)) for label, ds in evaluation.items()}
    problems = []
    for t_label, t_ids in train_ids.items():
        t_spaces = namespaces(t_ids)
        for e_label, e_ids in eval_ids.items():
            clash = _incomparable(t_spaces, namespaces(e_ids))
            if clash is not None:
                x, y = clash
                problems.append(
                    f"{t_label!r} vs {e_label!r}: cannot be compared: {NAMESPACES[x][0]} images named by "
                    f"{NAMESPACES[x][1]} ({x}:) against {NAMESPACES[y][1]} ({y}:); load both from layouts that "
                    f"name them alike (the FER2013 and FERPlus csv files)"
                )
                continue
            shared = np.intersect1d(t_ids, e_ids, assume_unique=True)
            if len(shared):
                shown = ", ".join(shared[:SHOWN]) + (", ..." if len(shared) > SHOWN else "")
                problems.append(
                    f"{t_label!r} ({len(t_ids)} images) and {e_label!r} ({len(e_ids)} images) share "
                    f"{len(shared)} images: {shown}"
                )
    if problems:
        raise ValueError("training and evaluation sets are not disjoint:\n  " + "\n  ".join(problems))


__all__ = ["ID_COLUMN", "NAMESPACES", "check_disjoint", "namespaces", "sample_ids", "shared_ids"]

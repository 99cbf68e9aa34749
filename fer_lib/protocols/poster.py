"""POSTER (seed 003): its Table 1 rows, the columns they run on, and the per-class cells of a confusion matrix.

Table 1 compares the baseline (the image stream and a plain transformer) with POSTER (both streams, cross-fusion)
by each class's recall, the diagonal of the confusion matrices of Figs. 6-7, and by POSTER's recalls on a 122-image
test subset (Fig. 11); the text adds overall and mean accuracy. The rows are options of
:class:`fer_lib.models.poster.POSTER`; which options each row uses is an experiment setting and lives here.

Layout of the reproduced table: one row per model ("Baseline", "POSTER", "POSTER (122 images)"), one column per
class and per accuracy, so that the paper's claims ("POSTER beats the baseline on happiness") compare two rows in
one column. The paper prints the transposed table (classes as rows, recalls as fractions); each cell names the
paper's cell it stands beside. The paper's RAF-DB runs where a data root holds its images; otherwise the
paper-named columns run on real FERPlus (its seven classes without contempt), and further column blocks carry their
dataset in the column's name ("SynthFER / Happiness (HA)").
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from fer_lib.claims import claim_frame
from fer_lib.metrics import majority_floor, per_class_accuracy
from fer_lib.protocols.presets import Preset, get_preset, register_presets
from fer_lib.protocols.splits import load_split
from fer_lib.protocols.tables import _preset_job, _run
from fer_lib.protocols.training import TRAINED_LANDMARKS, ModelSetup, RunOutcome
from fer_lib.results import ResultTable
from fer_lib.settings import RunContext, resolve_dataset

#: Table 1's class rows, in the paper's order (RAF-DB's label order), keyed by fer_lib's canonical class names.
CLASS_ROWS: dict[str, str] = {
    "surprise": "Surprise (SU)", "fear": "Fear (FE)", "disgust": "Disgust (DI)", "happiness": "Happiness (HA)",
    "sadness": "Sadness (SA)", "anger": "Anger (AN)", "neutral": "Neutral (NE)",
}
ACCURACY, MEAN_ACCURACY = "Accuracy(%)", "Mean accuracy(%)"
#: The size of the test subset of Fig. 11 and Table 1's last column.
SUBSET_SIZE = 122

register_presets(
    Preset("poster", "table1_baseline", "1", "Baseline",
           ModelSetup("poster", {"fusion": "none"}),
           note="the image stream and a plain transformer: no landmark stream, no cross-fusion (Sect. 2.1)"),
    Preset("poster", "table1_poster", "1", "POSTER",
           ModelSetup("poster", {"fusion": "cross", "landmark_weights": TRAINED_LANDMARKS}),
           note="both streams and the pyramid cross-fusion transformer; the landmark stream fer_lib trained"),
)


class ClassColumns(NamedTuple):
    """A block of Table 1's columns: the prefix of its column names (empty for the paper-named block), the dataset
    and its loader options, and why that dataset."""

    prefix: str
    dataset: str
    options: dict[str, Any]
    why: str


def table1_columns(data_root: str | os.PathLike | None, synthetic: bool = True) -> list[ClassColumns]:
    """Table 1's column blocks on ``data_root``: the paper's RAF-DB when its images are there, else real FERPlus
    (seven classes), else SynthFER in the wild, under the paper's column names; then FERPlus beside a real RAF-DB,
    and (``synthetic``) SynthFER in the wild as the labelled synthetic block."""
    rafdb, why_rafdb = resolve_dataset("rafdb", data_root)
    ferplus, why_ferplus = resolve_dataset("ferplus", data_root, num_classes=7)
    blocks: list[ClassColumns] = []
    if rafdb == "rafdb":
        blocks.append(ClassColumns("", "rafdb", {}, why_rafdb))
    if ferplus == "ferplus":
        blocks.append(ClassColumns("FERPlus / " if blocks else "", "ferplus", {"num_classes": 7},
                                   f"{why_ferplus}; the paper's RAF-DB: {why_rafdb}" if not blocks else why_ferplus))
    if not blocks or synthetic:
        blocks.append(ClassColumns("SynthFER / " if blocks else "", "synth-inthewild", {},
                                   "synthetic, labelled" if blocks else "; ".join(dict.fromkeys((why_rafdb,
                                                                                                 why_ferplus)))))
    return blocks


def stratified_indices(targets: Sequence[int], size: int, seed: int = 0) -> np.ndarray:
    """Exactly ``size`` indices of ``targets`` (sorted) whose class counts follow the class proportions (largest
    remainder: each class gets the floor of its share, the largest remainders one more), drawn with ``seed``."""
    t = np.asarray(targets, dtype=np.int64)
    if not 0 < size <= len(t):
        raise ValueError(f"a stratified subset of {size} from {len(t)} samples")
    classes, counts = np.unique(t, return_counts=True)
    shares = counts * size / len(t)
    take = np.floor(shares).astype(int)
    for k in np.argsort(-(shares - take), kind="stable")[: size - take.sum()]:
        take[k] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(t == c), size=n, replace=False) for c, n in zip(classes, take, strict=True)]
    return np.sort(np.concatenate(chosen))


class ClassResult(NamedTuple):
    """One row's runs on one block: the test targets and, per seed, the predictions."""

    row: str
    block: ClassColumns
    classes: list[str]
    targets: np.ndarray
    predictions: list[np.ndarray]
    runs: list[RunOutcome]


def _add_class_cells(table: ResultTable, row: str, block: ClassColumns, classes: Sequence[str], targets: np.ndarray,
                     predictions: Sequence[np.ndarray], runs: Sequence[RunOutcome], what: str) -> None:
    """Each class's recall (a fraction, as the paper prints it), the accuracy and the mean class accuracy; the
    paper prints the row's recalls as its column ``row``."""
    recalls = np.stack([per_class_accuracy(targets, p, len(classes)) for p in predictions]) / 100  # fractions
    ordered = [c for c in CLASS_ROWS if c in classes] + [c for c in classes if c not in CLASS_ROWS]
    for name in ordered:  # the paper's row order
        k, label = classes.index(name), CLASS_ROWS.get(name, name)
        table.add(row, block.prefix + label, list(recalls[:, k]), paper_row=label, paper_column=row,
                  unit="", dataset=block.dataset, runs=runs,
                  note=f"recall of {name} on {int((targets == k).sum())} {what} (the confusion matrix's diagonal)")
    accuracy = [100 * float(np.mean(p == targets)) for p in predictions]
    mean = [100 * float(r.mean()) for r in recalls]  # percent, as the text states it
    table.add(row, block.prefix + ACCURACY, accuracy, paper_column=ACCURACY,
              dataset=block.dataset, runs=runs, majority_floor=majority_floor(targets),
              note=f"{len(targets)} {what}")
    table.add(row, block.prefix + MEAN_ACCURACY, mean, paper_column=MEAN_ACCURACY,
              dataset=block.dataset, runs=runs, majority_floor=100 / len(classes),
              note=f"the mean of the {len(classes)} recalls; its floor, a constant answer's, is 1 / classes")


def class_rows(
    context: RunContext,
    table: ResultTable,
    variants: Mapping[str, str],
    blocks: Sequence[ClassColumns],
    subset_rows: Sequence[str] = ("table1_poster",),
    model_overrides: Mapping[str, Any] | None = None,
    subset_seed: int = 0,
    subset_size: int = SUBSET_SIZE,
) -> dict[tuple[str, str], ClassResult]:
    """Train every preset of ``variants`` (``{preset name: row}``) on each block's dataset for every seed, and add
    its per-class recalls, accuracy and mean accuracy on the test set; the presets of ``subset_rows`` also get the
    row ``"<row> (122 images)"``: the same runs on a stratified ``subset_size``-image subset of the test set
    (drawn once with ``subset_seed``; none where the test set is smaller). Returns ``{(row, prefix):
    ClassResult}`` (the subset rows too) for the confusion matrices."""
    presets: dict[str, Preset] = {name: get_preset(context.paper, name) for name in variants}
    out: dict[tuple[str, str], ClassResult] = {}
    for block in blocks:
        for name, row in variants.items():
            job = _preset_job(context, presets[name], block.dataset, block.options, model_overrides, None,
                              f"[{block.dataset}] {row}")
            test = load_split(block.dataset, "test", job.recipe, context.data_root, train=False,
                              **job.loader_options(block.options))
            runs = _run(context, job, {"test": test}, pretrained=presets[name].paper_pretrained)
            targets = np.asarray(runs[0].metrics["test"]["targets"])
            predictions = [np.asarray(o.metrics["test"]["predictions"]) for o in runs]
            classes = list(runs[0].classes)
            _add_class_cells(table, row, block, classes, targets, predictions, runs, "test images")
            out[(row, block.prefix)] = ClassResult(row, block, classes, targets, predictions, runs)
            if name in subset_rows and len(targets) >= subset_size:
                keep = stratified_indices(targets, subset_size, subset_seed)
                sub_row = f"{row} ({subset_size} images)"
                _add_class_cells(table, sub_row, block, classes, targets[keep], [p[keep] for p in predictions],
                                 runs, f"images of a stratified {subset_size}-image test subset (seed {subset_seed})")
                out[(sub_row, block.prefix)] = ClassResult(sub_row, block, classes, targets[keep],
                                                           [p[keep] for p in predictions], runs)
    return out


def table1_claims(prefix: str = "", classes: Sequence[str] = tuple(CLASS_ROWS)) -> pd.DataFrame:
    """Sect. 3.3.5's claims as claims on Table 1's columns (``prefix`` names a block): POSTER's confusion matrix has
    "elevated diagonal values" over the baseline's, "particularly noticeable in ... happiness" (one claim per class
    of ``classes``), hence "a superior overall accuracy and an augmented mean accuracy". The paper prints the
    baseline's column as "0.xx", so no claim has a printed margin (``printed_difference`` is NaN)."""
    ordered = [c for c in CLASS_ROWS if c in classes] + [c for c in classes if c not in CLASS_ROWS]
    columns = [CLASS_ROWS.get(c, c) for c in ordered] + [ACCURACY, MEAN_ACCURACY]
    block = prefix.strip(" /") or "paper columns"

    def note(column: str) -> str:
        if column not in CLASS_ROWS.values():
            return f"POSTER's {column} beats the baseline's"
        return "POSTER's diagonal beats the baseline's" + (", most of all on happiness"
                                                           if column == CLASS_ROWS["happiness"] else "")

    frames = [claim_frame("poster", f"1-poster-over-baseline-{column}@{block}", "1", prefix + column, "POSTER",
                          "Baseline", float("nan"), "Sect. 3.3.5 (Figs. 6-7)", note(column)) for column in columns]
    return pd.concat(frames, ignore_index=True)


__all__ = ["ACCURACY", "CLASS_ROWS", "MEAN_ACCURACY", "SUBSET_SIZE", "ClassColumns", "ClassResult", "class_rows",
           "stratified_indices", "table1_claims", "table1_columns"]

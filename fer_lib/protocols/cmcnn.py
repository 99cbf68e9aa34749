"""CM-CNN (seed 002): which modalities, fusion and loss each row of Tables I-III trains.

The rows are options of :class:`fer_lib.models.cmcnn.CMCNN` and of the ``soft_focal`` loss; which row uses which
is an experiment setting and lives here. Table I varies the loss on the full model (G + L + D + CMFN); Tables II
and III vary the modalities (G grey, L LBP, D depth, H HOG, B Gabor) and the fusion ("+ CMFN": the cross-modality
attention; without it, the FENs' maps are pooled and concatenated) with the paper's loss. The data follow the
model: every loader of a row's runs packs the row's modalities (``ModelFamily.data_options``).
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import pandas as pd

from fer_lib import papers
from fer_lib.claims import claim_frame
from fer_lib.data.modalities import MODALITY_LETTERS
from fer_lib.protocols.presets import Preset, get_preset, register_presets
from fer_lib.protocols.training import ModelSetup
from fer_lib.settings import resolve_dataset

#: Eq. 5's focusing parameter and Sect. III-E's soft-label sigma.
GAMMA, SIGMA = 2.0, 0.1
#: CM-CNN's datasets are 10-fold subject-independent cross-validation (Sect. IV-A).
NUM_FOLDS = 10
_LETTER_TO_MODALITY = {letter: name for name, letter in MODALITY_LETTERS.items()}


def modality_row(row: str) -> tuple[tuple[str, ...], str]:
    """A Table II/III row label as ``(modalities, fusion)``: ``"G + L + D + CMFN"`` -> ``(("gray", "lbp", "depth"),
    "cmfn")``; ``"G + D"`` -> ``(("gray", "depth"), "concat")``; ``"H"`` -> ``(("hog",), "cmfn")`` (one modality
    has no fusion)."""
    parts = [p.strip() for p in row.split("+")]
    fusion = "cmfn" if parts[-1] == "CMFN" else "concat"
    letters = parts[:-1] if fusion == "cmfn" else parts
    unknown = [p for p in letters if p not in _LETTER_TO_MODALITY]
    if unknown or not letters:
        raise ValueError(f"not a Table II/III row: {row!r} (letters {', '.join(_LETTER_TO_MODALITY)}, optional "
                         "'+ CMFN')")
    return tuple(_LETTER_TO_MODALITY[p] for p in letters), "cmfn" if len(letters) == 1 else fusion


def _modality_preset(row: str) -> Preset:
    modalities, fusion = modality_row(row)
    name = "table2_" + "_".join(MODALITY_LETTERS[m].lower() for m in modalities) + ("_cmfn" if fusion == "cmfn"
                                                                                     and len(modalities) > 1 else "")
    return Preset("cmcnn", name, "II", row, ModelSetup("cmcnn", {"modalities": list(modalities), "fusion": fusion},
                                                       "soft_focal", {"gamma": GAMMA, "sigma": SIGMA}))


#: The proposed model's options, spelled out as Tables II/III's "G + L + D + CMFN" row spells them: the run-cache
#: key hashes the options as written, so Table I's proposed row and Table II's are one run.
PROPOSED_OPTIONS = {"modalities": ["gray", "lbp", "depth"], "fusion": "cmfn"}


def _loss_preset(name: str, row: str, loss: str, options: dict) -> Preset:
    return Preset("cmcnn", name, "I", row, ModelSetup("cmcnn", dict(PROPOSED_OPTIONS), loss, options))


#: The row of fer_lib's hand-crafted baseline in Tables IV-VI (:mod:`fer_lib.models.handcrafted`), and the CNN row
#: it is compared with on the real 2-D column (no depth there: the best 2-D CM-CNN of Table II).
HANDCRAFTED_ROW = "HOG + LBP histograms, linear (fer_lib)"
REAL_2D_CNN_ROW = "CM-CNN, 2-D (G + L + CMFN)"

#: Tables II and III's rows, in the paper's order (Table III repeats them on Bosphorus).
MODALITY_ROWS: tuple[str, ...] = (
    "G", "L", "H", "B", "D", "G + L", "G + L + CMFN", "G + D", "G + D + CMFN", "L + D", "L + D + CMFN", "G + L + D",
    "G + H + D + CMFN", "G + B + D + CMFN", "G + L + D + CMFN",
)  # fmt: skip

#: The RGB-D columns of Tables I-III: each one's real loader and options. VT-KFER's Kinect recordings are read once
#: exported to the RGB-D pair layout (``fer_lib.data.rgbd``; CCZU-FER, Table VII, is in that layout too).
RGBD_COLUMNS: dict[str, tuple[str, dict[str, Any]]] = {
    "VT-KFER": ("rgbd-pairs", {}),
    "BU-3DFE P1": ("bu3dfe-3d", {"protocol": "p1"}),
    "BU-3DFE P2": ("bu3dfe-3d", {"protocol": "p2"}),
    "Bosphorus": ("bosphorus", {}),
    "CCZU-FER": ("rgbd-pairs", {}),
}
#: Every RGB-D column's stand-in: SynthFER's near-frontal faces with rendered depth, 10 subject folds.
RGBD_STAND_IN = "synth-rgbd"
#: The 2-D column fer_lib adds to Tables I-III: real faces with no depth, so only the G / L / H / B rows run on it.
REAL_2D_COLUMN, REAL_2D_DATASET = "FERPlus (real 2-D, six classes)", "ferplus"
REAL_2D_OPTIONS: dict[str, Any] = {"num_classes": 6}


#: At the cpu scale the 2-D column trains 6 epochs over FERPlus's 16,201 six-class training faces (3,000 optimiser
#: steps of 32; a synth-rgbd fold's 15 epochs are 510): the cpu scale's whole-training-set rule, at a length that
#: keeps a row under half an hour at one thread beside another training (measured: G 11 min, G + L 21, G + L + CMFN
#: 25; the hand-crafted baseline 6). Other scales keep their recipe.
REAL_2D_CPU_EPOCHS = 6


def real_2d_recipe(scale: str) -> dict[str, Any]:
    """The recipe overrides of the real 2-D column at ``scale`` (:data:`REAL_2D_CPU_EPOCHS` at ``cpu``)."""
    return {"epochs": REAL_2D_CPU_EPOCHS} if scale == "cpu" else {}


def real_2d_column(data_root: str | os.PathLike | None) -> tuple[str, str | None, dict[str, Any], str]:
    """``(column, dataset, loader options, why)`` of fer_lib's real 2-D column; ``dataset`` is ``None`` where
    ``data_root`` has no readable FERPlus (the column then does not run: it has no stand-in, the RGB-D columns'
    is synthetic already)."""
    if data_root is None:
        return REAL_2D_COLUMN, None, {}, "no data_root given"
    name, why = resolve_dataset(REAL_2D_DATASET, data_root, "", **REAL_2D_OPTIONS)
    return REAL_2D_COLUMN, name or None, dict(REAL_2D_OPTIONS), why


#: What every CM-CNN table's notes say about its data and scale.
DATA_NOTE = (
    "The paper trains every CM-CNN from random weights, and so do all of fer_lib's scales (the networks are small: "
    "1.4 M parameters). An RGB-D column reads its real dataset when `data_root` holds it (`bu3dfe-3d`: BU-3DFE's "
    "VRML models; `bosphorus`: the .bnt scans; `rgbd-pairs`: Kinect-style colour + depth pairs, for VT-KFER exported "
    "to that layout and CCZU-FER), else SynthFER's RGB-D stand-in (`synth-rgbd`: near-frontal synthetic faces with "
    "rendered depth, six expressions x four intensities, 50 subjects at the cpu scale, 10 subject folds); stand-in "
    "columns are one and the same data, so the stand-in runs once and the other columns are left out. Cells on the "
    "stand-in are synthetic: they test whether the rows' ordering holds on controlled data, not the paper's numbers. "
    "The real 2-D column (FERPlus, the six basic expressions) has no depth, so only the rows without D run on it. "
    "At the cpu scale (64 px, 15 epochs; the 2-D column 6 epochs over its whole training set) one synth-rgbd test "
    "fold holds 120 images (5 subjects), so a single run's 95% interval is about +-9 points; the 2-D column's 2,047 "
    "test faces give about +-2."
)


def handcrafted_claims(table: str, columns: dict[str, str]) -> pd.DataFrame:
    """The text's "CNN features achieve better performance than hand-crafted features" (Table V's discussion; a
    trend, ledger CM-CNN 4) as claims on a comparison table: CM-CNN beats fer_lib's hand-crafted baseline in each
    column of ``columns`` (``{column run: the paper's column whose margin it is judged against}``; the real 2-D
    column borrows BU-3DFE P1's), the printed margin being CM-CNN's over the best hand-crafted row the paper
    quotes there."""
    reference = papers.reference("cmcnn", table)
    frames = [pd.DataFrame(columns=list(papers.CLAIM_COLUMNS))]
    for column, paper_column in columns.items():
        source = reference if (reference["column"] == paper_column).any() else papers.reference("cmcnn", "v")
        cells = source[source["column"] == paper_column]
        best = cells[cells["note"].str.startswith("handcrafted")].sort_values("value").iloc[-1]
        margin = float(cells.loc[cells["row"] == "CM-CNN", "value"].iloc[0]) - float(best["value"])
        frames.append(claim_frame(
            "cmcnn", f"{table}-cnn-over-handcrafted@{column}", table, column,
            "CM-CNN" if column == paper_column else REAL_2D_CNN_ROW, HANDCRAFTED_ROW, margin,
            "Sect. IV-J (Tables IV-VI)", f"CNN features beat hand-crafted ones (printed: CM-CNN over {best['row']} in "
            f"{paper_column}, the best hand-crafted row quoted there)", ledger="CM-CNN 4"))
    return pd.concat(frames, ignore_index=True)


class RGBDColumn(NamedTuple):
    """A paper column resolved on a data root: the dataset it runs on, the loader's options, why that dataset,
    and the column whose runs it repeats (a stand-in shared with an earlier column; ``None``: it runs)."""

    dataset: str
    options: dict[str, Any]
    why: str
    same_as: str | None


def rgbd_columns(data_root: str | os.PathLike | None, names: tuple[str, ...]) -> dict[str, RGBDColumn]:
    """The columns ``names`` of :data:`RGBD_COLUMNS`, each on its real dataset when ``data_root`` holds it, else on
    :data:`RGBD_STAND_IN`. Stand-in columns are one and the same data, so only the first of them runs: the others
    name it in ``same_as`` (a table would otherwise print one set of runs several times as if it were several
    datasets)."""
    unknown = [n for n in names if n not in RGBD_COLUMNS]
    if unknown:
        raise ValueError(f"unknown RGB-D column(s) {unknown}; known: {', '.join(RGBD_COLUMNS)}")
    columns: dict[str, RGBDColumn] = {}
    first_stand_in = None
    for name in names:
        real, options = RGBD_COLUMNS[name]
        dataset, why = resolve_dataset(real, data_root, RGBD_STAND_IN, **options, fold=0)
        if dataset == real:
            columns[name] = RGBDColumn(dataset, dict(options), why, None)
        else:
            columns[name] = RGBDColumn(dataset, {}, why, first_stand_in)
            first_stand_in = first_stand_in or name
    return columns


def has_depth(preset_name: str) -> bool:
    """Whether a preset's model reads the depth modality (such rows cannot run on 2-D images)."""
    return "depth" in get_preset("cmcnn", preset_name).setup.loader_options()["modalities"]


register_presets(
    # Table I: the loss, on the full model.
    _loss_preset("table1_cce", "CCE loss", "ce", {}),
    *(p for gamma in (1.5, 2.5, 2.0) for p in (
        _loss_preset(f"table1_focal_{gamma:g}", f"Focal loss (γ={gamma:.1f})", "soft_focal",
                     {"gamma": gamma, "sigma": 0.0}),
        _loss_preset(f"table1_soft_focal_{gamma:g}", f"Soft Focal loss (γ={gamma:.1f})", "soft_focal",
                     {"gamma": gamma, "sigma": SIGMA}))),
    # Tables II / III: modalities and fusion.
    *(_modality_preset(row) for row in MODALITY_ROWS),
    # Tables IV-VI: the hand-crafted baseline fer_lib builds (the quoted hand-crafted rows are other papers').
    Preset("cmcnn", "handcrafted_hog_lbp", "IV", HANDCRAFTED_ROW,
           ModelSetup("handcrafted", {"features": ["hog", "lbp"], "modalities": ["gray"]}, "ce", {}),
           note="fer_lib's hand-crafted baseline: HOG and uniform-LBP histograms on a 4 x 4 grid, linear classifier"),
)

__all__ = [
    "DATA_NOTE", "GAMMA", "HANDCRAFTED_ROW", "MODALITY_ROWS", "NUM_FOLDS", "PROPOSED_OPTIONS", "REAL_2D_CNN_ROW",
    "REAL_2D_COLUMN", "REAL_2D_CPU_EPOCHS", "REAL_2D_DATASET", "REAL_2D_OPTIONS", "RGBD_COLUMNS", "RGBD_STAND_IN",
    "SIGMA", "RGBDColumn", "handcrafted_claims", "has_depth", "modality_row", "real_2d_column", "real_2d_recipe",
    "rgbd_columns",
]  # fmt: skip

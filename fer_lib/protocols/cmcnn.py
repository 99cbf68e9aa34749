"""CM-CNN (seed 002): which modalities, fusion and loss each row of Tables I-III trains.

The rows are options of :class:`fer_lib.models.cmcnn.CMCNN` and of the ``soft_focal`` loss; which row uses which
is an experiment setting and lives here. Table I varies the loss on the full model (G + L + D + CMFN); Tables II
and III vary the modalities (G grey, L LBP, D depth, H HOG, B Gabor) and the fusion ("+ CMFN": the cross-modality
attention; without it, the FENs' maps are pooled and concatenated) with the paper's loss. The data follow the
model: every loader of a row's runs packs the row's modalities (``ModelFamily.data_options``).
"""

from __future__ import annotations

from fer_lib.data.modalities import MODALITY_LETTERS
from fer_lib.protocols.presets import Preset, register_presets
from fer_lib.protocols.training import ModelSetup

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


def _loss_preset(name: str, row: str, loss: str, options: dict) -> Preset:
    return Preset("cmcnn", name, "I", row, ModelSetup("cmcnn", {}, loss, options))


#: Tables II and III's rows, in the paper's order (Table III repeats them on Bosphorus).
MODALITY_ROWS: tuple[str, ...] = (
    "G", "L", "H", "B", "D", "G + L", "G + L + CMFN", "G + D", "G + D + CMFN", "L + D", "L + D + CMFN", "G + L + D",
    "G + H + D + CMFN", "G + B + D + CMFN", "G + L + D + CMFN",
)  # fmt: skip

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
)

__all__ = ["GAMMA", "MODALITY_ROWS", "NUM_FOLDS", "SIGMA", "modality_row"]

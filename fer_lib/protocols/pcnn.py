"""PCNN (seed 000): which model, options and loss each row of Tables I and II trains.

The model's ablation flags are options of :class:`fer_lib.models.pcnn.PCNN`; the rows' settings are
experiment settings and live here. Loss weights are those of the two-phase facial semantic loss
``alpha * CE(GPN) + beta * CE(LPN)`` (``fer_lib.losses.FacialSemanticLoss``).
"""

from __future__ import annotations

from fer_lib.protocols.presets import Preset, register_presets
from fer_lib.protocols.training import ModelSetup

_NO_TWO_PHASE = (
    "no two-phase loss in this row: trained with CE on the GPN only (alpha=1, beta=0, no LPN); "
    "the paper does not state the loss of the rows without CBP/BP, this is the fer_lib reading"
)
_TABLE1_WEIGHTS = (
    "Table I's crop rows are compared with 'PCNN without balance parameters' (alpha = beta = 10), "
    "so they use the same weights; the paper does not state them explicitly"
)
# Floats, not ints: the run-cache key hashes the JSON text (12 and 12.0 differ).
_CBP = {"alpha": 10.0, "beta": 10.0}
_BP = {"alpha": 12.0, "beta": 8.0}
_GPN_ONLY = {"alpha": 1.0, "beta": 0.0}


def _pcnn(name: str, table: str, row: str, options: dict, weights: dict, note: str = "") -> Preset:
    return Preset("pcnn", name, table, row, ModelSetup("pcnn", options, "facial_semantic", weights), note=note)


register_presets(
    # Table I: cropping strategies (RAF-DB / FERPlus).
    _pcnn("table1_no_crop", "I", "PCNN without cropping", {"crop_strategy": "none"}, _CBP, _TABLE1_WEIGHTS),
    _pcnn("table1_two_random", "I", "PCNN with two random cropping", {"crop_strategy": "two_random"}, _CBP,
          _TABLE1_WEIGHTS),
    _pcnn("table1_three_crop", "I", "PCNN with three cropping", {"crop_strategy": "three_horizontal"}, _CBP,
          _TABLE1_WEIGHTS),
    _pcnn("table1_four_crop", "I", "PCNN with four cropping", {"crop_strategy": "four_grid"}, _CBP, _TABLE1_WEIGHTS),
    _pcnn("table1_no_balance", "I", "PCNN without balance parameters", {}, _CBP),
    _pcnn("table1_pcnn", "I", "PCNN", {}, _BP),
    # Table II: components (RAF-DB / FERPlus).
    Preset("pcnn", "table2_resnet18", "II", "ResNet18 (not pretrained)", ModelSetup("resnet18", loss="ce"),
           paper_pretrained=False, note="the registry's plain torchvision ResNet-18, trained with CE"),
    _pcnn("table2_gfieb", "II", "GFIEB + 4-layer residual classifier",
          {"use_lfsieb": False, "use_mdim": False, "use_lpn": False}, _GPN_ONLY,
          "same architecture as ResNet-18; the row differs from table2_resnet18 by the MS-Celeb-1M pretraining. "
          + _NO_TWO_PHASE),
    _pcnn("table2_gfieb_lfsieb", "II", "GFIEB + LFSIEB", {"use_mdim": False, "use_lpn": False}, _GPN_ONLY,
          "stitched local map added to the global map without the MDIM. " + _NO_TWO_PHASE),
    _pcnn("table2_mdim", "II", "GFIEB + LFSIEB + MDIM", {"use_lpn": False}, _GPN_ONLY, _NO_TWO_PHASE),
    _pcnn("table2_cbp", "II", "+ CBP (alpha = beta = 10)", {}, _CBP),
    _pcnn("table2_bp", "II", "+ BP (alpha = 12, beta = 8) = PCNN", {}, _BP),
)

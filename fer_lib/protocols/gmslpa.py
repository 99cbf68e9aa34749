"""GMS-LPA (seed 001): which model options and loss each row of Tables 1-4, 6/8/10 and 11 trains.

The ablations are options of :class:`fer_lib.models.gmslpa.GMSLPA`; which row uses which is an experiment
setting and lives here. Every row trains with the family's loss (``losses.GMSLPALoss``): Eq. 6 for a
dual-branch model with model-level fusion, plain cross-entropy for a model with one head (single branch,
feature-level fusion). The paper's tables label each row per dataset block ("BU-3DFEP1 / FDB + SDB"); a
preset's ``row`` is the label without the block, and notebooks add it.
"""

from __future__ import annotations

import os

from fer_lib.protocols.presets import Preset, register_presets
from fer_lib.protocols.training import ModelSetup
from fer_lib.settings import resolve_dataset

#: Eq. 6's weight of the local branch (Sect. 4.2.4).
ALPHA = 0.6
#: Fig. 9's sweep: alpha in 0.1 .. 0.9, step 0.1.
ALPHA_SWEEP: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(1, 10))

#: The dataset blocks of Tables 1-4: the paper's dataset -> ((fer_lib loader, options), (SynthFER stand-in,
#: options), the observation angles of the block's columns).
VIEW_BLOCKS: dict[str, tuple[tuple[str, dict], tuple[str, dict], tuple[int, ...]]] = {
    "BU-3DFEP1": (("bu3dfe", {"protocol": "p1"}), ("synth-multiview", {"angles": "bu3dfe"}), (0, 30, 45, 60, 90)),
    "Multi-PIE": (("multipie", {}), ("synth-multiview", {"angles": "multipie"}), (0, 15, 30, 45, 60, 75, 90)),
    "BU-3DFEP2": (("bu3dfe", {"protocol": "p2"}), ("synth-multiview", {"angles": "bu3dfe-p2"}),
                  (-45, -30, -15, 0, 15, 30, 45)),
}
#: BU-3DFE's and Multi-PIE's protocols are 5-fold subject-independent cross-validation (Sect. 4.1).
NUM_FOLDS = 5

# Every row starts where the recipe says: the paper trains them all from random weights (so does the paper
# recipe); the cpu recipe starts them all from the same pretrained ResNet trunk, since from random weights its
# budget ends at chance level (ledger GMS-LPA 17). The rows differ by the model only, as in the paper.
_SCRATCH = "the paper: random weights ('without pre-training'); fer_lib's cpu recipe: the pretrained trunk"
# The dual-branch baseline of Table 2: both branches plain ResNet-50 stages, no patches, no attention.
_PLAIN_SDB = {"local_attention": False, "patch_grid": 1}


def _row(name: str, table: str, row: str, options: dict, note: str = _SCRATCH) -> Preset:
    return Preset("gmslpa", name, table, row, ModelSetup("gmslpa", options, "gmslpa", {"alpha": ALPHA}), note=note)


#: A block as :func:`view_blocks` resolves it: (dataset, loader options, angles, why this dataset).
ResolvedBlock = tuple[str, dict, tuple[int, ...], str]


def view_blocks(data_root: str | os.PathLike | None,
                names: tuple[str, ...] = ("BU-3DFEP1", "Multi-PIE")) -> dict[str, ResolvedBlock]:
    """The blocks ``names`` of :data:`VIEW_BLOCKS` as ``(dataset, loader options, angles, why)``: the real dataset
    when ``data_root`` holds it in a layout fer_lib reads, else its SynthFER stand-in, with the reason."""
    unknown = sorted(set(names) - set(VIEW_BLOCKS))
    if unknown:
        raise ValueError(f"unknown view block(s) {unknown}; known: {', '.join(VIEW_BLOCKS)}")
    blocks = {}
    for block in names:
        (real, real_options), (synthetic, synthetic_options), angles = VIEW_BLOCKS[block]
        name, why = resolve_dataset(real, data_root, synthetic, **real_options, fold=0)
        blocks[block] = (name, dict(real_options if name == real else synthetic_options), angles, why)
    return blocks


def alpha_preset(alpha: float) -> Preset:
    """Fig. 9's GMS-LPA with ``alpha`` both in the fused scores and in Eq. 6 (registered for 0.1 .. 0.9)."""
    return Preset("gmslpa", f"fig9_alpha_{alpha:.1f}", "fig9", f"alpha = {alpha:.1f}",
                  ModelSetup("gmslpa", {"alpha": float(alpha)}, "gmslpa", {"alpha": float(alpha)}), note=_SCRATCH)


register_presets(
    # Table 1: single-branch networks.
    _row("table1_baseline", "1", "Baseline (ResNet50)", {"branches": "global", "global_unit": "plain"},
         "ResNet-50 itself (the GMS branch with plain units); " + _SCRATCH),
    _row("table1_ms", "1", "Single-branch (MS)", {"branches": "global", "global_unit": "ms"}),
    _row("table1_sms", "1", "Single-branch (SMS)", {"branches": "global", "global_unit": "sms"}),
    _row("table1_lp", "1", "Single-branch (LP)", {"branches": "local", "local_attention": False},
         "printed 'LA' in the Multi-PIE half (ledger 6); " + _SCRATCH),
    _row("table1_lpa", "1", "Single-branch (LPA)", {"branches": "local", "local_attention": True}),
    # Table 2: dual-branch networks (FDB = plain first branch, SDB = plain second branch).
    _row("table2_fdb_sdb", "2", "FDB + SDB", {"global_unit": "plain", **_PLAIN_SDB}),
    _row("table2_fdb_sms", "2", "FDB + SMS", {"global_unit": "sms", **_PLAIN_SDB}),
    _row("table2_fdb_lpa", "2", "FDB + LPA", {"global_unit": "plain"}),
    _row("table2_sms_lpa", "2", "SMS + LPA", {}),
    # Table 3: the patch grid of the LPA branch, on the dual-branch (ResNet-50) network with a plain first branch.
    *(_row(f"table3_grid_{m}", "3", f"{m} × {m}", {"global_unit": "plain", "patch_grid": m}) for m in (1, 2, 3, 4)),
    # Table 4: model-level (Eq. 6) vs feature-level fusion.
    _row("table4_model_level", "4", "Model-level", {}),
    _row("table4_feature_level", "4", "Feature-level", {"fusion": "feature"}),
    # Tables 6, 8, 10 and 11: the paper's own rows (end to end, no pre-training).
    _row("resnet50", "6", "ResNet50 (Baseline)", {"branches": "global", "global_unit": "plain"}),
    _row("gmslpa_resnet18", "6", "ResNet18 (GMS-LPA)", {"trunk": "resnet18"}),
    _row("gmslpa_resnet34", "6", "ResNet34 (GMS-LPA)", {"trunk": "resnet34"}),
    _row("gms_net", "6", "GMS-Net (Ours)", {"branches": "global"}),
    _row("lpa_net", "6", "LPA-Net (Ours)", {"branches": "local"}),
    _row("gmslpa_net", "6", "GMS-LPA-Net (Ours)", {}),
    *(alpha_preset(a) for a in ALPHA_SWEEP),
)

__all__ = ["ALPHA", "ALPHA_SWEEP", "NUM_FOLDS", "VIEW_BLOCKS", "alpha_preset", "view_blocks"]

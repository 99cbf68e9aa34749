"""Table-row presets: the model, options and loss one row of a paper's ablation table trains.

A preset is an experiment setting, not part of a model: the model file offers the options (flags
for the ablations), the paper's protocol module (``fer_lib/protocols/<paper>.py``) registers which
options and loss each row of its tables uses, and :func:`fer_lib.protocols.variant_rows` trains them.
Preset names are per paper (``get_preset("pcnn", "table2_bp")``), so papers never collide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from fer_lib.models import check_model

_PRESETS: dict[str, dict[str, Preset]] = {}


@dataclasses.dataclass(frozen=True)
class Preset:
    """One row of a paper's table.

    ``loss=None`` trains with the model family's default loss (with ``loss_options``).
    ``paper_pretrained`` says whether the paper's row started from pretrained weights; rows that did
    not drop a caller's ``pretrained_path``.
    """

    paper: str
    name: str
    table: str
    row: str
    model: str
    model_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    loss: str | None = None
    loss_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    paper_pretrained: bool = True
    note: str = ""

    def describe(self) -> str:
        """``"table2_bp: facial_semantic(alpha=12, beta=8)"`` — the row's loss, for a cell's note."""
        opts = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.loss_options.items())
        return f"{self.name}: {self.loss or 'default loss'}" + (f"({opts})" if opts else "")


def register_presets(*presets: Preset) -> None:
    """Register table-row presets (their models must be registered)."""
    for preset in presets:
        check_model(preset.model)
        table = _PRESETS.setdefault(preset.paper, {})
        if preset.name in table and table[preset.name] != preset:
            raise ValueError(f"preset {preset.paper}/{preset.name} is registered twice")
        table[preset.name] = preset


def list_presets(paper: str, table: str | None = None) -> list[str]:
    """Preset names of ``paper`` in registration (= table) order; ``table="II"`` selects one table."""
    return [n for n, p in _PRESETS.get(paper, {}).items() if table is None or p.table == table]


def get_preset(paper: str, name: str) -> Preset:
    """The preset ``name`` of ``paper``; unknown names raise, listing the paper's presets."""
    presets = _PRESETS.get(paper, {})
    if name not in presets:
        known = ", ".join(presets) or "none"
        raise ValueError(f"unknown {paper} preset {name!r}; {paper}'s presets: {known}")
    return presets[name]


__all__ = ["Preset", "get_preset", "list_presets", "register_presets"]

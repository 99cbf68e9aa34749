"""Table-row presets: the model, options and loss one row of a paper's ablation table trains.

A preset is an experiment setting, not part of a model: the model file offers the options (flags
for the ablations), the paper's protocol module (``fer_lib/protocols/<paper>.py``) registers which
options and loss each row of its tables uses, and :func:`fer_lib.protocols.variant_rows` trains them.
Preset names are per paper (``get_preset("pcnn", "table2_bp")``), so papers never collide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from fer_lib.protocols.training import ModelSetup

_PRESETS: dict[str, dict[str, Preset]] = {}


@dataclasses.dataclass(frozen=True)
class Preset:
    """One row of a paper's table.

    ``setup``: the model, its options and its loss. ``paper_pretrained=False`` marks a row whose point is that
    it is not pretrained (PCNN's plain ResNet-18 against its pretrained trunks): it starts from random weights at
    every scale and drops a caller's ``pretrained_path``. Other rows start where the recipe says (the ``cpu``
    scale's pretrained trunk, the ``paper`` scale's ``pretrained_path`` or random weights).
    """

    paper: str
    name: str
    table: str
    row: str
    setup: ModelSetup
    paper_pretrained: bool = True
    note: str = ""


def register_presets(*presets: Preset) -> None:
    """Register table-row presets (names unique per paper)."""
    for preset in presets:
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


def select_rows(variants: Mapping[str, str], rows: Sequence[str] | None) -> dict[str, str]:
    """The rows of a table notebook's ``variants`` (``{preset name: paper row}``) that ``rows`` names, in the
    table's order; ``rows=None`` keeps every row. A name that is not one of the table's rows raises, listing
    them (a typo must not silently run nothing)."""
    if rows is None:
        return dict(variants)
    if isinstance(rows, str):
        rows = [rows]
    unknown = [name for name in rows if name not in variants]
    if unknown:
        raise ValueError(f"rows {unknown} are not rows of this table; its rows: {', '.join(variants)}")
    if not rows:
        raise ValueError(f"rows is empty: name at least one of {', '.join(variants)} (or None for all)")
    return {name: row for name, row in variants.items() if name in rows}


__all__ = ["Preset", "get_preset", "list_presets", "register_presets", "select_rows"]

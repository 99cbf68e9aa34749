"""Contexts and result tables for protocol tests: smoke scale, CPU, one seed, quiet, in a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fer_lib.results import ResultTable
from fer_lib.settings import RunContext


@pytest.fixture
def open_table(tmp_path: Path) -> Callable[..., tuple[RunContext, ResultTable]]:
    """``open_table(table, dataset, data_root, seeds=(0,), paper="pcnn")`` -> ``(context, result table)``."""

    def make(table: str, dataset: str, data_root: Path | None, seeds=(0,),
             paper: str = "pcnn") -> tuple[RunContext, ResultTable]:
        ctx = RunContext.resolve(paper, table, "smoke", dataset, data_root, "cpu", seeds, tmp_path / "out",
                                 quiet=True)
        return ctx, ResultTable(ctx)

    return make

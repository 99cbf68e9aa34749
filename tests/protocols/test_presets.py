from __future__ import annotations

import pytest

from fer_lib.protocols import select_rows

VARIANTS = {"resnet50": "ResNet50 (Baseline)", "gms_net": "GMS-Net (Ours)", "gmslpa_net": "GMS-LPA-Net (Ours)"}


def test_select_rows_keeps_the_tables_order():
    assert select_rows(VARIANTS, None) == VARIANTS
    assert list(select_rows(VARIANTS, ["gmslpa_net", "resnet50"])) == ["resnet50", "gmslpa_net"]
    assert select_rows(VARIANTS, "gms_net") == {"gms_net": "GMS-Net (Ours)"}


def test_select_rows_refuses_names_that_are_not_rows():
    with pytest.raises(ValueError, match=r"\['gmslpa'\] are not rows of this table; its rows: resnet50, gms_net"):
        select_rows(VARIANTS, ["gmslpa"])
    with pytest.raises(ValueError, match="rows is empty"):
        select_rows(VARIANTS, [])

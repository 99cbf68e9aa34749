"""fer_lib.claims: a verdict for each claim, from result cells paired by seed."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from fer_lib import claims as fc
from fer_lib.metrics import seed_ci


def cell(row: str, values, seeds="auto", column: str = "RAF-DB", table: str = "ii", data_kind: str = "real",
         **extra) -> dict:
    """One result-CSV row; ``seeds=None`` drops the per-seed fields (a CSV from before they existed)."""
    values = list(values)
    out = {"paper": "pcnn", "table": table, "row": row, "column": column, "value": sum(values) / len(values),
           "n_seeds": len(values), "scale": "cpu", "data_kind": data_kind, "dataset": "rafdb", **extra}
    if seeds is not None:
        seeds = list(range(len(values))) if seeds == "auto" else seeds
        out.update(seeds=";".join(map(str, seeds)), seed_values=";".join(map(str, values)))
    return out


def claim(row_a="GFIEB", row_b="ResNet18", relation="a > b", printed=43.80, column="RAF-DB", table="ii",
          deterministic=False, claim_id="c1") -> pd.DataFrame:
    return pd.DataFrame([{"paper": "pcnn", "claim_id": claim_id, "table": table, "column": column, "row_a": row_a,
                          "row_b": row_b, "relation": relation, "printed_difference": printed,
                          "stated_difference": float("nan"), "deterministic": deterministic, "location": "IV.C",
                          "ledger": "", "note": ""}])


def judge(results: list[dict], claims: pd.DataFrame | None = None) -> pd.Series:
    verdicts = fc.evaluate_claims(pd.DataFrame(results), claim() if claims is None else claims)
    assert list(verdicts.columns) == list(fc.VERDICT_COLUMNS) and len(verdicts) == 1
    return verdicts.iloc[0]


def inside(verdict: pd.Series) -> bool | None:
    """``printed_in_ci`` as a plain bool (None when there is no interval)."""
    return None if pd.isna(verdict["printed_in_ci"]) else bool(verdict["printed_in_ci"])


def test_supported_when_the_paired_interval_excludes_zero_on_the_claimed_side():
    v = judge([cell("GFIEB", [50.0, 51.0, 52.0]), cell("ResNet18", [40.0, 41.0, 42.5])])
    assert v["verdict"] == fc.SUPPORTED and v["n_paired"] == 3 and v["paired_seeds"] == "0;1;2"
    assert v["reproduced_difference"] == pytest.approx((10 + 10 + 9.5) / 3)
    assert (v["ci_low"], v["ci_high"]) == pytest.approx(seed_ci([10.0, 10.0, 9.5]))
    assert inside(v) is False  # the paper's 43.80 is far outside [9.1, 10.6]
    assert "excludes 0 on the claimed side" in v["reason"] and v["scale"] == "cpu" and v["data_kind"] == "real"


def test_contradicted_when_it_excludes_zero_on_the_other_side():
    v = judge([cell("GFIEB", [40.0, 41.0, 42.5]), cell("ResNet18", [50.0, 51.0, 52.0])])
    assert v["verdict"] == fc.CONTRADICTED and "other side" in v["reason"]


def test_a_less_than_claim_is_judged_on_its_side():
    frames = [cell("GFIEB", [40.0, 41.0, 42.5]), cell("ResNet18", [50.0, 51.0, 52.0])]
    assert judge(frames, claim(relation="a < b", printed=-43.80))["verdict"] == fc.SUPPORTED


def test_not_resolved_when_the_interval_contains_zero():
    v = judge([cell("GFIEB", [41.0, 40.0, 42.0]), cell("ResNet18", [40.0, 41.0, 41.5])])
    assert v["verdict"] == fc.NOT_RESOLVED and v["reason"].endswith("contains 0")
    assert v["ci_low"] < 0 < v["ci_high"] and v["n_paired"] == 3


def test_one_seed_is_not_resolved_but_reports_its_difference():
    v = judge([cell("GFIEB", [45.0]), cell("ResNet18", [40.0])])
    assert v["verdict"] == fc.NOT_RESOLVED and "one run" in v["reason"]
    assert v["reproduced_difference"] == pytest.approx(5.0) and v["n_paired"] == 1
    assert math.isnan(v["ci_low"]) and pd.isna(v["printed_in_ci"])


def test_not_reproduced_when_a_row_or_the_table_is_missing():
    v = judge([cell("GFIEB", [45.0, 46.0])])
    assert v["verdict"] == fc.NOT_REPRODUCED and "'ResNet18'" in v["reason"]
    v = judge([cell("GFIEB", [45.0]), cell("ResNet18", [40.0], column="FERPlus")])
    assert v["verdict"] == fc.NOT_REPRODUCED  # the row exists, but not in the claim's column
    v = judge([cell("GFIEB", [45.0], table="i"), cell("ResNet18", [40.0], table="i")])
    assert v["verdict"] == fc.NOT_REPRODUCED and "table ii has no reproduced cell" in v["reason"]
    assert fc.evaluate_claims(pd.DataFrame(), claim()).iloc[0]["verdict"] == fc.NOT_REPRODUCED


def test_pairs_only_the_seeds_both_cells_have():
    """A cell with seeds 0;1;2 against one with 0;1 pairs two seeds; seed 2 of the first is left out."""
    a = cell("GFIEB", [50.0, 52.0, 10.0], seeds=[0, 1, 2])
    b = cell("ResNet18", [40.0, 41.0], seeds=[0, 1])
    v = judge([a, b])
    assert v["n_paired"] == 2 and v["paired_seeds"] == "0;1"
    assert v["reproduced_difference"] == pytest.approx(10.5)
    assert (v["ci_low"], v["ci_high"]) == pytest.approx(seed_ci([10.0, 11.0]))
    assert v["verdict"] == fc.SUPPORTED
    # Paired, not by position: b's seeds listed in another order still meet a's.
    v = judge([a, cell("ResNet18", [41.0, 40.0], seeds=[1, 0])])
    assert v["reproduced_difference"] == pytest.approx(10.5)


def test_cells_without_a_common_seed_or_without_per_seed_values_are_not_resolved():
    v = judge([cell("GFIEB", [50.0, 51.0], seeds=[0, 1]), cell("ResNet18", [40.0, 41.0], seeds=[2, 3])])
    assert v["verdict"] == fc.NOT_RESOLVED and "share no seed" in v["reason"] and v["n_paired"] == 0
    old = judge([cell("GFIEB", [50.0, 51.0, 52.0], seeds=None), cell("ResNet18", [40.0, 41.0, 42.0], seeds=None)])
    assert old["verdict"] == fc.NOT_RESOLVED and "per-seed values not recorded" in old["reason"]
    assert old["reproduced_difference"] == pytest.approx(10.0) and old["n_paired"] == 0  # of the means
    empty = judge([cell("GFIEB", [50.0, 51.0]) | {"seeds": "", "seed_values": ""},
                   cell("ResNet18", [40.0, 41.0])])
    assert "per-seed values not recorded" in empty["reason"]


def test_per_seed_reads_fields_pandas_parsed_as_numbers():
    """A one-seed cell's ``seeds`` = "0" comes back from read_csv as the number 0."""
    assert fc.per_seed(pd.Series({"seeds": 0, "seed_values": 41.5})) == {0: 41.5}
    assert fc.per_seed(pd.Series({"seeds": "0;1", "seed_values": "41.5;40.25"})) == {0: 41.5, 1: 40.25}
    assert fc.per_seed(pd.Series({"seeds": float("nan"), "seed_values": float("nan")})) is None
    assert fc.per_seed(pd.Series({"value": 3.0})) is None


def test_synthetic_cells_say_so():
    v = judge([cell("GFIEB", [50.0, 51.0, 52.0], data_kind="synthetic"),
               cell("ResNet18", [40.0, 41.0, 42.5], data_kind="synthetic")])
    assert v["verdict"] == fc.SUPPORTED and v["reason"].endswith(fc.SYNTHETIC_NOTE)
    assert v["data_kind"] == "synthetic"


def test_printed_difference_inside_the_interval():
    v = judge([cell("GFIEB", [84.0, 88.0, 86.0]), cell("ResNet18", [40.0, 45.0, 42.0])])
    assert v["ci_low"] < 43.80 < v["ci_high"] and inside(v) is True


def test_a_deterministic_quantity_is_decided_by_one_measurement():
    fewer = claim("PCNN (Ours)", "MA-Net [36]", "a < b", -12.54, "Parameters (M)", "x", deterministic=True)
    cells = [cell("PCNN (Ours)", [25.9], column="Parameters (M)", table="x", data_kind="none"),
             cell("MA-Net [36]", [50.5], column="Parameters (M)", table="x", data_kind="none")]
    v = judge(cells, fewer)
    assert v["verdict"] == fc.SUPPORTED and "deterministic" in v["reason"]
    assert v["ci_low"] == v["ci_high"] == pytest.approx(-24.6) and inside(v) is False
    more = claim("PCNN (Ours)", "MA-Net [36]", "a > b", 12.54, "Parameters (M)", "x", deterministic=True)
    assert judge(cells, more)["verdict"] == fc.CONTRADICTED


def test_judge_directly():
    assert fc.judge([1.0, 1.2, 0.9], +1)[0] == fc.SUPPORTED
    assert fc.judge([1.0, 1.2, 0.9], -1)[0] == fc.CONTRADICTED
    assert fc.judge([1.0], +1)[0] == fc.NOT_RESOLVED
    assert fc.judge([], +1)[0] == fc.NOT_RESOLVED
    assert fc.judge([0.0], +1, deterministic=True)[0] == fc.CONTRADICTED  # equal is not "a > b"


def test_markdown_lists_each_claim_with_its_verdict():
    verdicts = fc.evaluate_claims(pd.DataFrame([cell("GFIEB", [50.0, 51.0, 52.0]),
                                                cell("ResNet18", [40.0, 41.0, 42.5])]), claim())
    lines = fc.claims_markdown(verdicts)
    assert lines[0].startswith("| claim | table | column |") and len(lines) == 3
    assert "| c1 | II | RAF-DB | GFIEB > ResNet18 | +43.80 |" in lines[2] and "**supported**" in lines[2]
    assert lines[1].count("|") == lines[0].count("|")
    assert not fc.claims_markdown(verdicts, with_table=False)[2].startswith("| c1 | II")
    assert fc.verdict_counts(verdicts) == "1 supported"


def test_every_pcnn_claim_gets_a_verdict_on_an_empty_result_set():
    from fer_lib.papers import claims

    verdicts = fc.evaluate_claims(pd.DataFrame(columns=["paper", "table", "row", "column", "value"]))
    assert len(verdicts) == len(claims()) and set(verdicts["verdict"]) == {fc.NOT_REPRODUCED}


def test_claims_restated_in_a_column_of_fer_libs_own():
    """CM-CNN's 2-D claims, printed for BU-3DFE P1, judged on the real FERPlus column: only claims whose rows
    both ran there move, keeping the printed difference."""
    from fer_lib.papers import claims

    source = claims("cmcnn", "ii")
    moved = fc.claims_in_column(source, "BU-3DFE P1", "FERPlus 2-D", rows=["G", "L", "G + L", "G + L + CMFN"])
    assert set(moved["column"]) == {"FERPlus 2-D"} and set(moved["table"]) == {"ii"}
    assert {(c.row_a, c.row_b) for c in moved.itertuples()} == {("G", "L"), ("G + L", "G"),
                                                                 ("G + L + CMFN", "G + L")}
    original = source.set_index("claim_id").loc["ii-cmfn-gl-bu3dfep1"]
    restated = moved.set_index("claim_id").loc["ii-cmfn-gl-bu3dfep1@FERPlus 2-D"]
    assert restated["printed_difference"] == original["printed_difference"] and "judged here" in restated["note"]
    results = pd.DataFrame([cell("G + L + CMFN", [60, 61, 62], column="FERPlus 2-D", table="ii", paper="cmcnn"),
                            cell("G + L", [55, 57, 56], column="FERPlus 2-D", table="ii", paper="cmcnn")])
    verdict = fc.evaluate_claims(results, moved).set_index("claim_id").loc["ii-cmfn-gl-bu3dfep1@FERPlus 2-D"]
    assert verdict["verdict"] == fc.SUPPORTED and verdict["reproduced_difference"] == pytest.approx(5.0)


def test_a_claim_against_a_baseline_of_fer_libs_own():
    frame = fc.claim_frame("cmcnn", "v-cnn-over-handcrafted", "v", "BU-3DFE P1", "CM-CNN", "HOG + LBP", 4.41,
                           "Sect. IV, Table V", "CNN features beat hand-crafted ones", ledger="CM-CNN 4")
    assert list(frame.columns) == list(fc.papers.CLAIM_COLUMNS) and frame.iloc[0]["relation"] == "a > b"
    results = pd.DataFrame([cell("CM-CNN", [50, 52, 51], column="BU-3DFE P1", table="v", paper="cmcnn"),
                            cell("HOG + LBP", [40, 41, 39], column="BU-3DFE P1", table="v", paper="cmcnn")])
    verdict = fc.evaluate_claims(results, frame).iloc[0]
    assert verdict["verdict"] == fc.SUPPORTED and verdict["reproduced_difference"] == pytest.approx(11.0)

"""The papers' claims about their own tables (``fer_lib/papers/data/<paper>_claims.csv``): every compared row
and column exists in the paper's transcribed table, every printed difference is the difference of the
printed cells, and every disagreement between text and table cites the ledger."""

from __future__ import annotations

import re
from importlib import resources

import pandas as pd
import pytest

from fer_lib.papers import CLAIM_COLUMNS, PAPERS, PRINTED_TOLERANCE, RELATIONS, check_claims, claims, reference


def ledger_entries() -> set[str]:
    """``{"PCNN 1", "PCNN 2", ..., "GMS-LPA 1", ...}``: every numbered entry of discrepancies.md."""
    text = (resources.files("fer_lib.papers") / "discrepancies.md").read_text(encoding="utf-8")
    out = set()
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        name = section.split(" (", 1)[0].strip()
        out |= {f"{name} {n}" for n in re.findall(r"^(\d+)\. \*\*", section, flags=re.M)}
    return out


def test_claims_load_with_their_columns_and_types():
    frame = claims()
    assert list(frame.columns) == list(CLAIM_COLUMNS)
    assert set(frame["paper"]) <= set(PAPERS) and "pcnn" in set(frame["paper"])
    assert set(frame["relation"]) <= set(RELATIONS)
    assert frame["printed_difference"].dtype.kind == "f" and frame["deterministic"].dtype == bool


def test_every_claim_names_cells_of_the_transcribed_table():
    """The loader checks this too (a broken row fails every import of the claims); here it is explicit."""
    frame = claims()
    assert check_claims(frame) == []
    for c in frame.itertuples():
        cells = reference(c.paper, c.table)
        for label in (c.row_a, c.row_b):
            assert len(cells[(cells["row"] == label) & (cells["column"] == c.column)]) == 1, (c.claim_id, label)


def test_pcnn_claims():
    pcnn = claims("pcnn")
    assert len(pcnn) == 74 and pcnn["claim_id"].is_unique
    assert set(pcnn["table"]) == {"i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"}
    assert len(claims("pcnn", "VIII")) == 4 and set(claims("pcnn", "viii")["table"]) == {"viii"}
    gfieb = pcnn.set_index("claim_id").loc["ii-gfieb-over-resnet18-raf"]
    assert (gfieb["row_a"], gfieb["row_b"], gfieb["printed_difference"], gfieb["stated_difference"]) == \
        ("GFIEB", "ResNet18", 43.80, 43.80)


def test_gmslpa_claims():
    gmslpa = claims("gmslpa")
    assert len(gmslpa) == 45 and gmslpa["claim_id"].is_unique
    assert set(gmslpa["table"]) == {"1", "2", "3", "4", "6", "8", "10", "11"}
    # Sect. 5's gains over ResNet-50 are the tables' differences, to the hundredth.
    stated = gmslpa.dropna(subset=["stated_difference"])
    assert len(stated) == 31
    assert (stated["stated_difference"] - stated["printed_difference"]).abs().max() <= PRINTED_TOLERANCE
    lp = gmslpa.set_index("claim_id").loc["1-lpa-over-lp-multipie"]
    assert (lp["row_b"], lp["ledger"]) == ("Multi-PIE / Single-branch (LA)", "GMS-LPA 6")


def test_text_and_table_disagreements_cite_the_ledger():
    """A stated margin that is not the table's, or a claim the paper's own table contradicts, cites its entry."""
    frame = claims()
    entries = ledger_entries()
    for c in frame.itertuples():
        cited = [e.strip() for e in c.ledger.split(";") if e.strip()]
        assert set(cited) <= entries, (c.claim_id, cited)
        stated_differs = pd.notna(c.stated_difference) and abs(c.stated_difference - c.printed_difference) > \
            PRINTED_TOLERANCE
        table_contradicts = RELATIONS[c.relation] * c.printed_difference <= 0
        if stated_differs or table_contradicts:
            assert cited, f"{c.claim_id}: text and table disagree but no ledger entry is cited"
    by_id = frame.set_index("claim_id")
    assert by_id.loc["viii-over-ran-raf", "ledger"] == "PCNN 8"  # text 1.11, table 2.84
    assert by_id.loc["viii-over-pacvt-ferplus", "printed_difference"] == pytest.approx(-0.11)
    assert by_id.loc["ix-over-fermixnet-raf45", "ledger"] == "PCNN 9"


def _bad(**change) -> pd.DataFrame:
    frame = claims("pcnn", "ii").head(1).copy()
    for key, value in change.items():
        frame[key] = value
    return frame


@pytest.mark.parametrize(("change", "message"), [
    ({"row_a": "GFIEB + LFSIEB"}, "row_a 'GFIEB + LFSIEB' has 0 cells"),
    ({"column": "RAF DB"}, "has 0 cells in table ii column 'RAF DB'"),
    ({"table": "xi"}, "has no table 'xi'"),
    ({"relation": "a >= b"}, "relation 'a >= b'"),
    ({"printed_difference": 43.0}, "printed cells give 43.80"),
])
def test_check_claims_finds_broken_rows(change, message):
    problems = check_claims(_bad(**change))
    assert any(message in p for p in problems), problems


def test_check_claims_finds_duplicate_ids_and_missing_columns():
    frame = claims("pcnn", "ii")
    frame.loc[1, "claim_id"] = frame.loc[0, "claim_id"]
    assert any("appears twice" in p for p in check_claims(frame))
    assert check_claims(frame.drop(columns=["relation"])) == ["missing column(s) ['relation']"]


def test_a_paper_without_a_claims_file_has_none():
    data = resources.files("fer_lib.papers") / "data"
    without = [p for p in PAPERS if not (data / f"{p}_claims.csv").is_file()]
    if not without:
        pytest.skip("every paper has its claims file")
    for paper in without:
        assert claims(paper).empty and list(claims(paper).columns) == list(CLAIM_COLUMNS)

from __future__ import annotations

import re
from importlib import resources


def ledger() -> str:
    return (resources.files("fer_lib.papers") / "discrepancies.md").read_text(encoding="utf-8")


def test_ledger_has_a_section_per_paper_with_numbered_entries():
    text = ledger()
    for heading in ("## PCNN (seed 000)", "## GMS-LPA (seed 001)", "## CM-CNN (seed 002)", "## POSTER (seed 003)"):
        assert heading in text
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    for section in sections:
        numbers = [int(n) for n in re.findall(r"^(\d+)\. \*\*", section, flags=re.M)]
        assert numbers == list(range(1, len(numbers) + 1)), f"entries out of order in {section.splitlines()[0]}"


def test_first_pcnn_entry_is_the_table_x_counting_artefact():
    pcnn = ledger().split("## PCNN (seed 000)")[1].split("## GMS-LPA")[0]
    first = pcnn.split("\n2. ")[0]
    assert "14.80" in first and "51.00" in first and "3.692" in first and "25.906" in first


def test_cmcnn_abstract_vs_tables_is_recorded():
    cmcnn = ledger().split("## CM-CNN (seed 002)")[1]
    assert "87.28" in cmcnn and "86.28" in cmcnn

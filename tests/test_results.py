from __future__ import annotations

import math

import pandas as pd
import pytest

from fer_lib.results import RESULT_COLUMNS, ResultTable, build_report, load_results
from fer_lib.settings import RunContext


def make_run(tmp_path, **kw) -> ResultTable:
    context = RunContext.resolve("pcnn", "ii", scale="cpu", seeds=[0, 1], output_dir=tmp_path / "pcnn", quiet=True,
                                 **kw)
    return ResultTable(context)


def test_table_run_writes_tidy_csv_and_markdown(tmp_path):
    run = make_run(tmp_path)
    assert run.context.data_kind == "synthetic" and run.context.dataset == "synth-inthewild"
    run.add("GFIEB+LFSIEB+MDIM+BP", "RAF-DB", [80.0, 82.0])
    run.add("not in the paper", "RAF-DB", 50.0)
    paths = run.save()
    frame = pd.read_csv(paths["csv"])
    assert list(frame.columns) == list(RESULT_COLUMNS)
    first = frame.iloc[0]
    assert first["paper_value"] == pytest.approx(89.31)
    assert first["value"] == pytest.approx(81.0)
    assert first["delta"] == pytest.approx(81.0 - 89.31)
    assert first["std"] == pytest.approx(2 ** 0.5, abs=1e-4)
    assert first["n_seeds"] == 2 and first["scale"] == "cpu" and first["data_kind"] == "synthetic"
    assert math.isnan(frame.iloc[1]["paper_value"])
    md = paths["md"].read_text()
    assert "Synthetic data" in md and "89.31" in md


def test_a_table_whose_runs_slurm_trained_says_so_in_its_csv_and_markdown(tmp_path):
    class Run:  # the fields of fer_lib.protocols.RunOutcome that a cell records
        def __init__(self, seed, slurm_job):
            self.seed, self.slurm_job, self.train_seconds = seed, slurm_job, 9.0
            self.run_dir, self.from_cache = None, True

    run = make_run(tmp_path)
    run.add("GFIEB+LFSIEB+MDIM+BP", "RAF-DB", [80.0, 82.0], runs=[Run(0, "41_0"), Run(1, "41_1")])
    run.add("not in the paper", "RAF-DB", [50.0, 51.0], runs=[Run(0, ""), Run(1, "")])
    paths = run.save()
    frame = pd.read_csv(paths["csv"], keep_default_na=False)
    assert frame["slurm_jobs"].tolist() == ["41_0;41_1", ""]
    assert "- trained on SLURM: 2 job(s) (41_0, 41_1)" in paths["md"].read_text()
    local = make_run(tmp_path / "local")
    local.add("not in the paper", "RAF-DB", [50.0, 51.0], runs=[Run(0, ""), Run(1, "")])
    assert "SLURM" not in local.save()["md"].read_text()


def test_comparison_frame_marks_quoted_rows(tmp_path):
    run = make_run(tmp_path)
    run.add("ResNet18", "RAF-DB", 40.0)
    comp = run.comparison_frame()
    assert len(comp) == 12
    mine = comp[(comp["row"] == "ResNet18") & (comp["column"] == "RAF-DB")].iloc[0]
    assert mine["reproduced"] == 40.0 and mine["source"].startswith("reproduced")
    assert (comp["source"] == "quoted from the paper").sum() == 11


def test_report_gathers_tables(tmp_path):
    run = make_run(tmp_path)
    run.add("ResNet18", "FERPlus", [70.0])
    run.save()
    report = build_report(tmp_path)
    text = report.read_text()
    assert "PCNN — Table II" in text and "73.15" in text and "70.00" in text
    assert len(load_results(tmp_path)) == 1
    assert "## Figures" not in text
    (tmp_path / "pcnn" / "figure_10.png").write_bytes(b"png")
    (tmp_path / "pcnn" / "figure_10.csv").write_text("alpha,beta\n")
    text = build_report(tmp_path).read_text()
    assert "PCNN — Fig. 10 — [data](pcnn/figure_10.csv)" in text and "(pcnn/figure_10.png)" in text


def test_nothing_to_save_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="nothing to save"):
        make_run(tmp_path).save()


def test_cells_record_their_runs_and_training_time(tmp_path):
    """A table loaded from the run cache still says how long its models trained, and which runs they were."""
    from pathlib import Path
    from types import SimpleNamespace

    def outcome(name, seconds, cached):
        return SimpleNamespace(run_dir=Path("runs") / name, train_seconds=seconds, from_cache=cached)

    run = make_run(tmp_path)
    shared = outcome("pcnn-aaaa", 100.0, True)
    run.add("GFIEB", "RAF-DB", [30.0, 31.0], runs=[shared, outcome("pcnn-bbbb", 50.0, False)])
    run.add("GFIEB", "FERPlus", 40.0, runs=[shared])  # the same run tested on another set counts once
    run.add("ResNet18", "RAF-DB", 20.0)  # no runs: e.g. a measurement
    paths = run.save()
    frame = pd.read_csv(paths["csv"], keep_default_na=False, na_values=["", "nan"])
    assert list(frame["runs"][:2]) == ["pcnn-aaaa*;pcnn-bbbb", "pcnn-aaaa*"]
    assert frame["train_seconds"][0] == pytest.approx(150.0) and math.isnan(frame["train_seconds"][2])
    md = paths["md"].read_text()
    assert "about 150 s over 2 run(s), 1 of them loaded from the run cache" in md
    assert "training: about 150 s over 2 run(s)" in build_report(tmp_path).read_text()  # read back from the CSV


def test_several_seeds_record_the_interval_of_their_mean(tmp_path):
    """A one-run bootstrap CI beside a mean over seeds can exclude the mean: several seeds get the t-interval."""
    run = make_run(tmp_path)
    cell = run.add("GFIEB", "RAF-DB", [43.57, 34.60, 41.80])
    assert cell["ci_low"] < cell["value"] < cell["ci_high"] and cell["ci_low"] < 34.6
    assert cell["ci_method"] == "t-interval over seeds"
    single = run.add("GFIEB", "FERPlus", [43.57], ci=(41.77, 45.33))
    assert (single["ci_low"], single["ci_high"]) == (41.77, 45.33)
    assert single["ci_method"] == "bootstrap over test images (one run)"
    assert run.add("GFIEB", "SFEW", [43.57])["ci_method"] == ""


def test_a_one_run_interval_with_several_seeds_is_refused(tmp_path):
    """A caller's bootstrap CI beside several seeds used to be dropped silently; now it is an error."""
    with pytest.raises(ValueError, match="t-interval over seeds; pass ci only for a single run"):
        make_run(tmp_path).add("GFIEB", "RAF-DB", [43.57, 34.60], ci=(41.77, 45.33))


def test_measurement_cells_have_data_kind_none(tmp_path):
    context = RunContext.resolve("pcnn", "x", "cpu", "random input", device="cpu", output_dir=tmp_path,
                                 reads_data=False, quiet=True)
    table = ResultTable(context)
    cell = table.add("ResNet-18", "Parameters (M)", 11.2, unit="M")
    assert cell["data_kind"] == "none" and cell["dataset"] == "random input"


def test_cells_keep_their_per_seed_values(tmp_path):
    """Claims compare two rows seed by seed: each cell records its seeds and their values."""
    run = make_run(tmp_path)  # seeds (0, 1)
    cell = run.add("GFIEB", "RAF-DB", [43.5, 34.25])
    assert (cell["seeds"], cell["seed_values"]) == ("0;1", "43.5;34.25")
    frame = pd.read_csv(run.save()["csv"], dtype={"seeds": str, "seed_values": str})
    assert [float(v) for v in frame.loc[0, "seed_values"].split(";")] == [43.5, 34.25]
    assert run.add("GFIEB", "FERPlus", [40.0], seeds=[2])["seeds"] == "2"
    with pytest.raises(ValueError, match="2 values for 1 seeds"):
        run.add("GFIEB", "SFEW", [40.0, 41.0], seeds=[2])
    # A column run with fewer seeds than the table's: the runs name their seeds.
    from fer_lib.protocols.training import RunOutcome

    one_run = RunOutcome(None, {}, None, None, True, 0.0, seed=0)
    assert run.add("G", "FERPlus 2-D", [82.0], runs=[one_run])["seeds"] == "0"


def test_table_markdown_lists_its_claims_with_verdicts_from_the_saved_cells(tmp_path):
    """Table II's Markdown judges the paper's Table II claims on the cells just saved (paired by seed)."""
    run = make_run(tmp_path)  # seeds 0, 1; synthetic data
    run.add("GFIEB", "RAF-DB", [80.0, 82.0])
    run.add("ResNet18", "RAF-DB", [40.0, 41.0])
    md = run.save()["md"].read_text()
    section = md.split("## The paper's claims on this table")[1]
    assert "12 not reproduced" not in section and "1 supported" in section
    gfieb = next(line for line in section.splitlines() if line.startswith("| ii-gfieb-over-resnet18-raf "))
    assert "(ledger PCNN 7)" in gfieb and "| GFIEB > ResNet18 | +43.80 | +43.80 | +40.50 |" in gfieb
    assert "**supported**" in gfieb and "| 2 | yes |" in gfieb and "synthetic data" in gfieb
    ferplus = next(line for line in section.splitlines() if line.startswith("| ii-gfieb-over-resnet18-ferplus "))
    assert "**not reproduced**" in ferplus
    assert "| i-" not in section and "| viii-" not in section  # only this table's claims


def test_claims_on_quoted_rows_are_not_reproduced_and_a_table_without_claims_has_no_section(tmp_path):
    from fer_lib.results import render_table_markdown

    context = RunContext.resolve("pcnn", "vi", scale="cpu", seeds=[0], output_dir=tmp_path, quiet=True)
    run = ResultTable(context)
    run.add("PCNN(Ours)", "Accuracy(%)", 40.0)
    md = run.save()["md"].read_text()
    assert "5 not reproduced" in md and "no reproduced cell for 'TFE-JL [62]'" in md  # Table VI's rows are quoted
    assert "claims on this table" not in render_table_markdown(run.frame().assign(table="no such table"))


def test_report_has_a_claims_section_and_claims_csv(tmp_path):
    from fer_lib import claims as fc
    from fer_lib.papers import claims

    run = make_run(tmp_path)
    run.add("GFIEB+LFSIEB+MDIM+BP", "FERPlus", [50.0, 51.0])
    run.add("GFIEB+LFSIEB+MDIM+CBP", "FERPlus", [52.0, 53.1])
    run.save()
    text = build_report(tmp_path).read_text()
    assert "## Claims" in text and "[claims.csv](claims.csv)" in text
    section = text.split("## Claims")[1]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| claim |")]
    assert len(rows) == len(claims())  # one row per claim, every paper
    bp = next(line for line in rows if line.startswith("| ii-bp-over-cbp-ferplus (ledger PCNN 5) | II |"))
    assert "**contradicted**" in bp
    table = pd.read_csv(tmp_path / "claims.csv", keep_default_na=False, na_values=[""])
    assert list(table.columns) == list(fc.VERDICT_COLUMNS) and len(table) == len(claims())
    mine = table.set_index("claim_id").loc["ii-bp-over-cbp-ferplus"]
    assert mine["verdict"] == fc.CONTRADICTED and mine["n_paired"] == 2
    assert mine["reproduced_difference"] == pytest.approx(-2.05)
    assert (table["verdict"] == fc.NOT_REPRODUCED).sum() == len(claims()) - 1
    assert not list(tmp_path.glob("*.tmp*")) and not list(tmp_path.glob(".*"))  # atomic writes left nothing


def test_cells_at_the_majority_floor_are_flagged(tmp_path):
    run = make_run(tmp_path, dataset=None)
    # seeds [0, 1]: the interval is the t-interval over the two values
    run.add("ResNet18", "RAF-DB", [26.0, 27.0], majority_floor=24.5)  # interval reaches below the floor
    run.add("PCNN", "RAF-DB", [64.0, 64.5], majority_floor=24.5)
    frame = pd.read_csv(run.save()["csv"])
    assert list(frame["majority_floor"]) == [24.5, 24.5]
    md = (tmp_path / "pcnn" / "table_ii.md").read_text()
    assert "1 cell(s) do not beat the majority-class floor" in md and "ResNet18 / RAF-DB" in md
    assert "PCNN / RAF-DB" not in md.split("floor** (")[1].split("\n")[0]


def test_a_project_table_has_no_paper_numbers(tmp_path):
    from fer_lib import papers

    assert papers.reference("pcnn", "pretraining").empty
    with pytest.raises(ValueError, match="no table 'xi'"):
        papers.reference("pcnn", "xi")
    context = RunContext.resolve("pcnn", "pretraining", scale="cpu", output_dir=tmp_path / "pcnn", quiet=True)
    run = ResultTable(context)
    run.add("random initialisation", "FER2013", 60.0, ci=(58.4, 61.6), majority_floor=24.5)
    run.save()
    assert math.isnan(run.frame()["paper_value"].iloc[0])
    assert "fer_lib's table 'pretraining' (no paper numbers)" in build_report(tmp_path).read_text()

"""The papermill harness end to end, on a tiny notebook in a temporary notebooks folder."""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest

from fer_lib import reproduce

PARAMS = 'scale = None\ndataset = None\ndata_root = None\ndevice = None\nseeds = [0]\noutput_dir = None\nfail = False'
BODY = """
from fer_lib.results import ResultTable
from fer_lib.settings import RunContext
table = ResultTable(RunContext.resolve("pcnn", "ii", scale, dataset, data_root, device, seeds, output_dir))
if fail:
    raise RuntimeError("asked to fail")
print("training line from the notebook")
table.add("ResNet18", "RAF-DB", [41.0 + s for s in seeds])
table.save()
"""


@pytest.fixture
def tiny_notebooks(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BODY)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder = tmp_path / "notebooks" / "pcnn"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "table_ii.ipynb")
    nbformat.write(nb, folder / "figure_10.ipynb")
    monkeypatch.setattr(reproduce, "notebooks_root", lambda: tmp_path / "notebooks")
    return tmp_path


@pytest.mark.slow
def test_run_table_writes_results_and_keeps_them_on_failure(tiny_notebooks):
    out = tiny_notebooks / "results" / "pcnn"
    executed = reproduce.run_table("pcnn", "ii", scale="smoke", seeds=[0, 1], output_dir=out)
    assert executed == out / "table_ii.ipynb" and executed.is_file()
    frame = pd.read_csv(out / "table_ii.csv")
    assert frame.loc[0, "value"] == pytest.approx(41.5) and frame.loc[0, "n_seeds"] == 2
    assert frame.loc[0, "scale"] == "smoke" and frame.loc[0, "paper_value"] == pytest.approx(44.20)
    before = executed.read_bytes()

    # A failing run leaves the previous results in place and keeps the failed notebook for debugging.
    nb = nbformat.read(tiny_notebooks / "notebooks" / "pcnn" / "table_ii.ipynb", as_version=4)
    nb.cells[0].source = PARAMS.replace("fail = False", "fail = True")
    nbformat.write(nb, tiny_notebooks / "notebooks" / "pcnn" / "table_ii.ipynb")
    with pytest.raises(Exception, match="asked to fail"):
        reproduce.run_table("pcnn", "ii", scale="smoke", output_dir=out)
    assert executed.read_bytes() == before
    assert (out / "table_ii.failed.ipynb").is_file()
    assert not list(out.glob(".*running*"))


def test_unknown_table_names_the_available_ones(tiny_notebooks):
    with pytest.raises(FileNotFoundError, match="pcnn/ii"):
        reproduce.find_notebook("pcnn", "xi")
    assert [(p, t) for p, t, _ in reproduce.list_table_notebooks()] == [("pcnn", "ii"), ("pcnn", "figure_10")]
    assert reproduce.find_notebook("pcnn", "figure_10").name == "figure_10.ipynb"


@pytest.mark.slow
def test_smoke_runs_default_to_the_run_folder_not_results(tiny_notebooks, tmp_path, monkeypatch):
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("FER_RESULTS_DIR", str(tmp_path / "results"))
    executed = reproduce.run_table("pcnn", "ii", scale="smoke")
    assert executed.parent == tmp_path / "runs" / "smoke-results" / "pcnn"
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_cli_shows_what_the_notebook_prints(tiny_notebooks, capsys):
    """papermill logs cell output at INFO: the CLI (make reproduce) must show it, or a long run looks hung."""
    out = tiny_notebooks / "results"
    argv = ["run", "--paper", "pcnn", "--table", "ii", "--scale", "smoke", "--output-dir", str(out)]
    assert reproduce.main(argv) == 0
    assert "training line from the notebook" in capsys.readouterr().out


def test_all_with_an_output_dir_writes_its_report_there(tiny_notebooks, tmp_path, monkeypatch):
    """`reproduce all --output-dir X` gathers X's tables into X/REPORT.md and leaves results/ alone."""
    from fer_lib.results import ResultTable
    from fer_lib.settings import RunContext

    def fake_run_table(paper, table, output_dir=None, **_):  # the notebooks' work, without a kernel
        if table == "ii":
            ctx = RunContext.resolve(paper, table, "smoke", device="cpu", output_dir=output_dir, quiet=True)
            result = ResultTable(ctx)
            result.add("ResNet18", "RAF-DB", 41.0)
            result.save()

    monkeypatch.setattr(reproduce, "run_table", fake_run_table)
    monkeypatch.setenv("FER_RESULTS_DIR", str(tmp_path / "results"))
    out = tmp_path / "elsewhere"
    assert reproduce.main(["all", "--scale", "smoke", "--output-dir", str(out)]) == 0
    assert "PCNN — Table II" in (out / "REPORT.md").read_text()
    assert not (tmp_path / "results").exists()


def test_notebook_parameters_from_the_command_line(tiny_notebooks):
    assert reproduce.parse_params(['rows=["resnet50", "gmslpa_net"]', "folds=[0,1]", "fail=true", "name=a b"]) == {
        "rows": ["resnet50", "gmslpa_net"], "folds": [0, 1], "fail": True, "name": "a b"}
    with pytest.raises(ValueError, match="NAME=VALUE"):
        reproduce.parse_params(["rows"])
    # A parameter the notebook does not declare is refused before anything runs, naming the declared ones.
    with pytest.raises(ValueError, match="declares no parameter rows; it declares .*fail"):
        reproduce.run_table("pcnn", "ii", scale="smoke", output_dir=tiny_notebooks / "out",
                            extra_params={"rows": ["x"]})
    with pytest.raises(SystemExit):
        reproduce.main(["all", "--scale", "smoke", "--param", "fail=true"])


@pytest.mark.slow
def test_a_parameter_reaches_the_notebook(tiny_notebooks):
    argv = ["run", "--paper", "pcnn", "--table", "ii", "--scale", "smoke", "--output-dir",
            str(tiny_notebooks / "out"), "--param", "fail=true"]
    with pytest.raises(Exception, match="asked to fail"):
        reproduce.main(argv)

from __future__ import annotations

import pytest

from fer_lib.io import output_dir_for
from fer_lib.settings import RunContext, dataset_root, resolve_dataset, resolve_scale


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="scale"):
        RunContext.resolve("pcnn", "ii", scale="huge", quiet=True)
    with pytest.raises(ValueError, match="paper"):
        RunContext.resolve("nopaper", "ii", quiet=True)
    with pytest.raises(ValueError, match="data_root"):
        RunContext.resolve("pcnn", "v", scale="cpu", dataset="fer2013", quiet=True)
    with pytest.raises(ValueError, match="at least one seed"):
        RunContext.resolve("pcnn", "v", scale="cpu", seeds=[], quiet=True)


def test_context_is_resolved_once_and_frozen(tmp_path, capsys):
    ctx = RunContext.resolve("pcnn", "V", "cpu", data_root=tmp_path, device="cpu", seeds=[0, "1"],
                             real_dataset="fer2013")
    assert (ctx.table, ctx.dataset, ctx.data_kind, ctx.seeds) == ("v", "fer2013", "real", (0, 1))
    assert "pcnn table V | scale=cpu | dataset=fer2013 [real]" in capsys.readouterr().out
    with pytest.raises(AttributeError):
        ctx.scale = "paper"
    synthetic = RunContext.resolve("pcnn", "v", "cpu", device="cpu", real_dataset="fer2013", quiet=True)
    assert synthetic.dataset == "synth-inthewild" and synthetic.data_kind == "synthetic"


def test_smoke_scale_never_writes_into_results(monkeypatch, tmp_path):
    """The one output rule: smoke outputs go under the run folder, every other scale into results/<paper>."""
    monkeypatch.setenv("FER_SCALE", "smoke")
    ctx = RunContext.resolve("pcnn", "ii", quiet=True)
    assert ctx.scale == "smoke" == resolve_scale(None)
    assert ctx.output_dir == output_dir_for("pcnn", "smoke") == tmp_path / "runs" / "smoke-results" / "pcnn"
    assert output_dir_for("pcnn", "cpu") == tmp_path / "results" / "pcnn"


def test_dataset_folders_and_fallback_to_synthetic(tmp_path):
    (tmp_path / "rafdb").mkdir()
    assert dataset_root(tmp_path, "rafdb-occlusion") == tmp_path / "rafdb"
    assert dataset_root(tmp_path, "ferplus") == tmp_path  # a data_root that is the dataset's own folder
    assert resolve_dataset("rafdb", None) == ("synth-inthewild", "no data_root given")
    name, why = resolve_dataset("fer2013", tmp_path, "synth-rgbd")
    assert name == "synth-rgbd" and "fer2013 not usable" in why

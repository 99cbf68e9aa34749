from __future__ import annotations

import json

import pytest
import torch

from fer_lib import runs
from fer_lib.runs import LoadedRun, list_runs, run_key, train_cached
from tests._toys import Interrupt, NoisyBlobs, recipe, tiny_model


def test_run_cache_loads_instead_of_training(tmp_path, monkeypatch):
    spec = {"model": "tiny", "dataset": "blobs", "seed": 0}
    model, first = train_cached(spec, tiny_model, NoisyBlobs(), recipe(epochs=2), root=tmp_path)
    assert not first.from_cache
    again, second = train_cached(spec, tiny_model, NoisyBlobs(), recipe(epochs=2), root=tmp_path)
    assert second.from_cache
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values(),
                                                  strict=True))
    # Another seed or recipe is another run.
    _, third = train_cached({**spec, "seed": 1}, tiny_model, NoisyBlobs(), recipe(epochs=2), root=tmp_path)
    assert not third.from_cache
    monkeypatch.setenv("FORCE", "1")
    _, forced = train_cached(spec, tiny_model, NoisyBlobs(), recipe(epochs=2), root=tmp_path)
    assert not forced.from_cache
    assert run_key(spec) == run_key(dict(reversed(spec.items())))


def test_about_is_stored_but_not_part_of_the_key(tmp_path):
    spec = {"model": "tiny", "dataset": "blobs", "seed": 0}
    _, first = train_cached(spec, tiny_model, NoisyBlobs(), recipe(epochs=1), root=tmp_path,
                            about={"scale": "smoke", "max_test": 32})
    _, second = train_cached(spec, tiny_model, NoisyBlobs(), recipe(epochs=1), root=tmp_path,
                             about={"scale": "smoke", "max_test": 3000})
    assert second.from_cache and second.run_dir == first.run_dir
    stored = json.loads((first.run_dir / "spec.json").read_text())
    assert stored["about"] == {"max_test": 32, "scale": "smoke"}
    assert run_key(stored) == run_key({**spec, "train": recipe(epochs=1).identity()})
    assert list_runs(tmp_path)["scale"].tolist() == ["smoke"]


def test_wall_seconds_add_up_over_a_resume(tmp_path):
    spec = {"model": "tiny", "dataset": "blobs", "seed": 0}
    cfg = recipe(epochs=4)

    def stop_after_two(epoch, record):
        if epoch == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        runs.fit(tiny_model(), NoisyBlobs(), cfg, run_dir=runs.run_dir_for({**spec, "train": cfg.identity()},
                                                                           tmp_path), callbacks=[stop_after_two])
    _, result = train_cached(spec, tiny_model, NoisyBlobs(), cfg, root=tmp_path)
    assert result.resumed_from_epoch == 2
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["wall_seconds"] == pytest.approx(result.wall_seconds)
    assert result.wall_seconds >= result.history["epoch_seconds"].sum()
    # The run is complete: its resume checkpoint is gone, its final weights stay.
    assert not (result.run_dir / "checkpoint.pt").exists()
    assert (result.run_dir / "model.pt").is_file()


def test_loaded_run_reads_settings_from_the_spec_layout(tmp_path):
    spec = {"model": "resnet18", "recipe": {"image_size": 48}, "about": {"scale": "cpu"}, "dataset": "d", "seed": 2}
    run = LoadedRun(torch.nn.Identity(), spec, tmp_path / "resnet18-abc")
    assert run.image_size == 48 and run.scale == "cpu"
    assert run.label() == "resnet18 / d / cpu / seed 2 / resnet18-abc"
    assert run.setting("missing") is None


# -- load_run / run_choices (the Grad-CAM explorer reads runs through these) -------------------------
def _fake_run(tmp_path, spec) -> tuple:
    from fer_lib.models import create_model

    torch.manual_seed(3)
    model = create_model(spec["model"], num_classes=spec.get("num_classes", 7), **spec.get("model_options", {}))
    run = tmp_path / "run"
    run.mkdir()
    (run / "spec.json").write_text(json.dumps(spec))
    torch.save(model.state_dict(), run / "model.pt")
    return model, run


def test_load_run_rebuilds_the_model(tmp_path):
    spec = {"model": "resnet18", "model_options": {"drop_rate": 0.1}, "num_classes": 6, "image_size": 48}
    model, run = _fake_run(tmp_path, spec)
    loaded = runs.load_run(run)
    assert loaded.image_size == 48 and not loaded.model.training
    x = torch.randn(1, 3, 48, 48)
    torch.testing.assert_close(loaded.model(x), model.eval()(x))
    from_file = runs.load_run(run / "model.pt")  # the file finds its spec.json
    assert from_file.spec["num_classes"] == 6
    (run / "spec.json").unlink()
    with pytest.raises(ValueError, match="pass model="):
        runs.load_run(run / "model.pt")
    assert runs.load_run(run / "model.pt", model="resnet18", drop_rate=0.1, num_classes=6).spec["model"] == "resnet18"


def test_load_run_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        runs.load_run(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        runs.load_run(tmp_path)
    _, run = _fake_run(tmp_path, {"model": "resnet18", "num_classes": 7})
    (run / "spec.json").write_text(json.dumps({"model": "resnet18", "num_classes": 5}))
    with pytest.raises(ValueError, match="does not fit resnet18"):
        runs.load_run(run)


def test_run_choices_prefer_the_dataset_then_the_scale(tmp_path):
    import os

    specs = {"a": {"model": "resnet18", "dataset": "blobs", "num_classes": 7, "about": {"scale": "cpu"}},
             "b": {"model": "resnet18", "dataset": "other", "num_classes": 6, "about": {"scale": "smoke"}},
             "c": {"model": "resnet18", "dataset": "other", "num_classes": 6, "about": {"scale": "cpu"}}}
    for k, (name, spec) in enumerate(specs.items()):
        run = tmp_path / name
        run.mkdir()
        (run / "spec.json").write_text(json.dumps(spec))
        (run / "summary.json").write_text(json.dumps({"spec": spec, "wall_seconds": 1.0}))
        os.utime(run, (1e9 + k, 1e9 + k))  # newest last: "c", then "b", then "a"
    assert [f for _, f in runs.run_choices(tmp_path)] == [str(tmp_path / n) for n in "cba"]
    choices = runs.run_choices(tmp_path, dataset="blobs")
    assert choices[0] == ("resnet18 / blobs / cpu / a", str(tmp_path / "a"))
    assert [f for _, f in runs.run_choices(tmp_path, scale="smoke")][0] == str(tmp_path / "b")
    assert runs.run_choices(tmp_path / "empty") == []

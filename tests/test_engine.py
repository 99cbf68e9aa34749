from __future__ import annotations

import pytest
import torch

from fer_lib import engine
from fer_lib.engine import TrainConfig, evaluate, fit
from tests._toys import Interrupt, NoisyBlobs, recipe, tiny_model


@pytest.mark.parametrize("scheduler", ["step", "onecycle", "exponential"])
def test_resume_gives_identical_weights(tmp_path, scheduler):
    data = NoisyBlobs()
    cfg = recipe(scheduler=scheduler, gamma=0.9 if scheduler == "exponential" else 0.5)
    straight = tiny_model()
    fit(straight, data, cfg, run_dir=tmp_path / "straight")

    interrupted = tiny_model()

    def stop_after_two(epoch, record):
        if epoch == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        fit(interrupted, data, cfg, run_dir=tmp_path / "resumed", callbacks=[stop_after_two])
    fresh = tiny_model()  # a new process would rebuild the model from scratch
    result = fit(fresh, data, cfg, run_dir=tmp_path / "resumed")
    assert result.resumed_from_epoch == 2
    assert len(result.history) == 4
    # The training time covers both sessions: at least the four epochs' own times.
    assert result.wall_seconds >= result.history["epoch_seconds"].sum()
    assert result.wall_seconds > result.history["epoch_seconds"].iloc[2:].sum()
    for (name, a), (_, b) in zip(straight.state_dict().items(), fresh.state_dict().items(), strict=True):
        assert torch.equal(a, b), f"{name} differs after resume"


def test_training_learns_and_writes_metrics(tmp_path):
    data = NoisyBlobs(128)
    model = tiny_model()
    result = fit(model, data, recipe(epochs=5), val_set=NoisyBlobs(64, seed=1), run_dir=tmp_path)
    assert (tmp_path / "metrics.csv").read_text().startswith("epoch,")
    assert (tmp_path / "model.pt").is_file()
    assert list(result.history["epoch"]) == [1, 2, 3, 4, 5]
    res = evaluate(model, NoisyBlobs(64, seed=1))
    assert res["accuracy"] > 75
    assert res["probabilities"].shape == (64, 2)


def test_checkpoint_loads_with_weights_only(tmp_path):
    fit(tiny_model(), NoisyBlobs(), recipe(epochs=1), run_dir=tmp_path)
    state = engine.load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["epoch"] == 1 and "model" in state


def test_resume_refuses_other_recipe(tmp_path):
    fit(tiny_model(), NoisyBlobs(), recipe(epochs=1), run_dir=tmp_path)
    with pytest.raises(ValueError, match="another recipe"):
        fit(tiny_model(), NoisyBlobs(), recipe(epochs=2, lr=0.2), run_dir=tmp_path)


def test_unknown_optimizer_and_scheduler_are_rejected():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ValueError, match="scheduler"):
        TrainConfig(scheduler="plateau")


def test_progress_prints_one_line_per_epoch(capsys):
    """make reproduce logs text only: each epoch must leave a plain line, not just a (widget) bar."""
    fit(tiny_model(), NoisyBlobs(), recipe(epochs=2, progress=True), val_set=NoisyBlobs(16, seed=1))
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch ")]
    assert [ln.split(":")[0] for ln in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "loss " in lines[0] and "val " in lines[0] and "train " in lines[0]


def test_no_epoch_lines_without_progress(capsys):
    fit(tiny_model(), NoisyBlobs(), recipe(epochs=1))
    assert "epoch 1/1" not in capsys.readouterr().out

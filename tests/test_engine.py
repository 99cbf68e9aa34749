from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from fer_lib import engine
from fer_lib.engine import TrainConfig, evaluate, fit, train_cached


class NoisyBlobs(Dataset):
    """Two-class Gaussian blobs with a random augmentation, so RNG state matters."""

    classes = ["a", "b"]

    def __init__(self, n: int = 64, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.y = torch.arange(n) % 2
        self.x = torch.randn(n, 8, generator=g) + self.y[:, None] * 1.5

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i] + 0.1 * torch.randn(8), int(self.y[i])


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))


def recipe(**kw) -> TrainConfig:
    base = dict(epochs=4, batch_size=8, lr=0.05, scheduler="step", step_size=2, gamma=0.5, progress=False)
    base.update(kw)
    return TrainConfig(**base)


class Interrupt(RuntimeError):
    pass


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


def test_run_cache_loads_instead_of_training(tmp_path, monkeypatch):
    spec = {"model": "tiny", "dataset": "blobs", "seed": 0, "scale": "smoke"}
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
    assert engine.run_key(spec) == engine.run_key(dict(reversed(spec.items())))


def test_unknown_optimizer_and_scheduler_are_rejected():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ValueError, match="scheduler"):
        TrainConfig(scheduler="plateau")


def test_logits_of_structured_outputs():
    t = torch.zeros(2, 3)
    assert engine.logits_of(t) is t
    assert engine.logits_of((t, t + 1)) is t
    assert engine.logits_of({"logits": t}) is t
    with pytest.raises(TypeError):
        engine.logits_of("nope")


def test_progress_prints_one_line_per_epoch(capsys):
    """make reproduce logs text only: each epoch must leave a plain line, not just a (widget) bar."""
    fit(tiny_model(), NoisyBlobs(), recipe(epochs=2, progress=True), val_set=NoisyBlobs(16, seed=1))
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch ")]
    assert [ln.split(":")[0] for ln in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "loss " in lines[0] and "val " in lines[0] and "train " in lines[0]


def test_no_epoch_lines_without_progress(capsys):
    fit(tiny_model(), NoisyBlobs(), recipe(epochs=1))
    assert "epoch 1/1" not in capsys.readouterr().out

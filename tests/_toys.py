"""Toy data, model and recipe shared by the engine and run-cache tests (seconds on a CPU)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset

from fer_lib.engine import TrainConfig


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


def train_interrupted_and_resumed(make_model, data, cfg: TrainConfig, tmp_path, stop_after: int):
    """Train ``make_model()`` straight through, and again stopped after epoch ``stop_after`` then resumed in a
    fresh model (as a new process would); returns ``(straight model, straight result, resumed model, resumed
    result)`` for the caller's checks."""
    from fer_lib.engine import fit

    straight = make_model()
    straight_result = fit(straight, data, cfg, run_dir=tmp_path / "straight")

    def stop(epoch, record):
        if epoch == stop_after:
            raise Interrupt

    try:
        fit(make_model(), data, cfg, run_dir=tmp_path / "resumed", callbacks=[stop])
    except Interrupt:
        pass
    else:
        raise AssertionError(f"training was not stopped after epoch {stop_after}")
    resumed = make_model()
    return straight, straight_result, resumed, fit(resumed, data, cfg, run_dir=tmp_path / "resumed")

"""fer_lib.optim.SAM and the engine's sam_adam: the two-gradient step, exact resume, unchanged run-cache keys."""

from __future__ import annotations

import pytest
import torch

from fer_lib.engine import TrainConfig
from fer_lib.optim import SAM
from tests._toys import NoisyBlobs, recipe, tiny_model, train_interrupted_and_resumed


def test_sam_steps_with_the_gradient_at_the_worst_nearby_point():
    """On L(w) = sum(a * w^2): e = rho * g / ||g||, g' = 2 a (w + e), and plain SGD then gives w - lr g'."""
    a = torch.tensor([1.0, 3.0])
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    optimiser = SAM([w], torch.optim.SGD, rho=0.1, lr=0.05)

    def loss_at_w():
        return (a * w ** 2).sum()

    def closure():
        loss = loss_at_w()
        loss.backward()
        return loss

    start = w.detach().clone()
    loss_at_w().backward()
    g = 2 * a * start
    e = 0.1 * g / g.norm()
    optimiser.step(closure)
    assert torch.allclose(w.detach(), start - 0.05 * 2 * a * (start + e))
    with pytest.raises(ValueError, match="closure"):
        optimiser.step()
    with pytest.raises(ValueError, match="rho"):
        SAM([w], torch.optim.SGD, rho=0.0, lr=0.1)


def test_the_engine_trains_with_sam_and_resumes_to_identical_weights(tmp_path):
    cfg = recipe(optimizer="sam_adam", lr=0.01, scheduler="exponential", gamma=0.9)
    straight, result, fresh, resumed = train_interrupted_and_resumed(tiny_model, NoisyBlobs(), cfg, tmp_path, 2)
    assert result.history["train_loss"].iloc[-1] < result.history["train_loss"].iloc[0]
    assert resumed.resumed_from_epoch == 2
    for (name, x), (_, y) in zip(straight.state_dict().items(), fresh.state_dict().items(), strict=True):
        assert torch.equal(x, y), f"{name} differs after resume"


def test_sam_rho_enters_a_runs_identity_only_with_sam():
    assert "sam_rho" not in TrainConfig().identity()  # the run-cache keys of every other optimiser are unchanged
    assert TrainConfig(optimizer="sam_adam", sam_rho=0.1).identity()["sam_rho"] == 0.1
    with pytest.raises(ValueError, match="fp16"):
        TrainConfig(optimizer="sam_adam", precision="fp16", device="cuda")

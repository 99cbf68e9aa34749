from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from fer_lib import engine
from fer_lib.engine import TrainConfig, evaluate, fit
from tests._toys import Interrupt, NoisyBlobs, recipe, tiny_model, train_interrupted_and_resumed


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


def test_a_task_decides_what_fit_measures(capsys):
    """A regression (a landmark regressor's) reports its own training and validation metrics, not accuracy."""

    class Points(torch.utils.data.Dataset):
        def __init__(self, n: int = 32) -> None:
            g = torch.Generator().manual_seed(0)
            self.x = torch.randn(n, 8, generator=g)
            self.y = self.x[:, :2] * 0.5

        def __len__(self) -> int:
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i], self.y[i]

    def validate(model, val_set, cfg):
        with torch.no_grad():
            return {"val_error": float((model(val_set.x) - val_set.y).abs().mean())}

    task = engine.Task("train_error", lambda out, y: float((out.detach() - y).abs().mean(1).sum()), validate)
    torch.manual_seed(0)
    model = nn.Linear(8, 2)
    result = fit(model, Points(), recipe(epochs=3, progress=True), val_set=Points(16), task=task,
                 loss_fn=nn.functional.l1_loss)
    assert "train_accuracy" not in result.history and "val_accuracy" not in result.history
    assert result.history["train_error"].iloc[-1] < result.history["train_error"].iloc[0]
    assert result.history["val_error"].notna().all()
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch 3/3")][0]
    assert "train error 0." in line and "val error 0." in line and "train 0" not in line


def test_no_epoch_lines_without_progress(capsys):
    fit(tiny_model(), NoisyBlobs(), recipe(epochs=1))
    assert "epoch 1/1" not in capsys.readouterr().out


def _memory_faces(n: int = 24):
    from fer_lib.data.memory import InMemoryImages, augment_for
    from tests.data.test_memory import Faces

    return InMemoryImages.from_dataset(Faces(n=n), 16, augment_for("shift", train=True))


def _conv_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


def test_in_memory_datasets_train_in_batches_and_resume_exactly(tmp_path):
    data = _memory_faces()
    cfg = recipe(epochs=3, batch_size=8)
    straight, result, fresh, _ = train_interrupted_and_resumed(_conv_model, data, cfg, tmp_path, 1)
    assert result.history["data_seconds"].ge(0).all() and "data_seconds" in result.history
    for a, b in zip(straight.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    res = evaluate(fresh, data)
    assert res["probabilities"].shape == (24, 2) and res["targets"].tolist() == data.targets.tolist()


def test_precision_is_checked_and_bf16_trains(capsys):
    with pytest.raises(ValueError, match="unknown precision"):
        TrainConfig(precision="fp8")
    with pytest.raises(ValueError, match="needs a CUDA device"):
        TrainConfig(precision="fp16", device="cpu")
    result = fit(_conv_model(), _memory_faces(), recipe(epochs=1, batch_size=8, precision="bf16", progress=True,
                                                      channels_last=True))
    assert np.isfinite(result.history["train_loss"]).all()
    assert "data " in capsys.readouterr().out  # the epoch line shows the data path's share
    assert TrainConfig(precision="bf16").identity()["precision"] == "bf16"
    assert "channels_last" not in TrainConfig(channels_last=True).identity()


class _IndexLog(NoisyBlobs):
    """NoisyBlobs that records the order its samples are read in."""

    def __init__(self) -> None:
        super().__init__(32)
        self.read: list[int] = []

    def __getitem__(self, i):
        self.read.append(int(i))
        return super().__getitem__(i)


@pytest.mark.parametrize("progress", [False, True])
def test_epoch_order_is_the_seeded_loaders_with_or_without_progress(progress):
    # An epoch reads its samples in the order of one DataLoader shuffled by the epoch's seeded generator. A
    # progress bar around the loader once created a second iterator (tqdm.auto calls iter() in its constructor),
    # which advanced the generator and silently changed the order, and with it every smoke-scale number.
    data = _IndexLog()
    fit(tiny_model(), data, recipe(epochs=1, progress=progress))
    expected = DataLoader(range(len(data)), batch_size=8, shuffle=True,
                          generator=torch.Generator().manual_seed(engine._epoch_seed(0, 0)))
    assert data.read == [int(i) for batch in expected for i in batch]


def test_compiled_training_matches_eager_and_keeps_the_plain_weights(tmp_path):
    """``compile=True`` trains through torch.compile: same numbers as eager (to float rounding), the run's key
    unchanged, and the saved weights are the plain module's (no ``_orig_mod.`` prefixes)."""
    data = _memory_faces()
    eager, compiled = _conv_model(), _conv_model()
    fit(eager, data, recipe(epochs=1, batch_size=8))
    fit(compiled, data, recipe(epochs=1, batch_size=8, compile=True), run_dir=tmp_path / "compiled")
    for a, b in zip(eager.state_dict().values(), compiled.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-4)
    saved = torch.load(tmp_path / "compiled" / engine.FINAL_WEIGHTS, weights_only=True)
    assert list(saved) == list(eager.state_dict())
    assert TrainConfig(compile=True).identity() == TrainConfig().identity()


def test_embed_returns_a_structured_outputs_feature_per_sample():
    """CM-CNN's fused embedding f_v, one row per test image in order (Fig. 7's tSNE input)."""
    from fer_lib.models import create_model

    torch.manual_seed(0)
    model = create_model("cmcnn", num_classes=3, modalities=("gray", "depth"))
    images = torch.rand(5, 3, 32, 32)
    data = torch.utils.data.TensorDataset(images, torch.tensor([0, 1, 2, 0, 1]))
    features, targets = engine.embed(model, data, batch_size=2)
    assert features.shape == (5, model.embedding_dim) and list(targets) == [0, 1, 2, 0, 1]
    with torch.no_grad():
        assert np.allclose(features[3], model(images[3:4]).embedding[0].numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="no field 'embedding'"):
        engine.embed(tiny_model(), torch.utils.data.TensorDataset(torch.rand(2, 3, 8, 8), torch.tensor([0, 1])))

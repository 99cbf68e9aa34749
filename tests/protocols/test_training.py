"""The model family's registered loss and recipe, and the one per-seed loop."""

from __future__ import annotations

import pytest
import torch

from fer_lib.losses import CrossEntropy, FacialSemanticLoss, loss_identity
from fer_lib.models import create_model, model_family
from fer_lib.protocols import ModelSetup, TrainingJob, default_loss, recipe_for, run_seeds
from fer_lib.settings import RunContext


def test_each_family_declares_its_loss_and_recipe_where_it_is_registered() -> None:
    assert (model_family("pcnn").loss, model_family("pcnn").recipe) == ("facial_semantic", "pcnn")
    assert (model_family("resnet18").loss, model_family("resnet18").recipe) == ("ce", "resnet")
    assert (model_family("manet").loss, model_family("manet").recipe) == ("manet", "resnet")
    assert isinstance(default_loss("resnet18"), CrossEntropy)
    assert isinstance(default_loss("pcnn"), FacialSemanticLoss)
    with pytest.raises(ValueError, match="unknown model 'pcnn2'"):
        model_family("pcnn2")


def test_manet_trains_on_both_branches() -> None:
    """MA-Net trains with its paper's branch-wise CE; its beta is part of the run-cache key."""
    loss = default_loss("manet")
    assert loss_identity(loss) == {"name": "manet", "beta": 0.6, "label_smoothing": 0.0}
    assert loss_identity(default_loss("manet", beta=0.5)) != loss_identity(loss)
    torch.manual_seed(0)
    out = create_model("manet", num_classes=7).eval()(torch.randn(2, 3, 64, 64))
    target = torch.tensor([1, 4])
    ce = torch.nn.functional.cross_entropy
    expected = 0.6 * ce(out.local_logits, target) + 0.4 * ce(out.global_logits, target)
    assert torch.allclose(loss(out, target), expected)


def test_recipe_follows_the_registered_family(tmp_path) -> None:
    ctx = RunContext.resolve("pcnn", "ii", "smoke", device="cpu", output_dir=tmp_path, quiet=True)
    assert recipe_for("pcnn", ctx).family == "pcnn"
    assert recipe_for("manet", ctx).family == "resnet"
    assert recipe_for("resnet18", ctx, epochs=2).train.epochs == 2


def test_a_setup_rejects_unknown_models_and_describes_its_loss() -> None:
    assert ModelSetup("pcnn", loss_options={"alpha": 12.0, "beta": 8.0}).describe_loss() == \
        "facial_semantic(alpha=12, beta=8)"
    assert ModelSetup("resnet18").describe_loss() == "ce"
    with pytest.raises(ValueError, match="registered models: cmcnn, gmslpa, handcrafted, ir50, manet, pcnn, poster"):
        ModelSetup("resnet-18")


@pytest.mark.slow
def test_run_seeds_trains_one_run_per_seed_and_prints_a_line_each(tmp_path, capsys) -> None:
    ctx = RunContext.resolve("pcnn", "vii", "smoke", device="cpu", seeds=(0, 1), output_dir=tmp_path, quiet=True)
    recipe = recipe_for("resnet18", ctx, image_size=32)
    job = TrainingJob(ModelSetup("resnet18"), "synth-inthewild", recipe)
    from fer_lib.protocols import load_split

    test = load_split("synth-inthewild", "test", recipe, train=False)
    outs = run_seeds(ctx, job, {"test": test})
    assert [o.seed for o in outs] == [0, 1] and outs[0].run_dir != outs[1].run_dir
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("resnet18 on synth-inthewild")]
    assert len(lines) == 2 and "seed 1" in lines[1] and "trained in" in lines[1]
    again = run_seeds(ctx, job, {"test": test})
    assert all(o.from_cache for o in again)
    assert [o.metrics["test"]["accuracy"] for o in again] == [o.metrics["test"]["accuracy"] for o in outs]


def test_a_poster_run_starts_from_the_trained_landmark_stream_and_a_frozen_trunk(tmp_path) -> None:
    """``landmark_weights="trained"``: the run loads fer_lib's landmark regressor and its key names that run; a
    recipe with ``freeze_trunk`` keeps the image stream as built."""
    import json

    from fer_lib.protocols import train_model
    from fer_lib.protocols.landmarks import train_landmark_regressor

    ctx = RunContext.resolve("poster", "1", "smoke", "synth-inthewild", None, "cpu", [0], tmp_path / "out",
                             quiet=True)
    torch.manual_seed(0)
    recipe, (run,) = train_model(ctx, "poster", "synth-inthewild", announce=False,
                                 model_options={"depth": 1, "landmark_weights": "trained"},
                                 recipe_overrides={"freeze_trunk": True, "max_train": 16, "max_test": 8})
    regressor = train_landmark_regressor("smoke")
    assert regressor.from_cache  # the run trained it
    for name, value in regressor.model.state_dict().items():
        assert torch.equal(run.model.face_landback.state_dict()[name], value), name
    assert run.model.freeze_trunk and all(not p.requires_grad for p in run.model.ir_back.parameters())
    spec = json.loads((run.run_dir / "spec.json").read_text())
    assert spec["model_options"]["landmark_weights"] == f"run:{regressor.run_dir.name}"
    assert spec["model_options"]["freeze_trunk"] is True and spec["recipe"]["freeze_trunk"] is True
    assert "landmark stream: mobilefacenet" in run.init and "trunk frozen" in run.init
    assert recipe.train.optimizer == "sam_adam"
    with pytest.raises(ValueError, match="freezes the trunk"):
        train_model(ctx, "resnet18", "synth-inthewild", announce=False, recipe_overrides={"freeze_trunk": True})


def test_a_recipes_model_options_apply_where_the_caller_sets_none_and_enter_the_run_key(tmp_path) -> None:
    import json

    from fer_lib.protocols import train_model

    ctx = RunContext.resolve("poster", "1", "smoke", "synth-inthewild", None, "cpu", [0], tmp_path / "out",
                             quiet=True)
    overrides = {"max_train": 8, "max_test": 4, "model_options": (("depth", 1),)}
    _, (shallow,) = train_model(ctx, "poster", "synth-inthewild", announce=False, recipe_overrides=overrides,
                                model_options={"fusion": "none"})
    _, (chosen,) = train_model(ctx, "poster", "synth-inthewild", announce=False, recipe_overrides=overrides,
                               model_options={"fusion": "none", "depth": 2})
    assert (len(shallow.model.blocks), len(chosen.model.blocks)) == (1, 2)  # the caller's choice wins
    assert json.loads((shallow.run_dir / "spec.json").read_text())["model_options"]["depth"] == 1
    assert shallow.run_dir != chosen.run_dir
    with pytest.raises(ValueError, match="lacks"):
        train_model(ctx, "resnet18", "synth-inthewild", announce=False, recipe_overrides=overrides)


def test_a_recipe_that_caches_frozen_outputs_computes_them_once_for_the_runs_that_share_them(tmp_path,
                                                                                            monkeypatch) -> None:
    from fer_lib.data import features
    from fer_lib.protocols import train_model

    calls = []
    original = features.FrozenFeatures.features

    def counted(self):
        if self._features is None:
            calls.append(self.name)
        return original(self)

    monkeypatch.setattr(features.FrozenFeatures, "features", counted)
    ctx = RunContext.resolve("poster", "1", "smoke", "synth-inthewild", None, "cpu", [0], tmp_path / "out",
                             quiet=True)
    overrides = {"freeze_trunk": True, "cache_frozen": True, "in_memory": True, "max_train": 8, "max_test": 4}
    for depth in (1, 2):  # the transformer differs, the frozen image stream and the images do not
        recipe, (run,) = train_model(ctx, "poster", "synth-inthewild", announce=False, recipe_overrides=overrides,
                                     model_options={"depth": depth, "fusion": "none"})
    assert calls == ["synth-inthewild"] and "outputs computed once" in recipe.describe()
    assert recipe.identity()["cache_frozen"] is True
    with pytest.raises(ValueError, match="freezes nothing"):
        train_model(ctx, "poster", "synth-inthewild", announce=False, model_options={"depth": 1, "fusion": "none"},
                    recipe_overrides={"cache_frozen": True, "in_memory": True, "max_train": 8})


def test_frozen_outputs_of_real_images_are_stored_under_a_key_of_the_weights_and_the_code(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from fer_lib.protocols.training import _frozen_store

    monkeypatch.setenv("FER_LIB_CACHE", str(tmp_path))
    model = create_model("resnet18", num_classes=7)
    real, synthetic = SimpleNamespace(data_kind="real"), SimpleNamespace(data_kind="synthetic")
    path = _frozen_store("key-a", model, real)
    assert path.parent == tmp_path / "frozen" and path != _frozen_store("key-b", model, real)
    assert _frozen_store("key-a", model, synthetic) is None  # rendered and encoded in minutes: not stored

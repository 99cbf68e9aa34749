"""The one registry pattern behind models, losses and datasets."""

from __future__ import annotations

import pytest

from fer_lib.data import DATASETS, load_dataset
from fer_lib.losses import LOSSES
from fer_lib.models import MODELS
from fer_lib.registry import Registry


def test_register_build_and_check_options() -> None:
    things: Registry[dict] = Registry("thing")

    @things.register("pair", colour="red")
    def pair(a: int = 1, b: int = 2) -> dict:
        return {"a": a, "b": b}

    assert things.names() == ["pair"] and "pair" in things and list(things) == ["pair"]
    assert things.build("pair", b=5) == {"a": 1, "b": 5}
    assert things.meta("pair") == {"colour": "red"} and things.options("pair") == ["a", "b"]
    with pytest.raises(ValueError, match="unknown thing 'pear'; registered things: pair"):
        things.build("pear")
    with pytest.raises(ValueError, match=r"thing 'pair' got unknown option\(s\) \['c'\]; accepted: \['a', 'b'\]"):
        things.build("pair", c=3)
    with pytest.raises(ValueError, match="registered twice"):
        things.register("pair")(lambda: {})
    things.unregister("pair")
    assert things.names() == []


def test_models_losses_and_datasets_share_it() -> None:
    assert all(isinstance(r, Registry) for r in (MODELS, LOSSES, DATASETS))
    with pytest.raises(ValueError, match="unknown dataset 'rafbd'; registered datasets: affectnet"):
        load_dataset("rafbd")
    with pytest.raises(ValueError, match="unknown loss"):
        LOSSES.build("focal_typo")


def test_defaults_are_what_a_build_without_options_uses() -> None:
    from fer_lib.models import model_defaults

    assert model_defaults("resnet18") == {"pretrained_path": None, "in_chans": 3, "drop_rate": 0.0}
    assert model_defaults("pcnn")["stn_align_corners"] is True and "num_classes" not in model_defaults("pcnn")

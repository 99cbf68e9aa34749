from __future__ import annotations

import pytest

from fer_lib.data.memory import AUGMENTS
from fer_lib.data.transforms import PROFILES
from fer_lib.recipes import CPU_POSTER_DEPTH, FAMILIES, get_recipe


def test_paper_recipe_is_the_papers_protocol():
    r = get_recipe("pcnn", "paper", "cuda")
    t = r.train
    assert (r.image_size, t.epochs, t.batch_size, t.lr, t.momentum, t.weight_decay) == (224, 100, 256, 0.01, 0.9, 1e-4)
    assert (t.scheduler, t.step_size, t.gamma) == ("step", 15, 0.5)
    assert r.max_train is None


def test_gmslpa_paper_recipe_trains_end_to_end_from_random_weights():
    r = get_recipe("gmslpa", "paper", "cuda")
    t = r.train
    # Seed 001, Sect. 4.4: SGD lr 0.1, batch 128, momentum 0.9, weight decay 0.001; epochs and schedule unstated.
    assert (r.image_size, t.batch_size, t.lr, t.momentum, t.weight_decay) == (224, 128, 0.1, 0.9, 1e-3)
    assert (r.transform, r.init) == ("gmslpa", None)
    cpu = get_recipe("gmslpa", "cpu")
    # The cpu scale pretrains, as for every family (from random weights its budget ends at chance level).
    assert (cpu.transform, cpu.init, cpu.image_size) == ("gmslpa", "auto", 64)
    assert cpu.train.epochs == get_recipe("pcnn", "cpu").train.epochs  # one cpu budget for every family
    assert "random initialisation" in r.describe()


def test_overrides_and_errors():
    r = get_recipe("resnet", "cpu", epochs=3, image_size=48)
    assert r.train.epochs == 3 and r.image_size == 48
    assert "48px" in r.describe()
    with pytest.raises(ValueError, match="family"):
        get_recipe("vgg", "cpu")
    with pytest.raises(ValueError, match="scale"):
        get_recipe("resnet", "tiny")
    with pytest.raises(ValueError, match="recipe option"):
        get_recipe("resnet", "cpu", colour="red")


def test_lr_per_loss_weight_only_below_the_paper_scale():
    assert get_recipe("pcnn", "paper").lr_for(20.0) == 0.01  # the paper's lr, as published
    cpu = get_recipe("pcnn", "cpu")
    assert cpu.lr_per_loss_weight and cpu.lr_for(20.0) == pytest.approx(cpu.train.lr / 20)
    assert cpu.lr_for(1.0) == cpu.train.lr
    assert "alpha + beta" in cpu.describe()


def test_cpu_scale_fine_tunes_pretrained_trunks_on_whole_sets_alike_for_every_family():
    resnet, pcnn = get_recipe("resnet", "cpu"), get_recipe("pcnn", "cpu")
    for r in (resnet, pcnn):
        assert r.max_train is None and r.max_test is None and r.in_memory and r.init == "auto"
    assert resnet.train == pcnn.train and resnet.image_size == pcnn.image_size  # one budget: rows differ by model
    assert "pretrained on auto" in pcnn.describe() and "data in memory" in pcnn.describe()


def test_pretraining_recipe_exists_below_the_paper_scale_only(monkeypatch):
    assert get_recipe("pretrain", "cpu").max_train is None and get_recipe("pretrain", "smoke").in_memory
    with pytest.raises(ValueError, match="pretrained_path"):
        get_recipe("pretrain", "paper")
    monkeypatch.setenv("FER_PRECISION", "fp32")
    assert get_recipe("resnet", "cpu").train.precision == "fp32"
    monkeypatch.setenv("FER_PRECISION", "fp8")
    with pytest.raises(ValueError, match="FER_PRECISION"):
        get_recipe("resnet", "cpu")


def test_cmcnn_recipes_read_modality_packed_images():
    paper = get_recipe("cmcnn", "paper", "cuda")
    t = paper.train
    # Seed 002, Sect. IV-B: 148 px, SGD 0.01, momentum 0.9, wd 5e-4, lr halved every 100 of 300 epochs.
    assert (paper.image_size, t.lr, t.momentum, t.weight_decay, t.epochs) == (148, 0.01, 0.9, 5e-4, 300)
    assert (t.scheduler, t.step_size, t.gamma, paper.transform) == ("step", 100, 0.5, "cmcnn")
    cpu = get_recipe("cmcnn", "cpu")
    assert (cpu.transform, cpu.init, cpu.train.epochs, cpu.train.lr, cpu.image_size) == ("cmcnn", None, 15, 0.003, 64)
    assert get_recipe("cmcnn", "smoke").transform == "cmcnn"


def test_posters_paper_recipe_is_the_authors_and_its_cpu_recipe_trains_the_transformer_on_frozen_streams():
    paper = get_recipe("poster", "paper", "cpu")
    t = paper.train
    assert (paper.image_size, t.epochs, t.batch_size, t.optimizer, t.lr, t.sam_rho, t.scheduler, t.gamma) == \
        (224, 300, 200, "sam_adam", 4e-5, 0.05, "exponential", 0.98)
    assert paper.transform == "poster" and not paper.freeze_trunk and "freeze_trunk" not in paper.identity()
    assert not paper.model_options and "model_options" not in paper.identity()
    assert get_recipe("poster", "smoke").train.optimizer == "sam_adam"
    cpu = get_recipe("poster", "cpu")
    assert (cpu.image_size, cpu.init, cpu.freeze_trunk, cpu.cache_frozen, cpu.transform) == (64, "auto", True, True,
                                                                                            "basic")
    assert dict(cpu.model_options) == {"depth": CPU_POSTER_DEPTH} and "depth=2" in cpu.describe()
    assert cpu.train.optimizer == "adam" and cpu.in_memory
    frozen = get_recipe("poster", "smoke", freeze_trunk=True)
    assert frozen.identity()["freeze_trunk"] is True and "frozen" in frozen.describe()


@pytest.mark.parametrize("scale", ["smoke", "cpu", "paper"])
def test_every_image_recipe_names_a_transform_profile_the_loaders_know(scale):
    # The landmark regressor's recipe is read by its own protocol (flips with the 68-point mirror permutation);
    # every other family's transform is built by load_split, so an unknown name fails only when a table trains.
    for family in (f for f in FAMILIES if f != "landmarks"):
        if family == "pretrain" and scale == "paper":
            continue  # the paper scale loads pretrained weights; it has no pretraining recipe
        transform = get_recipe(family, scale).transform
        assert transform in PROFILES and transform in AUGMENTS, (family, scale, transform)

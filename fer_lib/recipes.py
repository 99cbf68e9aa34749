"""Training recipes per model family and scale.

``paper`` recipes are the papers' protocols; ``cpu`` recipes are the pretrain-then-fine-tune protocol on 2
CPU cores (64 px, whole training sets, 4 epochs, a one-cycle schedule); ``smoke`` recipes only prove the
code path in seconds. :func:`dry_run_recipe` is a ``paper`` recipe cut to two optimiser steps and one
evaluation batch, to prove the paper path anywhere. Every notebook prints the recipe it used.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fer_lib.engine import TrainConfig
from fer_lib.scales import check_scale, default_precision

#: Recipe families: the model families' (registered with each model), the trunks' pretraining, and POSTER's
#: landmark regressor trained here.
FAMILIES: tuple[str, ...] = ("resnet", "pcnn", "gmslpa", "cmcnn", "poster", "pretrain", "landmarks")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Everything besides the model that determines a training run."""

    family: str
    scale: str
    image_size: int
    train: TrainConfig
    transform: str = "basic"
    max_train: int | None = None
    max_test: int | None = None
    #: Divide ``train.lr`` by the loss's total weight (alpha + beta for PCNN's two-phase loss), so rows of an
    #: ablation with different loss weights take the same effective step; off at the paper scale, where the
    #: paper's lr is used as published.
    lr_per_loss_weight: bool = False
    #: Decode the splits once into uint8 tensors and augment whole batches (fer_lib.data.memory): for datasets
    #: that fit in memory, where per-image decoding would cost as much as the training step.
    in_memory: bool = False
    #: With ``in_memory``: store images at their native side when smaller than ``image_size`` and resize each
    #: batch on the training device (the ``paper`` scale's device-side path: FER2013 stays 48 px in memory).
    resize_on_device: bool = False
    #: Where the trunks start: ``None`` (random initialisation), or a pretraining source of
    #: :mod:`fer_lib.protocols.pretrain` (``"fer2013"``, ``"synth"``, ``"auto"``: FER2013 when the data root
    #: has it, else SynthFER). A ``pretrained_path`` given by the user wins.
    init: str | None = None
    #: Keep the pretrained trunk as loaded (the model's ``freeze_trunk`` option): POSTER at the ``cpu`` scale, where
    #: training its IR50 image stream would cost several times the rest of the model.
    freeze_trunk: bool = False
    #: With ``freeze_trunk``: compute the frozen parts' outputs once per training image and its mirror, and train the
    #: rest on them (:class:`fer_lib.data.features.FrozenFeatures`; flips are then the only augmentation).
    cache_frozen: bool = False
    #: Model options the scale sets where the caller sets none, as ``(name, value)`` pairs: POSTER's transformer
    #: depth at the ``cpu`` scale. They are part of the model's options, so of its run key.
    model_options: tuple[tuple[str, Any], ...] = ()

    def lr_for(self, loss_weight_sum: float) -> float:
        """The learning rate a run with a loss of total weight ``loss_weight_sum`` uses."""
        return self.train.lr / loss_weight_sum if self.lr_per_loss_weight and loss_weight_sum > 0 else self.train.lr

    def describe(self) -> str:
        t = self.train
        subset = f"{self.max_train} training samples" if self.max_train else "the full training set"
        test = f", at most {self.max_test} test samples" if self.max_test else ""
        sched = {"step": f"StepLR({t.step_size}, x{t.gamma})", "onecycle": "one-cycle",
                 "exponential": f"ExponentialLR({t.gamma})", "cosine": "cosine", "none": "constant"}[t.scheduler]
        per_weight = (" divided by the loss's total weight (1 for cross-entropy, alpha + beta for PCNN's loss)"
                      if self.lr_per_loss_weight else "")
        start = f", trunks pretrained on {self.init}" if self.init else ", random initialisation"
        start += " and frozen" if self.freeze_trunk else ""
        start += " (its outputs computed once per image and mirror)" if self.cache_frozen else ""
        if self.model_options:
            start += ", model " + ", ".join(f"{k}={v}" for k, v in self.model_options)
        if t.max_batches_per_epoch:
            start += f", at most {t.max_batches_per_epoch} steps per epoch"
        return (f"{self.family} @ {self.scale}: {self.image_size}px, {subset}{test}, {t.epochs} epochs, "
                f"{t.optimizer.upper()} lr {t.lr}{per_weight} ({sched}), batch {t.batch_size}, "
                f"weight decay {t.weight_decay}, '{self.transform}' augmentation{start}, {t.precision}"
                + (", data in memory" if self.in_memory else "")
                + (", resized per batch on the device" if self.in_memory and self.resize_on_device else "")
                + (", torch.compile" if t.compile else ""))

    def identity(self) -> dict:
        """The fields that change the trained weights (for the run-cache key).

        Not the family's name nor the test cap ``max_test``: they change no weight. The scale stays: it
        selects SynthFER's split sizes, i.e. the training data of a synthetic run.
        """
        out = dataclasses.asdict(self)
        del out["family"], out["max_test"]
        if not self.resize_on_device:
            del out["resize_on_device"]  # added later: runs trained before it keep their keys
        if not self.freeze_trunk:
            del out["freeze_trunk"]  # likewise
        if not self.cache_frozen:
            del out["cache_frozen"]
        del out["model_options"]  # in the model's options, which the key holds already
        out["train"] = self.train.identity()
        return out


def _paper_pcnn(device: str) -> Recipe:
    # Seed 000 / the authors' code: SGD 0.01, momentum 0.9, wd 1e-4, StepLR(15, 0.5), 100 epochs, 224 px.
    # The device-side path: datasets that fit stay in (device) memory at their native size and each batch is
    # resized, augmented and normalised on the device; the rest go through a DataLoader with 8 workers.
    return Recipe("pcnn", "paper", 224, TrainConfig(epochs=100, batch_size=256, lr=0.01, momentum=0.9,
                                                   weight_decay=1e-4, scheduler="step", step_size=15, gamma=0.5,
                                                   device=device, num_workers=8, precision=default_precision(device),
                                                   channels_last=device.startswith("cuda")), transform="pcnn",
                  in_memory=True, resize_on_device=True)


def _paper_gmslpa(device: str) -> Recipe:
    # Seed 001, Sect. 4.4: SGD lr 0.1, batch 128, momentum 0.9, weight decay 0.001; 224 px (2048 x 7 x 7 maps);
    # rotation, flip, shift and scaling; trained end to end from random weights ("eliminates the pre-training
    # process"). The epochs and the schedule are not stated: 100 epochs with StepLR(30, 0.1) (ledger entry).
    return Recipe("gmslpa", "paper", 224, TrainConfig(epochs=100, batch_size=128, lr=0.1, momentum=0.9,
                                                     weight_decay=1e-3, scheduler="step", step_size=30, gamma=0.1,
                                                     device=device, num_workers=8,
                                                     precision=default_precision(device),
                                                     channels_last=device.startswith("cuda")),
                  transform="gmslpa", in_memory=True, resize_on_device=True)


def _paper_cmcnn(device: str) -> Recipe:
    # Seed 002, Sect. IV-B: 148 x 148 inputs normalised to (0, 1); SGD lr 0.01, momentum 0.9, weight decay 5e-4;
    # the lr halved every 100 epochs; 300 epochs. The batch size is not stated: 32 (ledger CM-CNN 12). No
    # augmentation is stated. The paper's FENs start from CASIA-WebFace (grey, LBP) and a depth database's
    # weights, which fer_lib cannot download: the paper recipe starts from random weights (ledger CM-CNN 12).
    return Recipe("cmcnn", "paper", 148, TrainConfig(epochs=300, batch_size=32, lr=0.01, momentum=0.9,
                                                    weight_decay=5e-4, scheduler="step", step_size=100, gamma=0.5,
                                                    device=device, num_workers=8,
                                                    precision=default_precision(device)),
                  transform="cmcnn", in_memory=True)


def _paper_poster(device: str) -> Recipe:
    # Seed 003 / the authors' code (REFERENCE.md): SAM around Adam, lr 4e-5, rho 0.05; ExponentialLR(0.98) per
    # epoch; batch 200; 300 epochs; 224 px; flip and random erasing (0.02-0.1). The IR50 and MobileFaceNet weights
    # are the user's files (``pretrained_path``, ``landmark_weights``) or fer_lib's trained landmark regressor.
    return Recipe("poster", "paper", 224, TrainConfig(epochs=300, batch_size=200, optimizer="sam_adam", lr=4e-5,
                                                     sam_rho=0.05, weight_decay=0.0, scheduler="exponential",
                                                     gamma=0.98, device=device, num_workers=8,
                                                     precision=default_precision(device)),
                  transform="poster", in_memory=True, resize_on_device=True)


#: POSTER's training step against ResNet-18's at 64 px, measured in one run (results/poster/table_complexity.md,
#: one thread, 2026-12-07, attention written out): the authors' model (112 px streams, depth 8) 46x; a 56 px
#: image stream 22x, at depth 4 15x, depth 2 12x. One FERPlus epoch would take 0.6-2.5 hours on 2 cores, so the
#: cpu scale needs a cheaper protocol (issue 19).
POSTER_CPU_COST = {"authors (112 px, depth 8)": 46, "56 px stream, depth 8": 22, "56 px stream, depth 4": 15,
                   "56 px stream, depth 2": 12}


#: POSTER's transformer depth at the ``cpu`` scale (the paper's "large" model has 8 pyramid blocks).
CPU_POSTER_DEPTH = 2


def _cpu_poster(device: str) -> Recipe:
    """POSTER on 2 cores. Its training step costs 12-48x a ResNet-18 step (:data:`POSTER_CPU_COST`), so: the image
    stream's IR50 is fer_lib's pretrained trunk (FER2013 Training, like every family's ``init``) kept frozen, as the
    landmark stream already is; the two frozen streams run once per training face and its mirror
    (``cache_frozen``), and only the transformer, the SE block and the head train, at depth
    :data:`CPU_POSTER_DEPTH` with a 56 px image stream. Adam without SAM (SAM's second pass doubles the step),
    one-cycle, flips only (the cached streams admit no pixel augmentation). Ledger POSTER 9."""
    return Recipe("poster", "cpu", 64,
                  TrainConfig(epochs=4, batch_size=64, optimizer="adam", lr=3e-4, weight_decay=1e-4,
                              scheduler="onecycle", device=device, precision=default_precision(device)),
                  transform="basic", in_memory=True, init="auto", freeze_trunk=True, cache_frozen=True,
                  model_options=(("depth", CPU_POSTER_DEPTH),))


def _pretrain(scale: str, device: str) -> Recipe:
    """Pretraining a trunk (ResNet-18) at the ``cpu`` and ``smoke`` scales (fer_lib.protocols.pretrain).

    The paper scale never pretrains here: it loads the user's MS-Celeb-1M weights (``pretrained_path``).
    ``cpu``: the yardstick recipe that takes a from-scratch ResNet-18 to ~62 % on FER2013 (one-cycle SGD,
    max lr 0.05, batch 128, flips and shifts), at 64 px, on the whole source split held in memory.
    """
    if scale == "paper":
        raise ValueError("the paper scale loads pretrained weights from pretrained_path; it does not pretrain")
    if scale == "cpu":
        return Recipe("pretrain", "cpu", 64,
                      TrainConfig(epochs=12, batch_size=128, optimizer="sgd", lr=0.05, momentum=0.9,
                                  weight_decay=5e-4, nesterov=True, scheduler="onecycle", device=device,
                                  precision=default_precision(device)),
                      transform="shift", in_memory=True)
    return Recipe("pretrain", "smoke", 32,
                  TrainConfig(epochs=1, batch_size=16, lr=0.01, scheduler="none", device=device, progress=False),
                  transform="shift", max_train=64, in_memory=True)


def _landmarks(scale: str, device: str) -> Recipe:
    """POSTER's landmark stream, a MobileFaceNet 68-point regressor, trained here (fer_lib.protocols.landmarks):
    the authors' weights are a download fer_lib cannot make, and the POSTER paper does not say how they were
    trained, so every scale's recipe is fer_lib's (ledger POSTER 8). 112 px faces (the stream's input), Adam with
    a one-cycle schedule, the Wing loss, random flips with the 68-point mirror permutation.

    ``cpu``: 2 epochs over SynthFER's in-the-wild training faces and FER2013's Training faces dlib found (23,272
    faces; about 20 minutes an epoch on one thread beside other work). ``paper``: 60 epochs, batch 256, on a GPU.
    """
    if scale == "paper":
        return Recipe("landmarks", "paper", 112,
                      TrainConfig(epochs=60, batch_size=256, optimizer="adam", lr=2e-3, weight_decay=1e-5,
                                  scheduler="onecycle", device=device, precision=default_precision(device)),
                      transform="flip", in_memory=True)
    if scale == "cpu":
        return Recipe("landmarks", "cpu", 112,
                      TrainConfig(epochs=2, batch_size=64, optimizer="adam", lr=2e-3, weight_decay=1e-5,
                                  scheduler="onecycle", device=device, precision=default_precision(device)),
                      transform="flip", in_memory=True)
    return Recipe("landmarks", "smoke", 112,
                  TrainConfig(epochs=1, batch_size=16, optimizer="adam", lr=1e-3, scheduler="none", device=device,
                              progress=False),
                  transform="flip", max_train=64, max_test=32, in_memory=True)


def get_recipe(family: str, scale: str, device: str = "cpu", **overrides) -> Recipe:
    """The recipe of ``family`` (``resnet`` baseline, ``pcnn``, ``gmslpa``, ``cmcnn``, ``pretrain`` for a trunk's
    pretraining, ``landmarks`` for POSTER's landmark regressor) at ``scale``; ``overrides`` replace recipe fields
    (``image_size``, ``max_train`` ...) or training fields (``epochs``, ``lr`` ...)."""
    check_scale(scale)
    if family not in FAMILIES:
        raise ValueError(f"unknown recipe family {family!r}; expected one of {', '.join(FAMILIES)}")
    if family == "pretrain":
        recipe = _pretrain(scale, device)
    elif family == "landmarks":
        recipe = _landmarks(scale, device)
    elif scale == "paper" and family == "gmslpa":
        recipe = _paper_gmslpa(device)
    elif scale == "paper" and family == "cmcnn":
        recipe = _paper_cmcnn(device)
    elif scale == "paper" and family == "poster":
        recipe = _paper_poster(device)
    elif scale == "cpu" and family == "poster":
        recipe = _cpu_poster(device)
    elif scale == "paper":
        recipe = _paper_pcnn(device)
        if family == "resnet":
            recipe = dataclasses.replace(recipe, family="resnet")
    elif scale == "cpu":
        # The papers' protocol on 2 cores: every trunk starts from a ResNet-18 fer_lib pretrains once
        # (protocols/pretrain.py: FER2013 Training, or SynthFER without FER2013), then each row fine-tunes on
        # the WHOLE training set held in memory, in bf16 where the CPU computes it natively. One budget for both
        # families, so a table's rows differ only by the model: 4 epochs keep a ResNet-18 row near 11 minutes
        # and a PCNN row near 25 on FER2013's 32,298 training faces. SGD's lr is divided by the loss's total
        # weight, so PCNN's alpha + beta = 20 does not multiply the step 20-fold.
        recipe = Recipe(family, "cpu", 64,
                        TrainConfig(epochs=4, batch_size=64, optimizer="sgd", lr=0.02, momentum=0.9,
                                    weight_decay=5e-4, nesterov=True, scheduler="onecycle", device=device,
                                    precision=default_precision(device)),
                        transform="shift", lr_per_loss_weight=True, in_memory=True, init="auto")
        if family == "gmslpa":
            # GMS-LPA's own augmentation. Its paper trains from random weights, but at this budget a ResNet-50
            # from random weights stays at chance on SynthFER's multi-view set (17.0 % against a 16.7 % floor,
            # ledger GMS-LPA 17): like every family here, it starts from a pretrained trunk (its own ResNet).
            recipe = dataclasses.replace(recipe, transform="gmslpa")
        if family == "cmcnn":
            # Modality-packed images scaled to (0, 1) (fer_lib.data.modalities); the FENs (1.4 M parameters) train
            # from random weights on CM-CNN's small sets (synth-rgbd: 1,080 training images a fold). Measured on
            # G+L+D, fold 0: max lr 0.01 diverges at its peak (35 % at epoch 5, 19 % at 10); 0.003 for 15 epochs
            # reaches 51.7 % (floor 16.7 %) in about 13 minutes at one thread beside two training streams.
            recipe = dataclasses.replace(recipe, transform="cmcnn", init=None, train=dataclasses.replace(
                recipe.train, epochs=15, batch_size=32, lr=0.003))
    else:  # smoke
        recipe = Recipe(family, "smoke", 64 if family == "pcnn" else 32,
                        TrainConfig(epochs=1, batch_size=16, lr=0.01, scheduler="none", device=device,
                                    progress=False),
                        transform="cmcnn" if family == "cmcnn" else "basic", max_train=32, max_test=32,
                        lr_per_loss_weight=True)
        if family == "poster":  # the paper's optimiser, so the smoke path runs SAM's two passes
            recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, optimizer="sam_adam",
                                                                           lr=1e-4))
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    train_over = {k: v for k, v in overrides.items() if k in train_fields}
    recipe_over = {k: v for k, v in overrides.items() if k not in train_fields}
    unknown = set(recipe_over) - {f.name for f in dataclasses.fields(Recipe)}
    if unknown:
        raise ValueError(f"unknown recipe option(s) {sorted(unknown)}")
    return dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, **train_over), **recipe_over)


#: A dry run's optimiser steps per run (one epoch of them) and its evaluation batches (one).
DRY_RUN_STEPS = 2
#: The largest batch a dry run uses on a CPU: the paper's 256 at 224 px would take about a minute per step for
#: PCNN on 2 cores, and a dry run proves the code path, not the batch's statistics. On CUDA the batch is the
#: paper's.
CPU_DRY_RUN_BATCH = 16
#: The fields a dry run changes (everything else is the paper recipe, field by field).
DRY_RUN_FIELDS: tuple[str, ...] = ("epochs", "max_batches_per_epoch", "batch_size", "max_train", "max_test")


def dry_run_recipe(recipe: Recipe, device: str = "cpu") -> tuple[Recipe, str]:
    """``recipe`` (a ``paper`` recipe) for :data:`DRY_RUN_STEPS` optimiser steps and one evaluation batch,
    and a sentence saying what was cut and why. Input size, optimiser, schedule, augmentation, precision and
    model options stay the paper's; only the fields of :data:`DRY_RUN_FIELDS` change."""
    if recipe.scale != "paper":
        raise ValueError(f"a dry run runs the paper recipe; got the {recipe.scale!r} scale")
    paper_batch = recipe.train.batch_size
    batch = paper_batch if str(device).startswith("cuda") else min(paper_batch, CPU_DRY_RUN_BATCH)
    train = dataclasses.replace(recipe.train, epochs=1, max_batches_per_epoch=DRY_RUN_STEPS, batch_size=batch)
    cut = dataclasses.replace(recipe, train=train, max_train=DRY_RUN_STEPS * batch, max_test=batch)
    why = (f"dry run: the paper recipe for {DRY_RUN_STEPS} optimiser steps and 1 evaluation batch of {batch}"
           + (f" (the paper's batch is {paper_batch}; on a CPU a dry run uses {batch}, since one step of "
              f"{paper_batch} images at {recipe.image_size} px takes about a minute there)" if batch != paper_batch
              else ""))
    return cut, why

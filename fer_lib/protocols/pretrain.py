"""Pretrained trunks for the ``cpu`` scale: trained once, cached, reused by every table and seed.

The papers never train from scratch: PCNN's trunks start from a ResNet-18 pretrained on MS-Celeb-1M. At
the ``paper`` scale the user's weights file is loaded (``pretrained_path``); at the ``cpu`` scale fer_lib
trains the trunk itself, once, as an ordinary cached and resumable run of the run cache:

- ``fer2013``: a ResNet-18 trained on FER2013's ``Training`` rows only (28,709 faces). Never PublicTest or
  PrivateTest: they hold FERPlus's validation and test images and the RAN FERPlus pose/occlusion subsets.
- ``synth``: the same on SynthFER's ``synth-inthewild`` training split (no real data needed).
- ``auto``: ``fer2013`` when the data root holds FER2013, else ``synth``.

The trunk is the network without its classification head (``trunk.pt`` in the pretraining run's folder);
a model's ``pretrained_path`` loads it (PCNN: every trunk and layer4; ResNet-18: all but the head). Its
architecture is the model family's (``ModelFamily.trunk_arch``): ResNet-18 for PCNN, the ``trunk`` option's
ResNet for GMS-LPA (ResNet-50 by default), each pretrained once.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from fer_lib.cluster.spec import ExecutorSpec
from fer_lib.io import runs_root
from fer_lib.protocols import grid
from fer_lib.protocols.splits import load_split
from fer_lib.protocols.training import (
    TRUNK_FILE,
    ModelSetup,
    PretrainedTrunk,
    RunTask,
    TrainingJob,
    cached_run,
    save_trunk,
    train_and_evaluate,
)
from fer_lib.recipes import get_recipe
from fer_lib.settings import resolve_dataset

#: Pretraining source -> (dataset, split).
SOURCES: dict[str, tuple[str, str]] = {"fer2013": ("fer2013", "Training"), "synth": ("synth-inthewild", "train")}
#: Pretraining epochs at the ``cpu`` scale where an architecture differs from the recipe's 12 (ResNet-18, about 25
#: minutes on 2 cores): the budget is an hour, and a ResNet-34 / ResNet-50 step costs about 2x / 3x ResNet-18's,
#: IR50's (POSTER's image stream, at 56 px from the 64 px faces) about 7x (measured in one run, 2026-12-07).
CPU_EPOCHS: dict[str, int] = {"resnet34": 8, "resnet50": 8, "ir50": 4}


def resolve_source(init: str, data_root: str | os.PathLike | None) -> str:
    """``init`` as a concrete source: ``auto`` is ``fer2013`` when ``data_root`` holds FER2013, else ``synth``."""
    if init == "auto":
        return "fer2013" if resolve_dataset("fer2013", data_root)[0] == "fer2013" else "synth"
    if init not in SOURCES:
        raise ValueError(f"unknown pretraining source {init!r}; expected 'auto' or one of {', '.join(SOURCES)}")
    return init


@functools.cache
def _pretrained(source: str, arch: str, scale: str, device: str, data_root: str | None, runs: str,
                executor: ExecutorSpec | None) -> PretrainedTrunk:
    # ``runs`` (the run cache's folder) is part of the memo's key: another FER_RUNS_DIR is another cache.
    dataset, split = SOURCES[source]
    recipe = get_recipe("pretrain", scale, device, **({"epochs": CPU_EPOCHS[arch]}
                                                      if scale == "cpu" and arch in CPU_EPOCHS else {}))
    print(f"pretraining {arch} on {source} ({dataset} {split}): {recipe.describe()}", flush=True)
    job = TrainingJob(ModelSetup(arch), dataset, recipe, train_split=split, label=f"pretraining {arch} on {source}")
    train_set = load_split(dataset, split, recipe, data_root, train=True, seed=0)
    run, complete = cached_run(job, train_set, 0)
    if not complete:
        task = RunTask(job, 0, data_root, runs, keep_trunk=True)
        # A cluster grid (fer_lib.protocols.grid): its first pass records the pretraining as a job, run before the
        # trainings that start from it; in its second pass a failed pretraining's trainings are missing.
        collect, error = grid.collecting(), grid.failure(run)
        if collect is not None or error:
            if collect is not None:
                grid.record(collect, run, task)
            print(f"{job.describe()}: {run} " + ("collected for the grid's jobs" if collect is not None
                                                 else f"MISSING, its job failed:\n{error}"), flush=True)
            return PretrainedTrunk(source, arch, Path(runs) / run / TRUNK_FILE, run, float("nan"))
        if executor is not None:  # a notebook's executor: the pretraining is a job too
            from fer_lib.protocols.jobs import submit  # jobs imports submitit: only when it is used

            (result,) = submit([task], executor, grid.new_folder("pretrain", f"{arch}-{source}") / "jobs")
            if result.state == "failed":
                raise RuntimeError(f"the job {result.job_id} pretraining {arch} on {source} failed: {result.error}")
    out = train_and_evaluate(job, train_set, {}, seed=0)
    return PretrainedTrunk(source, arch, save_trunk(out), out.run_dir.name, out.train_seconds)


def pretrained_trunk(
    init: str, scale: str, device: str, data_root: str | os.PathLike | None = None, arch: str = "resnet18",
    executor: ExecutorSpec | None = None,
) -> PretrainedTrunk:
    """The trunk pretrained on ``init`` (a source or ``auto``) with the ``pretrain`` recipe of ``scale``:
    loaded from the run cache, or trained now (resumable, with a line per epoch) — as a job of ``executor`` when
    one is given (a notebook's ``executor`` parameter)."""
    source = resolve_source(init, data_root)
    return _pretrained(source, arch, scale, device, str(Path(data_root).expanduser()) if data_root else None,
                       str(runs_root()), executor)


__all__ = ["SOURCES", "PretrainedTrunk", "pretrained_trunk", "resolve_source", "save_trunk"]

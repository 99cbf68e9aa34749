"""``make gpu-check``: how fast the ``paper`` scale trains on this device, and how long every table would take.

Written for a GPU lent for a few minutes (at most 8 in all); the same code runs on a CPU with ``--tiny`` (what the
tests do). It measures, on one device, in one process:

1. **Training throughput** of ResNet-18 and PCNN at the paper's input (224 px) and batch (256), through the real
   engine (:func:`fer_lib.engine.fit`) and the device-side data path (images stored at FER2013's native 48 px on
   the device, resized, augmented and normalised there), for fp32 and mixed precision (bf16 where supported,
   fp16 with a gradient scaler otherwise), with and without ``torch.compile``: images/s of a timed epoch after a
   warm-up epoch (compilation happens in the warm-up), the peak device memory, and the data path's share of a
   step (the data path timed alone, synchronised, over the same batches).
2. **One paper-recipe epoch** of PCNN on FER2013's training split (SynthFER's without a data root), end to end:
   loading, the device copy, the epoch.
3. **The projected wall time of every paper-scale table** of every paper with notebooks: a table's trainings
   come from its dry run's plan (:func:`fer_lib.protocols.training.record_plan`: model, data, the split's full
   size, the paper's epochs), priced at the measured images/s of the fastest configuration.

Separately (hours on a CPU, not part of the 8 minutes): ``--data-paths-only`` compares the data paths' speed side by
side, and ``--path-accuracy`` whether they train the same model (test accuracy per path, paired by seed).

Everything goes to ``results/gpu/<device>/`` (``throughput.csv``, ``epoch.json``, ``projection.csv``,
``README.md``), with the device's name, the commit and the versions.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image

from fer_lib.data.base import FERDataset
from fer_lib.data.memory import InMemoryImages, augment_for
from fer_lib.data.transforms import build_transform
from fer_lib.engine import fit
from fer_lib.io import atomic_write_json, atomic_write_text, results_root, runs_root
from fer_lib.models import create_model, model_options
from fer_lib.protocols.training import PLAN_COLUMNS, default_loss
from fer_lib.recipes import get_recipe
from fer_lib.results import device_name, git_commit, library_versions
from fer_lib.scales import cpu_has_fast_bf16

#: The models every check measures (the PCNN paper's two rows; later papers add theirs).
MODELS: tuple[str, ...] = ("resnet18", "pcnn")
#: FER2013's native side: what the device-side path stores.
STORED_SIDE = 48


@dataclasses.dataclass(frozen=True)
class CheckSize:
    """How big the measurements are: the paper's (on a GPU) or tiny (tests on a CPU)."""

    image_size: int = 224
    batch_size: int = 256
    steps: int = 8
    #: Training images of the one-epoch check (``None``: the whole split).
    epoch_images: int | None = None


PAPER_SIZE = CheckSize()
TINY_SIZE = CheckSize(image_size=32, batch_size=4, steps=2, epoch_images=16)


class _RandomFaces(FERDataset):
    """Random grey faces (a stand-in of FER2013's 48-px training images, for timing only)."""

    name = "random-faces"
    data_kind = "synthetic"

    def __init__(self, n: int, side: int, num_classes: int = 7, seed: int = 0, transform=None) -> None:
        rng = np.random.default_rng(seed)
        super().__init__([str(c) for c in range(num_classes)], rng.integers(0, num_classes, n), transform=transform)
        self.pixels = torch.from_numpy(rng.integers(0, 256, (n, 1, side, side), dtype=np.uint8))

    def load_image(self, index: int) -> Image.Image:
        return Image.fromarray(self.pixels[index, 0].numpy(), "L").convert("RGB")


def random_images(n: int, image_size: int, side: int = STORED_SIDE, transform: str = "pcnn") -> InMemoryImages:
    """``n`` random grey images stored at ``side`` px, batched at ``image_size`` with ``transform``'s augmentation."""
    faces = _RandomFaces(n, min(side, image_size))
    return InMemoryImages(faces.pixels, faces, augment_for(transform, train=True), output_size=image_size)


def _build(model: str, image_size: int, num_classes: int = 7) -> torch.nn.Module:
    options = {"image_size": image_size} if "image_size" in model_options(model) else {}
    return create_model(model, num_classes=num_classes, **options)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mib(device: torch.device) -> float:
    """Peak device memory since the last reset (CUDA), or the process's peak resident memory (CPU)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def data_path_seconds(data: InMemoryImages, batch_size: int, steps: int, device: str) -> float:
    """Seconds per batch of the data path alone (gather, resize, augment, normalise), synchronised."""
    dev = torch.device(device)
    batches = data.batches(batch_size, shuffle=True, generator=torch.Generator().manual_seed(1), device=device)
    next(batches)  # the device copy and first allocations
    _sync(dev)
    t0 = time.perf_counter()
    done = 0
    for _ in range(steps):
        if next(batches, None) is None:
            break
        done += 1
    _sync(dev)
    return (time.perf_counter() - t0) / max(done, 1)


def train_speed(model: str, size: CheckSize, device: str, precision: str, compile: bool) -> dict[str, Any]:
    """Training images/s of ``model`` through :func:`fit` and the device-side data path: a warm-up epoch (where
    compilation happens), then a timed epoch of ``size.steps`` steps at the paper recipe's optimiser."""
    dev = torch.device(device)
    paper = get_recipe("pcnn", "paper", device).train
    cfg = dataclasses.replace(paper, epochs=2, batch_size=size.batch_size, max_batches_per_epoch=size.steps,
                              precision=precision, compile=compile, channels_last=dev.type == "cuda",
                              progress=False, scheduler="none")
    data = random_images(size.batch_size * (size.steps + 1), size.image_size)
    net = _build(model, size.image_size)
    loss = default_loss(model).to(dev)
    _reset_peak(dev)
    t0 = time.perf_counter()
    history = fit(net, data, cfg, loss_fn=loss).history
    total = time.perf_counter() - t0
    timed = float(history["epoch_seconds"].iloc[-1])
    step = timed / size.steps
    data_step = data_path_seconds(data, size.batch_size, size.steps, device)
    return {"model": model, "precision": precision, "compile": compile, "image_size": size.image_size,
            "batch_size": size.batch_size, "steps": size.steps,
            "images_per_s": size.batch_size / step, "step_ms": 1000 * step,
            "warmup_s": total - timed, "data_ms": 1000 * data_step, "data_share": data_step / step,
            "peak_memory_mib": _peak_mib(dev)}


def precisions(device: str) -> tuple[str, ...]:
    """fp32 and the device's mixed precision: bf16 where supported, fp16 (with a gradient scaler) on older GPUs;
    on a CPU bf16 only where it is native (emulated bf16 runs several times slower than fp32 and proves nothing)."""
    if device.startswith("cuda"):
        return ("fp32", "bf16" if torch.cuda.is_bf16_supported() else "fp16")
    return ("fp32", "bf16") if cpu_has_fast_bf16() else ("fp32",)


def throughput_table(size: CheckSize, device: str, models: Sequence[str] = MODELS,
                     compiles: Sequence[bool] = (False, True), log: Callable[[str], None] = print) -> pd.DataFrame:
    """:func:`train_speed` of every model x {fp32, mixed precision} x ``compiles`` (eager, compiled)."""
    rows = []
    for model in models:
        for precision in precisions(device):
            for compiled in compiles:
                try:
                    row = train_speed(model, size, device, precision, compiled)
                    row["note"] = ""
                except Exception as error:  # noqa: BLE001 -- one failed configuration is a row, not the end
                    row = {"model": model, "precision": precision, "compile": compiled,
                           "image_size": size.image_size, "batch_size": size.batch_size,
                           "note": f"failed: {type(error).__name__}: {error}"[:300]}
                log(_speed_line(row))
                rows.append(row)
    return pd.DataFrame(rows)


def _speed_line(row: dict[str, Any]) -> str:
    head = f"{row['model']:>8} {row['precision']} {'compiled' if row['compile'] else 'eager   '}"
    if row.get("note"):
        return f"{head}: {row['note']}"
    return (f"{head}: {row['images_per_s']:8.1f} images/s, step {row['step_ms']:.0f} ms, data "
            f"{100 * row['data_share']:.1f} %, peak {row['peak_memory_mib']:.0f} MiB, warm-up {row['warmup_s']:.0f} s")


#: The data paths :func:`data_path_speeds` compares.
DATA_PATHS: tuple[str, ...] = ("per-image", "in-memory", "device-side")


def _data_for(path: str, n: int, image_size: int, transform: str) -> FERDataset:
    if path == "per-image":
        return _RandomFaces(n, STORED_SIDE, transform=build_transform(transform, image_size, train=True))
    side = STORED_SIDE if path == "device-side" else image_size
    faces = _RandomFaces(n, STORED_SIDE)
    if side == STORED_SIDE:
        return InMemoryImages(faces.pixels, faces, augment_for(transform, train=True), output_size=image_size)
    return InMemoryImages.from_dataset(faces, image_size, augment_for(transform, train=True))


def data_path_speeds(device: str = "cpu", models: Sequence[str] = MODELS, image_size: int = 64, batch_size: int = 64,
                     steps: int = 16, repeats: int = 3, transform: str = "shift",
                     log: Callable[[str], None] = print) -> pd.DataFrame:
    """Training images/s of each model through each data path, side by side in one run (interleaved, ``repeats``
    times; the median is kept, since a shared machine's load drifts):

    - ``per-image``: PIL images through the per-image transform and a DataLoader in the main process (the paper
      scale's path before the device-side one; workers would only compete for the same cores on a CPU);
    - ``in-memory``: uint8 tensors at the input size, augmented per batch (the ``cpu`` scale's path);
    - ``device-side``: uint8 tensors at FER2013's native 48 px, resized per batch where the model runs.

    The columns ``vs_per_image`` and ``vs_in_memory`` are speed ratios (above 1: faster)."""
    from fer_lib.scales import default_precision

    rows = []
    for repeat in range(repeats):
        for model in models:
            for path in DATA_PATHS:
                data = _data_for(path, batch_size * steps, image_size, transform)
                cfg = dataclasses.replace(get_recipe("pcnn", "paper", device).train, epochs=2, batch_size=batch_size,
                                          max_batches_per_epoch=steps, precision=default_precision(device),
                                          num_workers=0, progress=False, scheduler="none", channels_last=False)
                history = fit(_build(model, image_size), data, cfg, loss_fn=default_loss(model)).history
                timed = history.iloc[-1]
                row = {"model": model, "data_path": path, "repeat": repeat, "image_size": image_size,
                       "batch_size": batch_size, "precision": cfg.precision,
                       "images_per_s": batch_size * steps / float(timed["epoch_seconds"]),
                       "data_share": float(timed["data_seconds"]) / float(timed["epoch_seconds"])}
                log(f"{model:>8} {path:<11} (repeat {repeat}): {row['images_per_s']:.1f} images/s, "
                    f"data {100 * row['data_share']:.1f} %")
                rows.append(row)
    frame = pd.DataFrame(rows)
    summary = (frame.groupby(["model", "data_path"], sort=False)
               .agg(images_per_s=("images_per_s", "median"), data_share=("data_share", "median"),
                    repeats=("repeat", "size"), image_size=("image_size", "first"), batch_size=("batch_size", "first"),
                    precision=("precision", "first")).reset_index())
    for ref, column in (("per-image", "vs_per_image"), ("in-memory", "vs_in_memory")):
        base = summary[summary["data_path"] == ref].set_index("model")["images_per_s"]
        summary[column] = summary["images_per_s"] / summary["model"].map(base)
    return summary


def paper_epoch(size: CheckSize, device: str, data_root: str | None, precision: str,
                compile: bool = False) -> dict[str, Any]:
    """One epoch of PCNN with the paper recipe (device-side path) on FER2013's training split, or SynthFER's."""
    from fer_lib.protocols.splits import load_split
    from fer_lib.settings import resolve_dataset

    dataset, why = resolve_dataset("fer2013", data_root)
    recipe = get_recipe("pcnn", "paper", device, image_size=size.image_size, batch_size=size.batch_size,
                        max_train=size.epoch_images, epochs=1, precision=precision, compile=compile,
                        progress=False)
    t0 = time.perf_counter()
    train = load_split(dataset, "train", recipe, data_root, seed=0)
    load_s = time.perf_counter() - t0
    net = _build("pcnn", size.image_size, len(train.classes))
    t1 = time.perf_counter()
    history = fit(net, train, recipe.train, loss_fn=default_loss("pcnn").to(device)).history
    epoch_s = time.perf_counter() - t1
    epochs = get_recipe("pcnn", "paper", device).train.epochs
    split = int(getattr(train, "source_size", len(train)))
    full_epoch_s = epoch_s * split / len(train)  # the whole split, when the check trained on part of it
    return {"model": "pcnn", "dataset": dataset, "why": why, "train_images": len(train), "split_images": split,
            "image_size": size.image_size, "batch_size": size.batch_size, "precision": precision,
            "compile": compile, "load_seconds": load_s, "epoch_seconds": epoch_s,
            "images_per_s": len(train) / epoch_s, "full_epoch_seconds": full_epoch_s, "paper_epochs": epochs,
            "projected_paper_run_minutes": full_epoch_s * epochs / 60,
            "data_seconds": float(history["data_seconds"].sum())}


def read_plans(paths: Sequence[Path]) -> pd.DataFrame:
    """The dry-run plans in ``paths`` (files, or folders searched for ``plan/*.csv``), one frame. A table planned
    in several places is taken from the first (a fresh ``runs/dry-run`` before the committed ``results/gpu``)."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        files += sorted(path.rglob("plan/*.csv")) if path.is_dir() else [path]
    frames, seen = [], set()
    for file in files:
        if not file.is_file():
            continue
        frame = pd.read_csv(file)
        tables = set(zip(frame["paper"], frame["table"].astype(str), strict=True))
        frames.append(frame[[(p, str(t)) not in seen for p, t in zip(frame["paper"], frame["table"], strict=True)]])
        seen |= tables
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(PLAN_COLUMNS))


def collect_plans(source: Path, target: Path) -> list[Path]:
    """Copy every dry-run plan under ``source`` (``<paper>/plan/<table>.csv``) to ``target/plan/<paper>_<table>.csv``
    (committed beside the results, so a lent GPU projects the tables without re-running their dry runs)."""
    written = []
    for file in sorted(Path(source).rglob("plan/*.csv")):
        paper = file.parent.parent.name
        written.append(atomic_write_text(Path(target) / "plan" / f"{paper}_{file.stem}.csv", file.read_text()))
    return written


def project(plan: pd.DataFrame, speeds: pd.DataFrame) -> pd.DataFrame:
    """Each table's projected paper-scale training time at the fastest measured configuration per model (a model
    not measured is priced as the slowest one measured, and the row counts them), plus one ``ALL`` row per paper.
    A run that several cells or tables share (the run cache trains it once) counts once."""
    ok = speeds[speeds.get("note", "").fillna("") == ""] if "note" in speeds else speeds
    best = ok.groupby("model")["images_per_s"].max().to_dict()
    slowest = min(best.values()) if best else float("nan")
    plan = plan.copy()
    plan["images_per_s"] = plan["model"].map(best).fillna(slowest)
    plan["priced_as"] = np.where(plan["model"].isin(list(best)), plan["model"], "slowest measured")
    # Evaluation at 3x the training speed (forward only), once per run.
    plan["seconds"] = (plan["epochs"] * plan["train_images"] + plan["test_images"] / 3.0) / plan["images_per_s"]
    rows = []
    for (paper, table), runs in plan.groupby(["paper", "table"], sort=True):
        rows.append(_projection_row(paper, table, runs.drop_duplicates("run")))  # two cells, one training
    for paper, runs in plan.groupby("paper"):
        rows.append(_projection_row(paper, "ALL", runs.drop_duplicates("run")))
    return pd.DataFrame(rows)


def _projection_row(paper: str, table: str, runs: pd.DataFrame) -> dict[str, Any]:
    return {"paper": paper, "table": table, "runs": len(runs), "models": ", ".join(sorted(runs["model"].unique())),
            "datasets": ", ".join(sorted(runs["dataset"].unique())),
            "training_images": int((runs["epochs"] * runs["train_images"]).sum()),
            "hours": runs["seconds"].sum() / 3600,
            "priced_as_slowest": int((runs["priced_as"] == "slowest measured").sum())}


def device_slug(name: str) -> str:
    """``"cuda (NVIDIA H200)"`` -> ``"nvidia-h200"``: the folder name of a device's results."""
    inner = re.search(r"\((.*)\)", name)
    text = inner.group(1) if inner else name
    text = re.sub(r",.*", "", text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "device"


def write_report(out_dir: Path, device: str, size: CheckSize, speeds: pd.DataFrame, epoch: dict[str, Any] | None,
                 projection: pd.DataFrame, seconds: float, data_paths: pd.DataFrame | None = None) -> Path:
    """``throughput.csv``, ``epoch.json``, ``projection.csv`` (and ``data_paths.csv``) and a README.md into
    ``out_dir`` (atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = device_name(device)
    meta = {"device": name, "git_commit": git_commit(), "versions": library_versions(),
            "size": dataclasses.asdict(size), "seconds": round(seconds, 1)}
    atomic_write_text(out_dir / "throughput.csv", speeds.assign(device=name).to_csv(index=False, float_format="%.4g"))
    atomic_write_json(out_dir / "epoch.json", {**meta, "epoch": epoch})
    atomic_write_text(out_dir / "projection.csv", projection.to_csv(index=False, float_format="%.4g"))
    lines = [f"# `make gpu-check` on {name}", "",
             f"- commit `{meta['git_commit'][:12]}`; {meta['versions']}",
             f"- {size.image_size} px, batch {size.batch_size}, {size.steps} timed steps per configuration; "
             f"the whole check took {seconds:.0f} s", *([] if size == PAPER_SIZE else [
                 f"- **Not the paper's measurement size** ({PAPER_SIZE.image_size} px, batch {PAPER_SIZE.batch_size}): "
                 "a short measurement, for the ratios and an order of magnitude."]), "",
             "## Training throughput (engine + device-side data path)", "",
             "| model | precision | compile | images/s | step ms | data share | peak MiB | warm-up s | note |",
             "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in speeds.to_dict("records"):
        if r.get("note"):
            lines.append(f"| {r['model']} | {r['precision']} | {r['compile']} | — | — | — | — | — | {r['note']} |")
        else:
            lines.append(f"| {r['model']} | {r['precision']} | {r['compile']} | {r['images_per_s']:.1f} | "
                         f"{r['step_ms']:.0f} | {100 * r['data_share']:.1f} % | {r['peak_memory_mib']:.0f} | "
                         f"{r['warmup_s']:.0f} | |")
    if epoch:
        lines += ["", "## One paper-recipe epoch", "",
                  f"PCNN on {epoch['dataset']} ({epoch['why']}): {epoch['train_images']} images at "
                  f"{epoch['image_size']} px in {epoch['epoch_seconds']:.1f} s ({epoch['images_per_s']:.1f} images/s, "
                  f"{epoch['precision']}, compile {epoch['compile']}); loading took {epoch['load_seconds']:.1f} s. "
                  + (f"The whole split ({epoch['split_images']} images) would take {epoch['full_epoch_seconds']:.0f} s "
                     "per epoch. " if epoch["split_images"] != epoch["train_images"] else "")
                  + f"The paper's {epoch['paper_epochs']} epochs: {epoch['projected_paper_run_minutes']:.1f} minutes."]
    lines += ["", "## Projected paper-scale training time per table", "",
              "From each table's dry-run plan (its trainings, the splits' full sizes, the paper's epochs), at the "
              "fastest configuration measured above per model; `ALL` counts a run two tables share once.", "",
              "| paper | table | runs | models | datasets | hours |", "|---|---|---:|---|---|---:|"]
    for r in projection.to_dict("records"):
        lines.append(f"| {r['paper']} | {r['table']} | {r['runs']} | {r['models']} | {r['datasets']} | "
                     f"{r['hours']:.2f} |")
    if projection.empty:
        lines.append("| — | no dry-run plan found (run `make reproduce-all DRY_RUN=1` first) | | | | |")
    if data_paths is not None:
        atomic_write_text(out_dir / "data_paths.csv", data_paths.to_csv(index=False, float_format="%.4g"))
        lines += [""] + _data_paths_markdown(data_paths)
    path = atomic_write_text(out_dir / "README.md", "\n".join(lines) + "\n")
    return path


def _data_paths_markdown(paths: pd.DataFrame) -> list[str]:
    first = paths.iloc[0]
    lines = ["## Data paths side by side", "",
             f"Training images/s through the engine at {first['image_size']} px, batch {first['batch_size']}, "
             f"{first['precision']}, per data path, interleaved in one run (median of {first['repeats']} repeats); "
             "ratios above 1 are faster than the reference path.", "",
             "| model | data path | images/s | data share | vs per-image | vs in-memory |",
             "|---|---|---:|---:|---:|---:|"]
    for r in paths.to_dict("records"):
        lines.append(f"| {r['model']} | {r['data_path']} | {r['images_per_s']:.1f} | {100 * r['data_share']:.1f} % | "
                     f"{r['vs_per_image']:.2f} | {r['vs_in_memory']:.2f} |")
    return lines


def run_data_paths(device: str = "cpu", out_root: Path | None = None, **options: Any) -> Path:
    """:func:`data_path_speeds` alone, into ``<out_root>/<device>/data_paths.{csv,md}`` (the CPU's committed ratios)."""
    t0 = time.perf_counter()
    name = device_name(device)
    print(f"data paths on {name}", flush=True)
    paths = data_path_speeds(device, **options)
    out_dir = (out_root or results_root() / "gpu") / device_slug(name)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "data_paths.csv", paths.assign(device=name).to_csv(index=False, float_format="%.4g"))
    head = [f"# Data paths on {name}", "", f"- commit `{git_commit()[:12]}`; {library_versions()}",
            f"- took {time.perf_counter() - t0:.0f} s; written by `python -m fer_lib.gpu_check --data-paths-only`", ""]
    path = atomic_write_text(out_dir / "data_paths.md", "\n".join(head + _data_paths_markdown(paths)) + "\n")
    print(f"wrote {path}", flush=True)
    return path


#: Each data path as absolute recipe overrides (the same on every scale; ``resize_on_device=False`` leaves a
#: run's cache key as it was before the option existed).
DATA_PATH_OVERRIDES: dict[str, dict[str, bool]] = {
    "per-image": {"in_memory": False, "resize_on_device": False},
    "in-memory": {"in_memory": True, "resize_on_device": False},
    "device-side": {"in_memory": True, "resize_on_device": True},
}


def run_path_accuracy(data_root: str | None = None, dataset: str | None = None, model: str = "resnet18",
                      seeds: Sequence[int] = (0, 1, 2), epochs: int | None = 2,
                      paths: Sequence[str] = ("in-memory", "device-side"), reference: str = "in-memory",
                      device: str = "cpu", scale: str | None = None, out_root: Path | None = None) -> Path:
    """Do the data paths train the same model? ``model`` trained on ``dataset`` (FER2013 when ``data_root`` has
    it, else SynthFER) through each of ``paths`` for every seed, with the scale's recipe (``epochs`` overrides its
    epochs: a shorter fine-tuning is enough to expose a path that changes the images), compared with ``reference``
    paired by seed (:func:`fer_lib.protocols.comparisons.compare_recipes`). Written to
    ``<out_root>/<device>/data_path_accuracy.{csv,md}``; returns the Markdown's path."""
    from fer_lib.protocols.comparisons import compare_recipes, comparison_markdown
    from fer_lib.settings import RunContext, resolve_dataset

    unknown = set(paths) - set(DATA_PATH_OVERRIDES)
    if unknown or reference not in paths:
        raise ValueError(f"paths must be some of {', '.join(DATA_PATH_OVERRIDES)} and include the reference "
                         f"{reference!r}; got {list(paths)}")
    t0 = time.perf_counter()
    name, why = (dataset, "given") if dataset else resolve_dataset("fer2013", data_root)
    print(f"data -> {name} ({why})", flush=True)
    ctx = RunContext.resolve("pcnn", "data-path-accuracy", scale, name, data_root, device, seeds,
                             runs_root() / "data-path-accuracy")
    common = {"epochs": epochs} if epochs else {}
    runs, summary = compare_recipes(ctx, model, name, {p: DATA_PATH_OVERRIDES[p] for p in paths}, reference, common)
    label = device_name(device)
    out_dir = (out_root or results_root() / "gpu") / device_slug(label)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = runs.assign(model=model, dataset=name, data_kind=ctx.data_kind, scale=ctx.scale, device=label)
    atomic_write_text(out_dir / "data_path_accuracy.csv", frame.to_csv(index=False, float_format="%.4g"))
    head = [f"# Do the data paths train the same model? ({label})", "",
            f"- {model} on {name} ({ctx.data_kind} data), {ctx.scale} scale"
            + (f" with {epochs} epochs" if epochs else "") + f", seeds {', '.join(map(str, ctx.seeds))}; test "
            "accuracy in %, paired by seed against the reference path",
            f"- commit `{git_commit()[:12]}`; {library_versions()}",
            f"- took {time.perf_counter() - t0:.0f} s (runs from the run cache count as loaded, not trained); "
            "written by `python -m fer_lib.gpu_check --path-accuracy`", ""]
    body = comparison_markdown(runs, summary, "Test accuracy per data path")
    path = atomic_write_text(out_dir / "data_path_accuracy.md", "\n".join(head + body) + "\n")
    print(f"wrote {path}", flush=True)
    return path


def run_check(device: str | None = None, data_root: str | None = None, tiny: bool = False,
              plans: Sequence[Path] = (), out_root: Path | None = None, models: Sequence[str] = MODELS,
              epoch: bool = True, compiles: Sequence[bool] = (False, True), data_paths: bool = False,
              size: CheckSize | None = None) -> Path:
    """The whole check; returns the README it wrote. ``tiny``: the test size (:data:`TINY_SIZE`); ``size``: another
    (a CPU's short measurement at 224 px); ``compiles``: which of eager / compiled to measure; ``data_paths``: also
    :func:`data_path_speeds` (at 64 px)."""
    from fer_lib.scales import default_device

    device = device or default_device()
    size = size or (TINY_SIZE if tiny else PAPER_SIZE)
    t0 = time.perf_counter()
    print(f"gpu-check on {device_name(device)}: {size}", flush=True)
    speeds = throughput_table(size, device, models, compiles)
    fastest = speeds.dropna(subset=["images_per_s"]) if "images_per_s" in speeds else speeds.iloc[0:0]
    pcnn = fastest[fastest["model"] == "pcnn"].sort_values("images_per_s")
    best = pcnn.iloc[-1] if len(pcnn) else None
    epoch_row = None
    if epoch:
        precision = str(best["precision"]) if best is not None else "fp32"
        compiled = bool(best["compile"]) if best is not None else False
        epoch_row = paper_epoch(size, device, data_root, precision, compiled)
        print(f"one paper epoch: {epoch_row['train_images']} images in {epoch_row['epoch_seconds']:.1f} s", flush=True)
    plan = read_plans(plans)
    projection = project(plan, speeds) if len(plan) else pd.DataFrame()
    paths = None
    if data_paths:
        paths = (data_path_speeds(device, models, image_size=size.image_size, batch_size=size.batch_size,
                                  steps=size.steps, repeats=1) if tiny else data_path_speeds(device, models))
    out_dir = (out_root or results_root() / "gpu") / (device_slug(device_name(device)) + ("-tiny" if tiny else ""))
    path = write_report(out_dir, device, size, speeds, epoch_row, projection, time.perf_counter() - t0, paths)
    print(f"wrote {path}", flush=True)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_lib.gpu_check", description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    parser.add_argument("--data-root", default=None, help="a folder holding fer2013/ (else SynthFER)")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (tests, CPU)")
    parser.add_argument("--plans", nargs="*", default=[str(runs_root() / "dry-run"), str(results_root() / "gpu")],
                        help="dry-run plan files or folders (searched for plan/*.csv); default: runs/dry-run, "
                             "then the committed results/gpu/plan")
    parser.add_argument("--data-paths-only", action="store_true",
                        help="only the data-path comparison (64 px), into results/gpu/<device>/data_paths.*")
    parser.add_argument("--path-accuracy", action="store_true",
                        help="only train --model through each data path for every seed and compare test accuracy, "
                             "into results/gpu/<device>/data_path_accuracy.* (hours on a CPU: one training per path "
                             "and seed)")
    parser.add_argument("--seeds", default="0,1,2", help="with --path-accuracy")
    parser.add_argument("--epochs", type=int, default=2, help="with --path-accuracy (0: the recipe's)")
    parser.add_argument("--paths", default="in-memory,device-side",
                        help="with --path-accuracy: the data paths compared, the first is the reference")
    parser.add_argument("--collect-plans", action="store_true",
                        help="only copy runs/dry-run/<paper>/plan/*.csv to results/gpu/plan/ and stop")
    parser.add_argument("--out", default=None, help="default: results/gpu")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--no-epoch", action="store_true", help="skip the one-epoch check")
    parser.add_argument("--size", default=None, metavar="PX,BATCH,STEPS,EPOCH_IMAGES",
                        help="another measurement size than the paper's 224,256,8,all (e.g. 224,16,2,64 on a CPU)")
    parser.add_argument("--no-compile", action="store_true", help="measure eager mode only")
    parser.add_argument("--data-paths", action="store_true",
                        help="also compare the per-image, in-memory and device-side data paths (64 px)")
    args = parser.parse_args(argv)
    if args.data_paths_only:
        run_data_paths(args.device or "cpu", Path(args.out) if args.out else None, models=args.models.split(","))
        return 0
    if args.path_accuracy:
        paths = args.paths.split(",")
        run_path_accuracy(args.data_root, model=args.models.split(",")[0],
                          seeds=[int(s) for s in args.seeds.split(",")], epochs=args.epochs or None, paths=paths,
                          reference=paths[0], device=args.device or "cpu",
                          out_root=Path(args.out) if args.out else None)
        return 0
    if args.collect_plans:
        for path in collect_plans(runs_root() / "dry-run", Path(args.out) if args.out else results_root() / "gpu"):
            print(f"wrote {path}")
        return 0
    run_check(args.device, args.data_root, args.tiny, [Path(p) for p in args.plans],
              Path(args.out) if args.out else None, args.models.split(","), epoch=not args.no_epoch,
              compiles=(False,) if args.no_compile else (False, True), data_paths=args.data_paths,
              size=_parse_size(args.size))
    return 0


def _parse_size(text: str | None) -> CheckSize | None:
    if not text:
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise SystemExit(f"--size takes PX,BATCH,STEPS,EPOCH_IMAGES (EPOCH_IMAGES may be 'all'), got {text!r}")
    px, batch, steps, images = parts
    return CheckSize(int(px), int(batch), int(steps), None if images == "all" else int(images))


if __name__ == "__main__":
    sys.exit(main())

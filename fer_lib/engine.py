"""Training and evaluation loops, checkpoints with resume, and the run cache.

- :class:`TrainConfig` holds a recipe (optimiser, schedule, epochs, batch size, seed ...).
- :func:`fit` trains a model, writes ``metrics.csv`` and a checkpoint every epoch into ``run_dir`` and
  resumes from that checkpoint after an interruption. Every epoch re-seeds all generators from
  ``(seed, epoch)``, so a resumed run ends with exactly the weights of an uninterrupted one on CPU.
- :func:`evaluate` returns predictions, probabilities and metrics.
- A :class:`Task` says what :func:`fit` measures besides the loss: :data:`CLASSIFICATION` (accuracy, the
  default) or a regression's error (POSTER's landmark regressor: :mod:`fer_lib.protocols.landmarks`).

The run cache (a trained model per specification, under ``runs/``) is built on :func:`fit` in
:mod:`fer_lib.runs`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from fer_lib import metrics as M
from fer_lib.io import atomic_save, atomic_write_json, atomic_write_text
from fer_lib.models.outputs import logits_of

#: ``sam_adam``: sharpness-aware minimisation around Adam (:class:`fer_lib.optim.SAM`, radius ``sam_rho``; POSTER).
OPTIMIZERS = ("sgd", "adam", "adamw", "sam_adam")
SCHEDULERS = ("none", "step", "exponential", "cosine", "onecycle")
#: Numeric precision of the forward/backward pass: fp32, or autocast to bfloat16 / float16 (float16 on CUDA only,
#: with a gradient scaler). Weights and optimiser state stay fp32.
PRECISIONS = ("fp32", "bf16", "fp16")
#: The autocast dtype of each reduced precision (fp32: no autocast).
AUTOCAST_DTYPES: dict[str, torch.dtype] = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclasses.dataclass
class TrainConfig:
    """A training recipe. Defaults are PCNN's (SGD 0.01, momentum 0.9, wd 1e-4, StepLR 15 x 0.5)."""

    epochs: int = 100
    batch_size: int = 256
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = False
    scheduler: str = "step"
    step_size: int = 15
    gamma: float = 0.5
    seed: int = 0
    num_workers: int = 0
    device: str = "cpu"
    precision: str = "fp32"
    channels_last: bool = False
    grad_clip: float | None = None
    max_batches_per_epoch: int | None = None
    eval_batch_size: int | None = None
    soft_labels: bool = False
    progress: bool = True
    #: Train through ``torch.compile(model)`` (the weights and checkpoints are the plain module's).
    compile: bool = False
    #: SAM's neighbourhood radius (``optimizer="sam_adam"`` only).
    sam_rho: float = 0.05

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; expected one of {OPTIMIZERS}")
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {self.scheduler!r}; expected one of {SCHEDULERS}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; expected one of {PRECISIONS}")
        if self.optimizer.startswith("sam") and self.precision == "fp16":
            raise ValueError("SAM takes two gradients a step, which fp16's gradient scaler does not: use bf16 or fp32")
        if self.precision == "fp16" and not str(self.device).startswith("cuda"):
            raise ValueError("precision 'fp16' needs a CUDA device; use 'bf16' or 'fp32' on a CPU")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be positive")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def identity(self) -> dict[str, Any]:
        """The fields that change the trained weights (not device, workers, memory layout or progress bars)."""
        skip = {"device", "num_workers", "progress", "eval_batch_size", "channels_last", "compile"}
        if not self.optimizer.startswith("sam"):
            skip.add("sam_rho")  # it changes nothing without SAM (and older run-cache keys never had it)
        return {k: v for k, v in self.to_dict().items() if k not in skip}


@dataclasses.dataclass
class TrainResult:
    """What :func:`fit` returns: the per-epoch history and where the run lives."""

    history: pd.DataFrame
    run_dir: Path | None
    #: Training time of the whole run: across resumes, the time of the epochs kept in its checkpoints.
    wall_seconds: float
    resumed_from_epoch: int = 0
    from_cache: bool = False


# -- helpers ------------------------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) generators."""
    random.seed(seed)
    np.random.seed(seed % (2**32))  # noqa: NPY002 -- third-party augmentations draw from the legacy global RNG
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7_919) % (2**31 - 1)


def to_device(obj: Any, device: torch.device | str) -> Any:
    """Move tensors (also inside dicts, lists and tuples) to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a NamedTuple (a structured input or output)
        return type(obj)(*(to_device(v, device) for v in obj))
    if isinstance(obj, list | tuple):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


def _default_loss(output: Any, target: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(logits_of(output), target)


# -- what fit measures -------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Task:
    """What :func:`fit` measures besides the loss.

    ``batch_total(output, target)`` is a per-sample training metric summed over a batch (``fit`` reports its
    mean over the epoch as ``record[metric]``, e.g. ``train_accuracy`` in %); ``validate(model, val_set, cfg)``
    gives the metrics of a validation set after each epoch (keys starting ``val_``).
    """

    metric: str
    batch_total: Callable[[Any, torch.Tensor], float]
    validate: Callable[[nn.Module, Dataset, TrainConfig], dict[str, float]]


def _correct_percent(output: Any, target: torch.Tensor) -> float:
    hard = target.argmax(1) if target.ndim > 1 else target
    return 100.0 * int((logits_of(output).detach().argmax(1) == hard).sum())


def _validate_classification(model: nn.Module, val_set: Dataset, cfg: TrainConfig) -> dict[str, float]:
    res = evaluate(model, val_set, cfg.eval_batch_size or cfg.batch_size, cfg.device, num_workers=cfg.num_workers)
    return {"val_accuracy": res["accuracy"], "val_mean_class_accuracy": res["mean_class_accuracy"]}


#: The default task: accuracy of the logits (hard or soft targets), on training batches and a validation set.
CLASSIFICATION = Task("train_accuracy", _correct_percent, _validate_classification)


def _second_gradient(forward, loss_fn, x, y, model: nn.Module, cfg: TrainConfig, device, autocast_dtype
                     ) -> torch.Tensor:
    """SAM's closure: the loss and its gradients at the perturbed weights (same batch, same precision)."""
    with torch.autocast(device_type=device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        loss = loss_fn(forward(x), y)
    loss.backward()
    if cfg.grad_clip:
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    return loss


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                               nesterov=cfg.nesterov)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sam_adam":
        from fer_lib.optim import SAM

        return SAM(params, torch.optim.Adam, rho=cfg.sam_rho, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int):
    """The scheduler and whether it steps per batch (``True``) or per epoch."""
    if cfg.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma), False
    if cfg.scheduler == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.gamma), False
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs), False
    if cfg.scheduler == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.25
        )
        return sched, True
    return None, False


def _loader(dataset: Dataset, batch_size: int, shuffle: bool, num_workers: int, seed: int = 0,
            pin_memory: bool = False) -> DataLoader:
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        generator=generator,
        drop_last=False,
        persistent_workers=False,
        pin_memory=pin_memory,
        prefetch_factor=4 if num_workers else None,
    )


def iterate_batches(dataset: Dataset, batch_size: int, shuffle: bool, seed: int = 0, num_workers: int = 0,
                    device: str | torch.device = "cpu", augment: bool = True) -> Iterator[Sequence]:
    """The batches of ``dataset`` in a seeded order: a dataset with a ``batches`` method (held in memory,
    augmented per batch: :class:`fer_lib.data.memory.InMemoryImages`) yields them itself, on ``device``;
    any other goes through a ``DataLoader`` (pinned memory when ``device`` is a GPU)."""
    if hasattr(dataset, "batches"):
        generator = torch.Generator().manual_seed(seed)
        yield from dataset.batches(batch_size, shuffle=shuffle, generator=generator, device=device, augment=augment)
    else:
        yield from _loader(dataset, batch_size, shuffle, num_workers, seed=seed,
                           pin_memory=torch.device(device).type == "cuda")


def _split_batch(batch: Sequence, soft_labels: bool) -> tuple[Any, torch.Tensor]:
    x, y = batch[0], batch[1]
    if soft_labels:
        if len(batch) < 3 or "soft_label" not in batch[2]:
            raise ValueError("soft_labels=True needs a dataset built with return_meta=True giving 'soft_label'")
        y = batch[2]["soft_label"].float()
    return x, y


# -- evaluation ---------------------------------------------------------------------------------
@torch.no_grad()
def predict(
    model: nn.Module,
    dataset: Dataset,
    batch_size: int = 128,
    device: str | torch.device = "cpu",
    num_workers: int = 0,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax probabilities ``[N, C]`` and targets ``[N]`` of ``model`` on ``dataset`` (in order)."""
    model.eval().to(device)
    probs, targets = [], []
    batches = iterate_batches(dataset, batch_size, shuffle=False, num_workers=num_workers, device=device,
                              augment=False)
    for batch in tqdm(batches, desc="evaluate", leave=False, disable=not progress,
                      total=math.ceil(len(dataset) / batch_size)):
        x = to_device(batch[0], device)
        logits = logits_of(model(x)).float()
        probs.append(torch.softmax(logits, dim=1).cpu().numpy())
        targets.append(np.asarray(batch[1].cpu() if isinstance(batch[1], torch.Tensor) else batch[1]))
    return np.concatenate(probs), np.concatenate(targets).astype(np.int64)


def embed(
    model: nn.Module,
    dataset: Dataset,
    field: str = "embedding",
    batch_size: int = 128,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """The feature ``field`` of ``model``'s structured output for every sample of ``dataset`` (in order), flattened
    to ``[N, D]``, and the targets ``[N]``: e.g. CM-CNN's fused embedding ``f_v`` (its Fig. 7's tSNE input)."""
    model.eval().to(device)
    features, targets = [], []
    with torch.no_grad():
        for batch in iterate_batches(dataset, batch_size, shuffle=False, num_workers=0, device=device, augment=False):
            output = model(to_device(batch[0], device))
            if not hasattr(output, field):
                raise ValueError(f"{type(model).__name__}'s output has no field {field!r} "
                                 f"(it is a {type(output).__name__})")
            features.append(getattr(output, field).float().flatten(1).cpu().numpy())
            targets.append(np.asarray(batch[1].cpu() if isinstance(batch[1], torch.Tensor) else batch[1]))
    return np.concatenate(features), np.concatenate(targets).astype(np.int64)


def evaluate(
    model: nn.Module,
    dataset: Dataset,
    batch_size: int = 128,
    device: str | torch.device = "cpu",
    classes: Sequence[str] | None = None,
    num_workers: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Metrics of ``model`` on ``dataset``: the :func:`fer_lib.metrics.summarize` dict plus
    ``predictions``, ``targets`` and ``probabilities`` arrays."""
    probs, targets = predict(model, dataset, batch_size, device, num_workers, progress)
    classes = list(classes if classes is not None else getattr(dataset, "classes", range(probs.shape[1])))
    preds = probs.argmax(axis=1)
    out = M.summarize(targets, preds, [str(c) for c in classes])
    out.update(predictions=preds, targets=targets, probabilities=probs)
    return out


# -- training -----------------------------------------------------------------------------------
CHECKPOINT = "checkpoint.pt"
FINAL_WEIGHTS = "model.pt"


def epoch_summary(record: Mapping[str, Any], total_epochs: int) -> str:
    """One line for an epoch's ``record`` from :func:`fit`, e.g. ``epoch 2/3: loss 1.234, train 45.6%, ...``."""
    parts = [f"loss {record['train_loss']:.4f}"]
    if "train_accuracy" in record:
        parts.append(f"train {record['train_accuracy']:.2f}%")
    parts += [f"{key.replace('_', ' ')} {value:.3f}" for key, value in record.items()
              if key.startswith("train_") and key not in ("train_loss", "train_accuracy")]
    if "val_accuracy" in record:
        parts.append(f"val {record['val_accuracy']:.2f}%")
    parts += [f"{key.replace('_', ' ')} {value:.3f}" for key, value in record.items()
              if key.startswith("val_") and "accuracy" not in key]
    parts += [f"lr {record['lr']:.3g}", f"{record['epoch_seconds']:.1f} s"]
    if record.get("epoch_seconds") and "data_seconds" in record:
        parts.append(f"data {100 * record['data_seconds'] / record['epoch_seconds']:.0f}%")
    return f"epoch {record['epoch']}/{total_epochs}: " + ", ".join(parts)


def _save_checkpoint(path: Path, model, optimizer, scheduler, scaler, epoch: int, history: list, cfg,
                     wall_seconds: float) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else {},
        "scaler": scaler.state_dict() if scaler is not None else {},
        "epoch": epoch,
        "history": json.dumps(history),
        "config": json.dumps(cfg.identity(), sort_keys=True),
        "wall_seconds": float(wall_seconds),
    }
    atomic_save(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`fit` (``weights_only=True``: no code is unpickled)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def fit(
    model: nn.Module,
    train_set: Dataset,
    cfg: TrainConfig,
    val_set: Dataset | None = None,
    run_dir: str | os.PathLike | None = None,
    loss_fn: Callable[[Any, torch.Tensor], torch.Tensor] | None = None,
    callbacks: Iterable[Callable[[int, dict], None]] = (),
    task: Task = CLASSIFICATION,
) -> TrainResult:
    """Train ``model`` on ``train_set`` with recipe ``cfg``.

    With ``run_dir`` it writes ``metrics.csv`` (one row per epoch), ``checkpoint.pt`` (every epoch)
    and, at the end, ``model.pt`` (the final state dict); a ``checkpoint.pt`` already there from the
    same recipe is resumed. ``loss_fn(output, target)`` defaults to cross-entropy on the logits;
    ``callbacks`` are called as ``cb(epoch, record)`` after every epoch (an exception there
    interrupts training after the epoch's checkpoint is written). ``task`` says what else is measured
    (:data:`CLASSIFICATION`: accuracy).
    """
    device = torch.device(cfg.device)
    autocast_dtype = AUTOCAST_DTYPES.get(cfg.precision)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    loss_fn = loss_fn or _default_loss
    run_path = Path(run_dir) if run_dir is not None else None
    if run_path is not None:
        run_path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_path / "train_config.json", cfg.to_dict())

    seed_everything(cfg.seed)
    model.to(device, memory_format=memory_format)
    forward = torch.compile(model) if cfg.compile else model
    optimizer = build_optimizer(model, cfg)
    steps = math.ceil(len(train_set) / cfg.batch_size)
    if cfg.max_batches_per_epoch:
        steps = min(steps, cfg.max_batches_per_epoch)
    scheduler, per_batch = build_scheduler(optimizer, cfg, steps)
    scaler = torch.amp.GradScaler("cuda") if cfg.precision == "fp16" else None

    history: list[dict[str, Any]] = []
    start_epoch = 0
    earlier_seconds = 0.0  # training time spent before a resume
    ckpt_path = run_path / CHECKPOINT if run_path is not None else None
    if ckpt_path is not None and ckpt_path.is_file():
        state = load_checkpoint(ckpt_path)
        if json.loads(state["config"]) != json.loads(json.dumps(cfg.identity(), sort_keys=True)):
            raise ValueError(
                f"{ckpt_path} was written by another recipe; delete {run_path} or pass another run_dir to retrain"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state["scheduler"]:
            scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state["scaler"]:
            scaler.load_state_dict(state["scaler"])
        start_epoch = int(state["epoch"])
        history = json.loads(state["history"])
        # Checkpoints from before this field existed: the epochs' own times are the best estimate.
        earlier_seconds = float(state.get("wall_seconds", sum(r.get("epoch_seconds", 0.0) for r in history)))

    t0 = time.perf_counter()
    epochs = tqdm(range(start_epoch, cfg.epochs), desc="train", initial=start_epoch, total=cfg.epochs,
                  disable=not cfg.progress)
    for epoch in epochs:
        # Re-seed from (seed, epoch): the shuffle order, augmentations and dropout of an epoch do not
        # depend on whether the run was resumed.
        epoch_seed = _epoch_seed(cfg.seed, epoch)
        seed_everything(epoch_seed)
        batches = iterate_batches(train_set, cfg.batch_size, True, epoch_seed, cfg.num_workers, device)
        model.train()
        t_epoch = time.perf_counter()
        total_loss, total_metric, total_seen, data_seconds = 0.0, 0.0, 0, 0.0
        bar = tqdm(total=steps, desc=f"epoch {epoch + 1}", leave=False, disable=not cfg.progress)
        for step in range(steps):
            # The data path's share of a step is measured: waiting for the batch and moving it to the device.
            t_data = time.perf_counter()
            batch = next(batches, None)
            if batch is None:
                break
            x, y = _split_batch(batch, cfg.soft_labels)
            x, y = to_device(x, device), to_device(y, device)
            if cfg.channels_last and isinstance(x, torch.Tensor) and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            data_seconds += time.perf_counter() - t_data
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                output = forward(x)
                loss = loss_fn(output, y)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite loss {loss.item()} at epoch {epoch + 1}, step {step}")
            if scaler is not None:
                scaler.scale(loss).backward()
                if cfg.grad_clip:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                if cfg.grad_clip:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                if cfg.optimizer.startswith("sam"):
                    optimizer.step(functools.partial(_second_gradient, forward, loss_fn, x, y, model, cfg, device,
                                                     autocast_dtype))
                else:
                    optimizer.step()
            if scheduler is not None and per_batch:
                scheduler.step()
            n = len(y)
            total_loss += float(loss.detach()) * n
            total_metric += task.batch_total(output, y)
            total_seen += n
            bar.update()
        bar.close()
        lr = optimizer.param_groups[0]["lr"]
        if scheduler is not None and not per_batch:
            scheduler.step()
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_loss": total_loss / max(total_seen, 1),
            task.metric: total_metric / max(total_seen, 1),
            "epoch_seconds": time.perf_counter() - t_epoch,
            "data_seconds": data_seconds,
        }
        if val_set is not None:
            record.update(task.validate(model, val_set, cfg))
        history.append(record)
        epochs.set_postfix({k: round(v, 3) for k, v in record.items()
                            if k in ("train_loss", "val_accuracy", "val_nme")})
        if cfg.progress:
            # A plain line as well as the bar: papermill's log (make reproduce) shows text, not notebook widgets.
            tqdm.write(epoch_summary(record, cfg.epochs))
        if run_path is not None:
            atomic_write_text(run_path / "metrics.csv", pd.DataFrame(history).to_csv(index=False))
            _save_checkpoint(ckpt_path, model, optimizer, scheduler, scaler, epoch + 1, history, cfg,
                             earlier_seconds + time.perf_counter() - t0)
        for cb in callbacks:
            cb(epoch + 1, record)

    if run_path is not None:
        atomic_save(run_path / FINAL_WEIGHTS, lambda tmp: torch.save(model.state_dict(), tmp))
    return TrainResult(
        history=pd.DataFrame(history),
        run_dir=run_path,
        wall_seconds=earlier_seconds + time.perf_counter() - t0,
        resumed_from_epoch=start_epoch,
    )

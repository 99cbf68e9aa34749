"""Benchmark every registered model against torchvision ResNet-18, in one process (``make bench``).

For each model: parameters, MACs (fvcore, batch 1), batch-1 inference latency (mean and std),
inference throughput and training throughput (SGD steps with momentum, forward + backward +
update) at ``--batch``, all on random inputs of ``--size`` pixels. torchvision's ResNet-18 is
timed first and again last and the mean of the two is the reference, so slow drift of the
machine's load affects both sides alike.

Both ratio columns read "times the cost of ResNet-18" (above 1 = slower):
``latency_ratio_vs_resnet18 = latency / latency_resnet18`` and
``train_ratio_vs_resnet18 = train_items_per_s_resnet18 / train_items_per_s``.

The CSV (default ``results/bench.csv``) is written atomically (temporary file + ``os.replace``).
A model that fails to build or run at the chosen size gets a row with the error in ``note``.

Usage: ``python scripts/bench.py [--size 112] [--batch 8] [--quick] [--models manet,pcnn] [--device cuda]``
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fer_lib import complexity as cx
from fer_lib.io import atomic_open, results_root
from fer_lib.models import create_model, list_models, model_options
from fer_lib.models.outputs import output_tensors
from fer_lib.results import device_name, git_commit

REFERENCE = "torchvision_resnet18"
COLUMNS = [
    "model", "input_size", "batch_size", "params_m", "gmacs", "latency_ms_mean", "latency_ms_std",
    "train_items_per_s", "infer_items_per_s", "latency_ratio_vs_resnet18", "train_ratio_vs_resnet18",
    "device", "torch_version", "git_commit", "note",
]  # fmt: skip
_SIZE_OPTIONS = ("input_size", "img_size", "image_size")


def build(name: str, size: int, num_classes: int) -> nn.Module:
    """The model ``name`` (or the torchvision ResNet-18 reference), configured for ``size`` when it takes a size."""
    if name == REFERENCE:
        from torchvision.models import resnet18

        return resnet18(weights=None, num_classes=num_classes)
    options = set(model_options(name))
    cfg = {opt: size for opt in _SIZE_OPTIONS if opt in options}
    return create_model(name, num_classes=num_classes, **cfg)


def _loss(output: Any, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Cross-entropy on every ``[B, num_classes]`` tensor of the output (so every head is trained)."""
    tensors = output_tensors(output)
    heads = [t for t in tensors if t.dim() == 2 and t.shape == (target.shape[0], num_classes)]
    if not heads:
        raise ValueError(f"no [B, {num_classes}] logits in the model output")
    return sum(nn.functional.cross_entropy(t.float(), target) for t in heads)


def measure(name: str, args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """One row of the benchmark (ratios filled in later)."""
    row: dict[str, Any] = {"model": name, "input_size": args.size, "batch_size": args.batch, "note": ""}
    try:
        torch.manual_seed(0)
        model = build(name, args.size, args.num_classes)
        row["params_m"] = cx.count_parameters(model)[0] / 1e6
        if not args.no_macs:
            example = torch.randn(1, 3, args.size, args.size)
            row["gmacs"] = cx.fvcore_macs(model, example) / 1e9
        model.to(device)
        row["latency_ms_mean"], row["latency_ms_std"] = cx.measure_latency(
            model, (3, args.size, args.size), device, warmup=args.warmup, runs=args.runs
        )
        row["infer_items_per_s"] = cx.measure_throughput(
            model, (3, args.size, args.size), args.batch, device, warmup=1, runs=max(2, args.steps)
        )
        row["train_items_per_s"] = cx.measure_training_throughput(
            model, (3, args.size, args.size), args.batch, device,
            loss_fn=lambda output, target: _loss(output, target, args.num_classes), warmup=1, steps=args.steps,
            num_classes=args.num_classes, weight_decay=1e-4,
        )
    except Exception as err:  # noqa: BLE001 - one broken model must not stop the benchmark
        row["note"] = f"{type(err).__name__}: {err}".replace("\n", " ")[:300]
        if args.verbose:
            traceback.print_exc()
    return row


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Measure the reference, every selected model, and the reference again; return the CSV rows."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    names = args.models.split(",") if args.models else list_models()
    unknown = sorted(set(names) - set(list_models()))
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; registered: {', '.join(list_models())}")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    log(f"bench: {len(names)} model(s) at {args.size}px, batch {args.batch}, on {device_name(str(device))}")
    ref_first = measure(REFERENCE, args, device)
    rows = []
    for name in names:
        t0 = time.perf_counter()
        rows.append(measure(name, args, device))
        log(f"  {name:<24} {time.perf_counter() - t0:6.1f} s  {rows[-1]['note'] or 'ok'}")
    ref_last = measure(REFERENCE, args, device)
    ref = dict(ref_first)
    for key in ("latency_ms_mean", "train_items_per_s", "infer_items_per_s"):
        values = [r[key] for r in (ref_first, ref_last) if r.get(key) is not None]
        ref[key] = statistics.fmean(values) if values else None
    ref["latency_ms_std"] = ref_first.get("latency_ms_std")
    ref["note"] = "reference: mean of a run before and after the other models"
    rows.insert(0, ref)

    common = {"device": device_name(str(device)), "torch_version": torch.__version__, "git_commit": git_commit()}
    for row in rows:
        row.update(common)
        row["latency_ratio_vs_resnet18"] = _ratio(row.get("latency_ms_mean"), ref.get("latency_ms_mean"))
        row["train_ratio_vs_resnet18"] = _ratio(ref.get("train_items_per_s"), row.get("train_items_per_s"))
    return rows


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0 or math.isnan(num) or math.isnan(den):
        return None
    return num / den


def _fmt(value: Any) -> Any:
    return f"{value:.4g}" if isinstance(value, float) else ("" if value is None else value)


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Write ``rows`` to ``path`` atomically: a partial file never replaces a previous one."""
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _fmt(row.get(c)) for c in COLUMNS})
    return path


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=112, help="input side in pixels (default 112)")
    p.add_argument("--batch", type=int, default=8, help="batch size for training/inference throughput")
    p.add_argument("--steps", type=int, default=5, help="timed SGD steps per model")
    p.add_argument("--runs", type=int, default=20, help="timed batch-1 inference runs per model")
    p.add_argument("--warmup", type=int, default=3, help="warm-up runs before timing")
    p.add_argument("--models", default="", help="comma-separated subset of the registered models")
    p.add_argument("--device", default="", help="cpu / cuda (default: cuda when available)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--num-classes", type=int, default=7)
    p.add_argument("--no-macs", action="store_true", help="skip the fvcore MAC count")
    p.add_argument("--quick", action="store_true", help="a fast smoke run: size 64, batch 4, 2 steps, 3 runs")
    p.add_argument("--output", type=Path, default=None, help="CSV path (default results/bench.csv)")
    p.add_argument("--verbose", action="store_true", help="print tracebacks of failing models")
    args = p.parse_args(argv)
    if args.quick:
        args.size, args.batch, args.steps, args.runs, args.warmup = 64, 4, 2, 3, 1
    if args.output is None:
        args.output = results_root() / "bench.csv"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rows = run(args)
    path = write_csv(rows, args.output)
    print(f"bench: wrote {path}")
    for row in rows:
        print(
            f"  {row['model']:<24} {_fmt(row.get('params_m')):>8} M  {_fmt(row.get('gmacs')):>7} GMACs  "
            f"latency {_fmt(row.get('latency_ms_mean'))} ms (x{_fmt(row.get('latency_ratio_vs_resnet18'))})  "
            f"train {_fmt(row.get('train_items_per_s'))} it/s (x{_fmt(row.get('train_ratio_vs_resnet18'))})"
            + (f"  [{row['note']}]" if row.get("note") and row["model"] != REFERENCE else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

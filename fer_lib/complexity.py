"""Model complexity: parameters, MACs (thop and fvcore), batch-1 latency and throughput.

:func:`profile` gathers everything a complexity table needs for one model. The pieces are public
so notebooks can use them alone:

- :func:`count_parameters` (total, trainable) and :func:`count_used_parameters` (only the
  parameters of modules that actually run in a forward pass: a model may register layers it never
  calls, e.g. the unused ``fc`` and ``layer4`` of a ResNet kept only for its trunk);
- :func:`thop_macs` and :func:`fvcore_macs`. thop sums per-module forward hooks (so it misses
  functional ops: matmuls in attention, interpolation, ``grid_sample``); fvcore traces the graph
  and counts what runs, attention matmuls included. Both count one multiply-add as one "op";
- :func:`measure_latency` (batch 1, warm-up then timed runs; CUDA events on a GPU) and
  :func:`measure_throughput` (items per second at a given batch size, inference);
- :func:`thop_with_double_registration` re-creates the counting artefact behind PCNN's Table X
  (see its docstring and ``fer_lib/papers/discrepancies.md``).

thop writes ``total_ops``/``total_params`` buffers into every module and can leave hooks behind,
so every counter here works on a deep copy; the caller's model is never modified.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import statistics
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from fer_lib.models.outputs import TensorOutput

__all__ = [
    "count_parameters",
    "count_used_parameters",
    "double_register",
    "fvcore_macs",
    "measure_latency",
    "measure_throughput",
    "measure_training_throughput",
    "profile",
    "resnet_trunk_modules",
    "thop_macs",
    "thop_with_double_registration",
]


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------
def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(total, trainable) registered parameters, each shared tensor counted once."""
    params = list(model.parameters())  # nn.Module.parameters() already de-duplicates shared tensors
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def count_used_parameters(model: nn.Module, example: torch.Tensor | Sequence[torch.Tensor]) -> int:
    """Parameters of the modules that run in one forward pass on ``example``.

    Every module whose ``forward`` is called contributes its own (non-recursive) parameters, so a
    module called twice, or reachable under two parents, counts once, and registered layers that
    never run count zero. Parameters read directly by another module's code (not through a module
    call) are not seen.
    """
    inputs = _as_tuple(example)
    seen: dict[int, int] = {}
    handles = []

    def hook(module: nn.Module, _args: Any, _out: Any) -> None:
        for p in module.parameters(recurse=False):
            seen[id(p)] = p.numel()

    for m in model.modules():
        handles.append(m.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return sum(seen.values())


# --------------------------------------------------------------------------------------------
# MACs
# --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence stdout, warnings and the fvcore/iopath loggers (thop and fvcore are chatty)."""
    loggers = [logging.getLogger(n) for n in ("fvcore", "fvcore.nn.jit_analysis", "iopath")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _as_tuple(example: torch.Tensor | Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    return (example,) if isinstance(example, torch.Tensor) else tuple(example)


def thop_macs(model: nn.Module, example: torch.Tensor | Sequence[torch.Tensor]) -> tuple[float, float]:
    """(MACs, parameters) as ``thop.profile`` reports them, computed on a deep copy of ``model``.

    thop's parameter figure is the parameters of hooked leaf modules that ran, counted once per
    path from the root to the module (see :func:`thop_with_double_registration`).
    """
    with _quiet():
        import thop

        work = copy.deepcopy(model)
        macs, params = thop.profile(work, inputs=_as_tuple(example), verbose=False)
    return float(macs), float(params)


def fvcore_macs(model: nn.Module, example: torch.Tensor | Sequence[torch.Tensor]) -> float:
    """MACs traced by fvcore's ``FlopCountAnalysis`` (one fused multiply-add = 1), on a deep copy.

    The model is wrapped to return all the tensors of its output
    (:class:`fer_lib.models.outputs.TensorOutput` with ``mode="all"``), so structured outputs trace and
    every branch is kept. Counts conv, linear, matmul/bmm/einsum (attention), norms, upsampling
    and ``grid_sample``; element-wise ops are not counted.
    """
    with _quiet():
        from fvcore.nn import FlopCountAnalysis

        work = TensorOutput(copy.deepcopy(model), mode="all").eval()
        with torch.no_grad():
            analysis = FlopCountAnalysis(work, _as_tuple(example))
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            total = analysis.total()
    return float(total)


def double_register(model: nn.Module, shared: Iterable[str]) -> nn.Module:
    """A deep copy of ``model`` in which each submodule named in ``shared`` has a second parent.

    For each name, a container holding the same child modules (not copies) is attached to the
    copy's root, as the PCNN authors' code does when it keeps a full ``torchvision`` ResNet and
    also a ``nn.Sequential`` built from that ResNet's layers. The forward pass is unchanged (the
    extra container is never called); only module-tree walks see the layers twice.
    """
    work = copy.deepcopy(model)
    for i, name in enumerate(shared):
        module = work.get_submodule(name)
        children = list(module.children())
        alias = nn.Sequential(*children) if children else nn.Sequential(module)
        work.add_module(f"_second_parent_{i}_{name.replace('.', '_')}", alias)
    return work


def _is_residual_block(module: nn.Module) -> bool:
    from torchvision.models.resnet import BasicBlock, Bottleneck

    return isinstance(module, (BasicBlock, Bottleneck))


def _is_stage(module: nn.Module) -> bool:
    children = list(module.children())
    return isinstance(module, nn.Sequential) and bool(children) and all(_is_residual_block(c) for c in children)


def _is_trunk(module: nn.Module) -> bool:
    children = list(module.children())
    has_stem = any(isinstance(c, nn.Conv2d) and c.kernel_size == (7, 7) for c in children)
    return has_stem and any(_is_stage(c) for c in children)


def resnet_trunk_modules(model: nn.Module) -> list[str]:
    """Names of the ResNet pieces of ``model``: what the PCNN authors' code registers twice.

    A *trunk* is a module whose direct children include a 7x7 stem convolution and a stage of
    torchvision residual blocks (a ``torchvision`` ResNet, or a ``Sequential`` of its stem and
    stages); a *stage* outside any trunk (e.g. a ``layer4`` kept as a refinement network) is
    listed on its own. Nested matches are not repeated.
    """
    names: list[str] = []
    for name, module in model.named_modules():
        if not name or any(name.startswith(n + ".") for n in names):
            continue
        if _is_trunk(module) or _is_stage(module):
            names.append(name)
    return names


def thop_with_double_registration(
    model: nn.Module,
    example: torch.Tensor | Sequence[torch.Tensor],
    shared: Iterable[str] | None = None,
) -> tuple[float, float]:
    """thop's (MACs, parameters) for ``model`` with the submodules ``shared`` registered twice.

    This reproduces by mechanism how thop inflates PCNN's Table X figures. With a layer reachable
    from the root under two parents, thop 0.1.x:

    1. installs its counting hooks through ``model.apply``, which visits the layer once per parent,
       so the layer carries two hooks and adds its MACs twice each time it runs; and
    2. sums the result by walking ``named_children`` from the root, visiting the layer again under
       each parent.

    A shared layer's MACs are therefore counted 2 x 2 = 4 times and its parameters 2 times; layers
    with a single parent are counted correctly. Nothing is hard-coded: the result follows from
    which modules are named in ``shared`` (default: :func:`resnet_trunk_modules`, the ResNet
    trunks and stages, which is what the authors' code registers twice).
    """
    if shared is None:
        shared = resnet_trunk_modules(model)
    return thop_macs(double_register(model, shared), example)


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------
def _timed_runs(model: nn.Module, inputs: tuple[torch.Tensor, ...], warmup: int, runs: int) -> list[float]:
    """Per-run wall times in milliseconds (CUDA events on a GPU, perf_counter on the CPU)."""
    cuda = inputs[0].is_cuda
    with torch.inference_mode():
        for _ in range(warmup):
            model(*inputs)
        if cuda:
            torch.cuda.synchronize(inputs[0].device)
        times = []
        for _ in range(runs):
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(*inputs)
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                model(*inputs)
                times.append((time.perf_counter() - t0) * 1000.0)
    return times


def _time_batches(model: nn.Module, input_size: Sequence[int], batch_size: int, device: str | torch.device,
                  warmup: int, runs: int) -> list[float]:
    """Milliseconds of ``runs`` timed eval-mode forward passes on a random ``[batch_size, *input_size]`` batch
    after ``warmup`` untimed ones; the model is moved to ``device`` and its training flag restored after."""
    if runs < 1:
        raise ValueError("runs must be >= 1")
    device = torch.device(device)
    x = torch.randn(batch_size, *input_size, device=device)
    was_training = model.training
    model.to(device).eval()
    try:
        return _timed_runs(model, (x,), warmup, runs)
    finally:
        model.train(was_training)


def measure_latency(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    device: str | torch.device = "cpu",
    warmup: int = 10,
    runs: int = 50,
) -> tuple[float, float]:
    """Batch-1 inference latency (mean, std) in milliseconds over ``runs`` timed runs after ``warmup``.

    The model is moved to ``device`` and put in eval mode (its training flag is restored after).
    """
    times = _time_batches(model, input_size, 1, device, warmup, runs)
    return statistics.fmean(times), (statistics.stdev(times) if len(times) > 1 else 0.0)


def measure_throughput(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    warmup: int = 2,
    runs: int = 5,
) -> float:
    """Inference throughput in items per second at ``batch_size``."""
    times = _time_batches(model, input_size, batch_size, device, warmup, runs)
    return batch_size * runs / (sum(times) / 1000.0)


def measure_training_throughput(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    loss_fn: Any = None,
    precision: str = "fp32",
    warmup: int = 1,
    steps: int = 3,
    num_classes: int = 7,
    weight_decay: float = 0.0,
) -> float:
    """Training throughput in images per second: SGD steps (forward, ``loss_fn(output, target)`` or
    cross-entropy on the logits, backward, update) on random ``[batch_size, *input_size]`` batches after
    ``warmup`` untimed steps.

    ``precision``: ``fp32`` or ``bf16`` (autocast, as the engine trains). Works on a deep copy: the model's
    weights, gradients and mode are untouched.
    """
    from fer_lib.models.outputs import logits_of

    if steps < 1:
        raise ValueError("steps must be >= 1")
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    device = torch.device(device)
    work = copy.deepcopy(model).to(device).train()
    optimizer = torch.optim.SGD(work.parameters(), lr=1e-3, momentum=0.9, weight_decay=weight_decay)
    x = torch.randn(batch_size, *input_size, device=device)
    y = torch.randint(0, num_classes, (batch_size,), device=device)
    criterion = loss_fn or (lambda out, target: nn.functional.cross_entropy(logits_of(out), target))

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = criterion(work(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return batch_size * steps / (time.perf_counter() - t0)


# --------------------------------------------------------------------------------------------
# Everything at once
# --------------------------------------------------------------------------------------------
def profile(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    device: str | torch.device = "cpu",
    warmup: int = 10,
    runs: int = 50,
    batch_size_throughput: int = 32,
    throughput_runs: int = 5,
    macs: bool = True,
    timing: bool = True,
) -> dict[str, Any]:
    """Complexity of ``model`` on inputs of shape ``[B, *input_size]``.

    Returns a dict with:

    - ``params_total``, ``params_trainable``: registered parameters (shared tensors once);
    - ``params_used``: parameters of the modules that run in a forward pass;
    - ``macs_thop``, ``params_thop``: what ``thop.profile`` reports at batch 1;
    - ``macs_fvcore``: MACs traced by fvcore at batch 1 (counts attention matmuls; the figure to
      trust when the two disagree);
    - ``latency_ms_mean``, ``latency_ms_std``: batch-1 latency over ``runs`` runs after ``warmup``;
    - ``throughput_items_per_s`` at ``batch_size_throughput`` (inference);
    - ``input_size``, ``device``, ``runs``, ``batch_size_throughput``.

    ``macs=False`` or ``timing=False`` skip those parts (their values are then ``None``). Use small
    ``runs``/``warmup`` (e.g. 2/1) in tests. The model is not modified (MAC counters work on copies).
    """
    device = torch.device(device)
    input_size = tuple(int(s) for s in input_size)
    total, trainable = count_parameters(model)
    was_training = model.training
    # MACs and used parameters are measured on the CPU at batch 1: device-independent counts.
    cpu_model = copy.deepcopy(model).cpu().eval()
    example = torch.randn(1, *input_size)
    result: dict[str, Any] = {
        "input_size": input_size,
        "device": str(device),
        "params_total": total,
        "params_trainable": trainable,
        "params_used": count_used_parameters(cpu_model, example),
        "macs_thop": None,
        "params_thop": None,
        "macs_fvcore": None,
        "latency_ms_mean": None,
        "latency_ms_std": None,
        "throughput_items_per_s": None,
        "runs": runs,
        "batch_size_throughput": batch_size_throughput,
    }
    if macs:
        result["macs_thop"], result["params_thop"] = thop_macs(cpu_model, example)
        result["macs_fvcore"] = fvcore_macs(cpu_model, example)
    del cpu_model
    if timing:
        # Time the caller's model in place only when it already lives on ``device``.
        on_device = all(
            p.device == device or (p.device.type == device.type and device.index is None) for p in model.parameters()
        )
        timed = model if on_device else copy.deepcopy(model)
        mean, std = measure_latency(timed, input_size, device, warmup, runs)
        result["latency_ms_mean"], result["latency_ms_std"] = mean, std
        result["throughput_items_per_s"] = measure_throughput(
            timed, input_size, batch_size_throughput, device, warmup=min(warmup, 2), runs=throughput_runs
        )
        if timed is not model:
            del timed
        model.train(was_training)
    return result

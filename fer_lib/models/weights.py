"""Loading pretrained weights from a user-given file (fer_lib never downloads anything)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch
from torch import nn


def read_state_dict(path: str | os.PathLike, key: str | None = None) -> dict[str, torch.Tensor]:
    """Read a state dict from ``path`` with ``weights_only=True``.

    Accepts a bare state dict or a checkpoint dict holding one under ``key`` (default: the first of
    ``state_dict``, ``model``, ``model_state``); strips a ``module.`` prefix left by DataParallel.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file not found: {path}")
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(obj, Mapping):
        raise ValueError(f"{path} holds a {type(obj).__name__}, not a state dict or a checkpoint dict")
    candidates = [key] if key else ["state_dict", "model", "model_state"]
    for k in candidates:
        if k in obj and isinstance(obj[k], Mapping):
            obj = obj[k]
            break
    else:
        if key:
            raise KeyError(f"{path} has no entry {key!r}; its keys: {sorted(obj)[:20]}")
    state = {}
    for name, value in obj.items():
        if not isinstance(value, torch.Tensor):
            continue
        state[name.removeprefix("module.")] = value
    if not state:
        raise ValueError(f"{path} holds no tensors")
    return state


def load_pretrained(
    module: nn.Module,
    path: str | os.PathLike,
    key: str | None = None,
    prefix: str = "",
    skip_mismatched: bool = True,
) -> dict[str, list[str]]:
    """Load weights from ``path`` into ``module``; returns what was loaded, missing and skipped.

    ``prefix`` selects a sub-tree of the file (e.g. ``"backbone."``). Tensors whose shape does not
    match (a classifier head with another class count) are skipped when ``skip_mismatched``.
    Raises when nothing at all matched, which means the file is for another architecture.
    """
    state = read_state_dict(path, key)
    if prefix:
        state = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
    own = module.state_dict()
    loadable, skipped = {}, []
    for name, value in state.items():
        if name in own and own[name].shape == value.shape:
            loadable[name] = value
        elif name in own and not skip_mismatched:
            raise ValueError(f"shape mismatch for {name}: file {tuple(value.shape)}, model {tuple(own[name].shape)}")
        else:
            skipped.append(name)
    if not loadable:
        raise ValueError(
            f"no tensor of {path} matches the model (file keys start {sorted(state)[:5]}, "
            f"model keys start {sorted(own)[:5]})"
        )
    module.load_state_dict(loadable, strict=False)
    missing = sorted(set(own) - set(loadable))
    return {"loaded": sorted(loadable), "missing": missing, "skipped": sorted(skipped)}

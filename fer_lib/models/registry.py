"""Model registry: ``create_model(name, num_classes=7, **cfg)`` like timm's.

Model files register builders with :func:`register_model`. Unknown names and unknown options
raise a ``ValueError`` listing what is accepted.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str | None = None) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a builder ``fn(num_classes=..., **cfg) -> nn.Module`` under ``name``."""

    def wrap(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or builder.__name__
        if key in _MODELS and _MODELS[key] is not builder:
            raise ValueError(f"model name {key!r} is registered twice")
        _MODELS[key] = builder
        return builder

    return wrap


def list_models() -> list[str]:
    """All registered model names, sorted."""
    return sorted(_MODELS)


def model_options(name: str) -> list[str]:
    """The option names that ``create_model(name, ...)`` accepts."""
    _check_name(name)
    return sorted(inspect.signature(_MODELS[name]).parameters)


def _check_name(name: str) -> None:
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(list_models())}")


def create_model(name: str, num_classes: int = 7, **cfg) -> nn.Module:
    """Build the registered model ``name`` with ``num_classes`` outputs and its options ``cfg``."""
    _check_name(name)
    builder = _MODELS[name]
    params = inspect.signature(builder).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(cfg) - set(params))
        if unknown:
            raise ValueError(f"model {name!r} got unknown option(s) {unknown}; accepted: {sorted(params)}")
    return builder(num_classes=num_classes, **cfg)

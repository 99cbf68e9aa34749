"""One registry pattern for everything fer_lib builds by name: models, losses and datasets.

A :class:`Registry` maps a name to a builder (a function or a class) plus optional metadata (a model
family's default loss and recipe, say). ``build(name, **cfg)`` checks the name and the options
against the builder's signature, so a typo fails loudly with the accepted choices listed::

    MODELS = Registry("model")

    @MODELS.register("resnet18", loss="ce", recipe="resnet")
    def resnet18(num_classes: int = 7, ...) -> nn.Module: ...

    MODELS.build("resnet19")   # ValueError: unknown model 'resnet19'; registered models: resnet18, ...
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named builders of one kind (``"model"``, ``"loss"``, ``"dataset"``) with per-name metadata."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._builders: dict[str, Callable[..., T]] = {}
        self._meta: dict[str, dict[str, Any]] = {}

    def register(self, name: str | None = None, **meta: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``builder`` under ``name`` (default: its ``__name__``) with ``meta``."""

        def wrap(builder: Callable[..., T]) -> Callable[..., T]:
            key = name or builder.__name__
            if key in self._builders and self._builders[key] is not builder:
                raise ValueError(f"{self.kind} name {key!r} is registered twice")
            self._builders[key] = builder
            self._meta[key] = dict(meta)
            return builder

        return wrap

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests register throw-away entries)."""
        self._builders.pop(name, None)
        self._meta.pop(name, None)

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._builders)

    def __contains__(self, name: object) -> bool:
        return name in self._builders

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def check(self, name: str) -> str:
        """``name`` if registered, else a ``ValueError`` listing the registered names."""
        if name not in self._builders:
            known = ", ".join(self.names()) or "none"
            raise ValueError(f"unknown {self.kind} {name!r}; registered {self.kind}s: {known}")
        return name

    def builder(self, name: str) -> Callable[..., T]:
        return self._builders[self.check(name)]

    def meta(self, name: str) -> Mapping[str, Any]:
        """The metadata ``name`` was registered with (read-only view)."""
        return dict(self._meta[self.check(name)])

    def options(self, name: str) -> list[str]:
        """The option names ``build(name, ...)`` accepts."""
        return sorted(inspect.signature(self.builder(name)).parameters)

    def defaults(self, name: str) -> dict[str, Any]:
        """The options of ``name`` that have a default, with it (what a build without them uses)."""
        params = inspect.signature(self.builder(name)).parameters.values()
        return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}

    def build(self, name: str, **cfg: Any) -> T:
        """Call the builder of ``name`` with ``cfg``; unknown options raise, listing the accepted ones."""
        builder = self.builder(name)
        params = inspect.signature(builder).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            unknown = sorted(set(cfg) - set(params))
            if unknown:
                raise ValueError(f"{self.kind} {name!r} got unknown option(s) {unknown}; accepted: {sorted(params)}")
        return builder(**cfg)


__all__ = ["Registry"]

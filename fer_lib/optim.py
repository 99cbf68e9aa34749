"""Sharpness-aware minimisation (SAM; Foret et al., ICLR 2021) around a base optimiser: POSTER (seed 003)
trains with SAM wrapping Adam (rho 0.05).

Each step takes two gradients: ``g = grad L(w)``; the weights move to the worst nearby point ``w + e`` with
``e = rho * g / ||g||`` (the norm over every parameter); there ``g' = grad L(w + e)`` is taken, the weights go back
to ``w``, and the base optimiser steps with ``g'``. :func:`fer_lib.engine.fit` drives it through
:meth:`SAM.step`'s closure (which recomputes the loss and its gradients at ``w + e``).

The base optimiser owns the parameter groups (an lr scheduler changes the base's learning rate) and the state
that a checkpoint keeps (Adam's moments): :meth:`SAM.state_dict` is the base's, so a resumed run continues
exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


class SAM(torch.optim.Optimizer):
    """SAM around ``base`` (an optimiser class, e.g. ``torch.optim.Adam``) built on ``params`` with
    ``base_options``; ``rho`` is the radius of the neighbourhood (0.05 in POSTER)."""

    def __init__(self, params: Iterable, base: type[torch.optim.Optimizer], rho: float = 0.05,
                 **base_options: Any) -> None:
        if rho <= 0:
            raise ValueError(f"rho must be > 0, got {rho}")
        super().__init__(params, {"rho": float(rho), **base_options})
        self.base = base(self.param_groups, **base_options)
        self.param_groups = self.base.param_groups  # one set of groups, shared with the base
        self.rho = float(rho)

    @torch.no_grad()
    def ascend(self) -> None:
        """Move every parameter with a gradient to ``w + rho * g / ||g||`` (remembering the move)."""
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            raise RuntimeError("SAM.ascend: no parameter has a gradient (call backward first)")
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        scale = self.rho / (norm + 1e-12)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    move = p.grad * scale
                    p.add_(move)
                    self.state[p]["sam_move"] = move

    @torch.no_grad()
    def descend(self) -> None:
        """Put the parameters back at ``w`` and let the base optimiser step with the gradients taken at ``w + e``."""
        for group in self.param_groups:
            for p in group["params"]:
                move = self.state[p].pop("sam_move", None)
                if move is not None:
                    p.sub_(move)
        self.base.step()

    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor:
        """One SAM step. The gradients at ``w`` must be in place; ``closure`` zeroes nothing itself but must
        recompute the loss and call ``backward`` (the gradients at ``w + e``), as :func:`fer_lib.engine.fit`'s does.
        Returns the loss at ``w + e``."""
        if closure is None:
            raise ValueError("SAM needs a closure that recomputes the loss and its gradients")
        self.ascend()
        self.zero_grad(set_to_none=True)
        with torch.enable_grad():
            loss = closure()
        self.descend()
        return loss

    def state_dict(self) -> dict[str, Any]:
        return self.base.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.base.load_state_dict(state_dict)
        self.param_groups = self.base.param_groups


__all__ = ["SAM"]

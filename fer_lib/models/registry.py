"""Model registry: ``create_model(name, num_classes=7, **cfg)`` like timm's.

Model files register builders with :func:`register_model`, declaring the family's default training
loss (a name in :mod:`fer_lib.losses`) and its recipe family (:mod:`fer_lib.recipes`) where the model
is registered, so no caller guesses them from the model's name. Unknown names and unknown options
raise a ``ValueError`` listing what is accepted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from torch import nn

from fer_lib.registry import Registry

MODELS: Registry[nn.Module] = Registry("model")


@dataclasses.dataclass(frozen=True)
class ModelFamily:
    """What a registered model trains with unless a table says otherwise."""

    #: Registered loss name (``fer_lib.losses.build_loss``).
    loss: str
    #: Recipe family (``fer_lib.recipes.get_recipe``).
    recipe: str
    #: The architecture whose pretrained weights the model's trunks start from where a recipe pretrains
    #: (``fer_lib.protocols.pretrain``), or the name of the model option that selects it (GMS-LPA's ``trunk``).
    trunk: str = "resnet18"
    trunk_option: str | None = None
    #: Model options the data must follow: each is also passed to every loader of the model's runs (CM-CNN's
    #: ``modalities``: the channels ``fer_lib.data.modalities`` packs are the ones the model reads).
    data_options: tuple[str, ...] = ()

    def trunk_arch(self, defaults: dict, options: dict) -> str:
        """The pretrained trunk's architecture for a model built with ``options`` (``defaults`` filling gaps)."""
        if self.trunk_option is None:
            return self.trunk
        return str(options.get(self.trunk_option, defaults.get(self.trunk_option, self.trunk)))


def register_model(
    name: str | None = None, *, loss: str = "ce", recipe: str = "resnet", trunk: str = "resnet18",
    trunk_option: str | None = None, data_options: tuple[str, ...] = (),
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a builder ``fn(num_classes=..., **cfg) -> nn.Module`` under ``name``.

    ``loss`` and ``recipe`` name the family's default training loss and recipe family; ``trunk`` the architecture
    its pretrained trunk has, or ``trunk_option`` the model option that names it; ``data_options`` the model
    options every loader of its runs also receives.
    """
    return MODELS.register(name, family=ModelFamily(loss=loss, recipe=recipe, trunk=trunk, trunk_option=trunk_option,
                                                    data_options=tuple(data_options)))


def list_models() -> list[str]:
    """All registered model names, sorted."""
    return MODELS.names()


def model_options(name: str) -> list[str]:
    """The option names that ``create_model(name, ...)`` accepts."""
    return MODELS.options(name)


def model_defaults(name: str) -> dict:
    """The options of ``create_model(name, ...)`` with their defaults (``num_classes`` aside)."""
    defaults = MODELS.defaults(name)
    defaults.pop("num_classes", None)
    return defaults


def model_family(name: str) -> ModelFamily:
    """The default loss and recipe family ``name`` was registered with."""
    return MODELS.meta(name)["family"]


def check_model(name: str) -> str:
    """``name`` if it is a registered model, else a ``ValueError`` listing the registered ones."""
    return MODELS.check(name)


def create_model(name: str, num_classes: int = 7, **cfg) -> nn.Module:
    """Build the registered model ``name`` with ``num_classes`` outputs and its options ``cfg``."""
    return MODELS.build(name, num_classes=num_classes, **cfg)

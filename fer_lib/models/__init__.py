"""Models: one file per paper's model family, and the ``create_model`` registry.

Importing this package imports every model file, so all names are registered. A new paper's model
file is added to the imports below (see ARCHITECTURE.md).
"""

from __future__ import annotations

from fer_lib.models import cmcnn, gmslpa, handcrafted, manet, pcnn, poster, resnet  # noqa: F401 -- importing registers the models
from fer_lib.models.outputs import TensorOutput, logits_of
from fer_lib.models.registry import (
    MODELS,
    ModelFamily,
    check_model,
    create_model,
    list_models,
    model_defaults,
    model_family,
    model_options,
    register_model,
)
from fer_lib.models.weights import load_pretrained, read_state_dict

__all__ = [
    "MODELS",
    "ModelFamily",
    "TensorOutput",
    "check_model",
    "create_model",
    "list_models",
    "load_pretrained",
    "logits_of",
    "model_defaults",
    "model_family",
    "model_options",
    "read_state_dict",
    "register_model",
]

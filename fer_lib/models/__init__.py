"""Models: one file per paper's model family, and the ``create_model`` registry.

Importing this package imports every model file so all names are registered.
"""

from __future__ import annotations

import importlib

from fer_lib.models.registry import create_model, list_models, model_options, register_model
from fer_lib.models.weights import load_pretrained, read_state_dict

# Model files; a file still being written may be absent.
for _module in ("resnet", "pcnn", "manet", "gmslpa", "cmcnn", "poster"):
    try:
        importlib.import_module(f"fer_lib.models.{_module}")
    except ModuleNotFoundError as _err:
        if _err.name != f"fer_lib.models.{_module}":
            raise

__all__ = ["create_model", "list_models", "load_pretrained", "model_options", "read_state_dict", "register_model"]

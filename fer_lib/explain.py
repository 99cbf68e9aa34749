"""What a trained model looks at: Grad-CAM and Grad-CAM++ maps, overlays, grid figures and a widget explorer.

Built on pytorch-grad-cam (package ``grad-cam``). Any fer_lib model works:

- :func:`target_layer` picks the layer whose activations are explained: a model's own
  ``gradcam_target_layer`` attribute (PCNN: ``gpn.tap``, the output of the GPN refinement network,
  as in seed 000's Fig. 12), else the last residual block of a torchvision ResNet (``layer4[-1]``);
  a module or a dotted layer name (``"layer3"``, ``"layer4.0.conv2"``) overrides it.
  :func:`candidate_layers` lists layers for a menu and avoids 1 x 1 maps (a ResNet's ``layer4`` at
  32 px), which carry no location.
- :class:`LogitsOnly` turns a model with a structured output (``.logits``, a dict or a tuple) into
  one that returns the plain logits tensor, which pytorch-grad-cam needs.
- :func:`compute_cams` returns maps ``[B, H, W]`` in ``[0, 1]`` for a batch of normalised images.
- :func:`overlay`, :func:`cam_grid_figure` and :func:`save_grid` draw them for people.
- :func:`load_run` rebuilds a model from the run cache (``runs/<model>-<hash>/``) or a checkpoint;
  :func:`run_choices` lists cached runs, :func:`check_compatible` checks one against a dataset.
- :class:`CamExplorer` is the ipywidgets interface of ``notebooks/explore/gradcam.ipynb``.

Run-cache convention (what :func:`fer_lib.experiment.train_and_evaluate` writes): :func:`load_run`
reads ``model`` (registry name), ``model_options`` (``create_model`` options, optional),
``num_classes`` (default: ``len(classes)`` if a ``classes`` list is there, else 7) from a run's
``spec.json``, and the input side from ``image_size`` at its top level, in ``recipe`` or in
``model_options``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import io
import json
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from fer_lib.engine import FINAL_WEIGHTS, logits_of
from fer_lib.io import atomic_save

#: Method names accepted by :func:`compute_cams`, with their display titles.
METHODS: dict[str, str] = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++"}
#: Special target-class values: explain the predicted class, or the true label.
PREDICTED, TRUE_LABEL = "predicted", "true"


# -- models and layers ----------------------------------------------------------------------------
class LogitsOnly(nn.Module):
    """Wrap ``model`` so that ``forward(x)`` returns the logits tensor ``[B, num_classes]``.

    ``model`` may return a tensor, an object with ``.logits`` (a NamedTuple or dataclass), a dict
    with ``"logits"`` or a tuple whose first item is the logits (see :func:`fer_lib.engine.logits_of`).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return logits_of(self.model(x))


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside any number of :class:`LogitsOnly` wrappers."""
    while isinstance(model, LogitsOnly):
        model = model.model
    return model


def _is_submodule(model: nn.Module, module: nn.Module) -> bool:
    return any(m is module for m in model.modules())


def layer_name(model: nn.Module, module: nn.Module) -> str:
    """The dotted name of ``module`` inside ``model`` (unwrapped), or a ``ValueError`` when it is not part of it."""
    model = unwrap(model)
    for name, candidate in model.named_modules():
        if candidate is module:
            return name
    raise ValueError(f"{type(module).__name__} is not a submodule of {type(model).__name__}")


def target_layer(model: nn.Module, layer: nn.Module | str | None = None) -> nn.Module:
    """The layer whose activations Grad-CAM explains.

    ``layer``: a submodule of ``model``, a dotted name for ``model.get_submodule`` or ``None`` for
    the model's default: its ``gradcam_target_layer`` attribute (a module or a name) if it has one,
    else ``layer4[-1]`` for torchvision ResNets. Other models raise a ``ValueError`` asking for a layer.
    """
    model = unwrap(model)
    if layer is None:
        default = getattr(model, "gradcam_target_layer", None)
        if default is not None:
            return target_layer(model, default)
        layer4 = getattr(model, "layer4", None)
        if isinstance(layer4, nn.Sequential) and len(layer4) > 0:
            return layer4[-1]
        raise ValueError(
            f"{type(model).__name__} has no default Grad-CAM layer: pass layer= (a submodule or a name such as "
            f"{_example_names(model)}), or give the model a `gradcam_target_layer` attribute"
        )
    if isinstance(layer, nn.Module):
        if not _is_submodule(model, layer):
            raise ValueError(f"the given layer {type(layer).__name__} is not a submodule of {type(model).__name__}")
        return layer
    if isinstance(layer, str):
        try:
            return model.get_submodule(layer)
        except AttributeError as err:
            raise ValueError(
                f"{type(model).__name__} has no layer named {layer!r}; top-level layers: {_example_names(model)}"
            ) from err
    raise TypeError(f"layer must be an nn.Module, a layer name or None, not {type(layer).__name__}")


def _example_names(model: nn.Module, limit: int = 12) -> str:
    names = [name for name, _ in model.named_children()]
    return ", ".join(repr(n) for n in names[:limit]) + (" ..." if len(names) > limit else "") or "(none)"


def input_channels(model: nn.Module) -> int:
    """The channels a model takes: its ``in_chans`` attribute, else its first convolution's input channels."""
    model = unwrap(model)
    if isinstance(getattr(model, "in_chans", None), int):
        return int(model.in_chans)
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return first.in_channels if first is not None else 3


def model_input_size(model: nn.Module, default: int | None = None) -> int | None:
    """The input side a model is built for (its ``image_size`` attribute, e.g. PCNN's), else ``default``."""
    size = getattr(unwrap(model), "image_size", None)
    return int(size) if isinstance(size, int) else default


def layer_map_sizes(model: nn.Module, image_size: int = 64, max_depth: int = 2) -> dict[str, tuple[int, int]]:
    """The spatial size ``(h, w)`` of the map each layer gives for a ``image_size`` input, in execution order.

    Blocks (modules with children) and convolutions down to ``max_depth`` dots in the name are
    measured, plus the default layer wherever it is. Found by one forward pass (at the model's own
    ``image_size`` when it has one, see :func:`model_input_size`).
    """
    model = unwrap(model)
    image_size = model_input_size(model, image_size)
    try:
        default: nn.Module | None = target_layer(model)
    except ValueError:
        default = None
    sizes: dict[str, tuple[int, int]] = {}
    handles = []

    def hook(name: str):
        def record(_module, _inputs, output):
            if isinstance(output, torch.Tensor) and output.ndim == 4 and name not in sizes:
                sizes[name] = (int(output.shape[-2]), int(output.shape[-1]))

        return record

    for name, module in model.named_modules():
        listed = isinstance(module, nn.Conv2d) or any(True for _ in module.children())
        if name and ((name.count(".") < max_depth and listed) or module is default):
            handles.append(module.register_forward_hook(hook(name)))
    device = next(model.parameters()).device
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, input_channels(model), image_size, image_size, device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return sizes


def candidate_layers(model: nn.Module, image_size: int = 64, max_depth: int = 2,
                     sizes: Mapping[str, tuple[int, int]] | None = None) -> list[str]:
    """Names of layers with a spatial map (h * w > 1) at ``image_size``, for a layer menu; best default first.

    The first name is the model's default layer (:func:`target_layer`) when its map is larger than
    1 x 1 at this input size; otherwise (e.g. a ResNet's ``layer4`` at 32 px, whose map is one
    pixel and so carries no location) the last layer to run that still has one. The others follow in
    model order. ``sizes``: the result of :func:`layer_map_sizes`, when already at hand.
    """
    model = unwrap(model)
    sizes = sizes if sizes is not None else layer_map_sizes(model, image_size, max_depth)
    spatial = [n for n, (h, w) in sizes.items() if h * w > 1]
    try:
        default: str | None = layer_name(model, target_layer(model))
    except ValueError:
        default = None
    if default not in spatial:
        default = spatial[-1] if spatial else None
    order = {name: k for k, (name, _) in enumerate(model.named_modules())}
    names = sorted((n for n in spatial if n != default), key=order.__getitem__)
    return ([default] if default is not None else []) + names


# -- maps -----------------------------------------------------------------------------------------
def _cam_class(method: str):
    from pytorch_grad_cam import GradCAM, GradCAMPlusPlus

    classes = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus}
    key = method.lower().replace("-", "").replace("_", "").replace("pp", "++")
    if key not in classes:
        raise ValueError(f"unknown CAM method {method!r}; expected one of {', '.join(METHODS)}")
    return classes[key]


@contextlib.contextmanager
def _grad_enabled_on(model: nn.Module, layer: nn.Module) -> Iterator[None]:
    """Let gradients reach ``layer`` even when the model is frozen, and leave every ``.grad`` as it was.

    pytorch-grad-cam reads gradients through a hook on the layer's output, which only exists when
    that output requires grad; a frozen layer (all parameters ``requires_grad=False``) has none.
    """
    params = list(model.parameters())
    saved_flags = [p.requires_grad for p in params]
    saved_grads = [p.grad for p in params]
    try:
        for p in layer.parameters():
            p.requires_grad_(True)
        with torch.enable_grad():
            yield
    finally:
        for p, flag, grad in zip(params, saved_flags, saved_grads, strict=True):
            p.requires_grad_(flag)
            p.grad = grad


def compute_cams(
    model: nn.Module,
    images: torch.Tensor,
    targets: int | Sequence[int] | None = None,
    method: str = "gradcam",
    layer: nn.Module | str | None = None,
    batch_size: int = 32,
) -> np.ndarray:
    """Class activation maps of ``images`` for ``targets``.

    ``images``: normalised input ``[B, 3, H, W]`` (or one image ``[3, H, W]``); it is moved to the
    model's device. ``targets``: the class to explain per image (one int for all), ``None`` for the
    predicted class. ``method``: ``"gradcam"`` or ``"gradcam++"``. ``layer``: see :func:`target_layer`.
    Returns float32 maps ``[B, H, W]`` in ``[0, 1]`` at the input resolution. The model's
    train/eval mode, ``requires_grad`` flags and ``.grad`` fields are restored afterwards.
    """
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cam_cls = _cam_class(method)
    if images.ndim == 3:
        images = images.unsqueeze(0)
    if images.ndim != 4:
        raise ValueError(f"images must be [B, C, H, W] or [C, H, W], got shape {tuple(images.shape)}")
    n = images.shape[0]
    if targets is None:
        target_list: list[int] | None = None
    elif isinstance(targets, int | np.integer):
        target_list = [int(targets)] * n
    else:
        target_list = [int(t) for t in targets]
        if len(target_list) != n:
            raise ValueError(f"got {len(target_list)} targets for {n} images")
    inner = unwrap(model)
    module = target_layer(inner, layer)
    wrapped = LogitsOnly(inner)
    was_training = inner.training
    device = next(inner.parameters()).device
    images = images.detach().to(device)
    if not any(True for _ in module.parameters()):
        # A parameter-free layer (an activation, an identity) in a frozen model only sees gradients
        # when the input asks for them.
        images = images.clone().requires_grad_(True)
    maps: list[np.ndarray] = []
    try:
        if target_list is not None and n:
            with torch.no_grad():
                inner.eval()
                num_classes = wrapped(images[:1]).shape[1]
            bad = sorted({t for t in target_list if not 0 <= t < num_classes})
            if bad:
                # Checked before the CAM runs: pytorch-grad-cam's context manager swallows IndexErrors.
                raise ValueError(f"target class(es) {bad} out of range for a model with {num_classes} outputs")
        with _grad_enabled_on(inner, module), cam_cls(wrapped, target_layers=[module]) as cam:
            for start in range(0, n, batch_size):
                chunk = images[start : start + batch_size]
                chunk_targets = None if target_list is None else [
                    ClassifierOutputTarget(t) for t in target_list[start : start + batch_size]
                ]
                maps.append(np.asarray(cam(input_tensor=chunk, targets=chunk_targets), dtype=np.float32))
                acts = cam.activations_and_grads.activations
                if start == 0 and acts and acts[0].ndim == 4 and acts[0].shape[-2] * acts[0].shape[-1] == 1:
                    warnings.warn(
                        f"layer {layer_name(inner, module)!r} gives a 1 x 1 map for {tuple(chunk.shape[-2:])} inputs, "
                        "so the CAM has no spatial information (all zeros); choose an earlier layer or larger inputs",
                        stacklevel=2,
                    )
    finally:
        inner.train(was_training)
    if len(maps) != -(-n // batch_size):
        raise RuntimeError("pytorch-grad-cam stopped early (an IndexError inside its context manager)")
    out = np.concatenate(maps) if maps else np.zeros((0, *images.shape[-2:]), dtype=np.float32)
    # pytorch-grad-cam min-max scales each map; a constant map comes out as NaN-free zeros but clip anyway.
    return np.clip(np.nan_to_num(out), 0.0, 1.0)


@torch.no_grad()
def predict_proba(model: nn.Module, images: torch.Tensor, batch_size: int = 64) -> np.ndarray:
    """Softmax probabilities ``[B, num_classes]`` of normalised ``images`` ``[B, 3, H, W]`` (eval mode)."""
    inner = unwrap(model)
    was_training = inner.training
    device = next(inner.parameters()).device
    if images.ndim == 3:
        images = images.unsqueeze(0)
    try:
        inner.eval()
        parts = [torch.softmax(logits_of(inner(images[s : s + batch_size].to(device))).float(), dim=1).cpu()
                 for s in range(0, images.shape[0], batch_size)]
    finally:
        inner.train(was_training)
    return torch.cat(parts).numpy()


# -- drawing --------------------------------------------------------------------------------------
def to_image01(x: torch.Tensor | np.ndarray | Image.Image) -> np.ndarray:
    """A displayable float32 image ``[H, W, 3]`` in ``[0, 1]`` from a normalised tensor ``[3, H, W]``
    (ImageNet statistics, see :func:`fer_lib.data.transforms.denormalize`), a PIL image or an array."""
    if isinstance(x, torch.Tensor):
        from fer_lib.data.transforms import denormalize

        if x.ndim != 3 or x.shape[0] not in (1, 3):
            raise ValueError(f"expected a [3, H, W] tensor, got shape {tuple(x.shape)}")
        if x.shape[0] == 1:
            x = x.repeat(3, 1, 1)
        return denormalize(x.detach().float().cpu()).permute(1, 2, 0).numpy().astype(np.float32)
    if isinstance(x, Image.Image):
        x = np.asarray(x.convert("RGB"))
    arr = np.asarray(x)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an image [H, W, 3], got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


def overlay(image01_hwc: np.ndarray | Image.Image, cam: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The map ``cam`` ``[h, w]`` in ``[0, 1]`` as a jet heat map over ``image01_hwc`` ``[H, W, 3]``.

    ``alpha`` is the weight of the heat map (0: the face only). The map is resized to the image.
    Returns uint8 ``[H, W, 3]`` RGB.
    """
    import cv2
    from pytorch_grad_cam.utils.image import show_cam_on_image

    image = to_image01(image01_hwc)
    cam = np.asarray(cam, dtype=np.float32)
    if cam.ndim != 2:
        raise ValueError(f"cam must be a 2-D map [h, w], got shape {cam.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if cam.shape != image.shape[:2]:
        cam = cv2.resize(cam, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    cam = np.clip(np.nan_to_num(cam), 0.0, 1.0)
    return show_cam_on_image(image, cam, use_rgb=True, image_weight=1.0 - alpha)


def png_bytes(image: np.ndarray, size: int | None = None) -> bytes:
    """PNG encoding of a uint8 or [0, 1] float image ``[H, W, 3]``, optionally resized to ``size`` x ``size``."""
    arr = image if image.dtype == np.uint8 else (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    pil = Image.fromarray(arr)
    if size is not None and pil.size != (size, size):
        pil = pil.resize((size, size), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG")
    return buffer.getvalue()


def _sample_inputs(dataset, indices: Sequence[int], transform: Callable | None) -> tuple[torch.Tensor, np.ndarray]:
    """Normalised inputs ``[B, 3, H, W]`` and true labels of ``dataset[indices]``."""
    xs, ys = [], []
    for i in indices:
        if transform is not None:
            x, y = transform(dataset.load_image(int(i))), int(dataset.targets[int(i)])
        else:
            item = dataset[int(i)]
            x, y = item[0], int(item[1])
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"dataset sample {i} is a {type(x).__name__}, not a tensor: pass transform= (e.g. "
                "fer_lib.data.transforms.build_transform('eval', image_size, train=False)) or set dataset.transform"
            )
        xs.append(x)
        ys.append(y)
    return torch.stack(xs), np.asarray(ys, dtype=np.int64)


def _resolve_target(target: int | str, classes: Sequence[str], true: int, pred: int) -> int:
    if isinstance(target, int | np.integer):
        return int(target)
    if target == PREDICTED:
        return pred
    if target == TRUE_LABEL:
        return true
    if target in classes:
        return list(classes).index(target)
    raise ValueError(f"unknown target class {target!r}; expected an index, {PREDICTED!r}, {TRUE_LABEL!r} or "
                     f"one of {list(classes)}")


def cam_grid_figure(
    model: nn.Module,
    dataset,
    indices: Sequence[int],
    methods: Sequence[str] = ("gradcam", "gradcam++"),
    target_classes: Sequence[int | str] | None = None,
    layer: nn.Module | str | None = None,
    transform: Callable | None = None,
    alpha: float = 0.5,
    panel_size: float = 1.9,
):
    """A grid of maps: one row per face, a face column then one column per (method, target class).

    ``dataset``: a :class:`fer_lib.data.FERDataset` whose samples are normalised tensors (or give
    ``transform``, applied to ``dataset.load_image(i)``). ``target_classes``: entries are class
    indices, class names, ``"predicted"`` or ``"true"``; default ``["predicted"]``. The face panel
    is titled with the true label and the prediction (green when right, red when wrong).
    Returns a matplotlib ``Figure`` (not shown; close it when done).
    """
    from matplotlib.figure import Figure

    indices = [int(i) for i in indices]
    if not indices:
        raise ValueError("indices is empty: give at least one sample index")
    methods = list(methods)
    for m in methods:
        _cam_class(m)
    targets_spec = list(target_classes) if target_classes is not None else [PREDICTED]
    classes = list(getattr(dataset, "classes", []))
    images, truth = _sample_inputs(dataset, indices, transform)
    probs = predict_proba(model, images)
    if not classes:
        classes = [str(k) for k in range(probs.shape[1])]
    if probs.shape[1] != len(classes):
        raise ValueError(f"the model has {probs.shape[1]} outputs but the dataset has {len(classes)} classes")
    preds = probs.argmax(1)
    columns = [(m, t) for m in methods for t in targets_spec]
    maps = {}
    for m, t in columns:
        per_image = [_resolve_target(t, classes, int(truth[k]), int(preds[k])) for k in range(len(indices))]
        maps[(m, t)] = (compute_cams(model, images, per_image, m, layer), per_image)

    n_rows, n_cols = len(indices), 1 + len(columns)
    fig = Figure(figsize=(panel_size * n_cols, panel_size * n_rows * 1.12 + 0.3), layout="constrained")
    axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False))
    for r, idx in enumerate(indices):
        face = to_image01(images[r])
        ok = preds[r] == truth[r]
        ax = axes[r, 0]
        ax.imshow(face)
        ax.set_title(f"#{idx} true: {classes[truth[r]]}\npred: {classes[preds[r]]} ({probs[r, preds[r]]:.2f})",
                     fontsize=8, color="darkgreen" if ok else "firebrick")
        for c, (m, t) in enumerate(columns, start=1):
            cams, per_image = maps[(m, t)]
            ax = axes[r, c]
            ax.imshow(overlay(face, cams[r], alpha))
            label = t if isinstance(t, str) and t in (PREDICTED, TRUE_LABEL) else classes[per_image[r]]
            detail = f" = {classes[per_image[r]]}" if label in (PREDICTED, TRUE_LABEL) else ""
            ax.set_title(f"{METHODS[_method_key(m)]}\n{label}{detail} ({probs[r, per_image[r]]:.2f})", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    name = type(unwrap(model)).__name__
    try:
        lname = layer_name(model, target_layer(model, layer))
    except ValueError:
        lname = "?"
    fig.suptitle(f"{name}: maps of layer '{lname}' for the named class (probability in brackets)", fontsize=9)
    return fig


def _method_key(method: str) -> str:
    return "gradcam++" if "+" in method or method.lower().endswith("pp") else "gradcam"


def save_figure(fig, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Write a matplotlib figure to ``path`` as PNG, atomically (no partial file on error)."""
    return atomic_save(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))


def save_grid(path: str | os.PathLike, model: nn.Module, dataset, indices: Sequence[int], dpi: int = 150,
              **kwargs: Any) -> Path:
    """:func:`cam_grid_figure` written to ``path`` as PNG (atomically); ``kwargs`` go to the figure."""
    fig = cam_grid_figure(model, dataset, indices, **kwargs)
    return save_figure(fig, path, dpi=dpi)


# -- runs -----------------------------------------------------------------------------------------
@dataclasses.dataclass
class LoadedRun:
    """A model rebuilt from the run cache or a checkpoint, with the spec it was trained under."""

    model: nn.Module
    spec: dict[str, Any]
    source: Path

    def _lookup(self, key: str) -> Any:
        """``spec[key]``, else the same key in its ``recipe`` or ``model_options`` (fer_lib.experiment's layout)."""
        for place in (self.spec, self.spec.get("recipe") or {}, self.spec.get("model_options") or {}):
            if isinstance(place, Mapping) and place.get(key) is not None:
                return place[key]
        return None

    @property
    def image_size(self) -> int | None:
        """The input side the model was trained at, when the spec says."""
        size = self._lookup("image_size")
        return int(size) if size is not None else None

    @property
    def scale(self) -> str | None:
        return self._lookup("scale")

    def label(self) -> str:
        """A short menu label: model / dataset / scale / seed / folder."""
        seed = self.spec.get("seed")
        parts = [str(v) for v in (self.spec.get("model"), self.spec.get("dataset"), self.scale) if v is not None]
        if seed is not None:
            parts.append(f"seed {seed}")
        return " / ".join(parts + [self.source.name])


def _num_classes(spec: Mapping[str, Any]) -> int:
    if spec.get("num_classes") is not None:
        return int(spec["num_classes"])
    if isinstance(spec.get("classes"), list | tuple):
        return len(spec["classes"])
    return 7


def _state_dict_of(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and "model" in obj and isinstance(obj["model"], Mapping):
        obj = obj["model"]  # a fer_lib.engine checkpoint.pt
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path} does not hold a state dict (name -> tensor) or a fer_lib checkpoint")
    return dict(obj)


def load_run(
    source: str | os.PathLike,
    device: str | torch.device = "cpu",
    model: str | None = None,
    **model_options: Any,
) -> LoadedRun:
    """Rebuild a trained model from a run folder (``spec.json`` + ``model.pt``) or a checkpoint file.

    ``source``: a run folder of the cache, or a ``model.pt`` / ``checkpoint.pt`` / state-dict file
    (its folder's ``spec.json`` is used when present; otherwise ``model`` and ``model_options``
    name the architecture). Weights are read with ``weights_only=True``. The model is in eval mode.
    """
    from fer_lib.models import create_model

    path = Path(source).expanduser()
    if path.is_dir():
        weights = path / FINAL_WEIGHTS
        if not weights.is_file():
            fallback = path / "checkpoint.pt"
            if not fallback.is_file():
                raise FileNotFoundError(f"{path} is not a finished run: expected {FINAL_WEIGHTS} (or checkpoint.pt) "
                                        "beside spec.json")
            weights = fallback
        spec_path = path / "spec.json"
    elif path.is_file():
        weights, spec_path = path, path.parent / "spec.json"
    else:
        raise FileNotFoundError(f"{path} does not exist; expected a run folder (spec.json + {FINAL_WEIGHTS}) or a "
                                "checkpoint file")
    spec: dict[str, Any] = json.loads(spec_path.read_text()) if spec_path.is_file() else {}
    if model is not None:
        num_classes = model_options.pop("num_classes", None)
        spec = {**spec, "model": model, "model_options": {**spec.get("model_options", {}), **model_options}}
        if num_classes is not None:
            spec["num_classes"] = int(num_classes)
    if not spec.get("model"):
        raise ValueError(f"no spec.json beside {weights}: pass model= (a registered model name) and its options")
    built = create_model(spec["model"], num_classes=_num_classes(spec), **dict(spec.get("model_options") or {}))
    state = _state_dict_of(torch.load(weights, map_location="cpu", weights_only=True), weights)
    try:
        built.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{weights} does not fit {spec['model']} with options {spec.get('model_options')} and "
                         f"{_num_classes(spec)} classes: {err}") from err
    return LoadedRun(built.to(device).eval(), spec, path)


def run_choices(
    root: str | os.PathLike | None = None, dataset: str | None = None, scale: str | None = None
) -> list[tuple[str, str]]:
    """``(label, run folder)`` of every completed run in the cache, for a run menu.

    Runs on ``dataset`` come first, then runs at ``scale``, each group newest first.
    """
    from fer_lib.engine import list_runs

    runs = list_runs(root)
    if runs.empty:
        return []
    rows = []
    for folder in runs["run_dir"]:
        spec_path = Path(folder) / "spec.json"
        spec = json.loads(spec_path.read_text()) if spec_path.is_file() else {}
        info = LoadedRun(nn.Identity(), spec, Path(folder))
        rank = (dataset is not None and spec.get("dataset") == dataset, scale is not None and info.scale == scale,
                Path(folder).stat().st_mtime)
        rows.append((rank, info.label(), str(folder)))
    return [(label, folder) for _, label, folder in sorted(rows, reverse=True)]


def check_compatible(run: LoadedRun, dataset, image_size: int | None = None) -> None:
    """Raise a ``ValueError`` unless ``run.model`` gives one output per class of ``dataset``."""
    size = image_size or run.image_size or model_input_size(run.model, 64)
    x = torch.zeros(1, input_channels(run.model), size, size, device=next(run.model.parameters()).device)
    outputs = predict_proba(run.model, x).shape[1]
    classes = len(getattr(dataset, "classes", []))
    if outputs != classes:
        raise ValueError(f"{run.label()} has {outputs} outputs but {getattr(dataset, 'name', 'the dataset')} has "
                         f"{classes} classes")


# -- the widget explorer --------------------------------------------------------------------------
def spread_indices(n: int, limit: int | None) -> np.ndarray:
    """``limit`` indices spread evenly over ``range(n)`` (all of them when ``limit`` is None or >= n)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def probability_chart(probs: np.ndarray, classes: Sequence[str], true: int | None, target: int | None) -> bytes:
    """A horizontal bar chart of class probabilities as PNG bytes (true label in bold, explained class outlined)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.4, 2.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    pred = int(np.argmax(probs))
    colors = ["tab:green" if k == pred and k == true else "tab:red" if k == pred else "tab:gray"
              for k in range(len(classes))]
    bars = ax.barh(range(len(classes)), probs, color=colors)
    if target is not None:
        bars[target].set_edgecolor("black")
        bars[target].set_linewidth(1.5)
    ax.set_yticks(range(len(classes)), labels=list(classes), fontsize=8)
    if true is not None:
        ax.get_yticklabels()[true].set_fontweight("bold")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability (bold: true label, outlined: explained)", fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


class CamExplorer:
    """An ipywidgets interface to inspect one model's maps sample by sample.

    Controls: run (from the cache) or checkpoint path, dataset and split, a correct/wrong filter,
    sample (slider, previous/next buttons, index box), target class (predicted by default), method
    and layer. Views: the face, the map overlay, the probability bar chart and the true label.

    ``load_model(source) -> LoadedRun`` and ``load_data(name, split, image_size) -> FERDataset`` are
    injected so the class runs (and is tested) without a run cache or real data.
    ``display_size``: the side in pixels of the face and overlay images.
    """

    def __init__(
        self,
        run: LoadedRun,
        dataset,
        dataset_name: str,
        split: str,
        load_model: Callable[[str], LoadedRun] = load_run,
        load_data: Callable[[str, str, int], Any] | None = None,
        runs: Sequence[tuple[str, str]] = (),
        datasets: Sequence[str] = (),
        splits: Sequence[str] = ("test", "train"),
        max_samples: int | None = 400,
        display_size: int = 224,
        default_image_size: int = 64,
    ) -> None:
        import ipywidgets as W

        self.load_model = load_model
        self.load_data = load_data
        self.max_samples = max_samples
        self.display_size = display_size
        self.default_image_size = default_image_size
        self._hold = False
        self.run = run
        self.dataset = dataset
        self.last_error: str | None = None
        #: The dataset index on display (the index box can show one outside the filtered pool).
        self.shown_index: int | None = None

        run_options = list(runs) or [(run.label(), str(run.source))]
        if str(run.source) not in [v for _, v in run_options]:
            run_options.insert(0, (run.label(), str(run.source)))
        self.run_picker = W.Dropdown(options=run_options, value=str(run.source), description="run",
                                     layout=W.Layout(width="460px"))
        self.checkpoint = W.Text(placeholder="or a run folder / checkpoint path", layout=W.Layout(width="330px"))
        self.load_button = W.Button(description="load", layout=W.Layout(width="70px"))
        names = list(datasets) or [dataset_name]
        if dataset_name not in names:
            names.insert(0, dataset_name)
        self.dataset_picker = W.Dropdown(options=names, value=dataset_name, description="dataset",
                                         layout=W.Layout(width="260px"))
        split_names = list(splits) if split in splits else [split, *splits]
        self.split_picker = W.Dropdown(options=split_names, value=split, description="split",
                                       layout=W.Layout(width="150px"))
        self.filter = W.Dropdown(options=[("all samples", "all"), ("correct predictions", "correct"),
                                          ("wrong predictions", "wrong")], value="all", description="show",
                                 layout=W.Layout(width="240px"))
        self.sample = W.IntSlider(min=0, max=0, value=0, description="sample", continuous_update=False,
                                  layout=W.Layout(width="420px"))
        self.prev_button = W.Button(description="◀ prev", layout=W.Layout(width="80px"))
        self.next_button = W.Button(description="next ▶", layout=W.Layout(width="80px"))
        self.index_box = W.BoundedIntText(min=0, max=max(len(dataset) - 1, 0), value=0, description="index",
                                          layout=W.Layout(width="150px"))
        self.target = W.Dropdown(description="explain", layout=W.Layout(width="240px"))
        self.method = W.Dropdown(options=[(v, k) for k, v in METHODS.items()], value="gradcam++",
                                 description="method", layout=W.Layout(width="200px"))
        self.layer = W.Dropdown(description="layer", layout=W.Layout(width="260px"))
        self.face_view = W.Image(format="png", layout=W.Layout(width=f"{display_size}px"))
        self.overlay_view = W.Image(format="png", layout=W.Layout(width=f"{display_size}px"))
        self.chart_view = W.Image(format="png", layout=W.Layout(width="340px"))
        self.info = W.HTML()
        self.status = W.HTML()
        for control in (self.run_picker, self.dataset_picker, self.split_picker, self.filter, self.sample,
                        self.index_box, self.target, self.method, self.layer):
            control.style.description_width = "initial"  # labels as wide as their text, not a fixed column
        # CSS classes so a browser test (tests/browser/) can find the views.
        for widget, cls in ((self.face_view, "fer-cam-face"), (self.overlay_view, "fer-cam-overlay"),
                            (self.chart_view, "fer-cam-chart"), (self.info, "fer-cam-info"),
                            (self.status, "fer-cam-status"), (self.sample, "fer-cam-sample"),
                            (self.next_button, "fer-cam-next"), (self.prev_button, "fer-cam-prev")):
            widget.add_class(cls)

        def titled(view, title):
            return W.VBox([W.HTML(f"<b>{title}</b>"), view])

        self.widget = W.VBox([
            W.HBox([self.run_picker, self.checkpoint, self.load_button]),
            W.HBox([self.dataset_picker, self.split_picker, self.filter]),
            W.HBox([self.sample, self.prev_button, self.next_button, self.index_box]),
            W.HBox([self.target, self.method, self.layer]),
            W.HBox([titled(self.face_view, "face"), titled(self.overlay_view, "map overlay"),
                    titled(self.chart_view, "class probabilities")]),
            self.info,
            self.status,
        ])
        self.widget.add_class("fer-cam-app")

        self._set_model(run)
        self._set_dataset(dataset)
        self.run_picker.observe(self._safe(self._on_run), names="value")
        self.load_button.on_click(self._safe(lambda _b: self.load_source(self.checkpoint.value.strip())))
        self.dataset_picker.observe(self._safe(self._on_data), names="value")
        self.split_picker.observe(self._safe(self._on_data), names="value")
        self.filter.observe(self._safe(lambda _c: self._refilter()), names="value")
        self.sample.observe(self._safe(lambda _c: self.update()), names="value")
        self.prev_button.on_click(self._safe(lambda _b: self.step(-1)))
        self.next_button.on_click(self._safe(lambda _b: self.step(+1)))
        self.index_box.observe(self._safe(self._on_index), names="value")
        for control in (self.target, self.method, self.layer):
            control.observe(self._safe(lambda _c: self.update()), names="value")

    # -- state changes ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _held(self) -> Iterator[None]:
        """Change several controls without one update per change."""
        previous, self._hold = self._hold, True
        try:
            yield
        finally:
            self._hold = previous

    def _safe(self, fn: Callable) -> Callable:
        """A widget callback that shows an error in the status line instead of losing it in the log."""

        def call(*args):
            try:
                fn(*args)
            except Exception as err:  # noqa: BLE001 -- any failure must reach the user, not the kernel log
                self.last_error = f"{type(err).__name__}: {err}"
                self.status.value = f"<span style='color:firebrick'>{html.escape(self.last_error)}</span>"

        return call

    @property
    def image_size(self) -> int:
        """The model's input side: from its run spec, else its ``image_size`` attribute, else the default."""
        return self.run.image_size or model_input_size(self.run.model, self.default_image_size)

    def _set_model(self, run: LoadedRun) -> None:
        self.run = run
        self.model = run.model.eval()
        self.map_sizes = layer_map_sizes(self.model, self.image_size)
        with self._held():
            self.layer.options = candidate_layers(self.model, self.image_size, sizes=self.map_sizes)
            self.layer.value = self.layer.options[0] if self.layer.options else None

    def _set_dataset(self, dataset) -> None:
        from fer_lib.data.transforms import build_transform

        self.dataset = dataset
        dataset.transform = build_transform("eval", self.image_size, train=False)
        self.pool = spread_indices(len(dataset), self.max_samples)
        images, _ = _sample_inputs(dataset, self.pool, None)
        self.probs = predict_proba(self.model, images)
        self.classes = list(getattr(dataset, "classes", [])) or [str(k) for k in range(self.probs.shape[1])]
        if self.probs.shape[1] != len(self.classes):
            raise ValueError(f"the model has {self.probs.shape[1]} outputs but {getattr(dataset, 'name', 'the data')}"
                             f" has {len(self.classes)} classes")
        self.preds = self.probs.argmax(1)
        self.truth = np.asarray(dataset.targets)[self.pool]
        with self._held():
            options = [("predicted", -1), ("true label", -2)] + [(c, k) for k, c in enumerate(self.classes)]
            self.target.options = options
            self.target.value = -1
            self.index_box.max = max(len(dataset) - 1, 0)
        self._refilter()

    def _refilter(self) -> None:
        correct = self.preds == self.truth
        mask = {"all": np.ones_like(correct), "correct": correct, "wrong": ~correct}[self.filter.value]
        self.positions = np.flatnonzero(mask)  # positions into self.pool
        with self._held():
            self.sample.max = max(len(self.positions) - 1, 0)
            self.sample.value = 0
        self.update()

    def _on_run(self, change) -> None:
        if not self._hold:
            self.load_source(change["new"])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """On an error, put the model, data and controls back as they were (then re-raise)."""
        names = ("run", "model", "map_sizes", "dataset", "pool", "probs", "classes", "preds", "truth", "positions")
        saved = {k: getattr(self, k) for k in names if hasattr(self, k)}
        transform = getattr(self.dataset, "transform", None)
        controls = [(c, c.options, c.value) for c in (self.run_picker, self.layer, self.target)]
        controls += [(c, None, c.value) for c in (self.dataset_picker, self.split_picker, self.index_box)]
        try:
            yield
        except Exception:
            for k, v in saved.items():
                setattr(self, k, v)
            self.dataset.transform = transform
            with self._held():
                for control, options, value in controls:
                    if options is not None:
                        control.options = options
                    control.value = value
            raise

    def load_source(self, source: str) -> None:
        """Load a run folder or checkpoint and recompute everything (nothing changes if that fails)."""
        if not source:
            raise ValueError("type a run folder or checkpoint path first")
        self.status.value = f"loading {html.escape(source)} ..."
        with self._transaction():
            run = self.load_model(source)
            self._set_model(run)
            with self._held():
                if source not in [v for _, v in self.run_picker.options]:
                    self.run_picker.options = [*self.run_picker.options, (run.label(), source)]
                self.run_picker.value = source
            self._set_dataset(self.dataset)

    def _on_data(self, _change) -> None:
        if self._hold:
            return
        if self.load_data is None:
            raise RuntimeError("this explorer was built without a dataset loader")
        self.status.value = "loading data ..."
        with self._transaction():
            self._set_dataset(self.load_data(self.dataset_picker.value, self.split_picker.value, self.image_size))

    def _on_index(self, change) -> None:
        if self._hold:
            return
        index = int(change["new"])
        hits = np.flatnonzero(self.pool[self.positions] == index) if len(self.positions) else []
        if len(hits):
            self.sample.value = int(hits[0])
            return
        self.show_index(index)

    def step(self, delta: int) -> None:
        """Move the sample slider by ``delta`` (wrapping around)."""
        if len(self.positions):
            self.sample.value = (self.sample.value + delta) % len(self.positions)

    # -- rendering ----------------------------------------------------------------------------
    def current_index(self) -> int | None:
        """The dataset index of the sample on display (``None`` when the filter leaves nothing)."""
        if not len(self.positions):
            return None
        return int(self.pool[self.positions[min(self.sample.value, len(self.positions) - 1)]])

    def update(self) -> None:
        """Recompute and redraw the current sample (also callable directly, e.g. headless)."""
        if self._hold:
            return
        index = self.current_index()
        if index is None:
            self.shown_index = None
            self.face_view.value = self.overlay_view.value = self.chart_view.value = b""
            self.info.value = f"no <i>{self.filter.value}</i> predictions among {len(self.pool)} samples"
            self.status.value = ""
            return
        self.show_index(index)

    def show_index(self, index: int) -> None:
        """Draw dataset sample ``index`` (it need not be in the filtered pool)."""
        self.shown_index = index
        image, truth = _sample_inputs(self.dataset, [index], None)
        probs = predict_proba(self.model, image)[0]
        pred = int(probs.argmax())
        true = int(truth[0])
        target = {-1: pred, -2: true}.get(self.target.value, self.target.value)
        cam = compute_cams(self.model, image, [target], self.method.value, self.layer.value)[0]
        face = to_image01(image[0])
        self.face_view.value = png_bytes(face, self.display_size)
        self.overlay_view.value = png_bytes(overlay(face, cam), self.display_size)
        self.chart_view.value = probability_chart(probs, self.classes, true, target)
        verdict = "<span style='color:darkgreen'>correct</span>" if pred == true else \
            "<span style='color:firebrick'>wrong</span>"
        with self._held():
            self.index_box.value = index
        c = self.classes
        self.info.value = (
            f"sample <b>#{index}</b> of {html.escape(str(getattr(self.dataset, 'name', 'dataset')))} "
            f"({html.escape(self.split_picker.value)}) &middot; true label: <b>{html.escape(c[true])}</b> &middot; "
            f"predicted: <b>{html.escape(c[pred])}</b> ({probs[pred]:.2f}, {verdict}) &middot; explaining "
            f"<b>{html.escape(c[target])}</b> with {METHODS[self.method.value]} on <code>{self.layer.value}</code> "
            f"({'x'.join(map(str, self.map_sizes.get(self.layer.value, ('?', '?'))))} map, "
            f"{self.image_size} px input) "
            f"&middot; {len(self.positions)} of {len(self.pool)} samples shown"
        )
        self.status.value = ""
        self.last_error = None

    def display(self):
        """The widget tree (display it in a notebook)."""
        return self.widget

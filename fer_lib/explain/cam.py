"""Class activation maps: which layer is explained, the Grad-CAM / Grad-CAM++ maps and the probabilities.

Built on pytorch-grad-cam (package ``grad-cam``). Any fer_lib model works; a model with a
structured output (``.logits``, a dict or a tuple) is read through
:class:`fer_lib.models.outputs.TensorOutput`, the library's one wrapper for tools that need a tensor.

- :func:`target_layer` picks the layer whose activations are explained: a model's own
  ``gradcam_target_layer`` attribute (PCNN: ``gpn.tap``, the output of the GPN refinement network,
  as in seed 000's Fig. 12), else the last residual block of a torchvision ResNet (``layer4[-1]``);
  a module or a dotted layer name (``"layer3"``, ``"layer4.0.conv2"``) overrides it.
- :func:`candidate_layers` lists layers for a menu, first a default whose map is at least 7 x 7 (at the
  ``cpu`` scale's 64 px a ResNet's ``layer4`` is 2 x 2 and locates nothing, so ``layer2``, 8 x 8, comes
  first); :func:`layer_map_sizes` measures every layer's map.
- :func:`compute_cams` returns maps ``[B, H, W]`` in ``[0, 1]`` for a batch of normalised images;
  :func:`predict_proba` the softmax probabilities.
- :func:`sample_inputs` and :func:`resolve_target` turn dataset indices and target-class names into
  what :func:`compute_cams` takes (shared by the figures and the widget).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from fer_lib.models.outputs import TensorOutput, logits_of, unwrap

#: Method names accepted by :func:`compute_cams`, with their display titles.
METHODS: dict[str, str] = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++"}
#: Special target-class values: explain the predicted class, or the true label.
PREDICTED, TRUE_LABEL = "predicted", "true"


# -- layers ---------------------------------------------------------------------------------------
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


#: The smallest map side (pixels) the default layer of :func:`candidate_layers` may have: 7 is a ResNet's
#: ``layer4`` at the papers' 224 px; below it a Grad-CAM map is a few blocks that explain nothing.
MIN_EXPLAINING_SIDE = 7


def layer_map_sizes(model: nn.Module, image_size: int = 64,
                    max_depth: int | None = None) -> dict[str, tuple[int, int]]:
    """The spatial size ``(h, w)`` of the map each layer gives for a ``image_size`` input, in execution order.

    Blocks (modules with children) and convolutions down to ``max_depth`` dots in the name are
    measured, plus the default layer wherever it is; ``None``: the model's ``gradcam_layer_depth`` attribute, else
    2 (CM-CNN's FEN stages, ``fens.<modality>.stages.<k>``, are 3 dots deep). Found by one forward pass (at the
    model's own ``image_size`` when it has one, see :func:`model_input_size`).
    """
    model = unwrap(model)
    max_depth = int(getattr(model, "gradcam_layer_depth", 2)) if max_depth is None else max_depth
    image_size = model_input_size(model, image_size)
    try:
        default: nn.Module | None = target_layer(model)
    except ValueError:
        default = None
    sizes: dict[str, tuple[int, int]] = {}
    handles = []

    # A token model's layers Grad-CAM reads through its reshape (POSTER's transformer blocks: 7 x 7 tokens).
    reshape = getattr(model, "gradcam_reshape_transform", None)
    token_layers = set(getattr(model, "gradcam_token_layers", ()))

    def hook(name: str):
        def record(_module, _inputs, output):
            if isinstance(output, torch.Tensor) and output.ndim == 3 and name in token_layers and reshape:
                output = reshape(output)
            if isinstance(output, torch.Tensor) and output.ndim == 4 and name not in sizes:
                sizes[name] = (int(output.shape[-2]), int(output.shape[-1]))

        return record

    for name, module in model.named_modules():
        listed = isinstance(module, nn.Conv2d) or any(True for _ in module.children())
        if name and ((name.count(".") < max_depth and listed) or module is default or name in token_layers):
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


def candidate_layers(model: nn.Module, image_size: int = 64, max_depth: int | None = None,
                     sizes: Mapping[str, tuple[int, int]] | None = None) -> list[str]:
    """Names of layers with a spatial map (h * w > 1) at ``image_size``, for a layer menu; best default first.

    The first name is the model's default layer (:func:`target_layer`) when its map is at least
    :data:`MIN_EXPLAINING_SIDE` pixels on its short side at this input size (a ResNet's ``layer4`` at
    224 px: 7 x 7). A coarser map localises nothing a person can read (PCNN's ``gpn.tap`` at the ``cpu``
    scale's 64 px is 2 x 2), so then the first name is the deepest layer that runs before the default
    and still has such a map (``layer2``, 8 x 8, at 64 px), else the last layer with any spatial map.
    The others follow in model order. ``sizes``: the result of :func:`layer_map_sizes`, when already at
    hand.
    """
    model = unwrap(model)
    sizes = sizes if sizes is not None else layer_map_sizes(model, image_size, max_depth)
    spatial = [n for n, (h, w) in sizes.items() if h * w > 1]
    try:
        default: str | None = layer_name(model, target_layer(model))
    except ValueError:
        default = None
    if default not in spatial or min(sizes[default]) < MIN_EXPLAINING_SIDE:
        # ``sizes`` is in execution order: prefer layers that run before the default (its own path).
        before = list(sizes)[: list(sizes).index(default)] if default in sizes else list(sizes)
        readable = [n for n in before if min(sizes[n]) >= MIN_EXPLAINING_SIDE]
        if readable:
            default = readable[-1]
        elif default not in spatial:
            default = spatial[-1] if spatial else None
    order = {name: k for k, (name, _) in enumerate(model.named_modules())}
    names = sorted((n for n in spatial if n != default), key=order.__getitem__)
    return ([default] if default is not None else []) + names


# -- maps -----------------------------------------------------------------------------------------
def method_key(method: str) -> str:
    """The :data:`METHODS` key of a method name (``"Grad-CAM++"``, ``"gradcam_pp"`` ...), else a ``ValueError``."""
    key = method.lower().replace("-", "").replace("_", "").replace("pp", "++")
    if key not in METHODS:
        raise ValueError(f"unknown CAM method {method!r}; expected one of {', '.join(METHODS)}")
    return key


def _cam_class(method: str):
    from pytorch_grad_cam import GradCAM, GradCAMPlusPlus

    return {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus}[method_key(method)]


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
    predicted class. ``method``: ``"gradcam"`` or ``"gradcam++"``. ``layer``: see :func:`target_layer`; a token
    layer of a model with ``gradcam_reshape_transform`` (POSTER) is read through it as a map.
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
    wrapped = TensorOutput(inner)
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
        # Token layers (a transformer's [B, T, D]) become maps through the model's own reshape.
        reshape = getattr(inner, "gradcam_reshape_transform", None)
        with (_grad_enabled_on(inner, module),
              cam_cls(wrapped, target_layers=[module], reshape_transform=reshape) as cam):
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


# -- inputs ---------------------------------------------------------------------------------------
def map_concentration(cams: np.ndarray, top: float = 0.1) -> np.ndarray:
    """How concentrated each map of ``cams`` ``[B, H, W]`` is: the share (%) of its total mass in its ``top``
    fraction of pixels (10 % by default). A uniform map scores ``100 * top``; one peak, 100. CM-CNN's Fig. 8 says
    its maps are "more concentrated" than the grey network's alone; this is the number behind that word. An
    all-zero map (no evidence for the class) scores NaN."""
    cams = np.asarray(cams, dtype=np.float64)
    if cams.ndim != 3 or not 0.0 < top <= 1.0:
        raise ValueError(f"expected maps [B, H, W] and 0 < top <= 1, got shape {cams.shape} and top {top}")
    flat = np.sort(cams.reshape(len(cams), -1), axis=1)[:, ::-1]
    k = max(1, round(top * flat.shape[1]))
    total = flat.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 100.0 * flat[:, :k].sum(axis=1) / total, np.nan)


def layer_modality(model: nn.Module, layer: nn.Module | str | None = None) -> int | None:
    """For a model that reads packed modalities (a ``modalities`` attribute, as CM-CNN), the input channel of the
    modality whose network holds ``layer`` (``fens.<modality>...``; the default layer where ``None``), else
    ``None``: the layer sees every modality (the fusion, the head) or the model reads one ordinary image."""
    model = unwrap(model)
    modalities = getattr(model, "modalities", None)
    if not modalities:
        return None
    name = layer_name(model, target_layer(model, layer))
    return next((i for i, m in enumerate(modalities) if name == f"fens.{m}" or name.startswith(f"fens.{m}.")), None)


def sample_inputs(
    dataset, indices: Sequence[int], transform: Callable | None = None
) -> tuple[torch.Tensor, np.ndarray]:
    """Normalised inputs ``[B, 3, H, W]`` and true labels of ``dataset[indices]``.

    The samples must be tensors (a dataset with an eval transform); else ``transform`` is applied to
    ``dataset.load_image(i)``.
    """
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


def resolve_target(target: int | str, classes: Sequence[str], true: int, pred: int) -> int:
    """The class index meant by ``target``: an index, a class name, :data:`PREDICTED` or :data:`TRUE_LABEL`."""
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


__all__ = [
    "METHODS",
    "PREDICTED",
    "TRUE_LABEL",
    "candidate_layers",
    "compute_cams",
    "input_channels",
    "layer_map_sizes",
    "layer_name",
    "method_key",
    "model_input_size",
    "predict_proba",
    "resolve_target",
    "sample_inputs",
    "target_layer",
]

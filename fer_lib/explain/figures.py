"""Drawing maps for people: overlays, PNG bytes, the grid figure of a report and the probability chart.

- :func:`to_image01` turns a normalised tensor (or a PIL image, an array) back into a displayable image;
  :func:`input_face` is the face a model's map is drawn over (for CM-CNN, the modality the layer sees);
- :func:`overlay` draws a map as a jet heat map over a face; :func:`png_bytes` encodes an image;
- :func:`cam_grid_figure` (one row per face, one column per method and target class),
  :func:`modality_cam_figure` (CM-CNN's Fig. 8: one column per modality, each map over its own modality),
  :func:`save_figure` and :func:`save_grid` write report figures atomically;
- :func:`probability_chart` is the class-probability bar chart of the widget explorer.

The maps themselves come from :mod:`fer_lib.explain.cam`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from fer_lib.explain.cam import (
    METHODS,
    PREDICTED,
    TRUE_LABEL,
    candidate_layers,
    compute_cams,
    layer_map_sizes,
    layer_modality,
    layer_name,
    method_key,
    predict_proba,
    resolve_target,
    sample_inputs,
    target_layer,
)
from fer_lib.io import atomic_save
from fer_lib.models.outputs import unwrap


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


def input_face(model: nn.Module, image: torch.Tensor, layer: nn.Module | str | None = None) -> np.ndarray:
    """The image ``[H, W, 3]`` in ``[0, 1]`` to draw ``model``'s map of ``layer`` over, from its input ``image``
    ``[C, H, W]``: for a model of packed modalities (CM-CNN) the channel of the modality the layer belongs to
    (:func:`~fer_lib.explain.cam.layer_modality`; the first where the layer sees them all), as grey, since the
    packed image's colours would mix grey, LBP and depth; else :func:`to_image01` of the image."""
    channel = layer_modality(model, layer)
    if channel is None and not getattr(unwrap(model), "modalities", None):
        return to_image01(image)
    # Packed modalities are scaled to [0, 1] without a mean / std (the cmcnn transform profile).
    grey = image[channel or 0].detach().float().cpu().clamp(0, 1).numpy().astype(np.float32)
    return np.repeat(grey[..., None], 3, axis=2)


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


def _layer_label(model: nn.Module, layer: nn.Module | str | None) -> str:
    """The name of the layer a map is taken from, ``?`` when it cannot be resolved (for titles)."""
    try:
        return layer_name(model, target_layer(model, layer))
    except ValueError:
        return "?"


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
        method_key(m)
    targets_spec = list(target_classes) if target_classes is not None else [PREDICTED]
    classes = list(getattr(dataset, "classes", []))
    images, truth = sample_inputs(dataset, indices, transform)
    probs = predict_proba(model, images)
    if not classes:
        classes = [str(k) for k in range(probs.shape[1])]
    if probs.shape[1] != len(classes):
        raise ValueError(f"the model has {probs.shape[1]} outputs but the dataset has {len(classes)} classes")
    preds = probs.argmax(1)
    columns = [(m, t) for m in methods for t in targets_spec]
    maps = {}
    for m, t in columns:
        per_image = [resolve_target(t, classes, int(truth[k]), int(preds[k])) for k in range(len(indices))]
        maps[(m, t)] = (compute_cams(model, images, per_image, m, layer), per_image)

    n_rows, n_cols = len(indices), 1 + len(columns)
    fig = Figure(figsize=(panel_size * n_cols, panel_size * n_rows * 1.12 + 0.3), layout="constrained")
    axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False))
    for r, idx in enumerate(indices):
        face = input_face(model, images[r], layer)
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
            ax.set_title(f"{METHODS[method_key(m)]}\n{label}{detail} ({probs[r, per_image[r]]:.2f})", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    name = type(unwrap(model)).__name__
    fig.suptitle(f"{name}: maps of layer '{_layer_label(model, layer)}' for the named class (probability in "
                 "brackets)", fontsize=9)
    return fig


def cam_comparison_figure(
    models: dict[str, nn.Module],
    dataset,
    indices: Sequence[int],
    column_titles: Sequence[str] | None = None,
    method: str = "gradcam",
    layers: dict[str, nn.Module | str | None] | None = None,
    transform: Callable | None = None,
    alpha: float = 0.5,
    panel_size: float = 1.9,
):
    """Several models' maps of the same faces (GMS-LPA Figs. 4 and 6: ResNet-50 against GMS / LPA per view):
    a face row, then one row per model of ``models`` (``{row label: model}``), one column per face.

    Each model explains its own predicted class on its default layer, or, where that layer's map is too coarse
    to read at this input size, the deepest readable one before it (as the Grad-CAM widget; ``layers``
    overrides per row label);
    a panel's title gives the prediction, green when right, red when wrong. ``column_titles`` label the
    faces (e.g. the view). Returns a matplotlib ``Figure`` (not shown; close it when done).
    """
    from matplotlib.figure import Figure

    indices = [int(i) for i in indices]
    if not indices or not models:
        raise ValueError("give at least one sample index and one model")
    if column_titles is not None and len(column_titles) != len(indices):
        raise ValueError(f"{len(column_titles)} column titles for {len(indices)} faces")
    method_key(method)
    classes = list(getattr(dataset, "classes", []))
    images, truth = sample_inputs(dataset, indices, transform)
    n_rows, n_cols = 1 + len(models), len(indices)
    fig = Figure(figsize=(panel_size * n_cols + 0.8, panel_size * n_rows * 1.1 + 0.3), layout="constrained")
    axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False))
    first = next(iter(models.values()))
    for c in range(n_cols):
        title = (f"{column_titles[c]}\n" if column_titles is not None else "") + f"true: {classes[truth[c]]}"
        axes[0, c].imshow(input_face(first, images[c]))
        axes[0, c].set_title(title, fontsize=8)
    for r, (label, model) in enumerate(models.items(), start=1):
        probs = predict_proba(model, images)
        if probs.shape[1] != len(classes):
            raise ValueError(f"{label} has {probs.shape[1]} outputs but the dataset has {len(classes)} classes")
        preds = probs.argmax(1)
        # The model's default layer where its map is readable at this input size, else the widget's choice.
        layer = (layers or {}).get(label) or candidate_layers(model, int(images.shape[-1]))[0]
        cams = compute_cams(model, images, [int(k) for k in preds], method, layer)
        for c in range(n_cols):
            ax = axes[r, c]
            ax.imshow(overlay(input_face(model, images[c], layer), cams[c], alpha))
            ax.set_title(f"{classes[preds[c]]} ({probs[c, preds[c]]:.2f})", fontsize=8,
                         color="darkgreen" if preds[c] == truth[c] else "firebrick")
        axes[r, 0].set_ylabel(f"{label}\n{_layer_label(model, layer)}", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{METHODS[method_key(method)]} of each model's predicted class (probability in brackets)", fontsize=9)
    return fig


def modality_layers(model: nn.Module, image_size: int) -> dict[str, str]:
    """Each modality's layer for Grad-CAM in a model of packed modalities (CM-CNN): the deepest stage of its
    network whose map is at least :data:`~fer_lib.explain.cam.MIN_EXPLAINING_SIDE` a side at ``image_size``
    (``fens.<m>.stages.3``, 9 x 9, at the paper's 148 px; ``stages.2``, 8 x 8, at the cpu scale's 64 px), else its
    network's output."""
    from fer_lib.explain.cam import MIN_EXPLAINING_SIDE

    model = unwrap(model)
    modalities = getattr(model, "modalities", None)
    if not modalities:
        raise ValueError(f"{type(model).__name__} reads no packed modalities (no `modalities` attribute)")
    sizes = layer_map_sizes(model, image_size, max_depth=4)
    layers = {}
    for m in modalities:
        stages = [n for n in sizes if n.startswith(f"fens.{m}.stages.") and n.count(".") == 3]
        readable = [n for n in stages if min(sizes[n]) >= MIN_EXPLAINING_SIDE]
        layers[m] = readable[-1] if readable else f"fens.{m}"
    return layers


def modality_cam_figure(
    model: nn.Module,
    dataset,
    indices: Sequence[int],
    method: str = "gradcam",
    transform: Callable | None = None,
    alpha: float = 0.5,
    panel_size: float = 1.9,
):
    """CM-CNN's Fig. 8: where each modality's network looks. One row per face; per modality of ``model`` two
    panels, the modality's own image and the Grad-CAM map of the predicted class on that modality's network
    (:func:`modality_layers`) over it. The first panel's title gives the truth and the prediction (green when
    right, red when wrong). Returns a matplotlib ``Figure`` (not shown; close it when done)."""
    from matplotlib.figure import Figure

    indices = [int(i) for i in indices]
    if not indices:
        raise ValueError("indices is empty: give at least one sample index")
    method_key(method)
    classes = list(getattr(dataset, "classes", []))
    images, truth = sample_inputs(dataset, indices, transform)
    layers = modality_layers(model, int(images.shape[-1]))
    probs = predict_proba(model, images)
    preds = probs.argmax(1)
    cams = {m: compute_cams(model, images, [int(p) for p in preds], method, layer) for m, layer in layers.items()}
    n_rows, n_cols = len(indices), 2 * len(layers)
    fig = Figure(figsize=(panel_size * n_cols, panel_size * n_rows * 1.12 + 0.4), layout="constrained")
    axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False))
    for r, idx in enumerate(indices):
        for k, (m, layer) in enumerate(layers.items()):
            face = input_face(model, images[r], layer)
            axes[r, 2 * k].imshow(face)
            axes[r, 2 * k + 1].imshow(overlay(face, cams[m][r], alpha))
            if r == 0:
                axes[r, 2 * k].set_title(m, fontsize=9)
                axes[r, 2 * k + 1].set_title(f"{m}: {layer}", fontsize=8)
        axes[r, 0].set_ylabel(f"#{idx} true: {classes[truth[r]]}\npred: {classes[preds[r]]} ({probs[r, preds[r]]:.2f})",
                              fontsize=8, color="darkgreen" if preds[r] == truth[r] else "firebrick")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{METHODS[method_key(method)]} of the predicted class on each modality's network", fontsize=9)
    return fig


def save_figure(fig, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Write a matplotlib figure to ``path`` as PNG, atomically (no partial file on error)."""
    return atomic_save(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))


def save_grid(path: str | os.PathLike, model: nn.Module, dataset, indices: Sequence[int], dpi: int = 150,
              **kwargs: Any) -> Path:
    """:func:`cam_grid_figure` written to ``path`` as PNG (atomically); ``kwargs`` go to the figure."""
    fig = cam_grid_figure(model, dataset, indices, **kwargs)
    return save_figure(fig, path, dpi=dpi)


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


__all__ = ["cam_grid_figure", "overlay", "png_bytes", "probability_chart", "save_figure", "save_grid", "to_image01"]

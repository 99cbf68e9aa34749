"""Figures that let a person judge SynthFER's faces (used by ``notebooks/synthfer_gallery.ipynb``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fer_lib.data.labels import CANONICAL_CLASSES
from fer_lib.data.synth_render import (
    OCCLUDERS,
    RenderResult,
    expression_coefficients,
    render_face,
    sample_subject,
)
from fer_lib.io import atomic_save

POSE_YAWS = (0, 15, 30, 45, 60, 75, 90)


def _render(subject_id: int, expression: str, intensity: int, yaw: float, occluder: str, size: int, seed: int,
            pitch: float = 0.0, clean: bool = True) -> RenderResult:  # fmt: skip
    rng = np.random.default_rng([seed, subject_id, CANONICAL_CLASSES.index(expression), intensity, 77])
    sub = sample_subject(seed, subject_id)
    au = expression_coefficients(expression, intensity, rng, sub.resting, jitter=0.0 if clean else 1.0)
    return render_face(sub, au, yaw, pitch, 0.0, occluder, size, rng, clutter=not clean, degrade=not clean)


def _show(ax, out: RenderResult | None, title: str = "", landmarks: bool = False, depth: bool = False) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if out is None:
        return
    if depth:
        ax.imshow(out.depth, cmap="magma", vmin=0.0, vmax=1.0)
    else:
        ax.imshow(out.image)
    if landmarks:
        lm, vis = out.landmarks - 0.5, out.visibility  # pixel centres for imshow
        ax.scatter(lm[vis, 0], lm[vis, 1], s=3, c="lime", linewidths=0)
        ax.scatter(lm[~vis, 0], lm[~vis, 1], s=5, c="red", marker="x", linewidths=0.6)
    if title:
        ax.set_title(title, fontsize=7, pad=2)


def gallery_figure(image_size: int = 112, seed: int = 0, subject: int = 3):
    """One subject: classes x intensities 1-4 (clean background), then a row of poses and a row of
    occluders with the 68 landmarks (green visible, red hidden), then the depth maps of the poses.
    Returns a matplotlib Figure."""
    import matplotlib.pyplot as plt

    classes = list(CANONICAL_CLASSES)
    cols = len(classes)
    fig, axes = plt.subplots(7, cols, figsize=(1.25 * cols, 1.35 * 7), squeeze=False)
    for j, name in enumerate(classes):
        for level in (1, 2, 3, 4):
            ax = axes[level - 1, j]
            if name == "neutral":
                out = _render(subject, name, 0, 0.0, "none", image_size, seed) if level == 1 else None
                _show(ax, out, "neutral" if level == 1 else "")
                continue
            _show(ax, _render(subject, name, level, 0.0, "none", image_size, seed), f"{name} {level}")
        axes[0, j].set_title(axes[0, j].get_title(), fontsize=7, pad=2)
    poses = [_render(subject, "happiness", 3, yaw, "none", image_size, seed) for yaw in POSE_YAWS]
    poses.append(_render(subject, "surprise", 3, 30, "none", image_size, seed, pitch=20.0))
    for j, out in enumerate(poses):
        title = f"yaw {POSE_YAWS[j]}" if j < len(POSE_YAWS) else "yaw 30 pitch 20"
        _show(axes[4, j], out, title, landmarks=True)
        _show(axes[6, j], out, "depth", depth=True)
    kinds = [o for o in OCCLUDERS]
    for j in range(cols):
        kind = kinds[j] if j < len(kinds) else "hand"
        out = _render(subject + 1 + j, classes[1 + j % 7], 3, (-20, 0, 25, -35, 15, 40, -10, 55)[j], kind, image_size,
                      seed, clean=False)  # fmt: skip
        _show(axes[5, j], out, kind, landmarks=True)
    fig.suptitle(f"SynthFER (seed {seed}): expressions x intensity, poses, occluders, landmarks, depth",
                 fontsize=9)  # fmt: skip
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.2, rect=(0, 0, 1, 0.97))
    return fig


def samples_figure(scale: str = "cpu", seed: int = 0, image_size: int = 112, n: int = 48):
    """Random ``synth-inthewild`` training samples as a network sees them (clutter, blur, noise)."""
    import matplotlib.pyplot as plt

    from fer_lib.data import load_dataset

    ds = load_dataset("synth-inthewild", split="train", scale=scale, seed=seed, image_size=image_size)
    idx = np.random.default_rng(seed).choice(len(ds), size=min(n, len(ds)), replace=False)
    cols = 8
    rows = int(np.ceil(len(idx) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.25 * cols, 1.4 * rows), squeeze=False)
    for ax, i in zip(axes.ravel(), idx, strict=False):
        m = ds.metadata.iloc[int(i)]
        occ = "" if m["occluder"] == "none" else f" {m['occluder']}"
        _show(ax, ds.render(int(i)), f"{m['expression'][:8]} {m['intensity']} y{m['yaw']:.0f}{occ}")
    for ax in axes.ravel()[len(idx) :]:
        _show(ax, None)
    fig.suptitle(f"synth-inthewild train samples ({scale} scale, seed {seed})", fontsize=9)
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.2, rect=(0, 0, 1, 0.97))
    return fig


def save_gallery(output_dir: str | os.PathLike, scale: str = "cpu", seed: int = 0) -> list[Path]:
    """Write ``synthfer_gallery.png`` and ``synthfer_samples.png`` into ``output_dir`` (atomically).

    ``smoke`` renders 64-px faces and fewer samples, and adds ``_smoke`` to the file names so a quick
    check never replaces the full-quality figures; other scales render 112 px. A relative
    ``output_dir`` is taken from the repository root.
    """
    import matplotlib.pyplot as plt

    from fer_lib.io import repo_root

    size = 64 if scale == "smoke" else 112
    suffix = "_smoke" if scale == "smoke" else ""
    out_dir = Path(output_dir)
    if not out_dir.is_absolute():
        out_dir = repo_root() / out_dir
    paths = []
    for name, fig in (
        (f"synthfer_gallery{suffix}.png", gallery_figure(size, seed)),
        (f"synthfer_samples{suffix}.png", samples_figure(scale, seed, size, 16 if scale == "smoke" else 48)),
    ):
        path = out_dir / name
        atomic_save(path, lambda tmp, fig=fig: fig.savefig(tmp, format="png", dpi=100))
        plt.close(fig)
        paths.append(path)
    return paths

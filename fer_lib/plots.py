"""Figures the notebooks share: confusion matrices, result bars, landmark errors and landmarks drawn on faces."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from fer_lib.metrics import confusion_frame


def confusion_heatmap(targets, predictions, classes: Sequence[str], ax=None, title: str = ""):
    """Row-normalised confusion matrix (percent) as an annotated heatmap; returns the axes."""
    frame = confusion_frame(targets, predictions, list(classes), normalize=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5))
    sns.heatmap(frame, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, cbar=False, ax=ax,
                annot_kws={"size": 8}, square=True)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", rotation=45)
    return ax


def paper_vs_reproduced(frame: pd.DataFrame, ax=None, title: str = ""):
    """Grouped bars of the paper's value and the reproduced value for each row x column of a table, the
    reproduced bar with its 95% interval (``ci_low`` / ``ci_high``; the std where a frame has no interval) and
    its test set's majority-class floor as a dashed tick (where the frame records one).

    ``frame`` is :meth:`fer_lib.results.ResultTable.frame` (columns row, column, paper_value, value, std, and
    optionally ci_low, ci_high, majority_floor).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(max(5, 1.2 * len(frame)), 3.8))
    labels = [f"{r}\n{c}" for r, c in zip(frame["row"], frame["column"], strict=True)]
    x = range(len(frame))
    ax.bar([i - 0.2 for i in x], frame["paper_value"], width=0.4, label="paper", color="#bbbbbb")
    if {"ci_low", "ci_high"} <= set(frame.columns) and frame["ci_low"].notna().any():
        error = [(frame["value"] - frame["ci_low"]).clip(lower=0).fillna(0),
                 (frame["ci_high"] - frame["value"]).clip(lower=0).fillna(0)]
        label = "reproduced (95% CI)"
    else:
        error, label = frame["std"], "reproduced"
    ax.bar([i + 0.2 for i in x], frame["value"], width=0.4, yerr=error, label=label, color="#3b75af")
    if "majority_floor" in frame.columns and frame["majority_floor"].notna().any():
        labelled = False
        for i, floor in zip(x, frame["majority_floor"], strict=True):
            if pd.notna(floor):
                ax.hlines(floor, i, i + 0.4, colors="black", linestyles="dashed", linewidth=1,
                          label=None if labelled else "majority-class floor")
                labelled = True
    ax.set_xticks(list(x), labels, fontsize=7, rotation=30, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return ax


def cells_with_floor(frame: pd.DataFrame, ax=None, title: str = ""):
    """Grouped bars of a table's reproduced cells (rows grouped per column) with their 95% intervals, and each
    column's majority-class floor as a dashed line: a bar that does not clear it is a failed run.

    ``frame`` is :meth:`fer_lib.results.ResultTable.frame` (row, column, value, ci_low, ci_high, majority_floor).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    columns = list(dict.fromkeys(frame["column"]))
    rows = list(dict.fromkeys(frame["row"]))
    width = 0.8 / max(len(rows), 1)
    for k, row in enumerate(rows):
        cells = frame[frame["row"] == row].set_index("column").reindex(columns)
        x = [i - 0.4 + width * (k + 0.5) for i in range(len(columns))]
        low = (cells["value"] - cells["ci_low"]).clip(lower=0).fillna(0)
        high = (cells["ci_high"] - cells["value"]).clip(lower=0).fillna(0)
        ax.bar(x, cells["value"], width=width * 0.95, yerr=[low, high], capsize=3, label=row)
        for xi, v in zip(x, cells["value"], strict=True):
            if pd.notna(v):
                ax.text(xi, v + 1, f"{v:.1f}", ha="center", fontsize=7)
    for i, column in enumerate(columns):
        floor = frame.loc[frame["column"] == column, "majority_floor"].max()
        if pd.notna(floor):
            ax.hlines(floor, i - 0.45, i + 0.45, colors="black", linestyles="dashed", linewidth=1,
                      label="majority-class floor" if i == 0 else None)
    ax.set_xticks(range(len(columns)), columns)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def cumulative_errors(errors: pd.DataFrame, ax=None, title: str = "", limit: float = 20.0):
    """Cumulative error distributions of landmark NMEs (``errors``: :func:`fer_lib.protocols.landmarks.
    landmark_errors`): per test set the share of faces below each NME, the regressor solid and the mean-shape
    floor dashed in the same colour; the vertical line is the 10 % failure threshold."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    grid = np.linspace(0, limit, 201)
    for k, (test, part) in enumerate(errors.groupby("test", sort=False)):
        colour = f"C{k}"
        for column, style, what in (("nme", "-", "regressor"), ("mean_shape_nme", "--", "mean shape")):
            values = np.sort(part[column].to_numpy())
            ax.plot(grid, np.searchsorted(values, grid, side="right") / len(values) * 100, style, color=colour,
                    label=f"{test}: {what} (mean {values.mean():.1f})")
    ax.axvline(10, color="grey", linewidth=0.8)
    ax.set_xlabel("NME (% of the inter-ocular distance)")
    ax.set_ylabel("faces at or below (%)")
    ax.set_xlim(0, limit)
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    return ax


def landmarks_on_faces(images, point_sets: Sequence[tuple[str, np.ndarray, str]], titles: Sequence[str] = (),
                       columns: int = 6, size: float = 2.0):
    """A grid of faces (``images``: ``[N, H, W]`` or ``[N, H, W, 3]`` in [0, 1] or uint8) with several point sets
    drawn on each (``point_sets``: ``(label, points [N, 68, 2] in pixels, colour)``), and a title per face."""
    n = len(images)
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray" if np.ndim(images[i]) == 2 else None)
        height, width = np.shape(images[i])[:2]
        for label, points, colour in point_sets:
            ax.scatter(points[i, :, 0], points[i, :, 1], s=4, c=colour, label=label if i == 0 else None)
        ax.set_xlim(-0.5, width - 0.5)  # the face, not wherever a poor regressor's points went
        ax.set_ylim(height - 0.5, -0.5)
        if i < len(titles):
            ax.set_title(titles[i], fontsize=7)
    fig.legend(loc="lower center", ncol=len(point_sets), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig

"""Figures the notebooks share: confusion matrices, result bars."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
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

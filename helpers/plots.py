"""Figures shared by several chapters, and ``save_fig`` to keep a copy of any figure."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from helpers import env

_chapter = "misc"


def set_chapter(chapter: str) -> None:
    """Choose the ``images/`` sub-folder for the following ``save_fig`` calls."""
    global _chapter
    _chapter = re.sub(r"[^\w-]+", "_", chapter).strip("_") or "misc"


def images_dir() -> Path:
    """``images/<chapter>`` in the course checkout (or the working folder elsewhere)."""
    root = env.project_root() or Path.cwd()
    return root / "images" / _chapter


def save_fig(name: str, tight_layout: bool = True, resolution: int = 150, fig=None) -> Path:
    """Save the current (or given) figure as ``images/<chapter>/<name>.png`` and return the path."""
    fig = fig or plt.gcf()
    if tight_layout:
        fig.tight_layout()
    folder = images_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=resolution)
    return path


def plot_digit(image, ax=None, cmap="binary") -> None:
    """Show one 28x28 digit (a flat row of 784 pixels or a 2-D array) without axes."""
    ax = ax or plt.gca()
    image = np.asarray(image)
    side = int(round(np.sqrt(image.size)))
    ax.imshow(image.reshape(side, side), cmap=cmap)
    ax.axis("off")


def plot_digits(images, n_cols: int = 10, labels=None, size: float = 0.9) -> plt.Figure:
    """Show a grid of digits, optionally titled with their labels; returns the figure."""
    images = np.asarray(images)
    n_rows = int(np.ceil(len(images) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * size, n_rows * size), squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index < len(images):
            plot_digit(images[index], ax=ax)
            if labels is not None:
                ax.set_title(str(labels[index]), fontsize=9)
        else:
            ax.axis("off")
    return fig


def plot_dataset(X, y, ax=None, markers="os^", colors=("tab:blue", "tab:orange", "tab:green")) -> None:
    """Scatter a 2-D labelled dataset, one marker and colour per class."""
    ax = ax or plt.gca()
    X, y = np.asarray(X), np.asarray(y)
    for index, label in enumerate(np.unique(y)):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], marker=markers[index % len(markers)],
                   color=colors[index % len(colors)], s=18, label=str(label), edgecolors="none")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")


def plot_decision_regions(model, X, y=None, ax=None, resolution: int = 300, alpha: float = 0.25,
                          padding: float = 0.5) -> None:
    """Shade the class regions a fitted 2-D classifier predicts, and overlay the data."""
    ax = ax or plt.gca()
    X = np.asarray(X)
    x0 = np.linspace(X[:, 0].min() - padding, X[:, 0].max() + padding, resolution)
    x1 = np.linspace(X[:, 1].min() - padding, X[:, 1].max() + padding, resolution)
    grid0, grid1 = np.meshgrid(x0, x1)
    predicted = model.predict(np.c_[grid0.ravel(), grid1.ravel()]).reshape(grid0.shape)
    classes, codes = np.unique(predicted, return_inverse=True)
    ax.contourf(grid0, grid1, codes.reshape(grid0.shape), levels=np.arange(len(classes) + 1) - 0.5,
                alpha=alpha, cmap="tab10" if len(classes) > 3 else "coolwarm")
    if y is not None:
        plot_dataset(X, y, ax=ax)

"""Figures: the course palette, ``show`` (a figure with its text alternative), ``save_fig``,
and the plots that several chapters share."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from helpers import env

#: The course's one palette: Okabe and Ito's eight colours, distinguishable with every common
#: colour-vision deficiency. ``env.setup`` makes it matplotlib's colour cycle, so "C0", "C1", ...
#: name these colours in order; class ``i`` of a shared plot is ``PALETTE[i]``.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
#: One marker per class as well, so that classes differ by shape and not by colour alone.
MARKERS = "os^Dv<>P"

_chapter = "misc"


def class_colours(n_classes: int) -> list[str]:
    """The colours of classes 0 .. n-1: the palette in order (cycled beyond eight classes)."""
    return [PALETTE[index % len(PALETTE)] for index in range(n_classes)]


def set_chapter(chapter: str) -> None:
    """Choose the ``images/`` sub-folder for the following ``save_fig`` calls."""
    global _chapter
    _chapter = re.sub(r"[^\w-]+", "_", chapter).strip("_") or "misc"


def images_dir() -> Path:
    """Where ``save_fig`` writes: ``$COURSE_IMAGES_DIR/<chapter>`` when that variable is set,
    else ``images/<chapter>`` in the course checkout (or in the working folder elsewhere)."""
    override = os.environ.get("COURSE_IMAGES_DIR", "").strip()
    if override:
        return Path(override) / _chapter
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


# --------------------------------------------------------------------------- showing figures


def _axis_needs_label(ax, which: str) -> bool:
    axis = ax.xaxis if which == "x" else ax.yaxis
    return axis.get_visible() and len(axis.get_ticklocs()) > 0


def _axis_label(ax, which: str) -> str:
    return (ax.get_xlabel() if which == "x" else ax.get_ylabel()).strip()


def unlabelled_axes(fig=None) -> list[str]:
    """The axes of ``fig`` that show ticks but no label, e.g. ``["panel 2: y"]``.

    An axis shared with a labelled axis of the same figure counts as labelled (the usual row
    of panels with one y label), a colorbar needs a label on its long side, and panels drawn
    without axes (images, digits) need none.
    """
    fig = fig or plt.gcf()
    missing = []
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    for number, ax in enumerate(panels, start=1):
        if hasattr(ax, "get_zlabel"):  # a 3-D plot: three labels
            for which, label in zip("xyz", (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()),
                                    strict=True):
                if not label.strip():
                    missing.append(f"panel {number}: {which}")
            continue
        if getattr(ax, "_colorbar", None) is not None:
            if not (ax.get_xlabel().strip() or ax.get_ylabel().strip()):
                missing.append(f"panel {number}: colorbar")
            continue
        for which in "xy":
            if not _axis_needs_label(ax, which) or _axis_label(ax, which):
                continue
            group = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
            if any(_axis_label(other, which) for other in panels
                   if other is not ax and group.joined(ax, other)):
                continue
            missing.append(f"panel {number}: {which}")
    return missing


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Colab, nbclient), where rich output is shown."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show(alt: str, fig=None) -> None:
    """Show the current (or given) figure with ``alt``, its text alternative, and close it.

    ``alt`` says what the figure shows and what to take from it, for readers who cannot see
    it. In a notebook it is stored with the image (``metadata["image/png"]["alt"]``, which
    renderers use as the image's alt text) and as the output's plain-text form; elsewhere
    the figure opens in matplotlib's usual window.
    """
    fig = fig or plt.gcf()
    alt = " ".join(str(alt).split())
    if not alt:
        raise ValueError("show() needs a text alternative: say what the figure shows and its takeaway")
    if not _in_kernel():
        plt.show()
        return
    from IPython.display import display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    metadata = {"image/png": {"alt": alt}, "course": {"unlabelled_axes": unlabelled_axes(fig)}}
    plt.close(fig)
    display({"image/png": png, "text/plain": f"[Figure: {alt}]"}, raw=True, metadata=metadata)


# --------------------------------------------------------------------------- shared plots


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


def plot_dataset(X, y, ax=None, classes=None, names=None, size: float = 18) -> None:
    """Scatter a 2-D labelled dataset: class ``i`` (of ``classes``, default the sorted labels)
    gets colour ``PALETTE[i]`` and marker ``MARKERS[i]``, labelled with ``names[i]`` if given.

    Axes are labelled $x_1$ and $x_2$; set your own labels afterwards for named features.
    """
    ax = ax or plt.gca()
    X, y = np.asarray(X), np.asarray(y)
    classes = np.unique(y) if classes is None else np.asarray(classes)
    colours = class_colours(len(classes))
    for index, label in enumerate(classes):
        mask = y == label
        if not mask.any():
            continue
        name = str(label) if names is None else str(names[index])
        ax.scatter(X[mask, 0], X[mask, 1], marker=MARKERS[index % len(MARKERS)],
                   color=colours[index], s=size, label=name, edgecolors="white", linewidths=0.3)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")


def plot_decision_regions(model, X, y=None, ax=None, resolution: int = 300, alpha: float = 0.2,
                          padding: float = 0.5, names=None, size: float = 18):
    """Shade the class regions a fitted 2-D classifier predicts, overlay the data, and return
    the shaded regions (matplotlib's ContourSet, one level per class).

    Regions and points of the same class share their palette colour (class ``i`` of the
    model's ``classes_`` is ``PALETTE[i]``), so the colours read the same in every chapter.
    ``names`` labels the classes in a legend (``ax.legend()``) instead of their values;
    ``size`` is the points' marker area, as in :func:`plot_dataset`.
    """
    ax = ax or plt.gca()
    X = np.asarray(X)
    x0 = np.linspace(X[:, 0].min() - padding, X[:, 0].max() + padding, resolution)
    x1 = np.linspace(X[:, 1].min() - padding, X[:, 1].max() + padding, resolution)
    grid0, grid1 = np.meshgrid(x0, x1)
    predicted = np.asarray(model.predict(np.c_[grid0.ravel(), grid1.ravel()]))
    classes = getattr(model, "classes_", None)
    if classes is None:
        known = [predicted] if y is None else [predicted, np.asarray(y)]
        classes = np.unique(np.concatenate(known))
    classes = np.asarray(classes)
    codes = np.searchsorted(classes, predicted).reshape(grid0.shape)
    colours = ListedColormap(class_colours(len(classes)))
    regions = ax.contourf(grid0, grid1, codes, levels=np.arange(len(classes) + 1) - 0.5,
                          alpha=alpha, cmap=colours, vmin=-0.5, vmax=len(classes) - 0.5)
    ax.set_xlim(x0[0], x0[-1])
    ax.set_ylim(x1[0], x1[-1])
    if y is not None:
        plot_dataset(X, y, ax=ax, classes=classes, names=names, size=size)
    else:
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
    return regions

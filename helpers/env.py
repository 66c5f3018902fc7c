"""Where the notebooks run: quick or full mode, Colab, GPUs, seeds and plot defaults."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

SEED = 42
PROJECT_NAME = "ml-course"


def is_quick() -> bool:
    """True when ``COURSE_QUICK`` asks for quick mode (smaller data, fewer iterations)."""
    return os.environ.get("COURSE_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}


def mode() -> str:
    """``"quick"`` or ``"full"``."""
    return "quick" if is_quick() else "full"


def pick(*, full, quick):
    """Return ``quick`` in quick mode and ``full`` otherwise.

    Notebooks route their few heavy knobs (epochs, grid sizes, subset sizes) through this
    call so that the reader sees both values side by side.
    """
    return quick if is_quick() else full


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def project_root() -> Path | None:
    """The course checkout this package lives in, or None when installed elsewhere (Colab)."""
    here = Path(__file__).resolve().parent.parent
    pyproject = here / "pyproject.toml"
    if pyproject.is_file() and f'name = "{PROJECT_NAME}"' in pyproject.read_text(encoding="utf-8"):
        return here
    return None


def gpu_devices() -> list[str]:
    """Names of the GPUs TensorFlow can use (an empty list on CPU-only machines).

    Imports TensorFlow, so call it only in chapters that use it.
    """
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


def nvidia_gpus() -> list[str] | None:
    """Names of the NVIDIA GPUs that ``nvidia-smi`` lists, without importing TensorFlow.

    None when ``nvidia-smi`` is not installed; an empty list when it lists no GPU.
    """
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        result = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    return [name.strip() for name in result.stdout.splitlines() if name.strip()]


def seed_everything(seed: int = SEED) -> None:
    """Seed Python, NumPy and (if it is already imported) TensorFlow."""
    random.seed(seed)
    np.random.seed(seed)
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(seed)


def plot_defaults() -> None:
    """Readable, consistent matplotlib defaults for every chapter."""
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 11,
            "axes.labelsize": 12,
            "axes.titlesize": 12,
            "legend.fontsize": 10,
            "image.cmap": "viridis",
        }
    )


def setup(chapter: str, seed: int = SEED) -> None:
    """Prepare a chapter notebook: seeds, plot defaults, and a one-line report.

    ``chapter`` names the folder under ``images/`` where ``helpers.plots.save_fig``
    writes this chapter's figures.
    """
    from helpers import plots

    seed_everything(seed)
    plot_defaults()
    plots.set_chapter(chapter)
    where = "Colab" if in_colab() else "local"
    print(f"Chapter {chapter}: {mode()} mode, running {where}, random seed {seed}.")

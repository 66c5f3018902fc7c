"""Where the notebooks run: quick or full mode, Colab, GPUs, seeds and plot defaults."""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
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

    Imports TensorFlow (quietly, see ``import_tensorflow``), so call it only in chapters that use it.
    """
    tf = import_tensorflow(report=False)
    return [device.name for device in tf.config.list_physical_devices("GPU")]


# TensorFlow's C++ runtime writes its start-up messages straight to the process's stderr (file
# descriptor 2), some of them before its logging is configured, so TF_CPP_MIN_LOG_LEVEL cannot
# hide them all: "Could not find cuda drivers", "failed call to cuInit", factories registered
# twice... On a machine without a usable GPU they only say that there is none.
_TF_LOG_LINE = re.compile(
    r"^(?:(?P<absl>[IWEF])\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\]"  # I0000 00:00:1795.84 1227 file.cc:31]
    r"|\d{4}-\d\d-\d\d [\d:.]+: (?P<old>[IWEF]) [\w./-]+:\d+\])"  # 2026-01-01 10:00:00.1: E file.cc:4]
)
_TF_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_TF_CONTINUATIONS = ("To enable the following instructions:",)  # second line of a CPU-features note
_TF_HARMLESS_ERRORS = re.compile(
    r"cuInit|cuda drivers|Unable to register cu(?:DNN|FFT|BLAS) factory|computation placer already registered"
)


def quiet_tensorflow_logs() -> None:
    """Ask TensorFlow's C++ runtime for errors only (no info or warning lines).

    Works only before TensorFlow's first import; a value already set in the environment wins.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _is_tensorflow_noise(line: str) -> bool:
    """True for a C++ start-up line of TensorFlow that tells a student nothing useful."""
    if line.strip() == _TF_ABSL_PREAMBLE or line.startswith(_TF_CONTINUATIONS):
        return True
    match = _TF_LOG_LINE.match(line)
    if match is None:
        return False  # Python warnings, tracebacks, anything else: keep
    severity = match.group("absl") or match.group("old")
    return severity in "IW" or (severity == "E" and bool(_TF_HARMLESS_ERRORS.search(line)))


@contextlib.contextmanager
def _filtered_stderr_fd(keep):
    """Capture what is written to file descriptor 2 (C++ code included) and replay the kept lines."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real descriptor 2: leave everything alone
        saved = None
    if saved is None:
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines = sink.read().decode("utf-8", errors="replace").splitlines()
            kept = [line for line in lines if keep(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr)


def _describe_devices(tf, gpus) -> str:
    """One line: the TensorFlow version and the device the computations will run on."""
    head = f"TensorFlow {tf.__version__}"
    if gpus:
        names = []
        for gpu in gpus:
            try:
                names.append(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name))
            except (ValueError, RuntimeError):
                names.append(gpu.name)
        return f"{head}: {len(gpus)} GPU(s) found ({', '.join(names)}), computations run on GPU:0"
    listed = nvidia_gpus()
    if listed:
        return (f"{head}: nvidia-smi lists {', '.join(listed)}, but this TensorFlow cannot use it "
                "(CUDA libraries missing?): computations run on the CPU")
    return f"{head}: no GPU found, computations run on the CPU"


def import_tensorflow(report: bool = True):
    """Import TensorFlow without its C++ start-up log and return the module.

    The GPU probe (whose first call initializes CUDA) runs under the same filter. With
    ``report``, print one line instead: the version and the GPU found, or that there is none.
    Lines that are not known start-up noise (a real error, a Python warning) still reach stderr.
    """
    quiet_tensorflow_logs()
    with _filtered_stderr_fd(lambda line: not _is_tensorflow_noise(line)):
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
    if report:
        print(_describe_devices(tf, gpus))
    return tf


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
    """Readable, consistent matplotlib defaults for every chapter, in the course palette."""
    import matplotlib as mpl
    from cycler import cycler

    from helpers.plots import PALETTE

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
            "image.cmap": "viridis",  # perceptually uniform and colour-blind safe
            "axes.prop_cycle": cycler(color=list(PALETTE)),  # "C0", "C1", ... are the palette
        }
    )


def setup(chapter: str, seed: int = SEED) -> None:
    """Prepare a chapter notebook: seeds, plot defaults, and a one-line report.

    ``chapter`` names the folder under ``images/`` where ``helpers.plots.save_fig``
    writes this chapter's figures.
    """
    from helpers import plots

    quiet_tensorflow_logs()  # before any TensorFlow import: its C++ info and warning lines stay hidden
    seed_everything(seed)
    plot_defaults()
    plots.set_chapter(chapter)
    where = "Colab" if in_colab() else "local"
    print(f"Chapter {chapter}: {mode()} mode, running {where}, random seed {seed}.")

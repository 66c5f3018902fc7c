"""helpers.env and helpers.plots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import make_moons  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

from helpers import env, plots  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("value, quick", [("1", True), ("true", True), ("yes", True),
                                          ("0", False), ("", False), ("no", False)])
def test_quick_mode_flag(monkeypatch, value, quick):
    monkeypatch.setenv("COURSE_QUICK", value)
    assert env.is_quick() is quick
    assert env.mode() == ("quick" if quick else "full")
    assert env.pick(full=100, quick=10) == (10 if quick else 100)


def test_project_root_is_this_checkout():
    assert env.project_root() == ROOT


def test_seeding_makes_numpy_repeatable():
    env.seed_everything(7)
    first = np.random.rand(3)
    env.seed_everything(7)
    assert np.array_equal(first, np.random.rand(3))


def test_setup_reports_mode_and_seed(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_QUICK", "1")
    env.setup("99_test_chapter")
    out = capsys.readouterr().out
    assert "quick mode" in out and "seed 42" in out
    assert plots.images_dir() == ROOT / "images" / "99_test_chapter"


def test_not_in_colab_here():
    assert env.in_colab() is False


def test_gpu_detection_returns_a_list_without_failing():
    # Run in a child process: importing TensorFlow here would slow every other test.
    code = "from helpers import env; d = env.gpu_devices(); assert isinstance(d, list); print(len(d))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip().isdigit()


def test_save_fig_writes_a_png_under_the_chapter_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(env, "project_root", lambda: tmp_path)
    plots.set_chapter("07 ensembles!")
    plt.figure()
    plt.plot([0, 1], [1, 0])
    path = plots.save_fig("line")
    plt.close("all")
    assert path == tmp_path / "images" / "07_ensembles" / "line.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_digit_plots_accept_flat_and_square_images():
    images = np.random.default_rng(0).integers(0, 255, size=(12, 784))
    fig = plots.plot_digits(images, n_cols=5, labels=list(range(12)))
    assert len(fig.axes) == 15 and fig.axes[0].get_title() == "0"
    plt.figure()
    plots.plot_digit(images[0].reshape(28, 28))
    plt.close("all")


def test_decision_regions_shade_every_predicted_class():
    X, y = make_moons(n_samples=100, noise=0.2, random_state=42)
    tree = DecisionTreeClassifier(max_depth=3, random_state=42).fit(X, y)
    fig, ax = plt.subplots()
    plots.plot_decision_regions(tree, X, y, ax=ax, resolution=50)
    assert ax.collections and len(ax.get_legend_handles_labels()[1]) == 2
    plt.close(fig)


def test_nvidia_gpus_reads_nvidia_smi_without_tensorflow(tmp_path, monkeypatch):
    fake_smi = tmp_path / "nvidia-smi"
    fake_smi.write_text("#!/bin/sh\nprintf 'NVIDIA H100\\nNVIDIA H100\\n'\n")
    fake_smi.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert env.nvidia_gpus() == ["NVIDIA H100", "NVIDIA H100"]
    fake_smi.write_text("#!/bin/sh\nexit 9\n")
    assert env.nvidia_gpus() == []
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert env.nvidia_gpus() is None

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


def test_tensorflow_startup_noise_is_dropped_and_everything_else_kept(capfd):
    import os

    written = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795462563.844501    1227 cudart_stub.cc:31] Could not find cuda drivers on "
        "your machine, GPU will not be used.",
        "E0000 00:00:1795462573.448693    1227 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
        "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
        "2026-01-01 10:00:00.354497: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:467] "
        "Unable to register cuFFT factory: Attempting to register factory for plugin cuFFT",
        "I0000 00:00:1.5    7 cpu_feature_guard.cc:210] This TensorFlow binary is optimized to use "
        "available CPU instructions in performance-critical operations.",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
        "with the appropriate compiler flags.",
        "W0000 00:00:1.5    7 some_file.cc:12] some start-up warning",
        "E0000 00:00:1.5    7 some_kernel.cc:12] a real error worth seeing",
        "UserWarning: a Python warning worth seeing",
    ]
    with env._filtered_stderr_fd(lambda line: not env._is_tensorflow_noise(line)):
        for line in written:
            os.write(2, (line + "\n").encode())
    err = capfd.readouterr().err
    assert err.splitlines() == written[-2:]


def test_import_tensorflow_prints_one_line_and_no_cpp_log():
    # A child process, so that this test imports TensorFlow for the first time.
    code = "from helpers import env; tf = env.import_tensorflow(); tf.constant(1.0) + 1.0"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("TensorFlow ") and "computations run on" in lines[0]

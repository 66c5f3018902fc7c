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


# --------------------------------------------------------------------------- palette and figures


def test_setup_makes_the_course_palette_matplotlibs_colour_cycle():
    env.plot_defaults()
    cycle = [c.lower() for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert cycle == [c.lower() for c in plots.PALETTE]


def _colour_of(artist_colour) -> str:
    from matplotlib.colors import to_hex

    return to_hex(artist_colour).lower()


def _levels(regions) -> list[tuple[str, bool]]:
    """(colour, drawn somewhere) of each level of a filled ContourSet, on every matplotlib."""
    from matplotlib.collections import Collection

    if isinstance(regions, Collection):  # matplotlib 3.8+: one artist holds every level
        faces, paths = regions.get_facecolor(), regions.get_paths()
    else:  # matplotlib 3.7: one PathCollection per level
        faces = [level.get_facecolor()[0] for level in regions.collections]
        paths = [next(iter(level.get_paths()), None) for level in regions.collections]
    return [(_colour_of(face), path is not None and len(path.vertices) > 0)
            for face, path in zip(faces, paths, strict=True)]


def test_decision_regions_and_points_of_a_class_share_its_palette_colour():
    X, y = make_moons(n_samples=200, noise=0.3, random_state=0)
    y = np.where(y == 1, 2, 0)  # labels 0 and 2: colours follow class order, not label values
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    fig, ax = plt.subplots()
    regions = plots.plot_decision_regions(model, X, y, ax=ax, names=["left", "right"])
    points = [c for c in ax.collections if c.get_label() in ("left", "right")]
    plt.close(fig)
    palette = [c.lower() for c in plots.PALETTE[:2]]
    assert [colour for colour, drawn in _levels(regions) if drawn] == palette
    assert [_colour_of(c.get_facecolor()[0]) for c in points] == palette
    assert [c.get_label() for c in points] == ["left", "right"]


def test_decision_regions_draw_the_points_at_the_size_asked():
    X, y = make_moons(n_samples=40, noise=0.3, random_state=0)
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    sizes = []
    for size in (None, 40):
        fig, ax = plt.subplots()
        options = {} if size is None else {"size": size}
        plots.plot_decision_regions(model, X, y, ax=ax, resolution=20, names=["a", "b"], **options)
        sizes.append({float(s) for c in ax.collections if c.get_label() in ("a", "b")
                      for s in c.get_sizes()})
        plt.close(fig)
    assert sizes == [{18.0}, {40.0}]  # the default of plot_dataset, then the size asked


def test_regions_keep_their_class_colour_when_a_class_is_never_predicted():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])

    class AlwaysOne:
        classes_ = np.array([0, 1, 2])

        def predict(self, grid):
            return np.ones(len(grid), dtype=int)

    fig, ax = plt.subplots()
    regions = plots.plot_decision_regions(AlwaysOne(), X, np.array([0, 1, 2]), ax=ax, resolution=20)
    plt.close(fig)
    assert [colour for colour, drawn in _levels(regions) if drawn] == [plots.PALETTE[1].lower()]


def test_shared_plots_label_their_axes():
    X, y = make_moons(n_samples=50, noise=0.3, random_state=0)
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    for draw in (lambda ax: plots.plot_dataset(X, y, ax=ax),
                 lambda ax: plots.plot_decision_regions(model, X, y, ax=ax),
                 lambda ax: plots.plot_decision_regions(model, X, ax=ax)):
        fig, ax = plt.subplots()
        draw(ax)
        assert plots.unlabelled_axes(fig) == []
        plt.close(fig)
    digits = plots.plot_digits(np.zeros((3, 784)), n_cols=3)
    assert plots.unlabelled_axes(digits) == []  # images are drawn without axes
    plt.close("all")


def test_unlabelled_axes_names_each_missing_label():
    fig, axes = plt.subplots(1, 3, sharey=True)
    for ax in axes:
        ax.plot([0, 1], [0, 1])
    axes[0].set_ylabel("shared y")  # labels the row's y axis for all three panels
    axes[0].set_xlabel("time")
    axes[2].set_xlabel("time")
    assert plots.unlabelled_axes(fig) == ["panel 2: x"]
    image = axes[1].imshow(np.zeros((2, 2)))
    bar = fig.colorbar(image, ax=axes[1])
    assert "panel 4: colorbar" in plots.unlabelled_axes(fig)
    bar.set_label("value")
    assert plots.unlabelled_axes(fig) == ["panel 2: x"]
    plt.close(fig)


def test_show_outside_a_notebook_needs_a_text_alternative():
    plt.figure()
    with pytest.raises(ValueError, match="text alternative"):
        plots.show("   ")
    plots.show("A line from the origin: nothing to see.")  # the Agg backend: no window, no error
    plt.close("all")


def test_show_in_a_notebook_stores_the_alt_text_with_the_image(monkeypatch):
    import IPython.display

    shown = {}
    monkeypatch.setattr(plots, "_in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display",
                        lambda data, raw, metadata: shown.update(data=data, metadata=metadata))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    ax.set_xlabel("x")
    plots.show("A falling line:\n  y decreases as x grows.", fig=fig)
    assert not plt.fignum_exists(fig.number), "show() closes the figure it displayed"
    assert shown["metadata"]["image/png"]["alt"] == "A falling line: y decreases as x grows."
    assert shown["metadata"]["course"]["unlabelled_axes"] == ["panel 1: y"]
    assert shown["data"]["text/plain"].endswith("y decreases as x grows.]")
    import base64

    assert base64.b64decode(shown["data"]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"


def test_course_images_dir_redirects_save_fig(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_IMAGES_DIR", str(tmp_path / "scratch"))
    plots.set_chapter("06_decision_trees")
    assert plots.images_dir() == tmp_path / "scratch" / "06_decision_trees"

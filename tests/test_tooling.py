"""The project's tooling: lint, and the notebook runner behind `make execute` and `make bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import run_notebooks  # noqa: E402


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "helpers", "tests", "scripts",
                             "notebooks", "conftest.py"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def toy_notebook(path: Path, fail: bool = False) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import os\nprint(os.environ['COURSE_QUICK'])"),
                nbformat.v4.new_code_cell("1 / 0" if fail else "sum(range(10))")]
    nbformat.write(nb, path)
    return path


def test_execute_writes_outputs_counts_and_mode(tmp_path):
    path = toy_notebook(tmp_path / "toy.ipynb")
    assert run_notebooks.execute([path], quick=True) == 0
    nb = nbformat.read(path, as_version=4)
    assert [c.execution_count for c in nb.cells] == [1, 2]
    assert nb.cells[0].outputs[0].text.strip() == "1"
    assert nb.cells[1].outputs[0].data["text/plain"] == "45"
    assert nb.metadata.course["mode"] == "quick" and "numpy" in nb.metadata.course["versions"]


def test_execute_leaves_a_failing_notebook_unchanged(tmp_path):
    path = toy_notebook(tmp_path / "broken.ipynb", fail=True)
    before = path.read_bytes()
    assert run_notebooks.execute([path], quick=True) == 1
    assert path.read_bytes() == before


def test_full_mode_falls_back_to_quick_only_for_mnist_notebooks(monkeypatch):
    uses_mnist = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("load_mnist()")])
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("load_housing()")])
    assert run_notebooks.needs_full_mnist(uses_mnist) and not run_notebooks.needs_full_mnist(other)


def test_mode_chooser_uses_quick_for_mnist_notebooks_when_training_images_are_missing(
        tmp_path, monkeypatch):
    mnist = tmp_path / "mnist.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("load_mnist()")]), mnist)
    other = toy_notebook(tmp_path / "other.ipynb")
    probes = []
    monkeypatch.setattr(run_notebooks, "full_mnist_reachable", lambda: probes.append(1) or False)
    choose = run_notebooks.ModeChooser(quick=False)
    assert [choose(mnist), choose(other), choose(mnist)] == ["quick", "full", "quick"]
    assert len(probes) == 1  # the mirror is probed once per run
    assert run_notebooks.ModeChooser(quick=True)(other) == "quick"


def test_bench_writes_a_table_with_time_memory_and_slowest_cells(tmp_path, monkeypatch):
    monkeypatch.setattr(run_notebooks, "BENCHMARKS", tmp_path / "benchmarks")
    good = toy_notebook(tmp_path / "good.ipynb")
    broken = toy_notebook(tmp_path / "broken.ipynb", fail=True)
    assert run_notebooks.bench([good, broken], full=False) == 1
    table = (tmp_path / "benchmarks" / "RESULTS.md").read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in table.splitlines() if line.startswith("| good") or line.startswith("| broken")}
    mode, seconds, peak, slowest, status = rows["good.ipynb"]
    assert mode == "quick" and float(seconds) > 0 and int(peak.replace(",", "")) > 10
    assert slowest.count(" s") == 2 and status == "ok"  # the toy notebook has two cells
    assert rows["broken.ipynb"][-1].startswith("FAILED") and "ZeroDivisionError" in rows["broken.ipynb"][-1]
    assert "Versions:" in table and "Machine:" in table

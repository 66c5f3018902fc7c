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


def test_execute_records_the_kernelspec_as_ipykernel_writes_it(tmp_path):
    """Opening an untouched notebook must not mark it modified (JupyterLab rewrites the name)."""
    path = toy_notebook(tmp_path / "toy.ipynb")
    assert run_notebooks.execute([path], quick=True) == 0
    kernelspec = nbformat.read(path, as_version=4).metadata.kernelspec
    assert kernelspec == {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def widget_state(left: str, value: float, maximum: float, right: str) -> dict:
    def model(name, **state):
        return {"model_name": name, "state": state}

    return {"box": model("HBoxModel", children=["IPY_MODEL_a", "IPY_MODEL_b", "IPY_MODEL_c"]),
            "a": model("HTMLModel", value=left),
            "b": model("FloatProgressModel", value=value, max=maximum),
            "c": model("HTMLModel", value=right)}


def test_stored_progress_bars_show_their_final_state():
    nb = nbformat.v4.new_notebook()
    output = nbformat.v4.new_output("display_data", data={
        "text/plain": "training:   0%|          | 0/20 [00:00<?, ?epoch/s]",
        "application/vnd.jupyter.widget-view+json": {"model_id": "box", "version_major": 2}})
    nb.cells = [nbformat.v4.new_code_cell("loop()", outputs=[output])]
    state = widget_state("training: 100%", 20, 20, " 20/20 [00:03&lt;00:00, 6.1epoch/s]")
    nb.metadata.widgets = {"application/vnd.jupyter.widget-state+json": {"state": state}}
    run_notebooks.finalize(nb, "full")
    text = nb.cells[0].outputs[0].data["text/plain"]
    assert text == "training: 100%|██████████| 20/20 [00:03<00:00, 6.1epoch/s]"
    half = widget_state("training:  50%", 10, 20, " 10/20")
    assert run_notebooks._widget_text(half, "box") == "training:  50%|█████     | 10/20"
    assert run_notebooks._widget_text(half, "missing") is None


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


def test_bench_of_some_notebooks_keeps_the_other_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(run_notebooks, "BENCHMARKS", tmp_path / "benchmarks")
    first, second = toy_notebook(tmp_path / "a.ipynb"), toy_notebook(tmp_path / "b.ipynb")
    assert run_notebooks.bench([first, second], full=False) == 0
    before = run_notebooks.table_rows((tmp_path / "benchmarks" / "RESULTS.md").read_text())
    assert run_notebooks.bench([second], full=False, merge=True) == 0
    table = (tmp_path / "benchmarks" / "RESULTS.md").read_text()
    after = run_notebooks.table_rows(table)
    assert sorted(after) == ["a.ipynb", "b.ipynb"] and after["a.ipynb"] == before["a.ipynb"]
    seconds = sum(float(row.split("|")[3]) for row in after.values())
    assert f"Total: {seconds:.0f} s." in table

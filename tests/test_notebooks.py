"""Notebook hygiene: what every committed chapter must satisfy before nbval even runs it."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import nbformat
import pytest

from helpers.exercises import Exercise

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CHAPTERS = [
    "01_the_machine_learning_landscape",
    "02_end_to_end_machine_learning_project",
    "03_classification",
    "04_training_models",
    "05_support_vector_machines",
    "06_decision_trees",
    "07_ensemble_learning_and_random_forests",
    "08_dimensionality_reduction",
    "09_unsupervised_learning",
    "10_custom_training_with_tensorflow",
]
REPO_URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
OWNER_REPO = REPO_URL.removeprefix("https://github.com/")
ABSOLUTE_PATH = re.compile(r"(/home/|/root/|/tmp/|/work/|/Users/|[A-Z]:\\\\Users)")


def colab_link(stem: str) -> str:
    return f"https://colab.research.google.com/github/{OWNER_REPO}/blob/main/notebooks/{stem}.ipynb"


def test_notebook_folder_holds_exactly_the_ten_chapters():
    found = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert found == CHAPTERS


@pytest.fixture(params=CHAPTERS)
def chapter(request):
    path = NOTEBOOKS / f"{request.param}.ipynb"
    return request.param, nbformat.read(path, as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code" and cell.source.strip()]


def test_valid_nbformat_and_python_kernel(chapter):
    stem, nb = chapter
    nbformat.validate(nb)
    assert nb.metadata.kernelspec["name"] == "python3"
    assert nb.metadata.kernelspec["language"] == "python"


def test_executed_top_to_bottom_in_one_run(chapter):
    stem, nb = chapter
    counts = [cell.execution_count for cell in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}"


def test_records_the_mode_that_produced_its_outputs(chapter):
    stem, nb = chapter
    assert nb.metadata.get("course", {}).get("mode") in {"quick", "full"}


def test_no_stored_errors(chapter):
    stem, nb = chapter
    for cell in code_cells(nb):
        for output in cell.outputs:
            assert output.output_type != "error", f"stored error: {output.get('ename')}"
            text = output.get("text", "")
            assert "Traceback (most recent call last)" not in text


def test_no_absolute_paths(chapter):
    stem, nb = chapter
    for cell in nb.cells:
        assert not ABSOLUTE_PATH.search(cell.source), cell.source[:200]
        for output in cell.get("outputs", []):
            text = str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
            assert not ABSOLUTE_PATH.search(text), text[:200]


def test_opens_with_title_summary_and_badge(chapter):
    stem, nb = chapter
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert colab_link(stem) in first.source
    assert "colab-badge.svg" in first.source
    prose = re.sub(r"\[!\[.*?\)\]\(.*?\)", "", first.source.split("\n", 1)[1]).strip()
    assert len(prose.split()) >= 25, "the title cell needs a one-paragraph summary"


def test_one_setup_cell_installs_from_the_repository(chapter):
    stem, nb = chapter
    setup = code_cells(nb)[0]
    assert f"git+{REPO_URL}" in setup.source
    assert "google.colab" in setup.source
    assert f'env.setup("{stem}")' in setup.source
    others = [c for c in code_cells(nb)[1:] if "git+" in c.source or "env.setup(" in c.source]
    assert not others, "only the first code cell may install or set up"


def test_every_exercise_has_a_starter_that_reports_not_attempted(chapter):
    stem, nb = chapter
    module = importlib.import_module(f"helpers.exercises.ch{stem[:2]}")
    exercises = [name for name, value in vars(module).items() if isinstance(value, Exercise)]
    assert exercises, f"helpers.exercises.ch{stem[:2]} defines no exercise"
    for name in exercises:
        starters = [c for c in code_cells(nb) if f"{name}.check(" in c.source]
        assert starters, f"{name} has no check cell in the notebook"
        starter = starters[0]
        # A check shows one display_data output: text/plain (compared by nbval, read in
        # terminals) beside a styled text/html block of the same words.
        shown = [o for o in starter.outputs if o.output_type == "display_data"]
        printed = "".join(o.get("data", {}).get("text/plain", "") for o in shown)
        assert "Not yet attempted" in printed, f"{name}: the committed starter should be untouched"
        assert all("text/html" in o.get("data", {}) for o in shown), f"{name}: rendered by an old check"
        assert "nbval-check-output" in starter.metadata.get("tags", []), (
            f"{name}: tag the starter cell nbval-check-output so that nbval compares the check's output")
        assert "NBVAL_CHECK_OUTPUT" not in starter.source, f"{name}: use the cell tag, not a comment"


def test_some_outputs_are_compared_by_nbval(chapter):
    stem, nb = chapter
    marked = [c for c in code_cells(nb) if "nbval-check-output" in c.metadata.get("tags", [])]
    assert marked and all(c.outputs for c in marked), "tagged cells must have stored outputs"


def test_test_markers_live_in_cell_tags_not_in_students_code(chapter):
    stem, nb = chapter
    for cell in nb.cells:
        assert not re.search(r"#\s*NBVAL_", cell.source), f"an nbval comment in: {cell.source[:80]!r}"


def test_kernelspec_is_what_ipykernel_writes(chapter):
    """Otherwise opening the untouched notebook in JupyterLab marks it modified."""
    stem, nb = chapter
    assert dict(nb.metadata.kernelspec) == {
        "display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def test_no_stderr_in_stored_outputs(chapter):
    """Warnings, library logs and progress written to stderr show as red blocks to students."""
    stem, nb = chapter
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            assert output.get("name") != "stderr", f"cell {index}: {output.get('text', '')[:200]!r}"


def test_money_is_not_written_with_escaped_dollars(chapter):
    """JupyterLab renders `\\$1 and \\$2` as LaTeX math; the course writes USD 23,500."""
    stem, nb = chapter
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert "\\$" not in cell.source, cell.source[:200]
            money = re.search(r"\$\d{1,3}(,\d{3})+", cell.source)
            assert not money, f"write money as USD: {money.group(0)}"


def test_answer_toggles_sit_inside_their_list_item(chapter):
    """Under "10. …" a toggle needs four spaces of indentation, under "9. …" three."""
    stem, nb = chapter
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        item = None
        for line in cell.source.splitlines():
            numbered = re.match(r"(\d+)\. ", line)
            if numbered:
                item = numbered.group(1)
            elif item and line.lstrip().startswith("<details"):
                indent = len(line) - len(line.lstrip())
                assert indent in (0, len(item) + 2), f"toggle of question {item} indented {indent}: {line[:60]}"


def test_stored_progress_bars_show_their_final_state(chapter):
    stem, nb = chapter
    for cell in code_cells(nb):
        for output in cell.outputs:
            if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
                text = output.data.get("text/plain", "")
                assert not re.search(r"\b0%\|", text), f"a progress bar stored at its start: {text}"


def test_tensorflow_chapter_tags_its_gpu_cells():
    nb = nbformat.read(NOTEBOOKS / f"{CHAPTERS[-1]}.ipynb", as_version=4)
    tagged = [c for c in code_cells(nb) if "gpu" in c.metadata.get("tags", [])]
    assert len(tagged) >= 2
    assert any("gpu_devices" in c.source for c in tagged)


def test_readme_links_every_chapter_to_colab():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for stem in CHAPTERS:
        assert colab_link(stem) in readme, stem

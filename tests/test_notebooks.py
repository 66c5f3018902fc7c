"""Notebook hygiene: what every committed chapter must satisfy before nbval even runs it."""

from __future__ import annotations

import ast
import importlib
import io
import re
import tokenize
import tomllib
from pathlib import Path

import nbformat
import pytest

from helpers.exercises import Exercise

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
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


def colab_link(stem: str, folder: str = "notebooks") -> str:
    return f"https://colab.research.google.com/github/{OWNER_REPO}/blob/main/{folder}/{stem}.ipynb"


SOLUTION_STEMS = [f"{stem}_solutions" for stem in CHAPTERS]
#: Every committed notebook: the ten chapters and their worked solutions.
ALL_NOTEBOOKS = ([NOTEBOOKS / f"{stem}.ipynb" for stem in CHAPTERS]
                 + [SOLUTIONS / f"{stem}.ipynb" for stem in SOLUTION_STEMS])


def test_notebook_folder_holds_exactly_the_ten_chapters():
    found = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert found == CHAPTERS


def test_progress_reports_list_the_same_chapters():
    from helpers import progress

    assert list(progress.CHAPTERS) == CHAPTERS


def test_solutions_folder_holds_one_worked_solutions_notebook_per_chapter():
    found = sorted(p.stem for p in SOLUTIONS.glob("*.ipynb"))
    assert found == SOLUTION_STEMS


@pytest.fixture(params=CHAPTERS)
def chapter(request):
    path = NOTEBOOKS / f"{request.param}.ipynb"
    return request.param, nbformat.read(path, as_version=4)


@pytest.fixture(params=ALL_NOTEBOOKS, ids=lambda path: path.stem)
def notebook(request):
    """Any committed notebook, chapter or worked solutions: (file stem, notebook)."""
    return request.param.stem, nbformat.read(request.param, as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code" and cell.source.strip()]


def test_valid_nbformat_and_python_kernel(notebook):
    stem, nb = notebook
    nbformat.validate(nb)
    assert nb.metadata.kernelspec["name"] == "python3"
    assert nb.metadata.kernelspec["language"] == "python"


def test_executed_top_to_bottom_in_one_run(notebook):
    stem, nb = notebook
    counts = [cell.execution_count for cell in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}"


def test_records_the_mode_that_produced_its_outputs(notebook):
    stem, nb = notebook
    # every dataset is in the offline mirror, so every notebook is committed from a full run
    assert nb.metadata.get("course", {}).get("mode") == "full"


def test_no_stored_errors(notebook):
    stem, nb = notebook
    for cell in code_cells(nb):
        for output in cell.outputs:
            assert output.output_type != "error", f"stored error: {output.get('ename')}"
            text = output.get("text", "")
            assert "Traceback (most recent call last)" not in text


def test_no_absolute_paths(notebook):
    stem, nb = notebook
    for cell in nb.cells:
        assert not ABSOLUTE_PATH.search(cell.source), cell.source[:200]
        for output in cell.get("outputs", []):
            text = str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
            assert not ABSOLUTE_PATH.search(text), text[:200]


def test_opens_with_title_summary_and_badge(notebook):
    stem, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    folder = "notebooks/solutions" if stem.endswith("_solutions") else "notebooks"
    assert colab_link(stem, folder) in first.source
    assert "colab-badge.svg" in first.source
    prose = re.sub(r"\[!\[.*?\)\]\(.*?\)", "", first.source.split("\n", 1)[1]).strip()
    assert len(prose.split()) >= 25, "the title cell needs a one-paragraph summary"


def test_one_setup_cell_installs_from_the_repository(notebook):
    stem, nb = notebook
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


def test_some_outputs_are_compared_by_nbval(notebook):
    stem, nb = notebook
    marked = [c for c in code_cells(nb) if "nbval-check-output" in c.metadata.get("tags", [])]
    assert marked and all(c.outputs for c in marked), "tagged cells must have stored outputs"


def test_test_markers_live_in_cell_tags_not_in_students_code(notebook):
    stem, nb = notebook
    for cell in nb.cells:
        assert not re.search(r"#\s*NBVAL_", cell.source), f"an nbval comment in: {cell.source[:80]!r}"


def test_kernelspec_is_what_ipykernel_writes(notebook):
    """Otherwise opening the untouched notebook in JupyterLab marks it modified."""
    stem, nb = notebook
    assert dict(nb.metadata.kernelspec) == {
        "display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def test_no_stderr_in_stored_outputs(notebook):
    """Warnings, library logs and progress written to stderr show as red blocks to students."""
    stem, nb = notebook
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            assert output.get("name") != "stderr", f"cell {index}: {output.get('text', '')[:200]!r}"


def test_money_is_not_written_with_escaped_dollars(notebook):
    """JupyterLab renders `\\$1 and \\$2` as LaTeX math; the course writes USD 23,500."""
    stem, nb = notebook
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert "\\$" not in cell.source, cell.source[:200]
            money = re.search(r"\$\d{1,3}(,\d{3})+", cell.source)
            assert not money, f"write money as USD: {money.group(0)}"


def test_answer_toggles_sit_inside_their_list_item(notebook):
    """Under "10. …" a toggle needs four spaces of indentation, under "9. …" three."""
    stem, nb = notebook
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


def test_stored_progress_bars_show_their_final_state(notebook):
    stem, nb = notebook
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


# --------------------------------------------------------------------------- figures everyone can use


def image_outputs(nb):
    """(cell index, output) for every stored figure."""
    return [(index, output) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for output in cell.outputs
            if any(key.startswith("image/") for key in output.get("data", {}))]


def test_every_figure_has_a_text_alternative(notebook):
    """`plots.show(alt=...)` stores what the figure shows and its takeaway with the image,
    where a renderer uses it as the image's alt text."""
    stem, nb = notebook
    seen = {}
    for index, output in image_outputs(nb):
        alt = output.get("metadata", {}).get("image/png", {}).get("alt", "")
        assert len(alt.split()) >= 10, (
            f"cell {index}: a figure without a text alternative of at least ten words "
            f"(show it with plots.show(alt=...)): {alt!r}")
        assert alt not in seen, f"cells {seen.get(alt)} and {index} share the same alt text"
        seen[alt] = index


def test_every_axis_of_every_figure_is_labelled(notebook):
    """`plots.show` records the panels whose axes show ticks but have no label."""
    stem, nb = notebook
    for index, output in image_outputs(nb):
        course = output.get("metadata", {}).get("course", {})
        assert "unlabelled_axes" in course, f"cell {index}: figure not shown with plots.show"
        assert course["unlabelled_axes"] == [], f"cell {index}: no label on {course['unlabelled_axes']}"


#: Colours a notebook may name: the palette by position ("C0".."C7") or by value, black,
#: white and greys, and no colour at all. Colormaps: perceptually uniform or grey ones, and
#: the colour-blind-safe diverging ones.
_PALETTE_NAMES = {f"C{i}" for i in range(8)} | {"k", "black", "w", "white", "none", "gray", "grey",
                                                "lightgray", "lightgrey", "darkgray", "darkgrey",
                                                "dimgray", "dimgrey", "silver"}
_COLORMAPS = {"viridis", "cividis", "plasma", "magma", "inferno", "binary", "gray", "Greys",
              "Blues", "Oranges", "PuOr", "RdBu", "BrBG"}
_COLOUR_KEYWORDS = {"color", "c", "colors", "facecolor", "facecolors", "edgecolor", "edgecolors",
                    "mfc", "mec", "markerfacecolor", "markeredgecolor", "ecolor", "fc", "ec"}
_FORMAT_CALLS = {"plot", "semilogx", "semilogy", "loglog", "errorbar", "step"}
_FORMAT = re.compile(r"^[-.:o^sv*+xXDd|_<>1234phH,bgrcmykw]{1,4}$")


def _palette_colour(value: str) -> bool:
    from helpers.plots import PALETTE

    value = value.strip()
    if value in _PALETTE_NAMES or value.lower() in {c.lower() for c in PALETTE}:
        return True
    try:
        return 0.0 <= float(value) <= 1.0  # a grey level
    except ValueError:
        return False


def _colormap_name(value: str) -> str:
    return value.removesuffix("_r")


def colour_problems(source: str) -> list[str]:
    """Colours or colormaps named in code outside the course palette."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "cm" and _colormap_name(node.attr) not in _COLORMAPS:
            problems.append(f"colormap cm.{node.attr}")
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for keyword in node.keywords:
            strings = [keyword.value] if isinstance(keyword.value, ast.Constant) else (
                list(keyword.value.elts) if isinstance(keyword.value, ast.List | ast.Tuple) else [])
            for item in strings:
                if not (isinstance(item, ast.Constant) and isinstance(item.value, str)):
                    continue
                if keyword.arg == "cmap" and _colormap_name(item.value) not in _COLORMAPS:
                    problems.append(f"cmap={item.value!r}")
                elif keyword.arg in _COLOUR_KEYWORDS and not _palette_colour(item.value):
                    problems.append(f"{keyword.arg}={item.value!r}")
        if name in _FORMAT_CALLS:
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) \
                        and _FORMAT.match(arg.value) and re.search(r"[bgrcmyw]", arg.value):
                    problems.append(f"format string {arg.value!r} names a colour")
    return problems


def test_colour_check_catches_colours_outside_the_palette():
    assert colour_problems('plt.plot(x, y, "r--")') == ["format string 'r--' names a colour"]
    assert colour_problems('ax.scatter(x, y, c="tab:orange")') == ["c='tab:orange'"]
    assert colour_problems('ax.imshow(z, cmap="jet")') == ["cmap='jet'"]
    assert colour_problems("ax.imshow(z, cmap=plt.cm.coolwarm)") == ["colormap cm.coolwarm"]
    assert colour_problems('plt.plot(x, y, "k:", color="C1"); ax.imshow(z, cmap="viridis_r")') == []
    assert colour_problems('ax.fill_between(x, a, b, color=["C0", "0.8"])') == []


def test_colours_come_from_the_course_palette(notebook):
    stem, nb = notebook
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not colour_problems(cell.source), (
                f"cell {index}: {colour_problems(cell.source)}; use the palette ('C0'..'C7', "
                "plots.PALETTE), black or greys, and a colormap such as viridis")


# --------------------------------------------------------------------------- lessons speak to students

#: How the notebooks are tested is for CONTRIBUTING, not for the lesson.
_MAINTAINER_TALK = re.compile(r"\bnbval\b|\bCI\b|test suite|\bpytest\b|\bhygiene\b|make test"
                              r"|continuous integration|committed output", re.IGNORECASE)


def _without_comments(source: str) -> str:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    return " ".join(token.string for token in tokens if token.type != tokenize.COMMENT)


def test_maintainer_talk_is_recognised():
    assert _MAINTAINER_TALK.search("nbval compares this output")
    assert _MAINTAINER_TALK.search("so that CI stays fast")
    assert not _MAINTAINER_TALK.search("the CIFAR data and a circle")
    assert "CI" not in _without_comments('x = 1  # quick enough for CI\nprint("hello")')


def test_no_maintainer_talk_in_lessons(notebook):
    stem, nb = notebook
    for index, cell in enumerate(nb.cells):
        text = cell.source if cell.cell_type == "markdown" else _without_comments(cell.source)
        found = _MAINTAINER_TALK.search(text)
        assert not found, f"cell {index} talks about testing the course ({found.group(0)!r})"


# --------------------------------------------------------------------------- worked solutions


def chapter_exercises(stem: str) -> list[str]:
    module = importlib.import_module(f"helpers.exercises.ch{stem[:2]}")
    return [name for name, value in vars(module).items() if isinstance(value, Exercise)]


@pytest.mark.parametrize("stem", CHAPTERS)
def test_worked_solutions_pass_every_check_of_their_chapter(stem):
    nb = nbformat.read(SOLUTIONS / f"{stem}_solutions.ipynb", as_version=4)
    for name in chapter_exercises(stem):
        checks = [c for c in code_cells(nb) if f"{name}.check(" in c.source]
        assert checks, f"{name} is not solved in the worked solutions"
        shown = "".join(o.get("data", {}).get("text/plain", "") for o in checks[-1].outputs)
        assert "Correct!" in shown, f"{name}: the worked solution's check says {shown[:200]!r}"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_chapter_links_its_worked_solutions(stem):
    nb = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    exercises = next(i for i, c in enumerate(nb.cells)
                     if c.cell_type == "markdown" and c.source.startswith("## Exercises"))
    after = "".join(c.source for c in nb.cells[exercises:] if c.cell_type == "markdown")
    assert f"solutions/{stem}_solutions.ipynb" in after


@pytest.mark.parametrize("stem", CHAPTERS)
def test_worked_solutions_show_the_reference_solution_verbatim(stem):
    """The code a worked-solutions notebook runs is what `exN.solution()` shows a student."""
    module = importlib.import_module(f"helpers.exercises.ch{stem[:2]}")
    nb = nbformat.read(SOLUTIONS / f"{stem}_solutions.ipynb", as_version=4)
    sources = [cell.source.strip() for cell in code_cells(nb)]
    for name in chapter_exercises(stem):
        reference = getattr(module, name).solution_source().strip()
        assert reference in sources, f"{name}: no code cell of the worked solutions is its reference solution"

"""The grader on a class of realistic submissions: python -m helpers.grade SUBMISSION... --out DIR.

One grading run (module fixture) covers chapter 1 and chapter 6 notebooks handed in complete
(the reference solutions pasted into the starter cells), partial, untouched, with cells deleted,
duplicated and reordered, of another chapter, not JSON, and empty; each case is checked on its
CSV rows. The machine is checked afterwards: submissions unchanged, no process of the run left,
no cgroup left. A rerun re-executes only what changed. tests/test_grade_hostile.py has the
hostile notebooks. The rules themselves (scoring, chapters, reports) have quick unit tests here.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from helpers.exercises import Exercise
from helpers.grade import report, sandbox, scoring
from helpers.grade.__main__ import _fingerprint
from helpers.grade.submissions import (
    Submission,
    collect,
    fill_starter,
    parse_chapter,
    prepare,
    with_solutions,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CH01 = "01_the_machine_learning_landscape"
CH06 = "06_decision_trees"


# --------------------------------------------------------------------------- shared by the grading tests


def read_nb(stem: str):
    return nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)


def write_nb(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def exercises(chapter: str) -> dict[str, Exercise]:
    import importlib

    module = importlib.import_module(f"helpers.exercises.{chapter}")
    return {v.name: v for v in vars(module).values() if isinstance(v, Exercise)}


def check_cell(nb, name: str) -> int:
    """Index of the starter cell that runs ``name.check(...)``."""
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and f"{name}.check(" in c.source)


def answer_with(nb, name: str, code: str, chapter: str) -> None:
    fill_starter(nb, exercises(chapter)[name], code)


def paste_solution(nb, name: str, chapter: str) -> None:
    with_solutions(nb, chapter, [name])


def tiny_notebook(*cells: str, chapter_stem: str = CH01):
    """A small chapter notebook: the setup and the exercises' import, then ``cells``."""
    setup = f"from helpers import env\nenv.setup({chapter_stem!r})\nfrom helpers.exercises.ch01 import ex20, ex21\nimport numpy as np"
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (setup, *cells)])


def digest_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def processes_of(run_id: str) -> list[int]:
    """Processes still tagged with the run's COURSE_GRADE_RUN (the runner, kernels, their children)."""
    found = []
    marker = f"COURSE_GRADE_RUN={run_id}".encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0"):
                found.append(int(entry))
    return found


def cgroups_of(run_id: str) -> list[Path]:
    tree, _ = sandbox.CgroupTree.find()
    if tree is None:
        return []
    return [p for base in tree.bases.values() for p in base.glob(f"course-grade-{run_id}-*")]


class Graded:
    """One run of the grader: its exit status, output, rows, wall time and run id."""

    def __init__(self, args: list[str], out: Path, timeout: float = 900, env: dict | None = None):
        self.run_id = uuid.uuid4().hex[:12]
        self.out = out
        environment = {**os.environ, "COURSE_GRADE_RUN": self.run_id, **(env or {})}
        start = time.monotonic()
        self.process = subprocess.run([sys.executable, "-m", "helpers.grade", *args, "--out", str(out)],
                                      capture_output=True, text=True, cwd=out.parent, env=environment,
                                      timeout=timeout)
        self.seconds = time.monotonic() - start
        self.stdout = self.process.stdout
        assert self.process.returncode == 0, self.process.stderr + self.stdout
        with open(out / "grades.csv", encoding="utf-8", newline="") as stream:
            self.rows = list(csv.DictReader(stream))
        self.html = (out / "report.html").read_text(encoding="utf-8")

    def row(self, student: str, exercise: str = "") -> dict:
        found = [r for r in self.rows if r["student"] == student and r["exercise"] == exercise]
        assert len(found) == 1, (student, exercise, self.rows)
        return found[0]

    def statuses(self, student: str) -> dict[str, str]:
        return {r["exercise"]: r["status"] for r in self.rows if r["student"] == student}

    def assert_clean_machine(self) -> None:
        assert processes_of(self.run_id) == []
        assert cgroups_of(self.run_id) == []


def time_bound(notebooks: int, jobs: int, timeout: float) -> float:
    """What the limits allow: every notebook stopped at its timeout plus the grader's grace."""
    return math.ceil(notebooks / jobs) * (timeout + sandbox.GRACE) + 60


needs_bwrap = pytest.mark.skipif(sandbox.probe().bwrap is None, reason="bubblewrap is not available here")


# --------------------------------------------------------------------------- a realistic class

TIMEOUT = 180


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """A folder of folders, one per student, as a class hands its notebooks in."""
    folder = tmp_path_factory.mktemp("class")
    nb = read_nb(CH01)
    paste_solution(nb, "ex20", "ch01")
    paste_solution(nb, "ex21", "ch01")
    write_nb(nb, folder / "complete" / f"{CH01}.ipynb")

    nb = read_nb(CH06)
    paste_solution(nb, "ex7", "ch06")
    paste_solution(nb, "ex8", "ch06")
    write_nb(nb, folder / "complete" / f"{CH06}.ipynb")

    nb = read_nb(CH01)  # ex20 solved, ex21 wrong, and an early cell that raises
    paste_solution(nb, "ex20", "ch01")
    answer_with(nb, "ex21", "from sklearn.neighbors import KNeighborsRegressor\n"
                "best_knn = KNeighborsRegressor(n_neighbors=1).fit(\n"
                "    lifesat[['GDP per capita (USD)']].to_numpy(), lifesat['Life satisfaction'].to_numpy())",
                "ch01")
    nb.cells.insert(3, nbformat.v4.new_code_cell("undefined_name + 1"))
    write_nb(nb, folder / "partial" / f"{CH01}.ipynb")

    write_nb(read_nb(CH01), folder / "untouched" / f"{CH01}.ipynb")

    nb = read_nb(CH01)  # ex21's check cell deleted
    paste_solution(nb, "ex20", "ch01")
    del nb.cells[check_cell(nb, "ex21")]
    write_nb(nb, folder / "deleted" / f"{CH01}.ipynb")

    nb = read_nb(CH01)  # ex20's cell duplicated (right, then wrong); ex21's moved before its import
    paste_solution(nb, "ex20", "ch01")
    wrong = nbformat.v4.new_code_cell("theta = np.array([4.0, 0.0])\nex20.check(theta)")
    nb.cells.insert(check_cell(nb, "ex20") + 1, wrong)
    paste_solution(nb, "ex21", "ch01")
    nb.cells.insert(2, nb.cells.pop(check_cell(nb, "ex21")))
    write_nb(nb, folder / "shuffled" / f"{CH01}.ipynb")

    write_nb(read_nb(CH06), folder / "wrongchapter" / f"{CH01}.ipynb")
    (folder / "broken").mkdir()
    text = (NOTEBOOKS / f"{CH01}.ipynb").read_text(encoding="utf-8")
    (folder / "broken" / f"{CH01}.ipynb").write_text(text[: len(text) // 2], encoding="utf-8")
    (folder / "empty").mkdir()
    (folder / "empty" / f"{CH01}.ipynb").write_bytes(b"")
    write_nb(nbformat.v4.new_notebook(), folder / "blank" / f"{CH01}.ipynb")
    return folder


@pytest.fixture(scope="module")
def graded(klass, tmp_path_factory):
    before = digest_tree(klass)
    result = Graded([str(klass), "--jobs", "2", "--timeout", str(TIMEOUT)], tmp_path_factory.mktemp("out"))
    result.before = before
    return result


def test_complete_notebooks_are_correct(graded):
    assert graded.statuses("complete") == {"ex20": "correct", "ex21": "correct", "ex7": "correct", "ex8": "correct"}
    assert {r["chapter"] for r in graded.rows if r["student"] == "complete"} == {"ch01", "ch06"}


def test_partial_notebook_keeps_going_after_a_cell_that_raises(graded):
    assert graded.statuses("partial") == {"ex20": "correct", "ex21": "incorrect"}
    assert "n_neighbors" in graded.row("partial", "ex21")["message"]


def test_untouched_notebook_is_not_attempted(graded):
    assert graded.statuses("untouched") == {"ex20": "not attempted", "ex21": "not attempted"}
    assert "replace the `...`" in graded.row("untouched", "ex20")["message"]


def test_deleted_check_cell_is_not_attempted(graded):
    assert graded.statuses("deleted") == {"ex20": "correct", "ex21": "not attempted"}
    assert "was its cell deleted?" in graded.row("deleted", "ex21")["message"]


def test_last_check_in_execution_order_counts_and_a_raising_check_cell_is_an_error(graded):
    assert graded.statuses("shuffled") == {"ex20": "incorrect", "ex21": "error"}
    assert re.fullmatch(r"cell 3 \(.*\) raised NameError: name '\w+' is not defined before ex21's check ran",
                        graded.row("shuffled", "ex21")["message"])


def test_notebooks_that_cannot_be_graded_get_one_row_saying_why(graded):
    assert graded.row("wrongchapter")["status"] == "invalid"
    assert graded.row("wrongchapter")["message"] == ("another chapter: this is the notebook of Chapter 6: "
                                                     "decision trees, not of Chapter 1: the machine learning landscape")
    assert re.fullmatch(r"not a notebook: the file is not valid JSON \(.+: line \d+, column \d+\)",
                        graded.row("broken")["message"])
    assert graded.row("empty")["message"] == "the file is empty"
    assert graded.row("blank")["message"] == "the notebook is empty (no code cells)"


def test_csv_columns_and_seconds(graded):
    assert list(graded.rows[0]) == list(scoring.COLUMNS)
    assert float(graded.row("complete", "ex7")["seconds"]) > 0
    assert graded.row("deleted", "ex21")["seconds"] == ""


def test_report_and_gradebook(graded):
    page = graded.html
    assert page.index("Sandbox: bubblewrap" if sandbox.probe().bwrap else "NO SANDBOX") < page.index("<h1>")
    assert '<svg role="img" aria-labelledby="chart-title chart-desc"' in page
    assert "ch01 ex20: 3 of 5 correct (60%)" in page  # complete, partial, deleted; not shuffled, untouched
    assert "<script" not in page and "http" not in page.split("</style>")[0]
    with open(graded.out / "gradebook.csv", encoding="utf-8", newline="") as stream:
        book = {row["student"]: row for row in csv.DictReader(stream)}
    assert book["complete"]["correct"] == "4" and book["complete"]["exercises"] == "4"
    assert book["untouched"]["ch01 ex20"] == "0" and book["partial"]["ch01 ex20"] == "1"


def test_machine_state_and_time_after_grading(graded, klass):
    assert digest_tree(klass) == graded.before  # the submissions are untouched
    graded.assert_clean_machine()
    assert not (klass / "complete" / "images").exists()
    assert graded.seconds < time_bound(6, 2, TIMEOUT)


def test_rerun_runs_only_what_changed(graded, klass):
    again = Graded([str(klass), "--jobs", "2", "--timeout", str(TIMEOUT)], graded.out)
    assert "0 to run" in again.stdout
    assert again.rows == graded.rows
    nb = read_nb(CH01)
    paste_solution(nb, "ex21", "ch01")
    write_nb(nb, klass / "untouched" / f"{CH01}.ipynb")
    changed = Graded([str(klass), "--jobs", "2", "--timeout", str(TIMEOUT)], graded.out)
    assert "1 to run" in changed.stdout
    assert changed.statuses("untouched") == {"ex20": "not attempted", "ex21": "correct"}
    assert [r for r in changed.rows if r["student"] != "untouched"] == \
           [r for r in graded.rows if r["student"] != "untouched"]


# --------------------------------------------------------------------------- the rules, without running notebooks


LIMITS = sandbox.Limits(timeout=60, memory_mb=1000, processes=100, threads=1)
SOURCES = {1: "from helpers.exercises.ch01 import ex20, ex21", 5: "theta = f()\nex20.check(theta)",
           7: "ex21.check(knn)", 9: "theta = 1\nex20.check(theta)"}


def _score(*events, **outcome):
    rows, summary = scoring.score("s", "n.ipynb", "ch01", ["ex20", "ex21"], SOURCES,
                                  sandbox.Outcome(events=list(events), **outcome), LIMITS)
    return {r["exercise"]: (r["status"], r["message"]) for r in rows}, summary


def _cell(index, checks=(), error=None, problems=()):
    return {"event": "cell", "index": index, "seconds": 0.5, "error": error,
            "checks": [list(c) for c in checks], "problems": [list(p) for p in problems]}


def test_scoring_last_event_wins_and_errors_name_their_cell():
    rows, _ = _score(_cell(5, [("ex20", "correct", "")]), _cell(7, error="ValueError: bad"),
                     _cell(9, [("ex20", "incorrect", "too low")]), {"event": "done"})
    assert rows["ex20"] == ("incorrect", "too low")
    assert rows["ex21"] == ("error", "cell 8 (`ex21.check(knn)`) raised ValueError: bad before ex21's check ran")


def test_scoring_a_run_stopped_early():
    rows, summary = _score({"event": "start", "index": 5}, _cell(5, [("ex20", "correct", "")]),
                           {"event": "start", "index": 7}, {"event": "timeout", "index": 7})
    assert rows["ex20"] == ("correct", "")
    assert rows["ex21"][0] == "timeout" and "60 s in cell 8" in rows["ex21"][1]
    assert summary["stopped"].startswith("the notebook ran out of its 60 s")
    rows, _ = _score({"event": "start", "index": 5}, {"event": "died", "index": 5}, oom=True)
    assert rows["ex20"][0] == rows["ex21"][0] == "out of memory"
    rows, _ = _score({"event": "start", "index": 5})  # the runner vanished without a word
    assert rows["ex20"] == ("error", "the kernel died in cell 6 (`theta = f()`), before ex20's check")


def test_scoring_tampering_overrides_what_checks_said():
    rows, _ = _score(_cell(5, [("ex20", "correct", "")], problems=[("ex21", "ex21.check was set")]),
                     _cell(9, [("ex21", "correct", "")]), {"event": "done"})
    assert rows["ex20"] == ("correct", "")
    assert rows["ex21"] == ("tampered", "ex21.check was set, noticed after cell 6 (`theta = f()`)")
    rows, _ = _score(_cell(5, problems=[("", "Exercise.evaluate was replaced")]), {"event": "done"})
    assert {status for status, _ in rows.values()} == {"tampered"}


def test_chapters_from_setup_imports_and_names(tmp_path):
    assert parse_chapter("6") == parse_chapter("ch06") == parse_chapter(CH06) == "ch06"
    with pytest.raises(ValueError):
        parse_chapter("11")
    nb = tiny_notebook("ex20.check(1)")
    path = write_nb(nb, tmp_path / "bob.ipynb")
    assert prepare(Submission("bob", "bob.ipynb", path)).chapter == "ch01"
    assert prepare(Submission("bob", "bob.ipynb", path), "ch06").invalid.startswith("another chapter")
    nb.cells = nb.cells[1:]
    nb.cells.insert(0, nbformat.v4.new_code_cell("x = 1"))
    path = write_nb(nb, tmp_path / "carol.ipynb")
    assert prepare(Submission("carol", "carol.ipynb", path)).invalid.startswith("cannot tell which chapter")


def test_collect_students_from_files_folders_and_folders_of_folders(tmp_path):
    for path in ("a.ipynb", "b.ipynb", "dave/x/06_decision_trees.ipynb", "dave/.ipynb_checkpoints/y.ipynb",
                 "erin/01_the_machine_learning_landscape.ipynb", "notes.txt"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("{}")
    found = [(s.student, s.notebook) for s in collect([tmp_path])]
    assert found == [("a", "a.ipynb"), ("b", "b.ipynb"), ("dave", "x/06_decision_trees.ipynb"),
                     ("erin", "01_the_machine_learning_landscape.ipynb")]
    with pytest.raises(FileNotFoundError):
        collect([tmp_path / "missing"])


def test_report_escapes_what_students_wrote():
    evil = "<img src=x onerror=alert(1)>"
    rows = [dict(student=evil, notebook=evil, chapter="ch01", exercise="ex20", status="error",
                 message=evil, seconds=1.0)]
    page = report.report_html(rows, [dict(student=evil, notebook=evil, chapter="ch01", stopped=evil,
                                          stderr=evil)], "Sandbox: test", "options", "now")
    assert "<img" not in page and page.count("&lt;img src=x onerror=alert(1)&gt;") >= 4


def test_outputs_are_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    rows = [dict(student="a", notebook="n", chapter="ch01", exercise="ex20", status="correct", message="",
                 seconds=1)]
    report.write_all(tmp_path, rows, [], "Sandbox: test", "", "now")
    before = digest_tree(tmp_path)

    def broken(*args):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(report, "report_html", broken)
    with pytest.raises(RuntimeError):
        report.write_all(tmp_path, rows * 2, [], "Sandbox: test", "", "now")
    assert digest_tree(tmp_path) == before


def test_cache_key_changes_with_options():
    base = dict(mode="quick", timeout=60, memory=1000, processes=100, threads=1, chapter=None,
                sandbox="bwrap", limits="cgroup v1")
    assert _fingerprint(base) == _fingerprint(dict(base))
    assert _fingerprint(base) != _fingerprint({**base, "timeout": 61})
    assert _fingerprint(base) != _fingerprint({**base, "mode": "full"})


@needs_bwrap
def test_submissions_and_results_inside_a_visible_folder_are_hidden(tmp_path):
    """Hand-ins kept in the course folder (or the data cache) are masked in the sandbox's view."""
    secret = tmp_path / "hand-in" / "bob" / "answers.ipynb"
    secret.parent.mkdir(parents=True)
    secret.write_text("bob's answers")
    single = tmp_path / "carol.ipynb"
    single.write_text("carol's answers")
    limits = sandbox.Limits(timeout=10, memory_mb=256, processes=32, threads=1)
    command = sandbox.sandbox_command(
        sandbox.probe(), ["/bin/sh", "-c", f"ls -A {tmp_path}/hand-in; cat {secret} {single}; cat {tmp_path}/data.txt"],
        {"PATH": "/usr/bin:/bin"}, data_cache=tmp_path, mirror=None, hidden=[tmp_path / "hand-in", single],
        limits=limits)
    (tmp_path / "data.txt").write_text("the cached data is visible")
    run = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert "the cached data is visible" in run.stdout
    assert "answers" not in run.stdout and "bob" not in run.stdout

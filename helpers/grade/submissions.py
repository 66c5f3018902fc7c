"""Find the submitted notebooks, and tell which chapter each one is (or why it cannot be graded)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from helpers.progress import CHAPTERS, chapter_of_stem, chapter_title

_SETUP = re.compile(r"""env\.setup\(\s*["'](\d\d_\w+)["']""")
_IMPORT = re.compile(r"helpers\.exercises\.(ch\d\d)\b")
_SKIPPED = (".ipynb_checkpoints", "__MACOSX")


@dataclass
class Submission:
    student: str
    notebook: str  # the file's name, or its path inside the student's folder
    path: Path


@dataclass
class Prepared:
    """A submission read and classified: its chapter and cells, or why it cannot be graded."""

    submission: Submission
    raw: bytes = b""
    chapter: str | None = None
    sources: dict[int, str] = field(default_factory=dict)  # code cells: index -> source
    invalid: str | None = None


def _notebooks(folder: Path):
    for path in sorted(folder.rglob("*.ipynb")):
        if not any(part in _SKIPPED or part.startswith(".") for part in path.relative_to(folder).parts):
            yield path


def collect(paths: list[Path]) -> list[Submission]:
    """Each path: a notebook (the student is its file stem), or a folder of notebooks (same),
    or a folder of folders (the student is the sub-folder's name). Raises FileNotFoundError."""
    found = []
    for path in paths:
        if path.is_file():
            found.append(Submission(path.stem, path.name, path))
        elif path.is_dir():
            for item in sorted(path.iterdir()):
                if item.name.startswith(".") or item.name in _SKIPPED:
                    continue
                if item.is_file() and item.suffix == ".ipynb":
                    found.append(Submission(item.stem, item.name, item))
                elif item.is_dir():
                    found += [Submission(item.name, str(nb.relative_to(item)), nb) for nb in _notebooks(item)]
        else:
            raise FileNotFoundError(f"no such notebook or folder: {path}")
    return found


def parse_chapter(value: str) -> str:
    """'1', '01', 'ch01' or '01_the_machine_learning_landscape' -> 'ch01'."""
    text = value.strip().lower()
    chapter = chapter_of_stem(text)
    if chapter is None:
        digits = text.removeprefix("ch")
        if digits.isdigit() and 1 <= int(digits) <= len(CHAPTERS):
            chapter = f"ch{int(digits):02d}"
    if chapter is None:
        raise ValueError(f"'{value}' is not a chapter: give its number (1 to {len(CHAPTERS)})")
    return chapter


def prepare(submission: Submission, expected: str | None = None) -> Prepared:
    """Read the notebook and decide its chapter: from its ``env.setup(...)`` call, else from the
    exercises it imports; it must match ``expected`` (``--chapter``, else its file name's)."""
    import nbformat

    prepared = Prepared(submission)
    try:
        prepared.raw = submission.path.read_bytes()
    except OSError as error:
        prepared.invalid = f"the file cannot be read ({error.strerror or error})"
        return prepared
    if not prepared.raw.strip():
        prepared.invalid = "the file is empty"
        return prepared
    try:
        text = prepared.raw.decode("utf-8")
        json.loads(text)
    except UnicodeDecodeError:
        prepared.invalid = "not a notebook: the file is not UTF-8 text"
        return prepared
    except ValueError as error:
        prepared.invalid = (f"not a notebook: the file is not valid JSON ({error.msg}: line {error.lineno}, "
                            f"column {error.colno})")
        return prepared
    try:
        nb = nbformat.reads(text, as_version=4)
        cells = [(i, c) for i, c in enumerate(nb.cells) if c.get("cell_type") == "code"]
        prepared.sources = {i: c.source for i, c in cells if isinstance(c.get("source"), str) and c.source.strip()}
    except Exception as error:  # noqa: BLE001 - nbformat raises several kinds for a broken file
        detail = " ".join(str(error).split())[:200]
        prepared.invalid = f"not a notebook: {detail}"
        return prepared
    if not prepared.sources:
        prepared.invalid = "the notebook is empty (no code cells)"
        return prepared
    text = "\n".join(prepared.sources.values())
    setup = _SETUP.search(text)
    found = chapter_of_stem(setup.group(1)) if setup else None
    if found is None:
        imported = _IMPORT.search(text)
        found = imported.group(1) if imported else None
    expected = expected or chapter_of_stem(Path(submission.notebook).stem)
    if found and expected and found != expected:
        prepared.chapter = found
        prepared.invalid = (f"another chapter: this is the notebook of {chapter_title(found)}, "
                            f"not of {chapter_title(expected)}")
        return prepared
    prepared.chapter = found or expected
    if prepared.chapter is None:
        prepared.invalid = ("cannot tell which chapter this notebook is: it has no env.setup(...) "
                            "call, imports no helpers.exercises chapter, and its file name starts "
                            "with no chapter's name (use --chapter N)")
    return prepared



def fill_starter(nb, exercise, code: str) -> None:
    """Put ``code`` in place of the line ``variable = ...`` of ``exercise``'s starter cell."""
    starter = re.compile(rf"^{re.escape(exercise.defines)} = \.\.\..*$", re.M)
    for cell in nb.cells:
        if cell.get("cell_type") == "code" and f"{exercise.name}.check(" in cell.source and starter.search(cell.source):
            cell.source = starter.sub(lambda _: code.rstrip("\n"), cell.source, count=1)
            return
    raise ValueError(f"no starter cell '{exercise.defines} = ...' for {exercise.name}")


def with_solutions(nb, chapter: str, names: list[str] | None = None):
    """``nb`` with the reference solutions pasted into the starter cells (all, or ``names``): what a
    student who solved everything hands in. For tests and benchmarks."""
    import importlib

    from helpers.exercises import Exercise

    module = importlib.import_module(f"helpers.exercises.{chapter}")
    for exercise in (v for v in vars(module).values() if isinstance(v, Exercise)):
        if names is None or exercise.name in names:
            fill_starter(nb, exercise, exercise.solution_source())
    return nb

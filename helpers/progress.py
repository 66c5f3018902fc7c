"""Your progress through the course: every exercise check you run, and a report of them.

Each ``exN.check(...)`` also adds one line to a small log on your machine (the chapter, the
exercise, the status, the message and the time). The report shows, for each chapter, every
coding exercise with its latest status and how many answers you have tried::

    from helpers import progress
    progress.show()                  # in a notebook: a table and a bar per chapter

    python -m helpers.progress       # in a terminal: the same as plain text

The log is ``~/.ml-course/progress.jsonl`` (one JSON object per line); set the environment
variable ``COURSE_PROGRESS_FILE`` to keep it elsewhere. On Colab that folder is inside the
runtime, which Colab deletes when it recycles it: see :data:`COLAB_NOTE` for how to keep it.

Recording never gets in the way of a check: each result is appended with one write, so a
damaged line, a log two kernels write at once, or a folder that cannot be written loses at
most that one record, silently (``show()`` says when this session could not record).
"""

from __future__ import annotations

import argparse
import html
import importlib
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ENV_VAR = "COURSE_PROGRESS_FILE"
DEFAULT_LOG = Path("~") / ".ml-course" / "progress.jsonl"

#: The ten chapter notebooks (file stems), in course order.
CHAPTERS = (
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
)

STATUSES = ("correct", "incorrect", "not attempted")
_MARKS = {"correct": "✅", "incorrect": "❌", "not attempted": "⏳", None: "·"}
_MESSAGE_LIMIT = 500
_FIRST_KEY = '{"time"'  # every record starts with it: a line glued to a torn one is found again

COLAB_NOTE = (
    "On Colab this log is inside the runtime, which Colab deletes when it recycles it. To keep "
    "it, download it (Files panel, or `from google.colab import files; "
    "files.download(str(progress.log_path()))`), or keep it on your Drive: run "
    "`from google.colab import drive; drive.mount('/content/drive')` and "
    "`import os; os.environ['COURSE_PROGRESS_FILE'] = "
    "'/content/drive/MyDrive/ml-course-progress.jsonl'` before your first check."
)

_last_failure: str | None = None  # why the last record could not be written, for show()
_LISTENERS: list = []  # called with (exercise, result) before the record is written


def chapter_title(chapter: str) -> str:
    """'ch06' -> 'Chapter 6: decision trees'."""
    number = int(chapter[2:]) if chapter[2:].isdigit() else 0
    if 1 <= number <= len(CHAPTERS):
        return f"Chapter {number}: " + CHAPTERS[number - 1][3:].replace("_", " ")
    return chapter


def chapter_of_stem(stem: str) -> str | None:
    """'06_decision_trees' (or '06_decision_trees_solutions') -> 'ch06'; None for other names."""
    for number, name in enumerate(CHAPTERS, start=1):
        if stem == name or stem.startswith(name + "_"):
            return f"ch{number:02d}"
    return None


def log_path() -> Path:
    """Where results are recorded: ``$COURSE_PROGRESS_FILE``, else ``~/.ml-course/progress.jsonl``."""
    configured = os.environ.get(ENV_VAR, "").strip()
    return Path(configured or DEFAULT_LOG).expanduser()


# --------------------------------------------------------------------------- recording


def record(exercise: Any, result: Any) -> None:
    """Append ``result`` (a check's :class:`~helpers.exercises.Result`) to the log. Never raises."""
    global _last_failure
    for listener in list(_LISTENERS):
        try:
            listener(exercise, result)
        except Exception:  # noqa: BLE001 - a listener must not break a check
            pass
    try:
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "chapter": _chapter_of(exercise),
            "exercise": str(result.exercise),
            "status": result.status.value,
            "message": str(result.message)[:_MESSAGE_LIMIT],
        }
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write to a file opened for appending: lines written by two kernels at once do not
        # interleave, and a failure here costs this record only.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except Exception as exc:  # noqa: BLE001 - recording must never break a check
        _last_failure = f"{type(exc).__name__}: {exc}"
    else:
        _last_failure = None


def _chapter_of(exercise: Any) -> str:
    module = getattr(getattr(exercise, "_checker", None), "__module__", "") or ""
    return module.rsplit(".", 1)[-1] or "unknown"


def load(path: Path | None = None) -> list[dict]:
    """The records of the log, oldest first; damaged lines are skipped (a missing log is empty)."""
    global _last_failure
    path = Path(path) if path is not None else log_path()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:  # a folder in its place, no permission: the report says it is empty
        _last_failure = _last_failure or f"{type(exc).__name__}: {exc}"
        return []
    entries = []
    for line in text.splitlines():
        entry = _parse(line)
        if entry is None and _FIRST_KEY in line[1:]:  # a torn record, then a whole one
            entry = _parse(line[line.rindex(_FIRST_KEY):])
        if entry is not None:
            entries.append(entry)
    return entries


def _parse(line: str) -> dict | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in
                                              ("time", "chapter", "exercise", "status")):
        return None
    if entry["status"] not in STATUSES:
        return None
    return entry


# --------------------------------------------------------------------------- the report


@dataclass
class ExerciseProgress:
    name: str
    title: str
    status: str | None = None  # the latest check's, None when never checked
    message: str = ""
    attempts: int = 0  # checks of an answer (not of the untouched starter)
    last: str = ""  # time of the latest check


@dataclass
class ChapterProgress:
    chapter: str
    exercises: list[ExerciseProgress] = field(default_factory=list)

    @property
    def title(self) -> str:
        return chapter_title(self.chapter)

    @property
    def done(self) -> int:
        return sum(e.status == "correct" for e in self.exercises)


def course_exercises() -> dict[str, list[tuple[str, str]]]:
    """Each chapter's coding exercises as (name, title) pairs, from helpers.exercises."""
    from helpers.exercises import Exercise

    found = {}
    for number in range(1, len(CHAPTERS) + 1):
        chapter = f"ch{number:02d}"
        try:
            module = importlib.import_module(f"helpers.exercises.{chapter}")
        except Exception:  # noqa: BLE001 - a chapter that cannot load is left out of the listing
            continue
        found[chapter] = [(value.name, value.title) for value in vars(module).values()
                          if isinstance(value, Exercise)]
    return found


def summary(entries: list[dict] | None = None,
            exercises: dict[str, list[tuple[str, str]]] | None = None) -> list[ChapterProgress]:
    """Every chapter's exercises with their latest status and number of attempts."""
    entries = load() if entries is None else entries
    exercises = course_exercises() if exercises is None else exercises
    chapters: dict[str, ChapterProgress] = {}
    index: dict[tuple[str, str], ExerciseProgress] = {}
    for chapter, items in exercises.items():
        chapters[chapter] = ChapterProgress(chapter)
        for name, title in items:
            index[chapter, name] = ExerciseProgress(name, title)
            chapters[chapter].exercises.append(index[chapter, name])
    for entry in sorted(entries, key=lambda e: e["time"]):  # stable: equal times keep log order
        key = (entry["chapter"], entry["exercise"])
        if key not in index:  # an exercise the course no longer has: still shown
            chapters.setdefault(key[0], ChapterProgress(key[0]))
            index[key] = ExerciseProgress(key[1], "")
            chapters[key[0]].exercises.append(index[key])
        item = index[key]
        item.status, item.message, item.last = entry["status"], entry.get("message", ""), entry["time"]
        item.attempts += entry["status"] != "not attempted"
    return [chapters[c] for c in sorted(chapters)]


def _bar(done: int, total: int, width: int = 10) -> str:
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)


def report_text(chapters: list[ChapterProgress] | None = None) -> str:
    """The report as plain text (what the terminal command prints)."""
    chapters = summary() if chapters is None else chapters
    total = sum(len(c.exercises) for c in chapters)
    done = sum(c.done for c in chapters)
    lines = [f"Your progress: {done} of {total} coding exercises correct (log: {log_path()})"]
    for chapter in chapters:
        n = len(chapter.exercises)
        lines.append(f"\n{chapter.title}  {_bar(chapter.done, n)} {chapter.done}/{n}")
        for item in chapter.exercises:
            status = item.status or "not checked yet"
            tries = f", {item.attempts} {'try' if item.attempts == 1 else 'tries'}" if item.attempts else ""
            lines.append(f"  {_MARKS[item.status]} {item.name:<5} {status}{tries}"
                         + (f" — {item.title}" if item.title else ""))
    lines.extend(_notes())
    return "\n".join(lines)


def _notes() -> list[str]:
    notes = []
    if _last_failure:
        notes.append(f"\nYour latest check could not be recorded ({_last_failure}). Set "
                     f"{ENV_VAR} to a file you can write to.")
    if "google.colab" in sys.modules:
        notes.append("\n" + COLAB_NOTE)
    return notes


def report_html(chapters: list[ChapterProgress] | None = None) -> str:
    """The report as HTML: a bar and a table per chapter (what ``show()`` displays in a notebook)."""
    chapters = summary() if chapters is None else chapters
    total = sum(len(c.exercises) for c in chapters)
    done = sum(c.done for c in chapters)
    esc = html.escape
    parts = [f"<div class='course-progress'><p><strong>Your progress: {done} of {total} coding "
             f"exercises correct</strong> <small>(log: <code>{esc(str(log_path()))}</code>)</small></p>"]
    for chapter in chapters:
        n = len(chapter.exercises)
        share = 100 * chapter.done / n if n else 0
        label = f"{chapter.title}: {chapter.done} of {n} correct"
        parts.append(
            f"<table style='border-collapse: collapse; margin: 6px 0'><caption style='text-align: left'>"
            f"<strong>{esc(chapter.title)}</strong> {chapter.done}/{n} "
            f"<svg role='img' aria-label='{esc(label, quote=True)}' width='120' height='10' "
            f"style='vertical-align: middle'><title>{esc(label)}</title>"
            f"<rect width='120' height='10' fill='#ddd'/>"
            f"<rect width='{1.2 * share:.0f}' height='10' fill='#009E73'/></svg></caption>"
            "<thead><tr><th scope='col'>exercise</th><th scope='col'>latest check</th>"
            "<th scope='col'>tries</th><th scope='col'>message</th></tr></thead><tbody>")
        for item in chapter.exercises:
            title = f" <small>{esc(item.title)}</small>" if item.title else ""
            parts.append(
                f"<tr><th scope='row' style='text-align: left'>{esc(item.name)}{title}</th>"
                f"<td>{_MARKS[item.status]} {esc(item.status or 'not checked yet')}</td>"
                f"<td>{item.attempts}</td><td>{esc(item.message)}</td></tr>")
        parts.append("</tbody></table>")
    parts.extend(f"<p>{esc(note.strip())}</p>" for note in _notes())
    parts.append("</div>")
    return "".join(parts)


def show() -> None:
    """Show the report: a table and a bar per chapter in a notebook, plain text elsewhere."""
    from helpers.exercises import _in_notebook

    chapters = summary()
    if _in_notebook():
        from IPython.display import display

        display({"text/plain": report_text(chapters), "text/html": report_html(chapters)}, raw=True)
    else:
        print(report_text(chapters))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.progress",
                                     description="Show your progress through the course's coding "
                                                 "exercises, from the log of your checks.")
    parser.add_argument("--file", type=Path, help=f"read this log instead of {ENV_VAR} or {DEFAULT_LOG}")
    args = parser.parse_args(argv)
    if args.file is not None:
        os.environ[ENV_VAR] = str(args.file)
    print(report_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())

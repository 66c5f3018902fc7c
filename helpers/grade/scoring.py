"""Turn what happened in a notebook's run into one row per exercise.

The rules:

* the last event of an exercise, in execution order, counts: a check's result, or an error
  of a cell that calls ``exN.check(...)`` and raised before that check reported anything;
* an exercise with no event is "not attempted" (its check cell deleted, or never reached), unless
  the run stopped before it: then it is "timeout", "out of memory" or "error" (the kernel died,
  too many processes, the notebook could not be started);
* tampering detected for an exercise (or for the checking machinery, hence for all of them) makes
  its status "tampered", whatever its checks said.
"""

from __future__ import annotations

import re

from helpers.grade.sandbox import Limits, Outcome

STATUSES = ("correct", "incorrect", "not attempted", "error", "timeout", "out of memory",
            "tampered", "invalid")
COLUMNS = ("student", "notebook", "chapter", "exercise", "status", "message", "seconds")


def _calls(source: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\s*\.\s*check\s*\(", source) is not None


def _where(index: int | None, sources: dict[int, str]) -> str:
    """'cell 12 (`while True: pass`)': a cell's position and its first line."""
    if index is None:
        return "before its first cell"
    first = next((line.strip() for line in sources.get(index, "").splitlines() if line.strip()), "")
    if len(first) > 60:
        first = first[:59] + "…"
    return f"cell {index + 1}" + (f" (`{first}`)" if first else "")


def invalid_row(student: str, notebook: str, chapter: str | None, message: str) -> dict:
    return dict(student=student, notebook=notebook, chapter=chapter or "", exercise="",
                status="invalid", message=message, seconds="")


def score(student: str, notebook: str, chapter: str, exercises: list[str], sources: dict[int, str],
          outcome: Outcome, limits: Limits) -> tuple[list[dict], dict]:
    """The rows of one notebook, and a summary of its run (for the report)."""
    last: dict[str, tuple[str, str, float | str]] = {}
    tampered: dict[str, str] = {}
    current = stopped = None
    finished = False
    failure = ""
    for event in outcome.events:
        kind = event.get("event")
        if kind == "start":
            current = event.get("index")
        elif kind == "cell":
            index, seconds = event.get("index"), event.get("seconds", "")
            reported = set()
            for name, status, message in event.get("checks", []):
                if name in exercises and status in STATUSES:
                    last[name] = (status, message, seconds)
                    reported.add(name)
            if event.get("error"):
                for name in exercises:
                    if name not in reported and _calls(sources.get(index, ""), name):
                        last[name] = ("error", f"{_where(index, sources)} raised {event['error']} "
                                               f"before {name}'s check ran", seconds)
            for name, reason in event.get("problems", []):
                tampered.setdefault(name if name in exercises else "*",
                                    f"{reason}, noticed after {_where(index, sources)}")
        elif kind in ("timeout", "died"):
            stopped, current = kind, event.get("index")
        elif kind == "failed":
            stopped, failure = "failed", event.get("error", "")
        elif kind == "done":
            finished = True
    if outcome.killed:
        stopped = outcome.killed
    elif stopped is None and not finished:
        stopped = "died"
    if stopped == "died" and outcome.oom:
        stopped = "memory"
    where = _where(current, sources)
    extra = f" (it also hit the limit of {limits.processes} processes)" if outcome.process_limit_hit else ""
    unreached = {
        "timeout": ("timeout", f"the notebook ran out of its {limits.timeout:g} s in {where}"),
        "memory": ("out of memory", f"the notebook went over its {limits.memory_mb} MB of memory in {where}"),
        "processes": ("error", f"the notebook started more than {limits.processes} processes in {where}"),
        "died": ("error", f"the kernel died in {where}"),
        "failed": ("error", f"the grader lost the notebook's kernel in {where}: {failure}" if current is not None
                   else f"the notebook could not be run: {failure}"),
        "interrupted": ("error", "grading was interrupted"),
    }.get(stopped)
    rows = []
    for name in exercises:
        if name in last:
            status, message, seconds = last[name]
        elif unreached is not None:
            status, message, seconds = unreached[0], f"{unreached[1]}, before {name}'s check{extra}", round(outcome.seconds, 1)
        elif any(_calls(source, name) for source in sources.values()):
            status, message, seconds = "not attempted", f"{name}.check(...) never ran", ""
        else:
            status, message, seconds = "not attempted", f"no cell calls {name}.check(...): was its cell deleted?", ""
        reason = tampered.get(name) or tampered.get("*")
        if reason:
            status, message = "tampered", reason
        rows.append(dict(student=student, notebook=notebook, chapter=chapter, exercise=name,
                         status=status, message=message, seconds=seconds))
    kernel = next((e.get("seconds") for e in outcome.events if e.get("event") == "kernel"), None)
    summary = dict(seconds=round(outcome.seconds, 1), kernel_seconds=kernel, peak_memory=outcome.peak_memory,
                   stopped=unreached[1] + extra if unreached else "", stderr=outcome.stderr if unreached else "")
    return rows, summary

"""The grader's outputs: ``grades.csv``, ``gradebook.csv`` and a self-contained ``report.html``.

Each file is written to a temporary name in the output folder and then renamed over the old
one, so an interrupted run leaves the previous files whole.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import tempfile
from collections import Counter
from pathlib import Path

from helpers.exercises import message_html
from helpers.grade.scoring import COLUMNS, STATUSES
from helpers.progress import chapter_title

_COLOURS = {"correct": "#007a5a", "incorrect": "#b3261e", "not attempted": "#8a6d00",
            "error": "#b3261e", "timeout": "#6a3d9a", "out of memory": "#6a3d9a",
            "tampered": "#000000", "invalid": "#555555"}
_MARKS = {"correct": "✅", "incorrect": "❌", "not attempted": "⏳", "error": "💥", "timeout": "⌛",
          "out of memory": "🧱", "tampered": "🚩", "invalid": "⛔"}


def write_atomically(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="", dir=path.parent,
                                     prefix=f".{path.name}.", suffix=".tmp", delete=False) as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(stream.name, path)


def grades_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _exercise_key(row: dict) -> tuple:
    number = re.sub(r"\D", "", row["exercise"])
    return row["chapter"], int(number) if number else 0, row["exercise"]


def exercise_columns(rows: list[dict]) -> list[tuple[str, str]]:
    keys = sorted({_exercise_key(r) for r in rows if r["exercise"]})
    return [(chapter, exercise) for chapter, _, exercise in keys]


def gradebook_csv(rows: list[dict]) -> str:
    """One row per student, one column per exercise (1 = correct in some notebook), and totals."""
    columns = exercise_columns(rows)
    students = sorted({r["student"] for r in rows})
    solved = {(r["student"], r["chapter"], r["exercise"]) for r in rows if r["status"] == "correct"}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", *(f"{c} {e}" for c, e in columns), "correct", "exercises"])
    for student in students:
        marks = [int((student, c, e) in solved) for c, e in columns]
        writer.writerow([student, *marks, sum(marks), len(columns)])
    return out.getvalue()


def _normalized(message: str) -> str:
    """A message with its numbers and quoted values blanked, so that alike failures group."""
    return re.sub(r"-?\d[\d.,]*(e[-+]?\d+)?", "#", message)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 1.5rem auto;
       max-width: 72rem; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
.isolation { padding: .6rem .9rem; border-left: 5px solid #007a5a; background: #eef7f3; margin-top: 0; }
.isolation.none { border-color: #b3261e; background: #fbeeee; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; width: 100%; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border-bottom: 1px solid #ccc; padding: .3rem .5rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { font-weight: 600; white-space: nowrap; }
.msg { overflow-wrap: anywhere; }
code { font-size: .92em; }
svg text { font: 12px system-ui, sans-serif; fill: #1a1a1a; }
"""


def _status(status: str) -> str:
    return (f'<span class="status" style="color: {_COLOURS.get(status, "#1a1a1a")}">'
            f'{_MARKS.get(status, "")} {_esc(status)}</span>')


def _chart(per_exercise: list[tuple[str, str, int, int]]) -> str:
    """Pass rate per exercise as an inline SVG bar chart, with a text description."""
    bar_x, width, row = 150, 420, 24
    height = row * len(per_exercise) + 30
    described = "; ".join(f"{c} {e}: {ok} of {n} correct ({100 * ok / n:.0f}%)"
                          for c, e, ok, n in per_exercise if n)
    parts = [f'<svg role="img" aria-labelledby="chart-title chart-desc" width="{bar_x + width + 90}" '
             f'height="{height}" viewBox="0 0 {bar_x + width + 90} {height}">',
             '<title id="chart-title">Pass rate per exercise</title>',
             f'<desc id="chart-desc">{_esc(described)}</desc>']
    for i, (chapter, exercise, ok, n) in enumerate(per_exercise):
        y = 10 + i * row
        share = ok / n if n else 0
        parts.append(f'<text x="{bar_x - 8}" y="{y + 15}" text-anchor="end">{_esc(chapter)} {_esc(exercise)}</text>'
                     f'<rect x="{bar_x}" y="{y + 3}" width="{width}" height="16" fill="#e6e6e6"/>'
                     f'<rect x="{bar_x}" y="{y + 3}" width="{width * share:.1f}" height="16" fill="#007a5a"/>'
                     f'<text x="{bar_x + width + 8}" y="{y + 15}">{100 * share:.0f}% ({ok}/{n})</text>')
    for tick in (0, 50, 100):
        x = bar_x + width * tick / 100
        parts.append(f'<text x="{x:.0f}" y="{height - 4}" text-anchor="middle">{tick}%</text>')
    parts.append("</svg>")
    return "".join(parts)


def report_html(rows: list[dict], notebooks: list[dict], isolation: str, options: str,
                generated: str) -> str:
    """The whole report: first line the sandbox, then the chart, the exercises and each student."""
    columns = exercise_columns(rows)
    per_exercise, failures = [], {}
    for chapter, exercise in columns:
        mine = [r for r in rows if r["chapter"] == chapter and r["exercise"] == exercise]
        per_exercise.append((chapter, exercise, sum(r["status"] == "correct" for r in mine), len(mine)))
        groups: Counter = Counter()
        example: dict[str, str] = {}
        for r in mine:
            if r["status"] != "correct":
                key = f"{r['status']}: {_normalized(r['message'])}"
                groups[key] += 1
                example.setdefault(key, f"{r['status']}: {r['message']}")
        failures[chapter, exercise] = [(example[k], n) for k, n in groups.most_common(3)]
    counts = Counter(r["status"] for r in rows)
    students = sorted({r["student"] for r in rows})
    sandboxed = not isolation.startswith("NO SANDBOX")
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>Grading report: {_count(len(notebooks), 'notebook')} of "
           f"{_count(len(students), 'student')}</title>",
           f"<style>{_CSS}</style></head><body>",
           f'<p class="isolation{"" if sandboxed else " none"}" role="note">{_esc(isolation)}</p>',
           "<h1>Grading report</h1>",
           f"<p>{_count(len(students), 'student')}, {_count(len(notebooks), 'notebook')}, graded {_esc(generated)}. "
           f"{_esc(options)}</p>",
           '<table><caption>Results by status (one row per student, notebook and exercise)</caption>'
           '<thead><tr><th scope="col">status</th><th scope="col" class="num">rows</th></tr></thead><tbody>']
    for status in STATUSES:
        if counts[status]:
            out.append(f'<tr><th scope="row">{_status(status)}</th><td class="num">{counts[status]}</td></tr>')
    out.append("</tbody></table>")
    if per_exercise:
        out += ['<h2 id="exercises">Pass rate per exercise</h2><figure>', _chart(per_exercise),
                "<figcaption>Share of graded notebooks whose latest check of the exercise was correct "
                "(the table below gives the same numbers).</figcaption></figure>",
                '<table><caption>Each exercise: correct answers and the most frequent failures</caption>'
                '<thead><tr><th scope="col">chapter</th><th scope="col">exercise</th>'
                '<th scope="col" class="num">correct</th><th scope="col" class="num">pass rate</th>'
                '<th scope="col">most frequent failures (count)</th></tr></thead><tbody>']
        for chapter, exercise, ok, n in per_exercise:
            listed = "".join(f'<li class="msg">{message_html(m)} <strong>×{k}</strong></li>'
                             for m, k in failures[chapter, exercise]) or "<li>none</li>"
            out.append(f'<tr><td>{_esc(chapter_title(chapter))}</td><th scope="row">{_esc(exercise)}</th>'
                       f'<td class="num">{ok} of {n}</td><td class="num">{100 * ok / n:.0f}%</td>'
                       f"<td><ul>{listed}</ul></td></tr>")
        out.append("</tbody></table>")
    stopped = [nb for nb in notebooks if nb.get("stopped")]
    if stopped:
        out.append('<h2 id="stopped">Notebooks that did not run to the end</h2><table><caption>Stopped '
                   'notebooks, with the last lines their kernel wrote to the terminal</caption><thead><tr>'
                   '<th scope="col">student</th><th scope="col">notebook</th><th scope="col">what happened</th>'
                   '<th scope="col">last output</th></tr></thead><tbody>')
        for nb in stopped:
            out.append(f'<tr><td>{_esc(nb["student"])}</td><td>{_esc(nb["notebook"])}</td>'
                       f'<td class="msg">{message_html(nb["stopped"])}</td>'
                       f'<td class="msg"><code>{_esc(nb.get("stderr", "")[-300:])}</code></td></tr>')
        out.append("</tbody></table>")
    out.append('<h2 id="students">Students</h2>')
    for number, student in enumerate(students):
        out.append(f'<section aria-labelledby="student-{number}"><h3 id="student-{number}">{_esc(student)}</h3>')
        for nb in [n for n in notebooks if n["student"] == student]:
            mine = [r for r in rows if r["student"] == student and r["notebook"] == nb["notebook"]]
            facts = [chapter_title(nb["chapter"]) if nb.get("chapter") else "chapter unknown"]
            if nb.get("seconds") is not None:
                facts.append(f"ran {nb['seconds']} s")
            if nb.get("peak_memory"):
                facts.append(f"peak memory {nb['peak_memory'] / 2**20:.0f} MB")
            out.append(f'<table><caption>{_esc(nb["notebook"])} <small>({_esc(", ".join(facts))})</small>'
                       '</caption><thead><tr><th scope="col">exercise</th><th scope="col">status</th>'
                       '<th scope="col">message</th><th scope="col" class="num">seconds</th></tr></thead><tbody>')
            for r in mine:
                out.append(f'<tr><th scope="row">{_esc(r["exercise"] or "—")}</th><td>{_status(r["status"])}</td>'
                           f'<td class="msg">{message_html(r["message"])}</td><td class="num">{_esc(r["seconds"])}</td></tr>')
            out.append("</tbody></table>")
        out.append("</section>")
    out.append("</body></html>\n")
    return "".join(out)


def write_all(out: Path, rows: list[dict], notebooks: list[dict], isolation: str, options: str,
              generated: str) -> None:
    texts = {"grades.csv": grades_csv(rows), "gradebook.csv": gradebook_csv(rows),
             "report.html": report_html(rows, notebooks, isolation, options, generated)}
    for name, text in texts.items():  # all made first: a failure leaves the previous files as they were
        write_atomically(out / name, text)

"""helpers.progress: every check is recorded, and the report shows each chapter's latest status."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from helpers import progress
from helpers.exercises import Result, Status
from helpers.exercises.ch01 import ex20, ex21


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "progress.jsonl"
    monkeypatch.setenv(progress.ENV_VAR, str(path))
    return path


def test_every_check_is_recorded_with_chapter_status_message_and_time(log, capsys):
    ex20.check()
    ex20.check([0.0, 0.0])
    assert "Not quite" in capsys.readouterr().out
    entries = progress.load()
    assert [(e["chapter"], e["exercise"], e["status"]) for e in entries] == [
        ("ch01", "ex20", "not attempted"), ("ch01", "ex20", "incorrect")]
    assert "slope" in entries[1]["message"] and entries[1]["time"].endswith("+00:00")


def test_default_location_is_under_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(progress.ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert progress.log_path() == tmp_path / ".ml-course" / "progress.jsonl"


def test_latest_status_and_attempts_per_exercise():
    entries = [
        {"time": "2026-01-01T10:00:00+00:00", "chapter": "ch01", "exercise": "ex20", "status": "not attempted"},
        {"time": "2026-01-01T10:01:00+00:00", "chapter": "ch01", "exercise": "ex20", "status": "incorrect",
         "message": "too low"},
        {"time": "2026-01-01T10:02:00+00:00", "chapter": "ch01", "exercise": "ex20", "status": "correct",
         "message": ""},
        {"time": "2026-01-01T10:03:00+00:00", "chapter": "ch06", "exercise": "ex7", "status": "incorrect",
         "message": "not fitted"},
    ]
    chapters = {c.chapter: c for c in progress.summary(entries, {"ch01": [("ex20", "A"), ("ex21", "B")],
                                                                 "ch06": [("ex7", "C")]})}
    ex20_, ex21_ = chapters["ch01"].exercises
    assert (ex20_.status, ex20_.attempts) == ("correct", 2)
    assert (ex21_.status, ex21_.attempts) == (None, 0)
    assert chapters["ch01"].done == 1 and chapters["ch06"].done == 0
    text = progress.report_text(list(chapters.values()))
    assert "1 of 3 coding exercises correct" in text
    assert "Chapter 6: decision trees" in text and "not fitted" not in text  # the terminal lists statuses


def test_report_in_a_notebook_is_a_table_and_a_bar_per_chapter(log, monkeypatch):
    ex21.check()
    shown = []
    monkeypatch.setattr("helpers.exercises._in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda bundle, raw: shown.append(bundle))
    progress.show()
    page = shown[0]["text/html"]
    assert page.count("<table") == 10 and page.count("role='img'") == 10  # every chapter
    assert "<th scope='col'>latest check</th>" in page and "Chapter 1: the machine learning landscape" in page
    assert "not attempted" in shown[0]["text/plain"]


def test_messages_are_escaped_in_the_html_report(log):
    evil = Result("ex20", Status.INCORRECT, "<script>alert(1)</script>")
    progress.record(ex20, evil)
    page = progress.report_html()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_damaged_lines_lose_only_themselves(log):
    progress.record(ex20, Result("ex20", Status.INCORRECT, "first"))
    with log.open("ab") as stream:
        stream.write(b"\x00\xffgarbage\n{not json}\n[1, 2]\n")
        stream.write(b'{"time": "2026-01-01T00:00:00+00:00", "chap')  # a record cut short...
    progress.record(ex21, Result("ex21", Status.CORRECT, "second"))  # ...then a whole one on its line
    assert [e["message"] for e in progress.load()] == ["first", "second"]


def test_a_log_that_cannot_be_written_never_breaks_a_check(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(progress.ENV_VAR, str(blocker / "progress.jsonl"))  # its folder is a file
    ex20.check()
    assert "Not yet attempted" in capsys.readouterr().out
    assert progress.load() == []
    assert "could not be recorded" in progress.report_text()


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap for a read-only home")
def test_read_only_home(tmp_path):
    """In a real read-only home (a read-only mount), the check prints and the report says why."""
    home = tmp_path / "home"
    home.mkdir()
    script = textwrap.dedent("""
        from helpers import progress
        from helpers.exercises.ch01 import ex20
        ex20.check()
        print(progress.load() == [], "could not be recorded" in progress.report_text())
    """)
    env = {k: v for k, v in os.environ.items() if k != progress.ENV_VAR}
    run = subprocess.run(["bwrap", "--dev-bind", "/", "/", "--ro-bind", str(home), str(home),
                          "--setenv", "HOME", str(home), sys.executable, "-c", script],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Not yet attempted" in run.stdout and "True True" in run.stdout
    assert list(home.iterdir()) == []


def test_two_processes_checking_at_once_lose_nothing(log):
    """Two kernels appending at the same time: every record stays whole and readable."""
    script = textwrap.dedent("""
        import sys
        from helpers import progress
        from helpers.exercises import Result, Status
        from helpers.exercises.ch01 import ex20
        for i in range(300):
            progress.record(ex20, Result("ex20", Status.INCORRECT, sys.argv[1] + "x" * 900 + str(i)))
    """)
    writers = [subprocess.Popen([sys.executable, "-c", script, name], cwd=log.parent) for name in "ab"]
    assert all(w.wait(timeout=120) == 0 for w in writers)
    entries = progress.load()
    assert len(entries) == 600
    assert sorted(e["message"][0] for e in entries) == ["a"] * 300 + ["b"] * 300
    assert len(log.read_text(encoding="utf-8").splitlines()) == 600


def test_terminal_command(log):
    log.write_text(json.dumps({"time": "2026-01-01T10:00:00+00:00", "chapter": "ch06", "exercise": "ex7",
                               "status": "correct", "message": ""}) + "\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "helpers.progress", "--file", str(log)],
                         capture_output=True, text=True, cwd=log.parent, timeout=120)
    assert run.returncode == 0
    assert "✅ ex7" in run.stdout and "1 of " in run.stdout.splitlines()[0]


def test_colab_note_says_how_to_keep_the_log(log, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", object())
    text = progress.report_text()
    assert "deletes when it recycles it" in text and "drive.mount" in text

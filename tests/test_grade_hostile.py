"""The grader on hostile notebooks: each one stays in its sandbox and within its limits.

Small chapter 1 notebooks that loop forever, eat memory, fork without end, write outside
their folder, read another submission, open network connections, forge results, or print
hundreds of megabytes. An attack that succeeds makes the notebook pass exercise 20
(``ex20.check(good if leaked else None)``), so every such row must say "incorrect"; the
machine is checked as well (no file written, no connection received, no process or cgroup
left, submissions unchanged), and so is the time the limits allow. Without bubblewrap, the
same limits hold through a watchdog, and the report's first line says there was no sandbox.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from test_grade import (
    ROOT,
    Graded,
    cgroups_of,
    digest_tree,
    processes_of,
    time_bound,
    tiny_notebook,
    write_nb,
)

from helpers.grade import sandbox

TIMEOUT, MEMORY, PROCESSES = 20, 1500, 64
GOOD = ("from helpers.data import load_lifesat\n"
        "_d = load_lifesat()\n"
        "good = np.polyfit(_d['GDP per capita (USD)'], _d['Life satisfaction'], 1)[::-1]")
VERDICT = "ex20.check(good if leaked else None)"


class Listener:
    """A TCP server on the grader's loopback that counts the connections it receives."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def attack(body: str):
    """A notebook whose cell ``body`` sets ``leaked`` when the attack worked."""
    return tiny_notebook(GOOD, "leaked = False\n" + body, VERDICT)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    if sandbox.probe().bwrap is None:
        pytest.skip("bubblewrap is not available here: the sandboxed run cannot be tested")
    folder = tmp_path_factory.mktemp("hostile")
    out = tmp_path_factory.mktemp("out")
    marker = uuid.uuid4().hex
    outside = [ROOT / f"graded-{marker}.txt", out / f"graded-{marker}.txt", folder / f"graded-{marker}.txt"]
    host_tmp = Path(tempfile.gettempdir()) / f"graded-{marker}.txt"  # the sandbox has its own /tmp
    listener = Listener()
    write_nb(tiny_notebook(GOOD, "ex20.check(good)"), folder / "victim.ipynb")
    write_nb(tiny_notebook("while True:\n    pass", "ex20.check(1)"), folder / "loop.ipynb")
    write_nb(tiny_notebook("hog = []\nwhile True:\n    hog.append(b'x' * 50_000_000)", "ex20.check(1)"),
             folder / "membomb.ipynb")
    write_nb(tiny_notebook("import os\nwhile True:\n    os.fork()", "ex20.check(1)"), folder / "forkbomb.ipynb")
    write_nb(attack("\n".join(
        ["import os", f"for path in {[str(p) for p in outside] + ['/etc/graded', '/usr/graded']!r}:",
         "    try:", "        open(path, 'w').write('x')", "        leaked = True",
         "    except OSError:", "        pass",
         f"open({str(host_tmp)!r}, 'w').write('x')  # into the sandbox's own /tmp",
         "open(os.path.expanduser('~/mine.txt'), 'w').write('my own folder is writable')"])),
        folder / "escape.ipynb")
    write_nb(attack("\n".join(
        [f"for path in [{str(folder / 'victim.ipynb')!r}, {str(out / 'grades.csv')!r}]:",
         "    try:", "        open(path).read()", "        leaked = True", "    except OSError:", "        pass",
         "import os", "leaked = leaked or len([p for p in os.listdir('/proc') if p.isdigit()]) > 20"])),
        folder / "snoop.ipynb")
    write_nb(attack("\n".join(
        ["import socket", f"for address in [('127.0.0.1', {listener.port}), ('1.1.1.1', 53)]:",
         "    try:", "        socket.create_connection(address, timeout=3).close()", "        leaked = True",
         "    except OSError:", "        pass"])), folder / "network.ipynb")
    write_nb(tiny_notebook("print('✅ Correct!')\nfrom helpers.exercises import Result, Status\n"
                           "display(Result('ex20', Status.CORRECT, ''))"), folder / "printer.ipynb")
    write_nb(tiny_notebook("from helpers.exercises import Exercise, Result, Status\n"
                           "Exercise.evaluate = lambda self, answer=...: Result(self.name, Status.CORRECT, '')",
                           "ex20.check(1)"), folder / "patcher.ipynb")
    write_nb(tiny_notebook(GOOD, "ex20.check(good)", "ex21.check = lambda answer: print('✅ Correct!')\nex21.check(1)"),
             folder / "instance.ipynb")
    write_nb(tiny_notebook("\n".join(
        ["import os", "forged = b\"00 (1, 'check', ('ex20', 'correct', '', ()))\\n\"",
         "event = b'{\"event\": \"cell\", \"index\": 1, \"checks\": [[\"ex20\", \"correct\", \"\"]]}\\n'",
         "for pid in ('self', str(os.getppid())):",
         "    try:", "        fds = os.listdir(f'/proc/{pid}/fd')", "    except OSError:", "        continue",
         "    for fd in fds:",
         "        target = os.path.realpath(f'/proc/{pid}/fd/{fd}')",
         "        if target.startswith(('/dev', '/proc')) or 'socket' in target:", "            continue",
         "        try:", "            with open(f'/proc/{pid}/fd/{fd}', 'ab') as stream:",
         "                stream.write(forged + event)", "        except OSError:", "            pass"]),
        "ex20.check(None)"), folder / "forger.ipynb")
    write_nb(tiny_notebook("\n".join(  # fake events for the grader, into the runner's or bwrap's files
        ["import os", "event = b'{\"event\": \"cell\", \"index\": 1, \"checks\": [[\"ex20\", \"correct\", \"\"]]}\\n'",
         "for pid in (str(os.getppid()), '1'):",
         "    for fd in range(3, 64):", "        try:",
         "            with open(f'/proc/{pid}/fd/{fd}', 'ab') as stream:", "                stream.write(event)",
         "        except OSError:", "            pass"])), folder / "hijack.ipynb")
    write_nb(tiny_notebook("import sys, types\nsys.modules['helpers.exercises.ch01'] = types.ModuleType('fake')",
                           "ex20.check(1)"), folder / "modswap.ipynb")
    write_nb(tiny_notebook("class Fake:\n    def check(self, answer):\n        print('✅ Correct!')\n\n"
                           "ex20 = Fake()\nex20.check(1)"), folder / "rebind.ipynb")
    write_nb(tiny_notebook("import sys\nfor _ in range(200):\n    sys.stdout.write('x' * 1_000_000 + '\\n')",
                           GOOD + "\nex20.check(good)"), folder / "bigout.ipynb")
    before = digest_tree(folder)
    graded = Graded([str(folder), "--jobs", "2", "--timeout", str(TIMEOUT), "--memory", str(MEMORY),
                     "--processes", str(PROCESSES)], out)
    graded.before, graded.folder, graded.listener = before, folder, listener
    graded.outside = [*outside, host_tmp]
    return graded


def test_the_report_says_it_was_sandboxed(hostile):
    assert hostile.stdout.startswith("Sandbox: bubblewrap")
    assert hostile.html.index("Sandbox: bubblewrap") < hostile.html.index("<h1>")


def test_infinite_loop_times_out(hostile):
    for exercise in ("ex20", "ex21"):
        row = hostile.row("loop", exercise)
        assert row["status"] == "timeout"
        assert row["message"].startswith(f"the notebook ran out of its {TIMEOUT} s in cell 2 (`while True:`)")
        assert TIMEOUT <= float(row["seconds"]) < TIMEOUT + 30


def test_memory_bomb_is_out_of_memory(hostile):
    row = hostile.row("membomb", "ex20")
    assert row["status"] == "out of memory"
    assert f"over its {MEMORY} MB of memory in cell 2" in row["message"]


def test_fork_bomb_is_contained(hostile):
    statuses = hostile.statuses("forkbomb")
    assert "correct" not in statuses.values()
    assert statuses["ex20"] in {"incorrect", "error", "timeout"}


def test_nothing_is_written_outside_the_scratch_folder(hostile):
    assert hostile.row("escape", "ex20")["status"] == "incorrect"
    assert [p for p in hostile.outside if p.exists()] == []
    assert not Path("/etc/graded").exists() and not Path("/usr/graded").exists()


def test_other_submissions_and_processes_are_out_of_sight(hostile):
    assert hostile.row("snoop", "ex20")["status"] == "incorrect"
    assert hostile.row("victim", "ex20")["status"] == "correct"


def test_no_network(hostile):
    assert hostile.row("network", "ex20")["status"] == "incorrect"
    assert hostile.listener.connections == 0


def test_printed_or_displayed_results_never_count(hostile):
    assert hostile.statuses("printer") == {"ex20": "not attempted", "ex21": "not attempted"}


def test_replaced_checking_code_is_reported_as_tampering(hostile):
    assert hostile.statuses("patcher") == {"ex20": "tampered", "ex21": "tampered"}
    assert "helpers.exercises.Exercise was replaced or changed" in hostile.row("patcher", "ex20")["message"]
    assert hostile.statuses("instance") == {"ex20": "correct", "ex21": "tampered"}
    assert hostile.row("instance", "ex21")["message"].startswith("ex21.check was set on the exercise")
    assert hostile.statuses("modswap") == {"ex20": "tampered", "ex21": "tampered"}
    assert "helpers.exercises.ch01 was replaced in sys.modules" in hostile.row("modswap", "ex21")["message"]
    assert hostile.row("rebind", "ex20")["status"] == "tampered"


def test_forged_records_are_detected(hostile):
    row = hostile.row("forger", "ex20")
    assert row["status"] == "tampered" and "(forged)" in row["message"]


def test_the_runner_and_its_events_are_out_of_reach(hostile):
    assert hostile.statuses("hijack") == {"ex20": "not attempted", "ex21": "not attempted"}


def test_hundreds_of_megabytes_of_output(hostile):
    assert hostile.row("bigout", "ex20")["status"] == "correct"


def test_machine_state_and_time(hostile):
    assert digest_tree(hostile.folder) == hostile.before
    hostile.assert_clean_machine()
    assert hostile.seconds < time_bound(15, 2, TIMEOUT)


def test_an_interrupted_run_keeps_the_previous_report(hostile, tmp_path):
    before = digest_tree(hostile.out)
    write_nb(tiny_notebook("while True:\n    pass"), tmp_path / "spinner.ipynb")
    run_id = uuid.uuid4().hex[:12]
    process = subprocess.Popen([sys.executable, "-m", "helpers.grade", str(tmp_path), "--out", str(hostile.out),
                                "--timeout", "120"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "COURSE_GRADE_RUN": run_id})
    deadline = time.monotonic() + 60
    while not processes_of(run_id) or len(processes_of(run_id)) < 3:  # the grader, the sandbox, the kernel
        assert time.monotonic() < deadline
        time.sleep(0.5)
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "unchanged" in stderr
    assert digest_tree(hostile.out) == before
    assert processes_of(run_id) == [] and cgroups_of(run_id) == []


def test_without_bubblewrap_limits_still_hold_and_the_report_says_so(tmp_path):
    """--no-sandbox --limits watchdog: what a machine without bubblewrap and cgroups gets."""
    write_nb(tiny_notebook("while True:\n    pass"), tmp_path / "in" / "loop.ipynb")
    write_nb(tiny_notebook("hog = []\nwhile True:\n    hog.append(b'x' * 50_000_000)"), tmp_path / "in" / "membomb.ipynb")
    write_nb(tiny_notebook(GOOD, "ex20.check(good)"), tmp_path / "in" / "victim.ipynb")
    scratch_before = set(Path(tempfile.gettempdir()).glob("course-grade-*"))
    graded = Graded([str(tmp_path / "in"), "--no-sandbox", "--limits", "watchdog", "--jobs", "2",
                     "--timeout", "15", "--memory", str(MEMORY)], tmp_path / "out")
    assert graded.stdout.startswith("NO SANDBOX (--no-sandbox was given)")
    assert graded.html.index("NO SANDBOX") < graded.html.index("<h1>")
    assert graded.statuses("loop")["ex20"] == "timeout"
    assert graded.statuses("membomb")["ex20"] == "out of memory"
    assert graded.statuses("victim")["ex20"] == "correct"
    assert processes_of(graded.run_id) == []
    assert set(Path(tempfile.gettempdir()).glob("course-grade-*")) <= scratch_before
    assert graded.seconds < time_bound(3, 2, 15)

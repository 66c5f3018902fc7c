"""Measure the grader and the classroom mirror -> benchmarks/GRADING.md (``make bench-grade``).

1. Overhead per submission: a one-check notebook graded five times in a fresh kernel each, by
   nbclient alone (the kernel's own cost), by the grader without a sandbox, and by the grader in
   its sandbox (bubblewrap and cgroups), one notebook at a time.
2. A class: 30 chapter 1 notebooks, then 30 chapter 6 notebooks, every exercise solved with
   its reference solution, graded with ``--jobs 2`` in quick mode: wall time, the peak memory
   of the whole run (the grader and its sandboxes, polled every 0.2 s) and of one notebook.
3. Recording one check in a student's progress log (``helpers.progress.record``), mean of 2,000.
4. Students fetching MNIST at once from one instructor machine: ``python -m http.server``
   serving the data mirror on the loopback, and N processes each calling ``load_mnist()`` (full
   mode: the four files, 11 MB) with its own empty COURSE_DATA_DIR, all starting together.

Needs the offline mirror: COURSE_DATA_MIRROR=/path/to/datasets (a local folder).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import date
from pathlib import Path

import nbformat
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.grade import sandbox  # noqa: E402
from helpers.grade.submissions import with_solutions  # noqa: E402

OUT = ROOT / "benchmarks" / "GRADING.md"
CLASS_SIZE = 30
TINY = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    'from helpers import env\nenv.setup("01_the_machine_learning_landscape")\n'
    "from helpers.exercises.ch01 import ex20\nex20.check(...)")])


class PeakTreeMemory:
    """Poll a process and its descendants for the peak of their summed resident memory."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            total = 0
            try:
                for p in [self.process, *self.process.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            self._stop.wait(0.2)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def grade(folder: Path, out: Path, *extra: str) -> tuple[float, int, str]:
    """Run the grader; return (wall seconds, peak memory of the run in bytes, its output)."""
    start = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "helpers.grade", str(folder), "--out", str(out),
                                "--force", *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    memory = PeakTreeMemory(process.pid)
    output, _ = process.communicate()
    peak = memory.stop()
    if process.returncode != 0:
        raise SystemExit(f"the grader failed:\n{output}")
    return time.monotonic() - start, peak, output


def nbclient_alone(path: Path) -> float:
    from nbclient import NotebookClient

    start = time.monotonic()
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(path.parent)}},
                   extra_arguments=["--IPKernelApp.log_level=ERROR"]).execute()
    return time.monotonic() - start


def overhead(work: Path) -> list[tuple[str, float]]:
    folder = work / "tiny"
    for i in range(5):
        (folder).mkdir(parents=True, exist_ok=True)
        nbformat.write(TINY, folder / f"student{i}.ipynb")
    rows = [("nbclient alone: a fresh kernel runs the notebook (no grader)",
             statistics.median(nbclient_alone(folder / f"student{i}.ipynb") for i in range(5)))]
    seconds, _, _ = grade(folder, work / "out-plain", "--no-sandbox", "--limits", "watchdog")
    rows.append(("grader, no sandbox, watchdog limits (runner process + kernel)", seconds / 5))
    isolation = sandbox.probe()
    seconds, _, _ = grade(folder, work / "out-sandbox")
    rows.append((f"grader in its sandbox ({isolation.bwrap_note or 'none'}, limits by {isolation.cgroups_note})",
                 seconds / 5))
    if isolation.bwrap:
        command = [isolation.bwrap, *sandbox._bwrap_base(16), *sandbox._system_binds(), "true"]
        start = time.monotonic()
        for _ in range(20):
            subprocess.run(command, check=True)
        rows.append(("bubblewrap alone: start and stop an empty sandbox", (time.monotonic() - start) / 20))
    return rows


def recording_cost(work: Path, calls: int = 2_000) -> float:
    """Seconds per call of helpers.progress.record, appending to a log in ``work``."""
    from helpers import progress
    from helpers.exercises.ch01 import ex20

    os.environ["COURSE_PROGRESS_FILE"] = str(work / "progress.jsonl")
    try:
        result = ex20.evaluate(None)
        start = time.perf_counter()
        for _ in range(calls):
            progress.record(ex20, result)
        return (time.perf_counter() - start) / calls
    finally:
        del os.environ["COURSE_PROGRESS_FILE"]


def klass(work: Path, stem: str, chapter: str) -> dict:
    folder = work / f"class-{chapter}"
    nb = with_solutions(nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4), chapter)
    for i in range(CLASS_SIZE):
        (folder / f"student{i:02d}").mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"student{i:02d}" / f"{stem}.ipynb")
    out = work / f"out-{chapter}"
    seconds, peak, _ = grade(folder, out, "--jobs", "2")
    per = [json.loads(p.read_text())["notebook"] for p in (out / ".cache").glob("*.json")]
    rows = (out / "grades.csv").read_text().splitlines()[1:]
    return dict(stem=stem, seconds=seconds, peak=peak, correct=sum(",correct," in r for r in rows),
                rows=len(rows), notebook_peak=max(p.get("peak_memory") or 0 for p in per),
                notebook_seconds=statistics.median(p["seconds"] for p in per))


FETCHER = textwrap.dedent("""
    import json, sys, time
    from helpers.data import load_mnist
    start_at = float(sys.argv[1])
    time.sleep(max(0.0, start_at - time.time()))
    began = time.time()
    try:
        (X, y), _ = load_mnist()
        print(json.dumps({"ok": len(X) == 60000, "seconds": time.time() - began, "late": began - start_at}))
    except Exception as error:
        print(json.dumps({"ok": False, "seconds": time.time() - began, "error": str(error)[:200]}))
""")


def mnist_at_once(work: Path, mirror: Path, students: int) -> dict:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(mirror)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        start_at = time.time() + 15 + students * 0.3  # after every process has imported the course
        env = {**os.environ, "COURSE_QUICK": "0", "COURSE_DATA_MIRROR": f"http://127.0.0.1:{port}/"}
        processes = []
        for i in range(students):
            cache = work / f"cache-{students}-{i}"
            cache.mkdir(parents=True)
            processes.append(subprocess.Popen([sys.executable, "-c", FETCHER, str(start_at)], cwd=ROOT,
                                              env={**env, "COURSE_DATA_DIR": str(cache)},
                                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
        results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in processes]
    finally:
        server.terminate()
        server.wait()
    done = [r for r in results if r["ok"]]
    seconds = sorted(r["seconds"] for r in done)
    return dict(students=students, ok=len(done), median=statistics.median(seconds) if seconds else None,
                slowest=max(seconds) if seconds else None, late=max(r.get("late", 0) for r in results),
                errors=sorted({r.get("error", "") for r in results if not r["ok"]}))


def main() -> int:
    mirror = sandbox.local_mirror()
    if mirror is None:
        raise SystemExit("set COURSE_DATA_MIRROR to the local data mirror (a folder)")
    work = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    try:
        print("overhead per submission ...", flush=True)
        costs = overhead(work)
        recording = recording_cost(work)
        print("30 notebooks of chapter 1 and 30 of chapter 6 ...", flush=True)
        classes = [klass(work, "01_the_machine_learning_landscape", "ch01"),
                   klass(work, "06_decision_trees", "ch06")]
        print("MNIST from one http.server ...", flush=True)
        fetches = [mnist_at_once(work, mirror, n) for n in (30,)]
        isolation = sandbox.probe()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    memory = psutil.virtual_memory().total / 2**30
    lines = [
        "# Grader benchmark",
        "",
        f"Produced by `make bench-grade` on {date.today().isoformat()}, quick mode.",
        "",
        f"- Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
        f"{memory:.0f} GiB memory, Linux {platform.release()}",
        f"- Python {platform.python_version()}; sandbox: {isolation.bwrap_note}; limits: {isolation.cgroups_note}",
        "",
        "## Overhead per submission (one notebook at a time, median or mean of 5)",
        "",
        "A notebook with the chapter's setup and one check, so that the times are the fixed costs.",
        "",
        "| what runs | seconds per notebook |",
        "| --- | ---: |",
        *(f"| {what} | {seconds:.3f} |" for what, seconds in costs),
        "",
        f"Recording one check in a student's progress log (`helpers.progress.record`, mean of "
        f"2,000 calls): {recording * 1000:.3f} ms.",
        "",
        f"## A class of {CLASS_SIZE} (`--jobs 2`, every exercise solved)",
        "",
        "| chapter | notebooks | wall time (s) | per notebook, median (s) | peak memory of the run (MiB) "
        "| largest peak of one notebook, as its cgroup counts it (MiB) | correct rows |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(f"| {c['stem']} | {CLASS_SIZE} | {c['seconds']:.0f} | {c['notebook_seconds']:.1f} | "
          f"{c['peak'] / 2**20:,.0f} | {c['notebook_peak'] / 2**20:,.0f} | {c['correct']} of {c['rows']} |"
          for c in classes),
        "",
        "## MNIST for a room: `python -m http.server` on one machine",
        "",
        "Each student is a process calling `load_mnist()` in full mode (the four IDX files, 11 MB) "
        "with an empty cache, all starting within the same second, against the mirror served by "
        "`python -m http.server` on the loopback of this machine (so the network is not the limit: "
        "on a classroom network, divide its bandwidth by 11 MB per student).",
        "",
        "| students at once | succeeded | median seconds | slowest seconds | errors |",
        "| ---: | ---: | ---: | ---: | --- |",
        *(f"| {f['students']} | {f['ok']} | {f['median']:.1f} | {f['slowest']:.1f} | "
          f"{'; '.join(f['errors']) or 'none'} |" for f in fetches),
        "",
    ]
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Grade a class's notebooks: ``python -m helpers.grade SUBMISSION... --out DIR``.

Each notebook runs top to bottom in a fresh kernel, in a sandbox (bubblewrap) with time, memory
and process limits; every exercise check it runs is collected, and DIR receives ``grades.csv``
(one row per student, notebook and exercise), ``gradebook.csv`` (one row per student) and
``report.html``. A rerun executes again only the notebooks that changed (and all of them when
the course's code or the options changed). The instructor's guide is docs/grading.md.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from importlib import metadata
from pathlib import Path

DEFAULT_TIMEOUT = {"quick": 300, "full": 1200}
DEFAULT_MEMORY_MB = 4096
DEFAULT_PROCESSES = 512
_NEEDED = ("nbclient", "nbformat", "ipykernel", "psutil")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.grade",
        description="Run each submitted notebook in a sandbox and collect its exercise checks into "
                    "DIR/grades.csv, DIR/gradebook.csv and DIR/report.html.",
        epilog="SUBMISSION: a notebook (the student is its file name without .ipynb), a folder of "
               "notebooks (the same), or a folder of folders (the student is the sub-folder's "
               "name). The instructor's guide: docs/grading.md.")
    parser.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="where to write the results")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="notebooks run at once (default 1; at most one per CPU core)")
    parser.add_argument("--mode", choices=("quick", "full"), default="quick",
                        help="quick (the default: smaller data, minutes for a class; what CI "
                             "checks every exercise with) or full (the committed notebooks' mode)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="per notebook (default 300 in quick mode, 1200 in full mode)")
    parser.add_argument("--memory", type=int, default=DEFAULT_MEMORY_MB, metavar="MB",
                        help=f"resident memory per notebook (default {DEFAULT_MEMORY_MB})")
    parser.add_argument("--processes", type=int, default=DEFAULT_PROCESSES, metavar="N",
                        help=f"processes and threads per notebook (default {DEFAULT_PROCESSES})")
    parser.add_argument("--chapter", metavar="N",
                        help="the chapter every notebook must be (default: the one its file name says)")
    parser.add_argument("--force", action="store_true", help="run every notebook again, even unchanged ones")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run without bubblewrap (trusted notebooks only; the report says so)")
    parser.add_argument("--limits", choices=("auto", "cgroup", "watchdog"), default="auto",
                        help="how memory and processes are capped (default: cgroups where possible)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.memory < 64 or args.processes < 16 or (args.timeout is not None and args.timeout <= 0):
        parser.error("--jobs must be at least 1, --memory at least 64, --processes at least 16, "
                     "--timeout positive")
    return args


def _fingerprint(options: dict) -> str:
    """What a cached result depends on besides the notebook: the course's code, the options, versions."""
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    digest.update(sys.version.encode())
    for name in ("numpy", "pandas", "scikit-learn", "tensorflow", "nbclient", "ipykernel"):
        try:
            digest.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            pass
    return digest.hexdigest()


class Cache:
    """Rows of graded notebooks in DIR/.cache, keyed by the notebook and the fingerprint."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.used: set[str] = set()

    def get(self, key: str) -> dict | None:
        self.used.add(key)
        try:
            return json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: dict) -> None:
        from helpers.grade.report import write_atomically

        write_atomically(self.folder / f"{key}.json", json.dumps(value))

    def prune(self) -> None:
        for path in self.folder.glob("*.json"):
            if path.stem not in self.used:
                path.unlink(missing_ok=True)


def chapter_exercises(chapter: str) -> list[str]:
    from helpers.exercises import Exercise

    module = importlib.import_module(f"helpers.exercises.{chapter}")
    return [value.name for value in vars(module).values() if isinstance(value, Exercise)]


def main(argv: list[str] | None = None) -> int:
    missing = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        print(f"The grader needs {', '.join(missing)}: install the course's requirements "
              "(pip install -r requirements.txt).", file=sys.stderr)
        return 2
    args = parse_args(argv)
    from helpers import data
    from helpers.grade import report, sandbox, scoring
    from helpers.grade.submissions import collect, parse_chapter, prepare

    try:
        expected = parse_chapter(args.chapter) if args.chapter else None
        submissions = collect(args.submissions)
        isolation = sandbox.probe(not args.no_sandbox, args.limits)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"python -m helpers.grade: {error}", file=sys.stderr)
        return 2
    if not submissions:
        print("python -m helpers.grade: no notebooks (.ipynb) found in " +
              ", ".join(map(str, args.submissions)), file=sys.stderr)
        return 2
    cores = os.cpu_count() or 1
    limits = sandbox.Limits(timeout=args.timeout or DEFAULT_TIMEOUT[args.mode], memory_mb=args.memory,
                            processes=args.processes, threads=max(1, cores // args.jobs))
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    options = dict(mode=args.mode, timeout=limits.timeout, memory=limits.memory_mb,
                   processes=limits.processes, threads=limits.threads, chapter=expected,
                   sandbox=isolation.bwrap_note, limits=isolation.cgroups_note)
    fingerprint = _fingerprint(options)
    cache = Cache(out / ".cache")
    described = isolation.describe(limits)
    print(described, flush=True)
    hidden = [out, *(p.resolve() for p in args.submissions)]
    run_id = os.environ.get("COURSE_GRADE_RUN") or uuid.uuid4().hex[:12]  # tags every process of the run
    stop = threading.Event()
    results: dict[int, dict] = {}
    todo = []
    for number, submission in enumerate(submissions):
        prepared = prepare(submission, expected)
        key = hashlib.sha256(f"{fingerprint}\0{submission.student}\0{submission.notebook}\0".encode()
                             + prepared.raw).hexdigest()
        info = dict(student=submission.student, notebook=submission.notebook, chapter=prepared.chapter)
        if prepared.invalid:
            rows = [scoring.invalid_row(submission.student, submission.notebook, prepared.chapter,
                                        prepared.invalid)]
            results[number] = dict(rows=rows, notebook=info)
        elif not args.force and (cached := cache.get(key)) is not None:
            results[number] = cached
        else:
            cache.used.add(key)
            todo.append((number, prepared, key, info))

    def grade(prepared, key, info) -> dict:
        sub = prepared.submission
        outcome = sandbox.run(prepared.raw, Path(sub.notebook).name, prepared.chapter, isolation=isolation,
                              limits=limits, quick=args.mode == "quick", data_cache=data.data_dir(),
                              hidden=hidden, run_id=run_id, stop=stop.is_set)
        rows, summary = scoring.score(sub.student, sub.notebook, prepared.chapter,
                                      chapter_exercises(prepared.chapter), prepared.sources, outcome, limits)
        result = dict(rows=rows, notebook={**info, **summary})
        if outcome.killed != "interrupted":
            cache.put(key, result)
        return result

    started = time.monotonic()
    cached_count = len(submissions) - len(todo)
    print(f"{len(submissions)} notebooks: {len(todo)} to run, {cached_count} unchanged or not runnable "
          f"(--jobs {args.jobs}, {args.mode} mode, {limits.timeout:g} s and {limits.memory_mb} MB each)",
          flush=True)
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = {pool.submit(grade, prepared, key, info): number for number, prepared, key, info in todo}
        for done, future in enumerate(as_completed(futures), start=1):
            number = futures[future]
            results[number] = future.result()
            rows = results[number]["rows"]
            tally = ", ".join(f"{sum(r['status'] == s for r in rows)} {s}" for s in scoring.STATUSES
                              if any(r["status"] == s for r in rows))
            sub = submissions[number]
            print(f"[{done}/{len(todo)}] {sub.student} / {sub.notebook}: {tally} "
                  f"({results[number]['notebook'].get('seconds', 0)} s)", flush=True)
    except KeyboardInterrupt:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        print("Interrupted: the previous grades.csv and report.html are unchanged; the notebooks "
              "graded so far are kept for the next run.", file=sys.stderr)
        return 130
    pool.shutdown()
    ordered = [results[n] for n in sorted(results)]
    rows = [row for result in ordered for row in result["rows"]]
    notebooks = [result["notebook"] for result in ordered]
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    summary = (f"Mode {args.mode}; per notebook: {limits.timeout:g} s, {limits.memory_mb} MB, "
               f"{limits.processes} processes and threads, {limits.threads} BLAS thread(s); "
               f"{len(todo)} notebooks run in {time.monotonic() - started:.0f} s with --jobs {args.jobs}, "
               f"{cached_count} taken from the previous run or not runnable.")
    report.write_all(out, rows, notebooks, described, summary, generated)
    cache.prune()
    print(f"Wrote {out / 'grades.csv'}, {out / 'gradebook.csv'} and {out / 'report.html'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

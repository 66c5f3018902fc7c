"""Execute the chapter notebooks in fresh kernels: in place (``execute``) or to measure (``bench``).

    python scripts/run_notebooks.py execute [--quick] [NOTEBOOK ...]
    python scripts/run_notebooks.py bench [--full] [NOTEBOOK ...]

Without NOTEBOOK arguments: the ten chapters, then their worked solutions (notebooks/solutions/).
``execute`` runs each notebook top to bottom and writes it back with its outputs and the
mode that produced them (``metadata.course.mode``). Full mode needs every dataset, the full
MNIST included: offline, set ``COURSE_DATA_MIRROR`` (a notebook whose data cannot be fetched
fails and is left unchanged).

``bench`` runs each notebook without writing it and records the wall time, the peak resident
memory of the kernel (with its children) and the three slowest cells in a Markdown table. When
some notebooks are named, their rows replace theirs in the existing table and the others stay.
"""

from __future__ import annotations

import argparse
import html
import os
import platform
import sys
import threading
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the helpers package, even outside the course's virtual environment

from helpers.env import nvidia_gpus  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
BENCHMARKS = ROOT / "benchmarks"
PACKAGES = ["numpy", "pandas", "scikit-learn", "matplotlib", "tensorflow", "keras"]
CELL_TIMEOUT = 1800


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


class PeakMemory:
    """Poll the kernel process (and its children) for its peak resident memory."""

    def __init__(self, client: NotebookClient):
        self.client = client
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _pid(self):
        km = self.client.km
        provisioner = getattr(km, "provisioner", None) if km else None
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def _run(self):
        while not self._stop.is_set():
            pid = self._pid()
            if pid:
                try:
                    process = psutil.Process(pid)
                    rss = process.memory_info().rss + sum(
                        child.memory_info().rss for child in process.children(recursive=True))
                    self.peak = max(self.peak, rss)
                except psutil.Error:
                    pass
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run(path: Path, quick: bool, record_timing: bool):
    """Execute one notebook in a fresh kernel; return (notebook, seconds, peak bytes, error)."""
    nb = nbformat.read(path, as_version=4)
    os.environ["COURSE_QUICK"] = "1" if quick else "0"
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            record_timing=record_timing)
    error = None
    start = time.perf_counter()
    with PeakMemory(client) as memory:
        try:
            client.execute()
        except CellExecutionError as exc:
            error = str(exc).strip().splitlines()[-1][:300]
    return nb, time.perf_counter() - start, memory.peak, error


def cell_seconds(cell) -> float | None:
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    return (end - start).total_seconds()


def selected(paths: list[str]) -> list[Path]:
    if paths:
        return [Path(p).resolve() for p in paths]
    return (sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
            + sorted((NOTEBOOKS / "solutions").glob("[0-9][0-9]_*_solutions.ipynb")))


KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _widget_text(state: dict, model_id: str) -> str | None:
    """The final text of a tqdm progress bar widget, from the stored widget state.

    A stored widget output keeps the text of its first display ("0%"), which is what GitHub
    and an untrusted notebook show; the widget state holds the bar's last values.
    """
    box = state.get(model_id, {}).get("state", {})
    parts = [state.get(ref.removeprefix("IPY_MODEL_"), {}) for ref in box.get("children", [])]
    kinds = [part.get("model_name") for part in parts]
    if kinds != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    left, bar, right = (part.get("state", {}) for part in parts)
    maximum = bar.get("max") or 0
    filled = int(round(10 * bar.get("value", 0) / maximum)) if maximum else 0
    text = "{}|{}{}|{}".format(html.unescape(left.get("value", "")), "█" * filled,
                               " " * (10 - filled), html.unescape(right.get("value", "")))
    return text.replace("\u2007", " ")


def finalize(nb, mode: str) -> None:
    """Record the mode and versions, the kernelspec as ipykernel writes it (so opening the
    notebook does not mark it modified), and the final text of progress-bar widgets."""
    nb.metadata["course"] = {"mode": mode, "versions": versions()}
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    state = state.get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view:
                text = _widget_text(state, view.get("model_id", ""))
                if text is not None:
                    output["data"]["text/plain"] = text


def execute(paths: list[Path], quick: bool) -> int:
    failures = 0
    mode = "quick" if quick else "full"
    for path in paths:
        print(f"{path.name}: executing in {mode} mode ...", flush=True)
        nb, seconds, _, error = run(path, mode == "quick", record_timing=False)
        if error:
            failures += 1
            print(f"  FAILED after {seconds:.0f} s: {error}\n  (notebook left unchanged)")
            continue
        finalize(nb, mode)
        tmp = path.with_suffix(".ipynb.tmp")
        nbformat.write(nb, tmp)
        os.replace(tmp, path)
        print(f"  done in {seconds:.0f} s")
    return 1 if failures else 0


def table_rows(text: str) -> dict[str, str]:
    """The notebook rows of an existing benchmark table, by notebook file name."""
    rows = {}
    for line in text.splitlines():
        cells = line.split("|")
        if len(cells) > 2 and cells[1].strip().endswith(".ipynb"):
            rows[cells[1].strip()] = line
    return rows


def bench(paths: list[Path], full: bool, merge: bool = False) -> int:
    """Run and measure ``paths``; with ``merge``, keep the other rows of the existing table."""
    BENCHMARKS.mkdir(exist_ok=True)
    out = BENCHMARKS / ("RESULTS-full.md" if full else "RESULTS.md")
    rows = table_rows(out.read_text(encoding="utf-8")) if merge and out.exists() else {}
    failures = 0
    mode = "full" if full else "quick"
    for path in paths:
        print(f"{path.name}: running in {mode} mode ...", flush=True)
        nb, seconds, peak, error = run(path, quick=mode == "quick", record_timing=True)
        timed = []
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                seconds_in_cell = cell_seconds(cell)
                if seconds_in_cell is not None:
                    timed.append((seconds_in_cell, cell.get("execution_count") or index))
        slowest = ", ".join(f"[{n}] {s:.1f} s" for s, n in sorted(timed, reverse=True)[:3])
        status = "ok" if not error else f"FAILED: {error}"
        failures += bool(error)
        rows[path.name] = (f"| {path.name} | {mode} | {seconds:.1f} | {peak / 2**20:,.0f} "
                           f"| {slowest} | {status} |")
        print(f"  {seconds:.1f} s, peak {peak / 2**20:,.0f} MiB, slowest cells: {slowest} {status}")

    total_seconds = sum(float(row.split("|")[3]) for row in rows.values())
    gpus = nvidia_gpus()
    gpu = ("no GPU (nvidia-smi not found)" if gpus is None
           else f"GPU: {', '.join(gpus)}" if gpus else "nvidia-smi found no GPU")
    vm = psutil.virtual_memory()
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [
        f"# Notebook benchmark: {'full' if full else 'quick'} mode",
        "",
        f"Produced by `make bench{'-full' if full else ''}` on {datetime.now(UTC):%Y-%m-%d}: "
        f"each notebook executed top to bottom in a fresh kernel, one at a time"
        + (" (rows of notebooks not named in the last run keep their earlier measurement)." if merge
           else "."),
        "",
        f"- Machine: {psutil.cpu_count()} CPU cores ({cpu}), {vm.total / 2**30:.0f} GiB memory, "
        f"{platform.system()} {platform.release()}, {gpu}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        "- Budgets: quick mode under 90 s per notebook; full mode under 10 minutes; "
        "peak kernel memory under 3 GB (2,861 MiB) per notebook",
        "",
        "| notebook | mode | wall time (s) | peak kernel memory (MiB) "
        "| slowest cells [execution count] | status |",
        "| --- | --- | ---: | ---: | --- | --- |",
        *(rows[name] for name in sorted(rows)),
        "",
        f"Total: {total_seconds:.0f} s.",
        "",
    ]
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"Wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("execute", help="re-run notebooks in place")
    run_parser.add_argument("--quick", action="store_true", help="quick mode instead of full")
    run_parser.add_argument("notebooks", nargs="*")
    bench_parser = commands.add_parser("bench", help="measure time and memory")
    bench_parser.add_argument("--full", action="store_true", help="full mode instead of quick")
    bench_parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args()
    paths = selected(args.notebooks)
    if args.command == "execute":
        return execute(paths, args.quick)
    return bench(paths, args.full, merge=bool(args.notebooks))


if __name__ == "__main__":
    sys.exit(main())

"""Test-session glue: report which GPU-tagged notebook cells ran, and on what."""

from __future__ import annotations

import pytest

from helpers.env import nvidia_gpus

_gpu_cells: list[tuple[str, str, str]] = []


def _first_output_line(item) -> str:
    for output in item.test_outputs or []:
        text = output.get("text") or output.get("data", {}).get("text/plain", "")
        text = "".join(text) if isinstance(text, list) else str(text)
        for line in text.splitlines():
            if line.strip():
                return line.strip()[:100]
    return "(no output)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    cell = getattr(item, "cell", None)
    if report.when == "call" and cell is not None and "gpu" in cell.get("metadata", {}).get("tags", []):
        # user_properties travel with the report from xdist workers to the controller
        report.user_properties.append(("gpu_cell", _first_output_line(item)))


def pytest_runtest_logreport(report):
    for key, value in report.user_properties:
        if key == "gpu_cell" and report.when == "call":
            _gpu_cells.append((report.nodeid, report.outcome, value))


def _gpu_on_this_machine() -> str:
    names = nvidia_gpus()
    if names is None:
        return "no NVIDIA GPU on this machine (nvidia-smi not found): GPU-tagged cells ran on the CPU"
    return f"GPU(s) visible: {', '.join(names)}" if names else "nvidia-smi found no GPU"


def pytest_terminal_summary(terminalreporter):
    if not _gpu_cells:
        return
    terminalreporter.section("GPU-tagged notebook cells")
    terminalreporter.write_line(_gpu_on_this_machine())
    for nodeid, outcome, line in _gpu_cells:
        terminalreporter.write_line(f"{outcome:>7}  {nodeid}  ->  {line}")


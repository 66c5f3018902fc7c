"""Is this environment ready for the course? One call answers, in a notebook or a terminal.

In a notebook::

    from helpers import doctor; doctor.run()

In a terminal::

    python -m helpers.doctor

It looks at the Python and library versions (against the range the course is tested with:
the ``minimum`` lane, Colab, and the pinned ``requirements.txt``), where it runs (Colab or
local), whether TensorFlow sees a GPU, and which dataset files are cached or in the mirror
(checked against their SHA-256). Each problem comes with one sentence on what to do.

The doctor never raises: a check that fails internally becomes one line of the report.
"""

from __future__ import annotations

import html
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TESTED", "Finding", "Report", "check", "run", "main"]

#: Versions the course is tested with, per library: (minimum lane, Colab lane, pinned).
#: The three columns mirror constraints/minimum.txt, constraints/colab.txt and requirements.txt
#: (tests/test_doctor.py checks that they agree); None in the Colab column: Colab does not
#: preinstall it (the setup cell does). Python: the pinned lane runs on 3.11 and on 3.13, Colab
#: runs 3.13. "optional" libraries only matter for chapter 10.
TESTED: dict[str, tuple[str, str | None, str]] = {
    "python": ("3.11", "3.13", "3.13"),
    "numpy": ("1.24.0", "2.1.3", "2.4"),
    "pandas": ("2.0.0", "2.2.3", "3.1"),
    "scikit-learn": ("1.4.2", "1.6.1", "1.9"),
    "matplotlib": ("3.7.0", "3.10.0", "3.11"),
    "pooch": ("1.8.0", "1.9.0", "1.9"),
    "tqdm": ("4.60.0", "4.67.3", "4.70"),
    "palmerpenguins": ("0.1.4", None, "0.1"),
    "filelock": ("3.12.0", "3.32.3", "4.2"),
    "tensorflow": ("2.16.1", "2.20.0", "2.21"),
    "keras": ("3.5.0", "3.13.2", "3"),
}
OPTIONAL = {"tensorflow", "keras"}

OK, NOTE, PROBLEM = "ok", "note", "problem"


@dataclass
class Finding:
    """One line of the report: a status, what was looked at, what was seen, and what to do."""

    status: str
    topic: str
    detail: str
    advice: str = ""


@dataclass(repr=False)
class Report:
    """Every finding, in order; renders as text (terminals) and as an HTML table (notebooks)."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == PROBLEM]

    def summary(self) -> str:
        count = len(self.problems)
        if count == 0:
            return "Ready for the course: no problem found."
        return f"{count} problem{'s' if count > 1 else ''} found: see what to do next to each."

    def __str__(self) -> str:
        width = max((len(f.topic) for f in self.findings), default=10)
        lines = ["Course environment check"]
        for f in self.findings:
            mark = {OK: "ok", NOTE: "note", PROBLEM: "PROBLEM"}.get(f.status, f.status)
            lines.append(f"  {mark:<8} {f.topic:<{width}}  {f.detail}")
            if f.advice:
                lines.append(f"  {'':<8} {'':<{width}}  -> {f.advice}")
        lines.append(self.summary())
        return "\n".join(lines)

    __repr__ = __str__  # what a notebook's text/plain output shows

    def _repr_html_(self) -> str:
        colours = {OK: "#1a7f37", NOTE: "#9a6700", PROBLEM: "#cf222e"}
        rows = []
        for f in self.findings:
            colour = colours.get(f.status, "inherit")
            advice = f"<br><i>{html.escape(f.advice)}</i>" if f.advice else ""
            rows.append(
                f"<tr><td style='color:{colour};font-weight:bold;text-align:left'>{html.escape(f.status)}</td>"
                f"<td style='text-align:left'>{html.escape(f.topic)}</td>"
                f"<td style='text-align:left'>{html.escape(f.detail)}{advice}</td></tr>"
            )
        return (
            "<div><b>Course environment check</b>"
            "<table><tr><th style='text-align:left'>status</th><th style='text-align:left'>what</th>"
            "<th style='text-align:left'>found</th></tr>"
            + "".join(rows)
            + f"</table><p>{html.escape(self.summary())}</p></div>"
        )


# --------------------------------------------------------------------------- versions


def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution (``"python"`` for the interpreter), or None."""
    if distribution == "python":
        return platform.python_version()
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _release(version: str) -> tuple[int, ...]:
    """The numeric release part of a version string: ``"2.0.2rc1"`` -> ``(2, 0, 2)``."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    if not match:
        raise ValueError(f"unreadable version {version!r}")
    return tuple(int(part) for part in match.group(1).split("."))


def _newer_than_pinned(version: str, pinned: str) -> bool:
    """True when ``version`` is a later release series than ``pinned`` (compared at its depth)."""
    depth = len(_release(pinned))
    return _release(version)[:depth] > _release(pinned)


def _check_version(name: str) -> Finding:
    low, colab, pinned = TESTED[name]
    tested = f"tested {low} to {pinned}" + ("" if name == "python" else ".x")
    if colab:
        tested += f", Colab {colab}"
    version = installed_version(name)
    label = "Python" if name == "python" else name
    if version is None:
        if name in OPTIONAL:
            return Finding(NOTE, label, "not installed (only chapter 10 needs it)",
                           f'Before chapter 10, run: pip install "{name}>={low}"')
        return Finding(PROBLEM, label, "not installed",
                       f'Install it: pip install "{name}>={low}" (or pip install -r requirements.txt).')
    if name == "python" and _release(version) < _release(low):
        return Finding(PROBLEM, label, f"{version} is older than the course supports ({tested})",
                       f"Use Python {low} or newer (a new virtual environment, or Colab).")
    if _release(version) < _release(low):
        return Finding(PROBLEM, label, f"{version} is too old ({tested})",
                       f'Upgrade it: pip install -U "{name}>={low}", then restart the kernel.')
    if name == "python" and _newer_than_pinned(version, pinned):
        return Finding(NOTE, label, f"{version} is newer than tested ({tested})",
                       f"Chapters 1-9 should work; TensorFlow (chapter 10) may not be released for it yet. "
                       f"If an install or a notebook fails, use Python {pinned} (or Colab).")
    if _newer_than_pinned(version, pinned):
        return Finding(NOTE, label, f"{version} is newer than tested ({tested})",
                       "It should work; if a notebook fails, install the tested versions: "
                       "pip install -r requirements.txt.")
    return Finding(OK, label, f"{version} ({tested})")


# --------------------------------------------------------------------------- where


def _in_colab() -> bool:
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def _check_place() -> list[Finding]:
    findings = []
    where = "Google Colab" if _in_colab() else f"local ({platform.system() or 'unknown system'})"
    quick = os.environ.get("COURSE_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}
    findings.append(Finding(OK, "running on", f"{where}, {'quick' if quick else 'full'} mode"))
    import helpers

    location = Path(helpers.__file__).resolve().parent
    version = getattr(helpers, "__version__", "?")
    findings.append(Finding(OK, "course helpers", f"ml-course {version} from {location}"))
    return findings


# --------------------------------------------------------------------------- GPU

_GPU_PROBE = (
    "import json, tensorflow as tf; "
    "print(json.dumps({'version': tf.__version__, "
    "'gpus': [d.name for d in tf.config.list_physical_devices('GPU')]}))"
)


def _tensorflow_gpus(timeout: float = 180) -> tuple[str, list[str]]:
    """TensorFlow's version and the GPUs it sees.

    Uses the TensorFlow already imported in this process; otherwise asks a separate Python
    process, so that the check neither loads TensorFlow into the caller's kernel nor lets its
    C++ start-up messages reach the notebook.
    """
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        return tf.__version__, [d.name for d in tf.config.list_physical_devices("GPU")]
    quiet = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    result = subprocess.run([sys.executable, "-c", _GPU_PROBE], capture_output=True, text=True,
                            timeout=timeout, env=quiet)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"importing TensorFlow failed: {last[:200]}")
    answer = json.loads(lines[-1])
    return answer["version"], answer["gpus"]


def _nvidia_gpus() -> list[str] | None:
    try:
        from helpers.env import nvidia_gpus
    except Exception:  # helpers.env needs numpy; without it, say nothing about nvidia-smi
        return None
    return nvidia_gpus()


def _check_gpu() -> Finding:
    if importlib.util.find_spec("tensorflow") is None:
        return Finding(NOTE, "GPU", "not checked: TensorFlow is not installed (only chapter 10 uses it)")
    version, gpus = _tensorflow_gpus()
    if gpus:
        return Finding(OK, "GPU", f"TensorFlow {version} sees {len(gpus)} GPU(s): {', '.join(gpus)}")
    cards = _nvidia_gpus()
    if cards:
        return Finding(PROBLEM, "GPU", f"nvidia-smi lists {', '.join(cards)} but TensorFlow {version} sees none",
                       'Install TensorFlow with its CUDA libraries: pip install "tensorflow[and-cuda]".')
    advice = ("Optional: Runtime > Change runtime type > GPU makes chapter 10 faster."
              if _in_colab() else "")
    return Finding(OK, "GPU", f"none: TensorFlow {version} runs on the CPU (every notebook works on a CPU)",
                   advice)


# --------------------------------------------------------------------------- data


def _tally(folder: Path, registry) -> tuple[list[str], list[str], list[str]]:
    """Registry files in ``folder``: (verified, corrupted, missing) paths, judged as the
    data layer judges its cache (an unreadable file counts as corrupted)."""
    from helpers.data import _file_state

    verified, corrupted, missing = [], [], []
    for path, entry in registry.items():
        state = _file_state(folder / path, entry)
        (verified if state == "ok" else missing if state == "missing" else corrupted).append(path)
    return verified, corrupted, missing


def _names(paths: list[str], limit: int = 4) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _check_data() -> list[Finding]:
    from helpers import data

    findings = []
    registry = data.REGISTRY
    cache = data.data_dir()
    verified, corrupted, missing = _tally(cache, registry)
    detail = f"{cache}: {len(verified)} of {len(registry)} files present and verified (sha256)"
    if corrupted:
        findings.append(Finding(NOTE, "data cache", f"{detail}; damaged: {_names(corrupted)}",
                                "Nothing to do: a damaged file is fetched again when a notebook needs it."))
    else:
        findings.append(Finding(OK, "data cache", detail))

    setting = os.environ.get("COURSE_DATA_MIRROR", "").strip()
    if not setting:
        if missing:
            findings.append(Finding(NOTE, "data mirror", "none set (COURSE_DATA_MIRROR): "
                                    f"{len(missing)} file(s) will be downloaded when first needed",
                                    "Offline? Run `python -m helpers.data download --all` while online, "
                                    "or set COURSE_DATA_MIRROR to a copy of the datasets."))
        else:
            findings.append(Finding(OK, "data mirror", "none set, and none needed: every file is cached"))
        return findings
    mirror = data._mirror()  # the fetcher's own reading of COURSE_DATA_MIRROR
    if isinstance(mirror, str):
        findings.append(Finding(OK, "data mirror", f"{mirror} (a URL: files are checked when fetched)"))
        return findings
    if not mirror.is_dir():
        findings.append(Finding(PROBLEM, "data mirror", f"COURSE_DATA_MIRROR={setting} is not a folder",
                                "Point COURSE_DATA_MIRROR at the folder that holds the datasets "
                                "(housing.tgz, mnist/, ...), or unset it to download from the internet."))
        return findings
    in_mirror, bad, absent = _tally(mirror, registry)
    detail = f"{mirror}: {len(in_mirror)} of {len(registry)} files present and verified (sha256)"
    if bad:
        findings.append(Finding(PROBLEM, "data mirror", f"{detail}; damaged: {_names(bad)}",
                                "Copy these files into the mirror again: a damaged file is never used."))
    elif absent and set(absent) & set(missing):
        needed = sorted(set(absent) & set(missing))
        findings.append(Finding(NOTE, "data mirror", f"{detail}; missing: {_names(needed)}",
                                "Those files will come from the internet; add them to the mirror for offline use."))
    else:
        findings.append(Finding(OK, "data mirror", detail))
    return findings


# --------------------------------------------------------------------------- the report


def _safely(report: Report, topic: str, check_function) -> None:
    try:
        result = check_function()
    except Exception as exc:  # the doctor never raises: one line says what could not be checked
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        report.findings.append(Finding(NOTE, topic, f"could not check ({type(exc).__name__}: {message[:200]})"))
        return
    report.findings.extend(result if isinstance(result, list) else [result])


def check(gpu: bool = True) -> Report:
    """Run every check and return the report (nothing is printed)."""
    report = Report()
    for name in TESTED:
        _safely(report, name, lambda name=name: _check_version(name))
    _safely(report, "running on", _check_place)
    if gpu:
        _safely(report, "GPU", _check_gpu)
    _safely(report, "data", _check_data)
    return report


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    try:
        ip = shell.get_ipython() if shell else None
    except Exception:
        return False
    return ip is not None and type(ip).__name__ != "TerminalInteractiveShell"


def run(gpu: bool = True) -> None:
    """Check the environment and show the report: an HTML table in a notebook, text elsewhere."""
    try:
        report = check(gpu=gpu)
        if _in_notebook():
            from IPython.display import display

            display(report)
        else:
            print(report)
    except Exception as exc:  # even the display must not raise
        print(f"Course environment check failed: {type(exc).__name__}: {exc}")


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.doctor [--no-gpu]``: print the report; exit 1 when a problem is found."""
    args = sys.argv[1:] if argv is None else argv
    if any(a in {"-h", "--help"} for a in args):
        print("usage: python -m helpers.doctor [--no-gpu]\n\n" + (__doc__ or "").strip().split("\n\n")[0])
        return 0
    gpu = "--no-gpu" not in args
    if gpu:
        print("Checking the course environment (asking TensorFlow for GPUs takes a few seconds)...", flush=True)
    try:
        report = check(gpu=gpu)
        print(report)
        return 1 if report.problems else 0
    except Exception as exc:
        print(f"Course environment check failed: {type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""helpers.doctor: the environment check students run in a notebook or a terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import helpers
from helpers import data, doctor

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_gpu_probe(monkeypatch):
    """Keep TensorFlow out of unit tests: the GPU check answers 'no GPU' at once."""
    monkeypatch.setattr(doctor, "_tensorflow_gpus", lambda timeout=180: ("2.19.0", []))
    monkeypatch.setattr(doctor, "_nvidia_gpus", lambda: None)


def fake_versions(monkeypatch, **overrides):
    real = doctor.installed_version

    def lookup(name):
        key = name.replace("-", "_")
        return overrides[key] if key in overrides else real(name)

    monkeypatch.setattr(doctor, "installed_version", lookup)


def finding(report, topic):
    matches = [f for f in report.findings if f.topic == topic]
    assert matches, f"no finding about {topic}: {report}"
    return matches[0]


def test_a_too_old_library_is_a_problem_with_advice(monkeypatch, no_gpu_probe):
    fake_versions(monkeypatch, scikit_learn="1.2.2")
    report = doctor.check()
    line = finding(report, "scikit-learn")
    assert line.status == doctor.PROBLEM
    assert "1.2.2" in line.detail and "too old" in line.detail
    assert 'pip install -U "scikit-learn>=1.4' in line.advice
    assert line in report.problems
    text = str(report)
    assert "PROBLEM" in text and "1 problem found" in text


def test_newer_and_missing_libraries(monkeypatch, no_gpu_probe):
    fake_versions(monkeypatch, numpy="3.0.0", tensorflow=None, pooch=None)
    report = doctor.check()
    assert finding(report, "numpy").status == doctor.NOTE  # newer than tested: should work
    assert finding(report, "tensorflow").status == doctor.NOTE  # only chapter 10 needs it
    assert finding(report, "pooch").status == doctor.PROBLEM  # every chapter needs it


def test_versions_inside_the_tested_range_are_fine(monkeypatch, no_gpu_probe):
    fake_versions(monkeypatch, **{name.replace("-", "_"): colab or low for name, (low, colab, _) in doctor.TESTED.items()})
    report = doctor.check()
    for name in doctor.TESTED:
        label = "Python" if name == "python" else name
        assert finding(report, label).status == doctor.OK, str(report)


@pytest.mark.parametrize(("python", "status"), [("3.10.14", doctor.PROBLEM), ("3.11.0", doctor.OK),
                                                ("3.13.7", doctor.OK), ("3.14.0", doctor.NOTE)])
def test_python_versions_against_the_tested_lanes(monkeypatch, no_gpu_probe, python, status):
    fake_versions(monkeypatch, python=python)
    line = finding(doctor.check(gpu=False), "Python")
    assert line.status == status and "tested 3.11 to 3.13, Colab 3.13" in line.detail
    if status == doctor.NOTE:  # newer than any lane: may work, and says what to fall back to
        assert "newer than tested" in line.detail and "use Python 3.13" in line.advice


def test_a_missing_mirror_folder_is_a_problem(monkeypatch, tmp_path, no_gpu_probe):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(tmp_path / "no-such-mirror"))
    report = doctor.check()
    line = finding(report, "data mirror")
    assert line.status == doctor.PROBLEM
    assert "is not a folder" in line.detail and "COURSE_DATA_MIRROR" in line.advice
    cache = finding(report, "data cache")
    assert cache.status == doctor.OK and f"0 of {len(data.REGISTRY)}" in cache.detail


def test_mirror_files_are_verified_by_sha256(monkeypatch, tmp_path, no_gpu_probe):
    mirror = tmp_path / "mirror"
    good = next(e for e in data.REGISTRY.values() if e.size < 5000)
    bad = next(e for e in data.REGISTRY.values() if e.path != good.path and e.size < 50_000)
    source = Path(os.environ["COURSE_DATA_MIRROR"]) / good.path if os.environ.get("COURSE_DATA_MIRROR") else None
    if source is None or not source.is_file():
        pytest.skip("needs the offline mirror (COURSE_DATA_MIRROR) for one genuine file")
    (mirror / good.path).parent.mkdir(parents=True, exist_ok=True)
    (mirror / good.path).write_bytes(source.read_bytes())
    (mirror / bad.path).parent.mkdir(parents=True, exist_ok=True)
    (mirror / bad.path).write_bytes(b"not the real file")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    line = finding(doctor.check(), "data mirror")
    assert line.status == doctor.PROBLEM
    assert f"1 of {len(data.REGISTRY)} files present and verified" in line.detail
    assert bad.path in line.detail and good.path not in line.detail.split("damaged")[1]


def test_no_mirror_and_an_empty_cache_says_how_to_prepare_offline_use(monkeypatch, tmp_path, no_gpu_probe):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    line = finding(doctor.check(), "data mirror")
    assert line.status == doctor.NOTE and "helpers.data download --all" in line.advice


def test_gpu_seen_by_tensorflow_or_not(monkeypatch):
    monkeypatch.setattr(doctor.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(doctor, "_tensorflow_gpus", lambda timeout=180: ("2.19.0", ["/physical_device:GPU:0"]))
    assert doctor._check_gpu().status == doctor.OK
    monkeypatch.setattr(doctor, "_tensorflow_gpus", lambda timeout=180: ("2.19.0", []))
    monkeypatch.setattr(doctor, "_nvidia_gpus", lambda: ["NVIDIA T4"])
    line = doctor._check_gpu()
    assert line.status == doctor.PROBLEM and "tensorflow[and-cuda]" in line.advice


def test_internal_failures_become_one_line_and_never_raise(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise OSError("disk on fire\nsecond line")

    monkeypatch.setattr(doctor, "_check_data", broken)
    monkeypatch.setattr(doctor, "_check_gpu", broken)
    report = doctor.check()
    line = finding(report, "data")
    assert line.status == doctor.NOTE and line.detail == "could not check (OSError: disk on fire)"
    monkeypatch.setattr(doctor, "check", broken)
    doctor.run()  # must not raise
    assert doctor.main([]) == 1
    assert "Course environment check failed: OSError" in capsys.readouterr().out


def test_report_renders_as_html_and_text(monkeypatch, no_gpu_probe):
    fake_versions(monkeypatch, pandas="1.5.3")
    report = doctor.check()
    page = report._repr_html_()
    assert page.count("<tr>") == len(report.findings) + 1
    assert "pandas" in page and "problem" in page and "<script" not in page
    assert repr(report) == str(report) and str(report).startswith("Course environment check")


def test_command_line_prints_the_report(tmp_path):
    env = dict(os.environ, COURSE_DATA_DIR=str(tmp_path))
    env.pop("COURSE_DATA_MIRROR", None)
    result = subprocess.run([sys.executable, "-m", "helpers.doctor", "--no-gpu"], capture_output=True,
                            text=True, env=env, cwd=ROOT / "notebooks", timeout=120)
    assert result.returncode in (0, 1), result.stderr
    assert "Course environment check" in result.stdout and "numpy" in result.stdout
    assert result.stderr == ""


# ------------------------------------------------------------- the table of tested versions


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)\s*(?:==|~=)\s*([0-9][0-9.]*)", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def same_release(a: str, b: str) -> bool:
    """1.24 and 1.24.0 name the same release."""
    def strip(v):
        parts = list(doctor._release(v))
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return parts

    return strip(a) == strip(b)


def test_tested_versions_match_the_constraints_and_the_pins():
    minimum = pins(ROOT / "constraints" / "minimum.txt")
    colab = pins(ROOT / "constraints" / "colab.txt")
    pinned = pins(ROOT / "requirements.txt")
    for name, (low, on_colab, latest) in doctor.TESTED.items():
        if name == "python":
            continue
        assert minimum[name] == low, name
        assert colab.get(name) == on_colab, name  # None: Colab does not preinstall it
        if name in pinned:  # requirements.txt pins ~=X.Y.Z: the doctor keeps the series X.Y
            assert pinned[name].startswith(latest + "."), name


def test_tested_pythons_match_the_lanes():
    """The doctor's Python range is the lanes' (Makefile) and requires-python's lower bound."""
    import tomllib

    makefile = (ROOT / "Makefile").read_text()
    lane_python = dict(re.findall(r"^COMPAT_PY_(\w+)\s*:=\s*([0-9.]+)", makefile, flags=re.M))
    ci = (ROOT / ".ci" / "run").read_text()
    pinned = sorted(re.findall(r"^\s*pinned-([0-9.]+)\)", ci, flags=re.M), key=doctor._release)
    low, on_colab, high = doctor.TESTED["python"]
    assert (low, on_colab) == (lane_python["minimum"], lane_python["colab"])
    assert pinned and (pinned[0], pinned[-1]) == (low, high)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == f">={low}"
    classified = [c.rsplit(" ", 1)[-1] for c in project["classifiers"] if re.fullmatch(r".*Python :: 3\.\d+", c)]
    (major, first), (_, last) = doctor._release(low), doctor._release(high)
    assert classified == [f"{major}.{minor}" for minor in range(first, last + 1)]  # from the lowest lane to the highest


def test_minimum_lane_matches_the_declared_lower_bounds():
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    minimum = pins(ROOT / "constraints" / "minimum.txt")
    for requirement in declared:
        name, bound = re.match(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)", requirement).groups()
        tested = minimum[name.lower()]
        assert same_release(tested, bound), f"{name}: pyproject says >={bound}, the lane tests {tested}"


@pytest.mark.skipif(not os.environ.get("COURSE_COMPAT_LANE"), reason="only in `make test-compat`")
def test_compat_lane_imports_the_installed_package():
    installed = Path(helpers.__file__).resolve()
    assert ROOT / "helpers" not in installed.parents, f"the lane imported the checkout: {installed}"
    assert "site-packages" in installed.parts


def test_colab_is_recognised_from_a_terminal_too(monkeypatch, no_gpu_probe):
    # `!python -m helpers.doctor` on Colab has no google.colab module, only Colab's variables
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")
    assert "Google Colab" in finding(doctor.check(gpu=False), "running on").detail
    monkeypatch.delenv("COLAB_RELEASE_TAG")
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert finding(doctor.check(gpu=False), "running on").detail.startswith("local")

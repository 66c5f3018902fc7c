"""The course's code is its own: no file repeats more than 5 % of the reference book's code lines.

The measuring tool and the fingerprints of the book's companion code (hashes only) live in the
shared folder next to the project; without it (a student's clone) there is nothing to measure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT.parent / "shared" / "tools" / "originality.py"


@pytest.mark.skipif(not TOOL.is_file(), reason="the originality tool lives outside the project")
def test_every_notebook_and_checker_is_at_most_five_percent_reference_code():
    files = sorted(str(p) for p in (ROOT / "notebooks").glob("*.ipynb"))
    files += sorted(str(p) for p in (ROOT / "helpers" / "exercises").glob("*.py"))
    result = subprocess.run([sys.executable, str(TOOL), *files, "--max-percent", "5"],
                            capture_output=True, text=True, cwd=ROOT)
    over = [line for line in result.stdout.splitlines() if "over)" in line]
    assert result.returncode == 0 and not over, "\n".join(over) or result.stdout[-2000:]

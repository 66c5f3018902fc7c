"""Fixtures of the site tests (`make site-test`): the built site, a local server, Chromium.

The site is the one `make site` built (docs/_build/html, or SITE_DIR). Screenshots and the
accessibility summary go to docs/_build/site-test (or SITE_TEST_ARTIFACTS), kept by CI.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    NOT_BUILT,
    ROOT,
    LocalServer,
    Visitor,
    site_pages,
)

SITE = Path(os.environ.get("SITE_DIR", ROOT / "docs" / "_build" / "html")).resolve()
ARTIFACTS = Path(os.environ.get("SITE_TEST_ARTIFACTS",
                                ROOT / "docs" / "_build" / "site-test")).resolve()


def pytest_generate_tests(metafunc):
    """`page`: every page of the built site; `chapter_page`: every notebook page."""
    pages = site_pages(SITE) if (SITE / "docs" / "index.html").is_file() else [NOT_BUILT]
    if "page" in metafunc.fixturenames:
        metafunc.parametrize("page", pages)
    if "chapter_page" in metafunc.fixturenames:
        chapters = [p for p in pages if p.startswith("notebooks/")] or [NOT_BUILT]
        metafunc.parametrize("chapter_page", chapters)


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "docs" / "index.html").is_file():
        pytest.fail(f"no built site in {SITE}: run `make site` first (make site-test does)")
    return SITE


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's package "
                    "(apt-get install -y chromium), or set CHROMIUM to its path")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: pip install -r docs/requirements.txt "
                    "(make site-test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def server(site):
    server = LocalServer(site)
    yield server
    server.close()


@pytest.fixture(scope="session")
def visitor(browser, server):
    """Loads each page of the built site once; the tests read its report."""
    visitor = Visitor(browser, server)
    yield visitor
    _write_accessibility_summary(visitor)


def _write_accessibility_summary(visitor: Visitor) -> None:
    """axe-core's violations per page, by impact, for the CI log and artifacts."""
    if not visitor.reports:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    rows = {path: {"counts": report.axe_counts(), "violations": report.axe}
            for path, report in sorted(visitor.reports.items())}
    (ARTIFACTS / "axe.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    _SUMMARY.extend(f"{path:<65} {_format_counts(row['counts'])}" for path, row in rows.items())


def _format_counts(counts: dict[str, int]) -> str:
    if not counts:
        return "no violations"
    order = ["critical", "serious", "moderate", "minor", "unknown"]
    return ", ".join(f"{counts[k]} {k}" for k in order if k in counts) + " (rules violated)"


_SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if _SUMMARY:
        terminalreporter.section("axe-core, per page (rules violated, by impact)")
        for line in _SUMMARY:
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"details: {ARTIFACTS / 'axe.json'}")

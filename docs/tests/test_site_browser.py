"""The built site in headless Chromium, every page served locally with the network blocked.

Each page of the site is checked for what a reader would meet: errors, requests that fail or go
outside the site, images that do not load or have no alt text, math left as TeX, broken links
and serious accessibility problems (axe-core). Chapter pages must offer their four launch routes,
each pointing at that chapter's notebook in the repository named in pyproject.toml.
"""

from __future__ import annotations

import html
import json
import runpy
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest
from browser import (
    FAILING_IMPACTS,
    NOT_BUILT,
    ROOT,
    LocalServer,
    Visitor,
    broken_links,
    has_alt_text,
    site_pages,
)
from fixture_site import CHAPTER, PNG_ALT, SVG_ALT, build, make_repository

with open(ROOT / "pyproject.toml", "rb") as _file:
    REPOSITORY = tomllib.load(_file)["project"]["urls"]["Repository"]
OWNER, REPO = urlsplit(REPOSITORY).path.strip("/").split("/")[:2]


def _report(visitor, page):
    if page == NOT_BUILT:
        pytest.fail("no built site: run `make site` first (make site-test does)")
    return visitor.visit(page)


# --------------------------------------------------------------------------- every page


def test_no_console_errors(visitor, page):
    assert _report(visitor, page).console_errors == []


def test_no_request_fails_or_leaves_the_site(visitor, page):
    report = _report(visitor, page)
    assert report.outside_requests == [], "requests outside the site (blocked)"
    assert report.failed_requests == []


def test_images_load_and_have_alt_text(visitor, page):
    images = _report(visitor, page).images
    assert [i["src"] for i in images if not i["loaded"]] == [], "images that did not load"
    missing = [i["src"].rsplit("/", 1)[-1] for i in images if not has_alt_text(i["alt"], i["src"])]
    assert missing == [], f"{len(missing)} of {len(images)} images have no alt text"


def test_math_is_rendered(visitor, page):
    report = _report(visitor, page)
    assert report.unrendered_math == [], "math elements MathJax did not typeset"
    assert report.raw_math == [], "TeX left in the text"


def test_internal_links_resolve(visitor, page, site, server):
    assert broken_links(_report(visitor, page).links, server.base, site) == []


def test_no_serious_or_critical_accessibility_violation(visitor, page):
    failing = [v for v in _report(visitor, page).axe if v["impact"] in FAILING_IMPACTS]
    assert failing == []


def test_conceptual_answers_stay_folded(visitor, page):
    details = _report(visitor, page).details
    assert [d["summary"] for d in details if d["open"]] == []


# --------------------------------------------------------------------------- chapter pages


def expected_launch_links(notebook: str, hub: str) -> dict[str, str]:
    """The launch links of a notebook at `notebook` (its path in the repository)."""
    return {
        "Colab": f"https://colab.research.google.com/github/{OWNER}/{REPO}/blob/main/"
                           f"{notebook}",
        "Binder": f"https://mybinder.org/v2/gh/{OWNER}/{REPO}/main"
                            f"?urlpath=lab/tree/{notebook}",
        "JupyterHub": f"{hub.rstrip('/')}/hub/user-redirect/git-pull",
    }


def test_chapter_launch_links_point_at_its_notebook(visitor, chapter_page, server):
    report = _report(visitor, chapter_page)
    notebook = chapter_page.removesuffix(".html") + ".ipynb"
    assert (ROOT / notebook).is_file(), f"the page has no notebook {notebook} in the repository"
    hub = runpy.run_path(str(ROOT / "docs" / "conf.py"))["JUPYTERHUB_URL"]
    expected = expected_launch_links(notebook, hub)
    launch = {title: links for title, links in report.launch.items() if links}
    assert sorted(launch) == sorted([*expected, ".ipynb"]), launch
    assert launch["Colab"] == [expected["Colab"]]
    assert launch["Binder"] == [expected["Binder"]]
    [hub_link] = launch["JupyterHub"]
    assert hub_link.split("?")[0] == expected["JupyterHub"]
    query = {key: values[0] for key, values in parse_qs(urlsplit(hub_link).query).items()}
    assert query == {"repo": REPOSITORY, "branch": "main",
                     "urlpath": f"lab/tree/{REPO}/{notebook}"}  # nbgitpuller clones into REPO/
    [download] = launch[".ipynb"]
    assert download == f"{server.base}_sources/{notebook}"
    served = Path(server.folder, "_sources", notebook)
    assert served.read_bytes() == (ROOT / notebook).read_bytes(), "the download is not the notebook"


def test_chapter_outputs_show_as_committed(visitor, chapter_page, site):
    """Exercise checks render as their HTML block; progress bars show their final text."""
    if chapter_page == NOT_BUILT:
        pytest.fail("no built site: run `make site` first (make site-test does)")
    notebook = nbformat.read(ROOT / (chapter_page.removesuffix(".html") + ".ipynb"), 4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    checks = [o for o in outputs if 'class="course-check"' in o.get("data", {}).get("text/html", "")]
    assert len(_report(visitor, chapter_page).checks) == len(checks)
    bars = [o.data["text/plain"] for o in outputs
            if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    text = html.unescape((site / chapter_page).read_text(encoding="utf-8"))
    assert [bar for bar in bars if bar not in text] == [], "progress bars not shown as stored"


def test_every_chapter_has_a_page_and_a_worked_solutions_page(site):
    pages = set(site_pages(site))
    for chapter in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f"notebooks/{chapter.stem}.html" in pages
        notebook = ROOT / "notebooks" / "solutions" / f"{chapter.stem}_solutions.ipynb"
        solutions = (f"notebooks/solutions/{notebook.stem}.html" if notebook.exists()
                     else f"docs/_solutions/{chapter.stem}.html")
        assert solutions in pages, f"chapter {chapter.stem}: no {solutions}"


# --------------------------------------------------------------------------- the site as a whole


def test_search_for_gradient_descent_lists_the_training_models_chapter(browser, server):
    with Visitor(browser, server).open("search.html?q=gradient+descent") as (page, report):
        page.wait_for_function(
            "() => /Search finished|did not match/.test("
            "(document.querySelector('#search-results') || {}).innerText || '')", timeout=30_000)
        found = page.eval_on_selector_all("#search-results ul.search li a",
                                          "links => links.map(a => a.href)")
    assert report.console_errors == [] and report.outside_requests == []
    assert [link for link in found if "notebooks/04_training_models.html" in link], found


def test_home_page_and_a_chapter_look_right(browser, server, artifacts):
    """Screenshots for people (CI keeps them); the site's root leads to the home page."""
    with Visitor(browser, server).open("") as (page, report):
        page.wait_for_url("**/docs/index.html")
        page.wait_for_load_state("networkidle")
        assert "Machine learning" in page.title()
        page.screenshot(path=str(artifacts / "home.png"))
        page.goto(f"{server.base}notebooks/04_training_models.html")
        page.wait_for_load_state("networkidle")
        page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.locator("#gradient-descent").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "chapter-04.png"))
    assert report.console_errors == [] and report.outside_requests == []
    assert (artifacts / "home.png").stat().st_size > 10_000


# --------------------------------------------------------------------------- the fixture site


@pytest.fixture(scope="module")
def fixture_visit(browser, tmp_path_factory):
    site = build(make_repository(tmp_path_factory.mktemp("site"), False))
    server = LocalServer(site)
    visitor = Visitor(browser, server)
    yield site, server, visitor
    server.close()


def test_fixture_figures_show_their_alt_text_in_the_browser(fixture_visit):
    _, _, visitor = fixture_visit
    report = visitor.visit(f"notebooks/{CHAPTER}.html")
    alts = {image["alt"] for image in report.images if image["loaded"]}
    assert {PNG_ALT, SVG_ALT} <= alts
    assert all(has_alt_text(i["alt"], i["src"]) and i["loaded"] for i in report.images)


def test_fixture_site_passes_every_page_check(fixture_visit):
    site, server, visitor = fixture_visit
    problems = {}
    for page in site_pages(site):
        report = visitor.visit(page)
        found = {
            "console errors": report.console_errors,
            "failed requests": report.failed_requests + report.outside_requests,
            "images": [i["src"] for i in report.images
                       if not i["loaded"] or not has_alt_text(i["alt"], i["src"])],
            "math": report.unrendered_math + report.raw_math,
            "links": broken_links(report.links, server.base, site),
            "accessibility": [v["id"] for v in report.axe if v["impact"] in FAILING_IMPACTS],
            "open answers": [d["summary"] for d in report.details if d["open"]],
        }
        found = {k: v for k, v in found.items() if v}
        if found:
            problems[page] = found
    assert not problems, json.dumps(problems, indent=1)
    chapter = visitor.visit(f"notebooks/{CHAPTER}.html")
    assert chapter.details and chapter.launch.get("Colab")


# --------------------------------------------------------------------------- the checks can fail


BAD_PAGE = """<!DOCTYPE html><html><head><title>bad</title>
<script>console.error("boom")</script></head><body>
<p>Raw math: $x^2$ and \\(y\\).</p>
<img src="missing.png" alt="a missing figure">
<img src="good.svg">
<img src="https://example.org/outside.png" alt="outside">
<a href="nowhere.html">broken</a> <a href="bad.html#no-such-anchor">anchor</a>
<article><details open><summary>Answer</summary><p>shown</p></details></article>
<button></button>
</body></html>"""


def test_each_check_catches_a_page_that_breaks_it(browser, tmp_path):
    """A page with one of each problem: every check must see its problem."""
    (tmp_path / "bad.html").write_text(BAD_PAGE, encoding="utf-8")
    (tmp_path / "good.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" '
                                       'height="4"><rect width="4" height="4"/></svg>')
    server = LocalServer(tmp_path)
    try:
        report = Visitor(browser, server).visit("bad.html")
    finally:
        server.close()
    assert "boom" in report.console_errors
    assert report.outside_requests == ["https://example.org/outside.png"]
    assert any("missing.png" in r for r in report.failed_requests)
    assert [i["src"].rsplit("/", 1)[-1] for i in report.images if not i["loaded"]] == \
        ["missing.png", "outside.png"]
    assert [i["src"].rsplit("/", 1)[-1] for i in report.images
            if not has_alt_text(i["alt"], i["src"])] == ["good.svg"]
    assert report.raw_math and "$x^2$" in report.raw_math[0]
    assert [b.split(" (")[0].rsplit("/", 1)[-1] for b in
            broken_links(report.links, server.base, tmp_path)] == \
        ["bad.html#no-such-anchor", "nowhere.html"]
    assert {v["id"] for v in report.axe if v["impact"] in FAILING_IMPACTS} >= \
        {"image-alt", "button-name"}
    assert [d["open"] for d in report.details] == [True]

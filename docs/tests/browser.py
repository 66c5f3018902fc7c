"""Loading the built site in headless Chromium and reporting what a reader would meet on a page.

Pages are served from a local HTTP server; every request to any other address is blocked and
recorded. One visit per page gathers everything the tests check (console errors, failed requests,
images, math, links, launch buttons, axe-core's accessibility violations), so each page is
loaded once however many tests look at it.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "docs" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-default-apps", "--disable-extensions"]
#: The page parameter of the per-page tests when there is no built site (those tests fail).
NOT_BUILT = "(site not built)"
#: Impacts that fail the accessibility check.
FAILING_IMPACTS = {"serious", "critical"}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class LocalServer:
    """A folder served on 127.0.0.1 (a free port), in a thread, until close()."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        handler = functools.partial(_QuietHandler, directory=str(self.folder))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.base = f"http://127.0.0.1:{self._server.server_port}/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def site_pages(folder: Path) -> list[str]:
    """Every HTML page of a built site, relative to its root (assets left out)."""
    skip = ("_static/", "_sources/", "_images/")
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html")
                  if not p.relative_to(folder).as_posix().startswith(skip))


def has_alt_text(alt: str | None, src: str) -> bool:
    """A real description: not missing, not blank, and not the file name that docutils writes
    when an image has no alt text."""
    if alt is None or not alt.strip():
        return False
    name = urlsplit(src).path.rsplit("/", 1)[-1]
    return not (alt.strip() == src or (name and alt.strip().endswith(name)))


@dataclass
class PageReport:
    url: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    raw_math: list[str] = field(default_factory=list)
    unrendered_math: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    launch: dict[str, list[str]] = field(default_factory=dict)
    details: list[dict] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    axe: list[dict] = field(default_factory=list)
    recording: bool = True  # errors and requests are recorded while True

    def axe_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for violation in self.axe:
            impact = violation["impact"] or "unknown"
            counts[impact] = counts.get(impact, 0) + 1
        return counts


# Everything gathered inside the page, once it has loaded and MathJax has typeset it.
_GATHER = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const images = [];
  for (const img of document.images) {
    img.loading = "eager";
    let loaded = true;
    try { await img.decode(); } catch (e) { loaded = false; }
    images.push({src: img.currentSrc || img.src, alt: img.getAttribute("alt"),
                 loaded: loaded && img.naturalWidth > 0});
  }
  // Math left as TeX: a math element MathJax did not typeset, or $...$ / \\( / \\[ in prose.
  const unrendered = [...document.querySelectorAll(".math")]
    .filter(el => !el.querySelector("mjx-container")).map(el => el.textContent.slice(0, 80));
  const skip = "pre, code, script, style, textarea, mjx-container, mjx-assistive-mml, .highlight";
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const pattern = /\\$[^$\\s][^$]*\\$|\\\\\\(|\\\\\\[|\\\\begin\\{/;
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest(skip)) continue;
    const match = node.textContent.match(pattern);
    if (match) raw.push(node.textContent.trim().slice(0, 120));
  }
  const launch = {};
  for (const a of document.querySelectorAll(".dropdown-launch-buttons a")) {
    const name = a.textContent.trim();
    (launch[name] = launch[name] || []).push(a.href);
  }
  launch[".ipynb"] = [...document.querySelectorAll("a.btn-download-source-button")]
    .filter(a => a.textContent.trim() === ".ipynb").map(a => a.href);
  const details = [...document.querySelectorAll("article details")].map(d => ({
    open: d.open, summary: (d.querySelector("summary") || {}).textContent || "",
    hidden_text: [...d.children].filter(c => c.tagName !== "SUMMARY")
      .map(c => c.textContent).join(" ").trim().slice(0, 80)}));
  return {images, unrendered, raw, launch, details,
          checks: [...document.querySelectorAll("article .course-check")].map(c => c.innerText),
          links: [...document.querySelectorAll("a[href]")].map(a => a.href)};
}
"""


class Visitor:
    """Visits pages of one local server in a Chromium browser; anything not local is blocked."""

    def __init__(self, browser, server: LocalServer):
        self.browser = browser
        self.server = server
        self.reports: dict[str, PageReport] = {}

    def new_page(self, report: PageReport):
        context = self.browser.new_context(viewport={"width": 1280, "height": 900},
                                           service_workers="block")
        page = context.new_page()
        base = self.server.base

        def record(found: list, item: str) -> None:
            if report.recording:
                found.append(item)

        def route(route):
            if route.request.url.startswith(base) or route.request.url.startswith("data:"):
                route.continue_()
            else:
                record(report.outside_requests, route.request.url)
                route.abort("blockedbyclient")

        page.route("**/*", route)
        page.on("console", lambda message: record(report.console_errors, message.text)
                if message.type == "error" else None)
        page.on("pageerror", lambda error: record(report.console_errors, f"uncaught: {error}"))
        page.on("requestfailed", lambda request: record(
            report.failed_requests, f"{request.url} ({request.failure})"))
        page.on("response", lambda response: record(
            report.failed_requests, f"{response.url} (HTTP {response.status})")
            if response.status >= 400 else None)
        return context, page

    @contextlib.contextmanager
    def open(self, path: str):
        """A browser tab on `path` (loaded), and the report that records its errors and requests."""
        report = PageReport(url=self.server.base + path)
        context, page = self.new_page(report)
        try:
            page.goto(report.url, wait_until="load")
            yield page, report
        finally:
            context.close()

    def visit(self, path: str, axe: bool = True) -> PageReport:
        """Everything the page checks need, from one load of the page (remembered)."""
        if path in self.reports:
            return self.reports[path]
        with self.open(path) as (page, report):
            page.wait_for_load_state("networkidle")
            found = page.evaluate(_GATHER)
            page.wait_for_load_state("networkidle")  # what typesetting loaded (fonts, speech)
            report.images = found["images"]
            report.unrendered_math = found["unrendered"]
            report.raw_math = found["raw"]
            report.launch = found["launch"]
            report.details = found["details"]
            report.checks = found["checks"]
            report.links = found["links"]
            if axe:
                # axe-core fetches the style sheets again, and resolves the theme's nested
                # @import against the page instead of the sheet: a 404 of the tool, not the site
                report.recording = False
                page.add_script_tag(path=str(AXE))
                report.axe = page.evaluate(
                    "async () => (await axe.run(document, {resultTypes: ['violations']}))"
                    ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
                    " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),"
                    " count: v.nodes.length}))")
        self.reports[path] = report
        return report


# --------------------------------------------------------------------------- internal links


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


@functools.cache
def page_ids(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def broken_links(links: list[str], base: str, folder: Path) -> list[str]:
    """The links to this site that lead to no file, or to no element with the link's anchor."""
    broken = []
    for link in sorted(set(links)):
        if not link.startswith(base):
            continue
        parts = urlsplit(link)
        path = unquote(parts.path).lstrip("/")
        target = folder / path
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{link} (no such file)")
        elif parts.fragment and target.suffix == ".html" \
                and unquote(parts.fragment) not in page_ids(target):
            broken.append(f"{link} (no element with id {unquote(parts.fragment)!r})")
    return broken


"""The course's own additions to the site build.

* Worked solutions: one page per chapter, the chapter's solutions notebook
  (``notebooks/solutions/NN_<stem>_solutions.ipynb``) where it exists, otherwise a page written at
  build time from the reference solution of each coding exercise (``helpers.exercises.chNN``);
  the ``solution-pages`` directive lists whichever exists.
* README sections included in pages: their relative links are rewritten to the matching site
  page, or else to the file in the repository.
* The notebooks' "Open in Colab" badge image is replaced by a local copy of a badge (the link
  stays), so that no page loads an image from outside the site.
* MathJax and its font are copied from ``docs/node_modules`` (``npm ci``) under
  ``_static/mathjax``.
"""

from __future__ import annotations

import importlib
import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.directives.other import TocTree
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform

from helpers.exercises import Exercise

DOCS = Path(__file__).resolve().parent.parent
ROOT = DOCS.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
#: Where the fallback solution pages are written (git-ignored).
FALLBACK = DOCS / "_solutions"
#: Docnames whose toctrees depend on which solutions notebooks exist.
_LISTS_SOLUTIONS = {"docs/index"}

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
LOCAL_BADGE = "/docs/_static/open-in-colab.svg"

NODE_MODULES = DOCS / "node_modules"
#: What the site serves of MathJax 4 (one combined component, the pieces it loads on demand, the
#: speech rules) and of its font (CHTML only); paths relative to node_modules.
MATHJAX_FILES = {
    "mathjax": ["tex-mml-chtml.js", "a11y", "input", "output", "ui", "sre", "LICENSE"],
    "@mathjax/mathjax-newcm-font": ["chtml", "chtml.js", "package.json"],
}


# --------------------------------------------------------------------------- solutions


def chapters() -> list[Path]:
    """The chapter notebooks, in order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def solutions_notebook(chapter: Path) -> Path:
    return SOLUTIONS / f"{chapter.stem}_solutions.ipynb"


def solution_docname(chapter: Path) -> str:
    """The page of a chapter's worked solutions: its notebook if it exists, else the fallback."""
    notebook = solutions_notebook(chapter)
    if notebook.exists():
        return notebook.relative_to(ROOT).with_suffix("").as_posix()
    return (FALLBACK / chapter.stem).relative_to(ROOT).as_posix()


def chapter_title(chapter: Path) -> str:
    """'Chapter 4 – Training models': the notebook's first heading."""
    import nbformat

    for cell in nbformat.read(chapter, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise ExtensionError(f"{chapter.name} has no title (a '# ' heading in a markdown cell)")


def exercises_of(chapter: Path) -> list[Exercise]:
    """The coding exercises of a chapter, in the order its module defines them."""
    number = chapter.name[:2]
    module = importlib.import_module(f"helpers.exercises.ch{number}")
    return [value for value in vars(module).values() if isinstance(value, Exercise)]


def fallback_page(chapter: Path) -> str:
    """A worked-solutions page made of the chapter's reference solutions (MyST markdown)."""
    title = chapter_title(chapter)
    link = f"/notebooks/{chapter.name}"
    lines = [
        f"# {title}: worked solutions",
        "",
        f"The reference solution of each coding exercise of [{title}]({link}#exercises), exactly "
        "as `solution()` shows it in the notebook. Paste it into the exercise's starter cell in "
        "place of the `...`, run the cell, and the check below it reports ✅ Correct. The "
        "answers to the conceptual questions are on the chapter's page, folded under each "
        "question.",
        "",
    ]
    exercises = exercises_of(chapter)
    if not exercises:
        lines += ["This chapter has no coding exercises.", ""]
    for exercise in exercises:
        number = exercise.name.removeprefix("ex")
        source = exercise.solution_source()
        fence = "````" if "```" in source else "```"
        lines += [
            f"## Exercise {number}: {exercise.title}",
            "",
            f"`{exercise.defines} = ...` in the starter cell; `{exercise.name}.hint()` gives a "
            f"nudge first.",
            "",
            f"{fence}python",
            source.rstrip("\n"),
            fence,
            "",
        ]
    return "\n".join(lines)


def write_fallback_pages(app: Sphinx) -> None:
    """builder-inited: write the fallback pages still needed, remove those no longer needed."""
    FALLBACK.mkdir(exist_ok=True)
    needed = set()
    for chapter in chapters():
        if solutions_notebook(chapter).exists():
            continue
        page = FALLBACK / f"{chapter.stem}.md"
        needed.add(page)
        text = fallback_page(chapter)
        if not page.exists() or page.read_text(encoding="utf-8") != text:
            page.write_text(text, encoding="utf-8")  # unchanged pages keep their time stamp
    for page in FALLBACK.glob("*.md"):
        if page not in needed:
            page.unlink()


class SolutionPages(TocTree):
    """A toctree of the chapters' worked-solutions pages, each entry titled like its chapter
    (options as for toctree)."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        self.content = StringList([f"{chapter_title(chapter)} </{solution_docname(chapter)}>"
                                   for chapter in chapters()])
        return super().run()


class SolutionLinks(SphinxPostTransform):
    """A chapter's link to its solutions notebook leads to the fallback page while that notebook
    does not exist (once it exists, MyST resolves the link to it by itself)."""

    default_priority = 8  # before MyST's reference resolver (9)

    def run(self, **kwargs) -> None:
        for node in self.document.findall(addnodes.pending_xref):
            if node.get("reftype") != "myst" or node.get("refdomain") == "doc":
                continue
            target = node.get("reftarget", "")
            match = _SOLUTIONS_LINK.search(target)
            if not match:
                continue
            chapter = NOTEBOOKS / f"{match.group(1)}.ipynb"
            linked = (ROOT / self.env.docname).parent / target
            if (chapter.exists() and linked.resolve() == solutions_notebook(chapter).resolve()
                    and solution_docname(chapter) in self.env.all_docs):
                node["refdomain"] = "doc"
                node["reftarget"] = solution_docname(chapter)
                node["reftargetid"] = None


_SOLUTIONS_LINK = re.compile(r"(?:^|/)solutions/(\d\d_\w+)_solutions\.ipynb$")


def always_reread(app, env, added, changed, removed) -> list[str]:
    """env-get-outdated: pages listing the solutions follow the solutions notebooks' existence."""
    return sorted(_LISTS_SOLUTIONS & set(env.found_docs))


# --------------------------------------------------------------------------- README includes

_LINK = re.compile(r"\]\(([^)\s#]*)(#[^)\s]*)?\)")
#: Repository files that are site pages of their own.
_SITE_PAGES = {"datasets/README.md": "/docs/datasets.md"}
#: README sections that the site shows, by their anchor, and the page that shows them.
_README_SECTIONS = {"quick-start": "/docs/index.md", "working-offline": "/docs/offline.md",
                    "versions": "/docs/versions.md"}


def site_or_repository_link(target: str, anchor: str, included: str, repository: str) -> str:
    """Where a link of an included repository file should point on the site.

    ``included`` is that file's path in the repository; ``target`` is the link's path relative to
    it (empty for a link within the file) and ``anchor`` its fragment ('' or '#...').
    """
    if "://" in target or target.startswith(("mailto:", "/")):
        return target + anchor
    path = included
    if target:
        path = (ROOT / included).parent.joinpath(target).resolve().relative_to(ROOT).as_posix()
    if path == "README.md" and anchor[1:] in _README_SECTIONS:
        return _README_SECTIONS[anchor[1:]]
    if path in _SITE_PAGES:
        return _SITE_PAGES[path] + anchor
    if path.startswith("notebooks/") and path.endswith(".ipynb"):
        return "/" + path + anchor
    if path == "README.md":
        return repository + anchor  # the repository's front page shows the README
    return f"{repository}/blob/main/{path}{anchor}"


def rewrite_included_links(app: Sphinx, relative_path: Path, parent_docname: str,
                           content: list[str]) -> None:
    """include-read: links in an included repository file, made right for the site."""
    included = Path(relative_path).as_posix()
    repository = app.config.html_theme_options["repository_url"]

    def replace(match: re.Match) -> str:
        target, anchor = match.group(1), match.group(2) or ""
        if not target and not anchor:
            return match.group(0)
        return f"]({site_or_repository_link(target, anchor, included, repository)})"

    content[0] = _LINK.sub(replace, content[0])


# --------------------------------------------------------------------------- Colab badge


class LocalColabBadge(SphinxTransform):
    """The notebooks' Colab badge, drawn from a file of the site instead of Google's server."""

    default_priority = 400

    def apply(self) -> None:
        for image in self.document.findall(nodes.image):
            if image.get("uri") == COLAB_BADGE:
                image["uri"] = LOCAL_BADGE


# --------------------------------------------------------------------------- MathJax


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: serve MathJax and its font from _static/mathjax."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir, "_static", "mathjax")
    for package, entries in MATHJAX_FILES.items():
        source = NODE_MODULES / package
        if not source.is_dir():
            raise ExtensionError(f"{source} is missing: run `npm ci --prefix docs` (make site does)")
        destination = target if package == "mathjax" else target / "fonts" / Path(package).name
        for entry in entries:
            path = source / entry
            if path.is_dir():
                shutil.copytree(path, destination / entry, dirs_exist_ok=True)
            else:
                destination.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination / entry)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", write_fallback_pages)
    app.connect("env-get-outdated", always_reread)
    app.connect("include-read", rewrite_included_links)
    app.connect("build-finished", copy_mathjax)
    app.add_directive("solution-pages", SolutionPages)
    app.add_transform(LocalColabBadge)
    app.add_post_transform(SolutionLinks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

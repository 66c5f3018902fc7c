"""The site build on a fixture repository: alt text from output metadata, the worked-solutions
pages from either source, and outputs rendered as committed. Read from the HTML files; the
browser tests load the same fixture site in Chromium."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fixture_site import ANSWER, CHAPTER, PNG_ALT, PROGRESS_TEXT, SVG_ALT, build, make_repository

from helpers.exercises import ch04


class _Tags(HTMLParser):
    """Start tags of an HTML page, as (tag, attributes) pairs."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(path, name: str) -> list[dict]:
    parser = _Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    return [attrs for tag, attrs in parser.tags if tag == name]


@pytest.fixture(scope="module")
def fallback_site(tmp_path_factory):
    """No solutions notebook: the worked solutions come from helpers.exercises.ch04."""
    return build(make_repository(tmp_path_factory.mktemp("fallback"), False))


@pytest.fixture(scope="module")
def notebook_site(tmp_path_factory):
    """With notebooks/solutions/04_training_models_solutions.ipynb."""
    return build(make_repository(tmp_path_factory.mktemp("solutions"), True))


def test_figures_carry_the_alt_text_of_their_output_metadata(fallback_site):
    images = tags(fallback_site / "notebooks" / f"{CHAPTER}.html", "img")
    alts = {image.get("alt") for image in images}
    assert PNG_ALT in alts and SVG_ALT in alts, images


def test_colab_badge_is_served_by_the_site(fallback_site):
    images = tags(fallback_site / "notebooks" / f"{CHAPTER}.html", "img")
    badge = [image for image in images if image.get("alt") == "Open In Colab"]
    assert len(badge) == 1 and badge[0]["src"].endswith("open-in-colab.svg"), badge
    assert (fallback_site / "notebooks" / badge[0]["src"]).resolve().is_file()


def test_without_a_solutions_notebook_the_reference_solutions_are_the_worked_solutions(
        fallback_site):
    page = fallback_site / "docs" / "_solutions" / f"{CHAPTER}.html"
    assert page.is_file()
    text = page.read_text(encoding="utf-8")
    for exercise in (ch04.ex12,):
        assert f"Exercise {exercise.name[2:]}: {exercise.title}" in text
        first_line = exercise.solution_source().splitlines()[0]
        assert first_line.split()[0] in text  # the code is highlighted token by token
    assert not (fallback_site / "notebooks" / "solutions").exists()
    links = [a["href"] for a in tags(fallback_site / "notebooks" / f"{CHAPTER}.html", "a")
             if "solutions" in a.get("href", "")]
    assert links and all(href.endswith(f"docs/_solutions/{CHAPTER}.html") for href in links)


def test_a_solutions_notebook_replaces_the_reference_solutions(notebook_site):
    page = notebook_site / "notebooks" / "solutions" / f"{CHAPTER}_solutions.html"
    assert page.is_file() and "solved" in page.read_text(encoding="utf-8")
    assert not (notebook_site / "docs" / "_solutions" / f"{CHAPTER}.html").exists()
    chapter_links = [a["href"] for a in tags(notebook_site / "notebooks" / f"{CHAPTER}.html", "a")
                     if "solutions" in a.get("href", "")]
    assert chapter_links and all(href.endswith(f"solutions/{CHAPTER}_solutions.html")
                                 for href in chapter_links)
    home_links = [a["href"] for a in tags(notebook_site / "docs" / "index.html", "a")]
    assert f"../notebooks/solutions/{CHAPTER}_solutions.html" in home_links


def test_progress_bars_show_their_final_text_and_load_no_widget_code(fallback_site):
    html = (fallback_site / "notebooks" / f"{CHAPTER}.html").read_text(encoding="utf-8")
    assert PROGRESS_TEXT.replace("<", "&lt;") in html
    scripts = [s.get("src", "") for s in tags(fallback_site / "notebooks" / f"{CHAPTER}.html",
                                              "script")]
    assert not [s for s in scripts if "://" in s or "require" in s or "widget" in s], scripts


def test_check_results_render_as_html_and_answers_stay_folded(fallback_site):
    html = (fallback_site / "notebooks" / f"{CHAPTER}.html").read_text(encoding="utf-8")
    assert 'class="course-check"' in html
    details = re.findall(r"<details[^>]*>", html)
    assert details and not [d for d in details if "open" in d]
    assert ANSWER in html

"""Sphinx configuration of the course website (`make site`).

The site is built from the repository root with this folder as the configuration folder
(`sphinx-build -c docs . docs/_build/html`), so that every page keeps its path in the repository:
the chapter `notebooks/04_training_models.ipynb` becomes `notebooks/04_training_models.html`, and
the book theme's launch buttons (Colab, Binder, JupyterHub) and the `.ipynb` download point at
that same path. The notebooks are rendered as committed: nothing is executed.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))  # the helpers package, for the reference solutions

# The repository is named once, in pyproject.toml; every launch link is built from it.
with open(ROOT / "pyproject.toml", "rb") as file:
    REPOSITORY_URL = tomllib.load(file)["project"]["urls"]["Repository"]
BRANCH = "main"

# The JupyterHub that the "JupyterHub" launch button opens (through nbgitpuller, which pulls this
# repository into the student's home folder). Set it once, here, to your institution's hub, or
# per build: `make site JUPYTERHUB_URL=https://hub.example.edu` (see docs/instructors.md).
JUPYTERHUB_URL = os.environ.get("COURSE_JUPYTERHUB_URL") or "https://jupyterhub.example.org"

project = "Machine learning with scikit-learn and TensorFlow"
author = "the course authors"
copyright = "the course authors, MIT License"
language = "en"

extensions = [
    "myst_nb",
    "output_alt_text",  # figures' alt text from the notebooks' output metadata
    "course_pages",  # worked solutions, README sections, local badge and MathJax
]

# ------------------------------------------------------------------ sources
# Only the site's own pages and the notebooks are sources; everything else in the repository
# (virtual environments, data, tests) is pruned from Sphinx's walk.
root_doc = "docs/index"
include_patterns = ["docs/**.md", "notebooks/*.ipynb", "notebooks/solutions/*_solutions.ipynb"]
exclude_patterns = sorted(
    [entry.name for entry in ROOT.iterdir() if entry.name not in {"docs", "notebooks"}]
    + ["docs/_build", "docs/node_modules", "docs/tests", "**/.ipynb_checkpoints"]
)
suppress_warnings = ["myst.header"]  # notebooks go from the title (#) to sections (##) as JupyterLab shows them

# ------------------------------------------------------------------ notebooks (MyST-NB)
nb_execution_mode = "off"  # the committed, executed outputs are the content
nb_merge_streams = True
# Progress bars are stored as widget views whose text/plain is the bar's final state: show that
# text, and load no widget JavaScript (it would come from a CDN).
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "substitution"]
myst_heading_anchors = 3
myst_substitutions = {
    "clone_commands": f"```bash\ngit clone {REPOSITORY_URL}.git\n"
                      f"cd {REPOSITORY_URL.rstrip('/').rsplit('/', 1)[-1]}\n```",
}

# ------------------------------------------------------------------ math, served by the site
# MathJax 4 and its font come from docs/node_modules (npm ci) and are copied under
# _static/mathjax by course_pages; paths in brackets are relative to the MathJax script.
mathjax_path = "mathjax/tex-mml-chtml.js"
mathjax4_config = {
    "loader": {"paths": {"fonts": "[mathjax]/fonts"}},
}

# ------------------------------------------------------------------ HTML and theme
html_theme = "sphinx_book_theme"
html_title = "Machine learning with scikit-learn and TensorFlow"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_favicon = "_static/favicon.svg"
html_extra_path = ["_extra"]  # index.html: the site's root leads to the home page, docs/index.html
html_use_index = False  # no index entries: no empty "Index" page
html_context = {"default_mode": "auto"}  # light or dark, as the reader's system prefers
html_theme_options = {
    "repository_url": REPOSITORY_URL,
    "repository_branch": BRANCH,
    "path_to_docs": "",  # pages sit at their repository paths (see the module docstring)
    "use_repository_button": True,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "jupyterhub_url": JUPYTERHUB_URL,
        "notebook_interface": "jupyterlab",
    },
    "home_page_in_toc": True,
    "show_toc_level": 2,
}

"""A miniature repository with one fixture chapter, built into a site with the real configuration.

The fixture chapter holds what the real chapters hold, each in a known form: figures whose
outputs carry alt text in their metadata (a PNG and an SVG), math inline and displayed, a
progress bar stored as a widget with its final text, an exercise check's HTML result, a folded
answer, the Colab badge, and a link to the chapter's solutions notebook. It is named like
chapter 4, so that the fallback page is made of that chapter's real reference solutions.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
from browser import ROOT
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

CHAPTER = "04_training_models"
PNG_ALT = "Fixture figure: a straight line rising from the lower left to the upper right."
SVG_ALT = "Fixture figure: one blue square."
PROGRESS_TEXT = "training: 100%|██████████| 20/20 [00:03<00:00, 6.1epoch/s]"
ANSWER = "The folded answer of the fixture."


def repository_url() -> str:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["urls"]["Repository"]


def _png() -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(3, 2), dpi=50)
    axes.plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def chapter_notebook() -> nbformat.NotebookNode:
    from helpers.exercises import Result, Status

    owner_repo = repository_url().removeprefix("https://github.com/")
    badge = (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
             f"(https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/"
             f"{CHAPTER}.ipynb)")
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
           '<rect width="40" height="40" fill="#0072b2"/></svg>')
    figures = new_code_cell("plots.show()", execution_count=1, outputs=[
        new_output("display_data", data={"image/png": _png(), "text/plain": "<Figure>"},
                   metadata={"image/png": {"alt": PNG_ALT}}),
        new_output("display_data", data={"image/svg+xml": svg, "text/plain": "<Figure>"},
                   metadata={"image/svg+xml": {"alt": SVG_ALT}}),
    ])
    progress = new_code_cell("train()", execution_count=2, outputs=[
        new_output("display_data", data={
            "text/plain": PROGRESS_TEXT,
            "application/vnd.jupyter.widget-view+json": {
                "model_id": "bar", "version_major": 2, "version_minor": 0}}),
        new_output("stream", name="stdout", text="done\n"),
    ])
    check = Result("ex12", Status.CORRECT, "")._repr_mimebundle_()
    checked = new_code_cell("ex12.check(train_softmax)", execution_count=3,
                            outputs=[new_output("display_data", data=check)])
    notebook = new_notebook(cells=[
        new_markdown_cell(f"# Chapter 4 – Training models\n\nA fixture chapter.\n\n{badge}"),
        new_markdown_cell("## Gradient descent\n\nEach step moves $\\theta$ against the "
                          "gradient:\n\n$$\\theta \\leftarrow \\theta - \\eta \\, "
                          "\\nabla_\\theta J(\\theta)$$"),
        figures, progress, checked,
        new_markdown_cell("## Exercises\n\n**1.** Why?\n\n<details><summary>Answer</summary>"
                          f"\n\n{ANSWER}\n</details>\n\nWorked solutions: "
                          f"[solutions/{CHAPTER}_solutions.ipynb]"
                          f"(solutions/{CHAPTER}_solutions.ipynb)"),
    ])
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                    "language": "python"}
    notebook.metadata.widgets = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0, "state": {"bar": {
            "model_module": "@jupyter-widgets/controls", "model_name": "FloatProgressModel",
            "model_module_version": "2.0.0", "state": {"value": 20, "max": 20}}}}}
    return notebook


def solutions_notebook() -> nbformat.NotebookNode:
    notebook = new_notebook(cells=[
        new_markdown_cell("# Chapter 4 – Training models: worked solutions\n\n"
                          "The fixture's solutions notebook."),
        new_code_cell("print('solved')", execution_count=1,
                      outputs=[new_output("stream", name="stdout", text="solved\n")]),
    ])
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                    "language": "python"}
    return notebook


def make_repository(folder: Path, with_solutions_notebook: bool) -> Path:
    """The fixture repository: the real docs/, README, pyproject and datasets README."""
    docs = ROOT / "docs"
    shutil.copytree(docs, folder / "docs",
                    ignore=shutil.ignore_patterns("_build", "node_modules", "tests",
                                                  "_solutions", "__pycache__"))
    (folder / "docs" / "node_modules").symlink_to(docs / "node_modules")
    for name in ("README.md", "pyproject.toml", "datasets/README.md"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, folder / name)
    (folder / "notebooks").mkdir()
    nbformat.write(chapter_notebook(), folder / "notebooks" / f"{CHAPTER}.ipynb")
    if with_solutions_notebook:
        (folder / "notebooks" / "solutions").mkdir()
        nbformat.write(solutions_notebook(),
                       folder / "notebooks" / "solutions" / f"{CHAPTER}_solutions.ipynb")
    return folder


def build(folder: Path) -> Path:
    """Build the fixture repository's site as `make site` does (warnings are errors)."""
    out = folder / "docs" / "_build" / "html"
    env = {**os.environ, "COURSE_JUPYTERHUB_URL": ""}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-c", "docs", "-W", "--keep-going", "-q",
         ".", str(out)], cwd=folder, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise AssertionError(f"the fixture site did not build:\n{result.stdout}\n{result.stderr}")
    return out

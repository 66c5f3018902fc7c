"""Alt text of notebook figures, from the outputs' metadata.

A figure's description is stored with its output, as Jupyter stores an image's width and height:
``output.metadata["image/png"]["alt"]``. MyST-NB reads only the width and height from there
(its own ``alt`` option is per cell, not per figure), so this extension copies the alt text onto
the rendered images: MyST-NB writes each image output to a file, and the image whose file holds
the same bytes as an output gets that output's alt text.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import nbformat
from docutils import nodes
from sphinx.application import Sphinx

#: Image types whose output data is base64 text; SVG is stored as plain text.
_BASE64_TYPES = {"image/png", "image/jpeg", "image/gif"}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def alt_texts(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """The alt text of each image output that has one, keyed by the sha256 of the image's bytes."""
    found = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for mime, meta in output.get("metadata", {}).items():
                alt = meta.get("alt") if isinstance(meta, dict) else None
                content = output.get("data", {}).get(mime)
                if not (mime.startswith("image/") and isinstance(alt, str) and alt.strip()
                        and content):
                    continue
                if isinstance(content, list):
                    content = "".join(content)
                data = base64.b64decode(content) if mime in _BASE64_TYPES else content.encode()
                found[_digest(data)] = alt.strip()
    return found


def add_alt_text(app: Sphinx, doctree: nodes.document) -> None:
    """doctree-read: give each notebook image the alt text stored with its output."""
    docname = app.env.docname
    source = Path(app.env.doc2path(docname))
    if source.suffix != ".ipynb":
        return
    alts = alt_texts(nbformat.read(source, as_version=4))
    if not alts:
        return
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if "://" in uri or uri.startswith("data:"):
            continue
        path = Path(app.env.relfn2path(uri, docname)[1])
        if path.is_file():
            alt = alts.get(_digest(path.read_bytes()))
            if alt:
                image["alt"] = alt


def setup(app: Sphinx) -> dict:
    # before Sphinx's image collector (priority 500), which rewrites the nodes' URIs
    app.connect("doctree-read", add_alt_text, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

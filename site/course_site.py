"""A small Sphinx extension for the course site: every notebook picture gets its alt text.

The course keeps a picture's description in its output's metadata (`metadata["image/png"]["alt"]`,
copied there from the cell's metadata "alt" by tools/execute_notebooks.py). myst-nb reads only
width and height from an output's metadata (its `alt` comes from one cell-level option for all
pictures of a cell), so its image renderer is wrapped here to take each picture's own description.
A picture without one is named as such in the page and reported as a build warning (the test
tests/test_alt_text.py fails on it too): never a file name read aloud by a screen reader.
"""

from __future__ import annotations

from typing import Any

from myst_nb.core.render import MimeData, NbElementRenderer
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
MISSING = "A figure whose description is still missing from the notebook"
_original_render_image = NbElementRenderer.render_image


def render_image(self: NbElementRenderer, data: MimeData) -> list:
    """Render a picture as myst-nb does, with the alt text stored in its output's metadata."""
    nodes = _original_render_image(self, data)
    alt = (data.output_metadata.get(data.mime_type) or {}).get("alt")
    if not isinstance(alt, str) or not alt.strip():
        alt = MISSING
        LOGGER.warning("a picture has no alt text (cell metadata 'alt')", location=(self.renderer.document["source"],
                                                                                    data.line), type="course",
                       subtype="alt")
    for node in nodes:
        node["alt"] = alt.strip()
    return nodes


def setup(app: Any) -> dict:
    """Register the wrapped image renderer."""
    NbElementRenderer.render_image = render_image
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}

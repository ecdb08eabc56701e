"""Alt text on every picture of every notebook (issue 25), and the tool that carries it into the outputs.

The convention: a code cell that shows pictures has metadata "alt", a list of short descriptions, one
per picture, in order (what it shows and what to notice). `tools/execute_notebooks.py` copies each
into its picture output's metadata (`metadata["image/png"]["alt"]`), where nbconvert's HTML export
and the course site read it. Markdown images need their `![description](...)` too.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from course import notebook_paths  # noqa: E402
from execute_notebooks import apply_alt_text, cell_alts, picture_outputs  # noqa: E402

NOTEBOOKS = notebook_paths()
# words that say nothing about what a picture shows
GENERIC = {"image", "img", "png", "jpg", "jpeg", "svg", "plot", "figure", "fig", "chart", "graph", "picture",
           "output", "screenshot", "diagram", "a", "an", "the", "of", "this", "cell", "result", "matplotlib"}
MARKDOWN_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
FIX = ('give the cell metadata "alt": a list of descriptions, one per picture, then copy them into the outputs '
       "with `python tools/execute_notebooks.py --alt-only <notebook>` (or `make execute NB=<notebook>`)")


def weak(alt: object) -> str | None:
    """Say why an alt text is not a description (None when it is one)."""
    if not isinstance(alt, str) or not alt.strip():
        return "empty"
    words = re.findall(r"[A-Za-z0-9]+", alt.lower())
    if len(words) < 4 or len(alt.strip()) < 20:
        return f"too short to say what the picture shows: {alt!r}"
    if all(w in GENERIC for w in words):
        return f"generic: {alt!r}"
    return None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_picture_output_has_alt_text(path):
    nb = nbformat.read(path, as_version=4)
    problems = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        pictures, alts = picture_outputs(cell), cell_alts(cell)
        if pictures and len(alts) != len(pictures):
            problems.append(f"cell {cell.id}: {len(pictures)} picture(s), {len(alts)} alt text(s) in its metadata")
        for n, (out, mime) in enumerate(pictures, 1):
            alt = out.get("metadata", {}).get(mime, {}).get("alt")
            why = weak(alt)
            if why:
                problems.append(f"cell {cell.id}, picture {n}: alt text in the output {why}")
            elif n <= len(alts) and alt != alts[n - 1].strip():
                problems.append(f"cell {cell.id}, picture {n}: the output's alt text differs from the cell's metadata")
    assert not problems, f"{path.name}: " + "; ".join(problems) + f". Fix: {FIX}"


@pytest.mark.parametrize("path", [*NOTEBOOKS, ROOT / "notebooks" / "cheatsheet.md"],
                         ids=[p.name for p in [*NOTEBOOKS, ROOT / "notebooks" / "cheatsheet.md"]])
def test_every_markdown_image_has_a_description(path):
    if path.suffix == ".md":
        sources = [path.read_text(encoding="utf-8")] if path.exists() else []
    else:
        sources = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]
    bad = [f"![{alt}]({src})" for text in sources for alt, src in MARKDOWN_IMAGE.findall(text)
           if alt != "Open In Colab" and weak(alt)]
    assert not bad, f"{path.name}: markdown images without a description: {bad}"


def _cell_with_pictures(n: int, alt: object = None) -> nbformat.NotebookNode:
    """A code cell showing n PNG pictures (and a text output between them), with metadata alt if given."""
    outputs = [nbformat.v4.new_output("stream", text="hello\n")]
    outputs += [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
                for _ in range(n)]
    cell = nbformat.v4.new_code_cell("show()", outputs=outputs)
    if alt is not None:
        cell.metadata["alt"] = alt
    return cell


def test_apply_alt_text_copies_each_description_to_its_picture_in_order():
    alts = ["Scatter of the training points rising left to right", "Loss curve falling fast then flattening"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), _cell_with_pictures(2, alts)])
    assert apply_alt_text(nb) == []
    pictures = picture_outputs(nb.cells[1])
    assert [out.metadata["image/png"]["alt"] for out, _ in pictures] == alts
    assert "metadata" not in nb.cells[1].outputs[0] or not nb.cells[1].outputs[0].metadata  # text untouched


def test_apply_alt_text_reports_a_count_that_does_not_match():
    nb = nbformat.v4.new_notebook(cells=[_cell_with_pictures(2, ["Only one description for two pictures"]),
                                         _cell_with_pictures(1)])
    problems = apply_alt_text(nb)
    assert len(problems) == 2
    assert "2 picture(s) but 1 alt text(s)" in problems[0] and "1 picture(s) but 0 alt text(s)" in problems[1]
    assert picture_outputs(nb.cells[0])[0][0].metadata["image/png"]["alt"] == "Only one description for two pictures"


def test_a_lone_string_counts_as_one_alt_text():
    cell = _cell_with_pictures(1, "A single scatter of fifty points on a line")
    assert cell_alts(cell) == ["A single scatter of fifty points on a line"]


@pytest.mark.parametrize("alt", ["", "   ", "Image", "plot", "png of output", "A figure.", None, ["list"]])
def test_trivial_alt_texts_are_refused(alt):
    assert weak(alt)


def test_a_real_description_passes():
    assert weak("Scatter of 40 training points (blue circles) on a rising line; predictions sit below.") is None

"""Stamp every course notebook with the Colab badge and the Colab setup cell, from pyproject.toml.

Usage: python tools/stamp_notebooks.py [--check] [NOTEBOOK ...]
The badge goes on its own line right after the H1 title in the first (markdown) cell; the setup
cell is the first code cell (replaced when it starts with the setup marker, inserted otherwise).
With --check nothing is written; the exit status is 1 if any notebook would change.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course import BADGE_IMAGE, SETUP_MARKER, badge_markdown, notebook_paths, setup_cell_source  # noqa: E402

BADGE_LINE = re.compile(r"^\[!\[Open In Colab\]\(" + re.escape(BADGE_IMAGE) + r"\)\]\([^)]*\)\s*$", re.M)


def stamp(nb: nbformat.NotebookNode, path: Path) -> nbformat.NotebookNode:
    """Return the notebook with the badge and setup cell in place (idempotent)."""
    title = nb.cells[0]
    if title.cell_type != "markdown" or not title.source.lstrip().startswith("# "):
        raise ValueError(f"{path.name}: the first cell must be a markdown cell starting with '# Title'")
    badge = badge_markdown(path)
    lines = [line for line in title.source.splitlines() if not BADGE_LINE.match(line)]
    while len(lines) > 1 and not lines[1].strip():  # collapse blank lines left where the badge was
        del lines[1]
    title.source = "\n".join([lines[0], "", badge, ""] + lines[1:]).rstrip()
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    setup = setup_cell_source()
    if code and nb.cells[code[0]].source.startswith(SETUP_MARKER):
        if nb.cells[code[0]].source != setup:
            nb.cells[code[0]].source = setup
            nb.cells[code[0]].outputs = []
    else:
        where = code[0] if code else len(nb.cells)
        nb.cells.insert(where, nbformat.v4.new_code_cell(setup))
    return nb


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"] or notebook_paths()
    changed = []
    for path in paths:
        before = path.read_text(encoding="utf-8")
        nb = stamp(nbformat.reads(before, as_version=4), path)
        after = nbformat.writes(nb) + "\n"
        if after != before:
            changed.append(path.name)
            if not check:
                path.write_text(after, encoding="utf-8")
    verb = "would change" if check else "stamped"
    print(f"{verb}: {', '.join(changed) if changed else 'nothing'}")
    return 1 if (check and changed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Re-record the stored outputs of course notebooks: one fresh top-to-bottom run each.

Usage: python tools/execute_notebooks.py [--alt-only] [NOTEBOOK ...]   (default: every notebooks/NN_*.ipynb)
Each notebook is stamped (badge + Colab setup cell), executed in a fresh kernel from its own folder
with nbclient (no timing metadata), and cleaned: each widget view is stored as the PNG of its first
picture, so GitHub and nbviewer show the explorer's starting view (the cells carry the
nbval-ignore-output tag; running one brings back the live sliders), and the widget state is dropped.

Alt text (issue 25): a code cell's metadata "alt" is a list of descriptions, one per picture the cell
shows, in order. Each is copied into its picture output's metadata as `metadata["image/png"]["alt"]`
(the MIME type of the picture), the key nbconvert's HTML export reads (`get_metadata('alt', mime)`)
and the course site renders; a count that does not match is reported. `--alt-only` copies them into
the stored outputs without running anything (the outputs themselves stay as they are).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course import notebook_paths  # noqa: E402
from stamp_notebooks import stamp  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
STATIC_NOTE = "<the explorer's first picture; run the cell for the live sliders>"
PICTURES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")


def _first_picture(state: dict, model_id: str) -> str | None:
    """Return the base64 PNG of the first Image widget inside a displayed widget, from the widget state."""
    model = state.get(model_id, {})
    for buffer in model.get("buffers", []):
        if model.get("model_name") == "ImageModel" and buffer.get("path") == ["value"]:
            return buffer["data"]
    for child in model.get("state", {}).get("children", []):
        found = _first_picture(state, child.removeprefix("IPY_MODEL_"))
        if found:
            return found
    return None


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Replace widget views with a PNG of their first picture, and drop the widget state.

    A widget view shows nothing without a live kernel (GitHub, nbviewer, a notebook just opened), so
    an explorer's stored output becomes the picture it showed first; running the cell brings the
    sliders back. The widget state itself is dropped: it keeps the files small and diffs readable.
    """
    state = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type == "code":
            outputs = []
            for out in cell.outputs:
                view = out.get("data", {}).get(WIDGET_VIEW)
                if view is None:
                    outputs.append(out)
                elif picture := _first_picture(state, view["model_id"]):
                    outputs.append(nbformat.v4.new_output(
                        "display_data", data={"image/png": picture, "text/plain": STATIC_NOTE}))
            cell.outputs = outputs
            cell.metadata.pop("execution", None)
    return nb


def picture_outputs(cell: nbformat.NotebookNode) -> list[tuple[nbformat.NotebookNode, str]]:
    """Return (output, MIME type) for each picture a code cell shows, in order."""
    found = []
    for out in cell.get("outputs", []):
        mime = next((m for m in PICTURES if m in out.get("data", {})), None)
        if mime:
            found.append((out, mime))
    return found


def cell_alts(cell: nbformat.NotebookNode) -> list[str]:
    """Return the cell's alt texts (metadata "alt": a list of strings; a lone string counts as one)."""
    alt = cell.metadata.get("alt", [])
    return [alt] if isinstance(alt, str) else [a for a in alt if isinstance(a, str)]


def apply_alt_text(nb: nbformat.NotebookNode) -> list[str]:
    """Copy each code cell's alt texts into its pictures' output metadata; return what did not match."""
    problems = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        pictures, alts = picture_outputs(cell), cell_alts(cell)
        for (out, mime), alt in zip(pictures, alts):
            out.setdefault("metadata", {}).setdefault(mime, {})["alt"] = alt.strip()
        if pictures and len(pictures) != len(alts):
            problems.append(f"cell {cell.get('id', '?')}: {len(pictures)} picture(s) but {len(alts)} alt text(s) "
                            'in its metadata "alt"')
    return problems


def _report(path: Path, problems: list[str]) -> None:
    """Print the alt-text mismatches of one notebook on stderr."""
    for problem in problems:
        print(f"{path.name}: alt text: {problem}", file=sys.stderr, flush=True)


def execute(path: Path, timeout: int = 120) -> float:
    """Stamp, execute and clean one notebook in place; return the seconds it took.

    The kernel gets an empty exercise-progress file of its own (PYTORCH_COURSE_PROGRESS), so stored outputs
    show a fresh start whatever this machine's learner has done, and a loop's prints are stored as one block
    (coalesce_streams), as a quiet run prints them.
    """
    nb = stamp(nbformat.read(path, as_version=4), path)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "PYTORCH_COURSE_PROGRESS": str(Path(scratch) / "progress.json")}
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", record_timing=False, coalesce_streams=True,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute(env=env)
    seconds = time.perf_counter() - start
    nb = clean(nb)
    _report(path, apply_alt_text(nb))
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return seconds


def copy_alt_text(path: Path) -> None:
    """Copy the cells' alt texts into one notebook's stored picture outputs, running nothing."""
    nb = nbformat.read(path, as_version=4)
    _report(path, apply_alt_text(nb))
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    alt_only = "--alt-only" in argv
    paths = [Path(a).resolve() for a in argv if a != "--alt-only"] or notebook_paths()
    for path in paths:
        if alt_only:
            copy_alt_text(path)
        else:
            print(f"{path.name}: {execute(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

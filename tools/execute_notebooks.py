"""Re-record the stored outputs of course notebooks: one fresh top-to-bottom run each.

Usage: python tools/execute_notebooks.py [NOTEBOOK ...]   (default: every notebooks/NN_*.ipynb)
Each notebook is stamped (badge + Colab setup cell), executed in a fresh kernel from its own folder
with nbclient (no timing metadata), and cleaned: widget views are dropped from the stored outputs
(their cells carry the nbval-ignore-output tag and show the explorer when the learner runs them) and
so is the widget state, which keeps files small and diffs readable.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course import notebook_paths  # noqa: E402
from stamp_notebooks import stamp  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop widget views and widget state, which only a live kernel can fill in."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW not in o.get("data", {})]
            cell.metadata.pop("execution", None)
    return nb


def execute(path: Path, timeout: int = 120) -> float:
    """Stamp, execute and clean one notebook in place; return the seconds it took."""
    nb = stamp(nbformat.read(path, as_version=4), path)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    seconds = time.perf_counter() - start
    path.write_text(nbformat.writes(clean(nb)) + "\n", encoding="utf-8")
    return seconds


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or notebook_paths()
    for path in paths:
        print(f"{path.name}: {execute(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

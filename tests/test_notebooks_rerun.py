"""Notebooks that write files run again where they already ran, and write only under models/.

Each notebook that writes files runs here once, in notebooks/ itself (where a learner runs it), with no
error and nothing on stderr. `make test` runs `make notebooks` after this: nbval runs every notebook
again in the same folder, now finding this run's files under models/, and compares every output with
the stored one. So each writer runs twice in one folder, as Restart & Run All twice would, without a
third run only for this test (a developer who already ran a notebook gets a second run here too).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT / "tools"))
from course import notebook_paths  # noqa: E402

WRITERS = [p for p in notebook_paths() if re.search(r'Path\(\\?"models\\?"\)', p.read_text(encoding="utf-8"))]


def _files(folder: Path) -> dict[str, int]:
    """Every file under folder (hidden folders such as .ipynb_checkpoints left out) and its modification time."""
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


@pytest.mark.parametrize("path", WRITERS, ids=[p.name for p in WRITERS])
def test_runs_in_its_folder_and_writes_only_under_models(path):
    before = _files(NOTEBOOKS)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{out.get('ename')}: {out.get('evalue')}"
            assert out.get("name") != "stderr", f"wrote to stderr: {out.get('text', '')[:300]}"
    after = _files(NOTEBOOKS)
    written = {f for f, t in after.items() if before.get(f) != t}
    assert written, "wrote nothing: then it is no writer (the test's pattern is out of date)"
    outside = sorted(f for f in written if not f.startswith("models/") and not f.endswith(".ipynb"))
    assert not outside, f"wrote outside models/: {outside}"
    # a notebook is never changed by running it (nbclient keeps the outputs in memory)
    assert all(before.get(f) == after[f] for f in after if f.endswith(".ipynb")), "a notebook file changed"


def test_models_folder_is_git_ignored():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "notebooks/models/" in ignored

"""Notebooks that write files survive Restart & Run All twice, and write only under models/."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from course import notebook_paths  # noqa: E402

WRITERS = [p for p in notebook_paths() if re.search(r'Path\(\\?"models\\?"\)', p.read_text(encoding="utf-8"))]


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("path", WRITERS, ids=[p.name for p in WRITERS])
def test_restart_and_run_all_twice(path, tmp_path):
    (tmp_path / "data").symlink_to(ROOT / "data")  # "../data" reads the course's data, as from notebooks/
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(path, folder / path.name)
    before = _files(folder)
    for run in (1, 2):  # the second run finds the first run's files already there
        nb = nbformat.read(folder / path.name, as_version=4)
        NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                assert out.output_type != "error", f"run {run}: {out.get('ename')}: {out.get('evalue')}"
                assert out.get("name") != "stderr", f"run {run} wrote to stderr: {out.get('text', '')[:300]}"
    written = _files(folder) - before
    assert written and all(f.startswith("models/") for f in written), f"wrote outside models/: {sorted(written)}"


def test_models_folder_is_git_ignored():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "notebooks/models/" in ignored

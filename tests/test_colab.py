"""The Colab path, taken for real: the setup cell's Colab branch in a Colab-like kernel.

A fake `google.colab` module makes the setup cell believe it runs in Colab. It then clones the course
(from this checkout's git history, through COURSE_REPO, instead of the network address), installs
helpers from that clone with pip, and changes into the clone's notebooks/ folder; the notebook must then
run to the end and read its data from `../data`. The kernel is `.venv-widgets7`'s Python (ipywidgets
7.7.1, IPython 7, ipykernel 6, as Colab ships them), which has no helpers of its own installed.

Runs under `make test` (after `.venv-widgets7` is built); skips locally without that environment, fails
under CI. The notebook exercised reads from data/ (and so needs the clone) and imports pytorch-ignite
(which pip must bring along).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from course import SETUP_MARKER, notebook_paths  # noqa: E402

COLAB_PYTHON = ROOT / ".venv-widgets7" / "bin" / "python"
READS_DATA = [p for p in notebook_paths() if re.search(r'Path\(\\"\.\./data\\"\)', p.read_text(encoding="utf-8"))]
USES_IGNITE = [p for p in notebook_paths() if re.search(r"^\s*\"(from|import) ignite", p.read_text(encoding="utf-8"), re.M)]
# a notebook that reads data/ (the clone) and needs pytorch-ignite (a dependency pip must bring), one that does both
# if there is one (12): every notebook has the same setup cell and runs locally under nbval, so more Colab runs
# would add only time
BOTH = [p for p in USES_IGNITE if p in READS_DATA]
IN_COLAB = BOTH[:1] or sorted(set(READS_DATA[:1] + USES_IGNITE[:1]))
FAKE_COLAB = 'import sys, types\nsys.modules["google.colab"] = types.ModuleType("google.colab")  # as in Colab'
WHERE = "import os, helpers\nprint(os.getcwd())\nprint(helpers.__file__)"


@pytest.fixture
def colab_kernel(tmp_path, monkeypatch):
    """A kernelspec named colab-like that starts the Colab-like Python; returns its name."""
    if not COLAB_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{COLAB_PYTHON} is missing under CI: `make test` builds it (make widgets7)")
        pytest.skip(f"{COLAB_PYTHON} not built (make widgets7)")
    spec = tmp_path / "jupyter" / "kernels" / "colab-like"
    spec.mkdir(parents=True)
    argv = [str(COLAB_PYTHON), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Colab-like", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("COURSE_REPO", ROOT.as_uri())  # file://: a real (shallow) clone of the committed course
    monkeypatch.setenv("MPLBACKEND", "Agg")  # Colab's inline backend comes from %matplotlib inline anyway
    monkeypatch.delenv("PYTHONPATH", raising=False)
    return "colab-like"


def test_some_notebook_reads_data_and_one_uses_ignite():
    assert READS_DATA, "no course notebook reads from ../data: the Colab clone would be untested"
    assert USES_IGNITE, "no course notebook imports ignite: its install in Colab would be untested"


@pytest.mark.parametrize("path", IN_COLAB, ids=[p.name for p in IN_COLAB])
def test_notebook_runs_in_colab_from_a_fresh_clone(path, colab_kernel, tmp_path):
    content = tmp_path / "content"  # Colab's working folder; it holds no course files
    content.mkdir()
    nb = nbformat.read(path, as_version=4)
    setup = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.startswith(SETUP_MARKER))
    nb.cells.insert(setup, nbformat.v4.new_code_cell(FAKE_COLAB))
    nb.cells.append(nbformat.v4.new_code_cell(WHERE))
    NotebookClient(nb, timeout=300, kernel_name=colab_kernel, resources={"metadata": {"path": str(content)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"{errors[0].ename}: {errors[0].evalue}"
    cwd, helpers_file = nb.cells[-1].outputs[0].text.split()
    assert Path(cwd) == content / "course" / "notebooks", "the setup cell did not change into the clone's notebooks/"
    assert (Path(cwd) / "../data").resolve().is_dir()
    assert not Path(helpers_file).is_relative_to(ROOT / "helpers"), "helpers came from this checkout, not from pip"
    assert Path(helpers_file).is_relative_to(COLAB_PYTHON.parents[1]), f"helpers not pip-installed: {helpers_file}"

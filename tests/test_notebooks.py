"""Notebook hygiene: what a learner opening a course notebook would trip over, checked on every run.

The outputs themselves are re-checked by nbval (`make notebooks`); this file checks the rules
around them: one fresh top-to-bottom run, no errors or warnings, no machine paths, the Colab badge
and setup cell stamped from pyproject.toml, a title, summary and goals, a closing summary with
things to try, and the nbval patterns from CONVENTIONS (figsize, ignored widget cells, safe loads).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from course import SETUP_MARKER, badge_markdown, notebook_paths, setup_cell_source  # noqa: E402

NOTEBOOKS = notebook_paths()
MACHINE_PATH = re.compile(r"(/root/|/home/\w|/tmp/|/work/|/Users/|[A-Z]:\\\\Users)")
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{6,}")
pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no course notebooks yet")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _src(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _text(output: dict) -> str:
    t = output.get("text") if output.get("output_type") == "stream" else output.get("data", {}).get("text/plain", "")
    return "".join(t) if isinstance(t, list) else (t or "")


def _code(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and _src(c).strip()]


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def nb(request):
    return request.param, _load(request.param)


def test_name_is_number_underscore_topic(nb):
    path, _ = nb
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name)


def test_stored_outputs_come_from_one_top_to_bottom_run(nb):
    _, data = nb
    counts = [c.get("execution_count") for c in _code(data)]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}: re-run with `make execute`"


def test_no_errors_warnings_machine_paths_or_addresses_in_outputs(nb):
    _, data = nb
    for i, cell in enumerate(data["cells"]):
        for out in cell.get("outputs", []):
            where = f"cell {i}: {_src(cell)[:60]!r}"
            assert out["output_type"] != "error", f"{where} stored an error {out.get('ename')}"
            assert out.get("name") != "stderr", f"{where} wrote to stderr: {_text(out)[:200]!r}"
            text = _text(out)
            assert not MACHINE_PATH.search(text), f"{where} shows a machine path: {text[:200]!r}"
            assert not ADDRESS.search(text), f"{where} shows a memory address (assign it to _): {text[:120]!r}"


def test_title_summary_goals_and_badge_at_the_top(nb):
    path, data = nb
    first = _src(data["cells"][0])
    assert data["cells"][0]["cell_type"] == "markdown" and first.startswith("# "), "first cell: '# Title'"
    assert badge_markdown(path) in first, "Colab badge missing or stale: run `make stamp`"
    assert re.search(r"^> \S", first, re.M), "a one-sentence '> summary' under the title"
    assert re.search(r"^#+ .*learning goals", first, re.M | re.I), "a 'Learning goals' heading in the first cell"


def test_first_code_cell_is_the_colab_setup_cell(nb):
    _, data = nb
    first = _code(data)[0]
    assert _src(first) == setup_cell_source(), "setup cell missing or stale: run `make stamp`"
    others = [c for c in _code(data)[1:] if SETUP_MARKER in _src(c) or re.search(r"^\s*[!%]pip", _src(c), re.M)]
    assert not others, "only the setup cell may install packages"


def test_stamp_check_agrees_with_pyproject():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "stamp_notebooks.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ends_with_a_summary_and_things_to_try(nb):
    _, data = nb
    tail = "\n".join(_src(c) for c in data["cells"][-3:] if c["cell_type"] == "markdown")
    assert re.search(r"^#+ .*summary", tail, re.M | re.I), "a '## Summary' near the end"
    assert re.search(r"^#+ .*try", tail, re.M | re.I), "a '## Try it' section near the end"
    prompts = re.findall(r"^\s*(?:\d+\.|[-*]) ", tail.split("ry it", 1)[-1], re.M)
    assert 2 <= len(prompts) <= 5, f"2-3 'try it' prompts, found {len(prompts)}"


def test_prose_explains_between_short_code_cells(nb):
    _, data = nb
    cells = [c for c in data["cells"] if _src(c).strip()]
    code = _code(data)
    lengths = sorted(len(_src(c).splitlines()) for c in code[1:])
    assert lengths[len(lengths) // 2] <= 10, f"median code cell is {lengths[len(lengths) // 2]} lines; split it"
    assert lengths[-1] <= 30, f"a code cell of {lengths[-1]} lines; split it and explain each part"
    runs, run = [], 0
    for c in cells:
        run = run + 1 if c["cell_type"] == "code" else 0
        runs.append(run)
    assert max(runs) <= 3, "more than 3 code cells in a row without prose between them"
    words = sum(len(_src(c).split()) for c in cells if c["cell_type"] == "markdown")
    assert words >= 60 * len(code) ** 0.5


def test_nbval_patterns(nb):
    _, data = nb
    for cell in _code(data):
        src = _src(cell)
        if re.search(r"plt\.(subplots|figure)\(", src):
            assert "figsize" in src, f"pass figsize= (the default figure repr changes between versions): {src[:80]!r}"
        tags = cell.get("metadata", {}).get("tags", [])
        assert "NBVAL" not in src, f"use the cell tag nbval-ignore-output, not a comment a learner reads: {src[:80]!r}"
        if re.search(r"\b\w+_explorer\(", src) or "tqdm" in src or "progress=True" in src:
            assert "nbval-ignore-output" in tags, f"widget cell needs the cell tag nbval-ignore-output: {src[:80]!r}"
        for call in re.findall(r"torch\.load\([^)]*\)", src):
            assert "weights_only" in call, f"say weights_only explicitly: {call}"


def test_kernelspec_and_size(nb):
    path, data = nb
    assert data.get("metadata", {}).get("kernelspec", {}).get("name") == "python3"
    assert path.stat().st_size < 1_500_000, f"{path.name} is {path.stat().st_size // 1024} KiB"
    assert "widgets" not in data.get("metadata", {}), "widget state stored: re-run with `make execute`"


def test_explorer_cells_store_a_picture_for_readers_without_a_kernel(nb):
    _, data = nb
    for cell in _code(data):
        if re.search(r"^\w+_explorer\(", _src(cell), re.M):
            kinds = [k for out in cell.get("outputs", []) for k in out.get("data", {})]
            assert "image/png" in kinds, f"explorer cell stores no picture (GitHub would show nothing): {_src(cell)[:80]!r}"
            assert "application/vnd.jupyter.widget-view+json" not in kinds


def test_figures_show_whatever_backend_the_environment_sets(nb):
    _, data = nb
    sources = [_src(c) for c in _code(data)]
    uses_pyplot = [i for i, s in enumerate(sources) if "matplotlib.pyplot" in s]
    if uses_pyplot:
        inline = [i for i, s in enumerate(sources) if re.search(r"^%matplotlib inline$", s, re.M)]
        assert inline and inline[0] <= uses_pyplot[0], "select the inline backend where pyplot is first imported"

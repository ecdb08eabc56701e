"""notebooks/cheatsheet.md: its error messages are this torch's (tools/cheatsheet_errors.py runs each mistake),
each row points to a notebook that shows the error, and its code runs."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHEET = (ROOT / "notebooks" / "cheatsheet.md").read_text(encoding="utf-8")
sys.path.insert(0, str(ROOT / "tools"))
import cheatsheet_errors  # noqa: E402

ERROR = re.compile(r"^(\w+(Error|Warning)): ")
GPU_ONLY = ("RuntimeError: Expected all tensors to be on the same device",)  # needs two devices with data


def _spans(text: str) -> list[str]:
    """The backticked spans of a text (outside its code blocks)."""
    return re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S))


def _rows() -> list[list[str]]:
    """The error table's rows, as lists of cells."""
    table = SHEET.split("## Common errors", 1)[1]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| mistake")]


def _normalise(line: str) -> str:
    """What the sheet shows: a GPU's cuda:0 where the tool used meta, the class as defined in a script."""
    line = line.replace("can't convert meta device", "can't convert cuda:0 device")
    return re.sub(r"GLOBAL [\w.]*TinyModel", "GLOBAL __main__.TinyModel", line)


def _shown(piece: str) -> bool:
    """True if the sheet shows `piece` whole, or a backticked prefix of it cut with '...'."""
    piece = " ".join(piece.split())
    for span in _spans(SHEET):
        span = " ".join(span.split())
        cut = span.removesuffix("...").rstrip(" ,")
        if piece.rstrip(".") == span.rstrip(".") or (span.endswith("...") and len(cut) > 25 and piece.startswith(cut)):
            return True
    return False


@pytest.fixture(scope="module")
def first_lines() -> dict[str, str]:
    return cheatsheet_errors.first_lines()


def test_every_error_the_tool_reproduces_is_on_the_sheet_as_this_torch_words_it(first_lines):
    for case, line in first_lines.items():
        if line.startswith("no error"):
            continue
        for piece in _normalise(line).split(" ... "):
            if "Unsupported global" in piece:  # the sheet names the refused global
                name = re.search(r"GLOBAL \S+", piece).group()
                assert any(name in span for span in _spans(SHEET)), f"{case}: {name!r} is not on the cheat sheet"
            else:
                assert _shown(piece), f"{case}: {piece!r} is not on the cheat sheet"


def test_every_error_on_the_sheet_is_reproduced_by_the_tool(first_lines):
    produced = " ".join(_normalise(line) for line in first_lines.values())
    for row in _rows():
        for span in _spans(row[1]):
            if ERROR.match(span) and not span.startswith(GPU_ONLY):
                head = span.removesuffix("...").rstrip(" ,.")[:60]
                assert head in " ".join(produced.split()), f"the tool never produces {span!r}"


def _notebook_text(number: str) -> str:
    """A notebook's sources and stored text outputs, as one string."""
    (path,) = (ROOT / "notebooks").glob(f"{number}_*.ipynb")
    parts = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        parts.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            parts.append("".join(text) if isinstance(text, list) else text)
    return " ".join(" ".join(parts).split())


def test_every_row_points_to_a_notebook_that_shows_its_error():
    for row in _rows():
        numbers = re.findall(r"\b(\d\d)\b", re.sub(r".*\(notebooks? ", "", row[2]))
        assert numbers, f"row {row[0]!r} names no notebook"
        errors = [s for s in _spans(row[1]) if ERROR.match(s)]
        if not errors:
            continue  # the silent mistakes: the notebook teaches them in prose
        phrase = ERROR.sub("", errors[0]).removesuffix("...").rstrip(" ,.")[:40]
        pattern = re.sub(r"\d+", r"\\d+", re.escape(phrase)).replace("cuda:\\d+", "(cuda:0|meta)")
        texts = [_notebook_text(n) for n in numbers]
        assert any(re.search(pattern, text) for text in texts), \
            f"row {row[0]!r}: notebook(s) {numbers} never show {phrase!r}"


def _code_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", SHEET, re.S)


def test_the_workflow_and_the_checkpoint_snippets_run_and_resume(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    workflow, save, resume = _code_blocks()
    ns: dict = {}
    exec(workflow, ns)  # noqa: S102 - the cheat sheet's own code
    weight, bias = ns["model"].weight.item(), ns["model"].bias.item()
    assert abs(weight - 0.7) < 1e-3 and abs(bias - 0.3) < 1e-3
    exec(save, ns)  # noqa: S102
    trained = [p.detach().clone() for p in ns["model"].parameters()]
    torch.manual_seed(0)
    ns["model"] = torch.nn.Linear(1, 1)
    ns["optimizer"] = torch.optim.SGD(ns["model"].parameters(), lr=0.5)
    exec(resume, ns)  # noqa: S102
    assert all(torch.equal(p, q) for p, q in zip(ns["model"].parameters(), trained))
    assert ns["checkpoint"]["epoch"] == 200 and ns["optimizer"].state_dict()["param_groups"][0]["lr"] == 0.5

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


LINK = re.compile(r"\[[^\]]*\]\((\d\d)_\w+\.ipynb\)")


def test_every_notebook_the_sheet_names_is_a_link_that_opens():
    """The learner's read: "(notebook 06)" was plain text. Every mention links to a notebook that exists."""
    plain = re.findall(r"notebooks? \d\d(?!\]| to \[)", re.sub(r"\[notebooks? \d\d\]", "", SHEET))
    assert not plain, f"not links: {plain}"
    for target in re.findall(r"\]\(([^)#]+\.ipynb)\)", SHEET):
        assert (ROOT / "notebooks" / target).is_file(), f"the link to {target} leads nowhere"


def _span_is_real(span: str, texts: list[str], produced: str) -> bool:
    """True if a notebook's text or the tool's output holds `span` (a '...' ending: the part before it)."""
    piece = " ".join(span.split()).removesuffix("...").rstrip(" ,.")
    return any(piece in text for text in texts) or piece in produced


def test_every_row_points_to_a_notebook_that_shows_its_error():
    for row in _rows():
        numbers = LINK.findall(row[2])
        assert numbers, f"row {row[0]!r} links no notebook"
        errors = [s for s in _spans(row[1]) if ERROR.match(s)]
        if not errors:
            continue  # the silent mistakes: the notebook teaches them in prose
        phrase = ERROR.sub("", errors[0]).removesuffix("...").rstrip(" ,.")[:40]
        pattern = re.sub(r"\d+", r"\\d+", re.escape(phrase)).replace("cuda:\\d+", "(cuda:0|meta)")
        texts = [_notebook_text(n) for n in numbers]
        assert any(re.search(pattern, text) for text in texts), \
            f"row {row[0]!r}: notebook(s) {numbers} never show {phrase!r}"


def test_every_piece_a_row_quotes_is_real(first_lines):
    """Each backticked piece of "what you see" is in a notebook the row links, or is what this torch produces
    (notebook 13's rows: its stored outputs show the root cause's rank, exit code and `[rank1]:` lines; the
    ChildFailedError heading is the tool's, made by torch's own class)."""
    produced = " ".join(" ".join(_normalise(line).split()) for line in first_lines.values())
    for row in _rows():
        texts = [_notebook_text(n) for n in LINK.findall(row[2])]
        for span in _spans(row[1]):
            assert _span_is_real(span, texts, produced), f"row {row[0]!r}: {span!r} is neither shown nor produced"


def test_the_set_epoch_row_quotes_the_order_that_repeats(first_lines):
    (order,) = set(re.findall(r"\[[\d, ]+\]", first_lines["forgotten set_epoch"]))  # the same in both epochs
    (row,) = [r for r in _rows() if "set_epoch" in r[0]]
    assert f"epoch 1, no set_epoch: rank 0 reads {order}" in row[1]


def test_notebooks_06_and_07_link_the_sheet_by_its_address_so_that_it_opens_in_colab():
    from course import repository_url

    address = f"{repository_url()}/blob/main/notebooks/cheatsheet.md"
    for number in ("06", "07"):
        text = _notebook_text(number)
        assert "](cheatsheet.md)" not in text, f"notebook {number} links the sheet relatively: broken in Colab"
    assert address in _notebook_text("07")


def _code_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", SHEET, re.S)


def test_the_workflow_and_the_checkpoint_snippets_run_and_resume(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    workflow, save, resume, _ = _code_blocks()
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


def _scheduled_run(scheduler_first: bool, state: dict | None = None) -> tuple:
    """A model, SGD(lr=0.1) and a LambdaLR halving the rate each epoch; `state` loaded, the scheduler built before
    or after the optimizer's state is loaded."""
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    build = lambda: torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.5 ** epoch)  # noqa: E731
    scheduler = build() if scheduler_first or state is None else None
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scheduler = scheduler or build()
        scheduler.load_state_dict(state["scheduler"])
    return model, optimizer, scheduler


def test_a_scheduler_built_after_the_optimizer_state_is_loaded_resets_the_rate_as_the_sheet_says():
    """The sheet (and notebook 06's Try it 4) say: build the scheduler first. LambdaLR shows why."""
    _, optimizer, scheduler = _scheduled_run(True)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0125)
    assert _scheduled_run(True, state)[1].param_groups[0]["lr"] == pytest.approx(0.0125)
    _, late, late_scheduler = _scheduled_run(False, state)
    assert late.param_groups[0]["lr"] == pytest.approx(0.1)  # back to the start
    assert late_scheduler.get_last_lr() == pytest.approx([0.0125])  # while the scheduler reports the saved rate
    assert "`LambdaLR`" in SHEET and "Try it 4" in SHEET


def test_the_helpers_checkpoint_snippet_saves_epochs_done_and_carries_the_scheduler(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import helpers

    snippet = _code_blocks()[3]
    save, load = snippet.split("# ... in a new session")
    model, optimizer, scheduler = _scheduled_run(True)
    for epoch in range(3):  # the loop the snippet sits in: epoch is the 0-based index
        optimizer.step()
        scheduler.step()
    ns = {"helpers": helpers, "model": model, "optimizer": optimizer, "scheduler": scheduler, "epoch": epoch}
    exec(save, ns)  # noqa: S102 - the cheat sheet's own code
    model, optimizer, scheduler = _scheduled_run(True)
    ns.update(model=model, optimizer=optimizer, scheduler=scheduler, device="cpu")
    exec("#" + load, ns)  # noqa: S102
    assert ns["checkpoint"]["epoch"] == 3  # epochs done: a resumed range(checkpoint["epoch"], ...) repeats none
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0125) and scheduler.last_epoch == 3

"""helpers.exercises.progress(): every exercise of the course with its last result, remembered between sessions
in a small JSON file (tests/conftest.py points PYTORCH_COURSE_PROGRESS at a file of each test's own)."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

from _exercises import exercise_module, problems_of, verdict
from helpers.exercises import _progress, progress

PACKAGE = Path(__file__).resolve().parents[1] / "helpers" / "exercises"
MODULES = sorted((p.stem for p in PACKAGE.glob("ex[0-9]*.py")), key=lambda m: int(m[2:]))
TOTAL = sum(len(problems_of(m)) for m in MODULES)


def _solve(module: str, q: str, names: dict | None = None) -> str:
    """Run a problem's own solution through its check, as a learner's cell would; return the verdict's state."""
    return verdict(module, q, getattr(exercise_module(module), q).solution_code, names or {}).state


def _attempt_wrong(module: str, q: str) -> str:
    """Give every name the problem checks a wrong value (42): an attempt, and an incorrect one."""
    names = getattr(exercise_module(module), q).names
    return verdict(module, q, "\n".join(f"{n} = 42" for n in names), {}).state


def _states() -> dict[str, str]:
    return {f"{r.module}.{r.name}": r.state for r in _progress.collect().rows}


def test_the_file_is_the_variable_or_the_cache_folder(tmp_path, monkeypatch):
    assert _progress.progress_path() == Path(os.environ["PYTORCH_COURSE_PROGRESS"])
    monkeypatch.delenv("PYTORCH_COURSE_PROGRESS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert _progress.progress_path() == tmp_path / "cache" / "pytorch-workflow-course" / "progress.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _progress.progress_path() == tmp_path / "home" / ".cache" / "pytorch-workflow-course" / "progress.json"


def test_every_exercise_of_every_module_is_listed_and_nothing_is_attempted_at_first():
    assert not _progress.progress_path().exists()
    rows = _progress.collect().rows
    assert [r.module for r in rows] == [m for m in MODULES for _ in problems_of(m)]  # the package's modules, in order
    assert len(rows) == TOTAL and all(r.state == "not attempted" and r.title for r in rows)
    assert _progress.collect().summary() == f"Correct: 0 of {TOTAL} · Incorrect: 0 · Not attempted: {TOTAL}"


def test_modules_are_found_by_listing_the_package_so_a_new_notebook_joins_by_itself():
    assert _progress._modules() == MODULES and len(MODULES) >= 12


def test_a_check_records_its_verdict_and_the_counts_follow():
    assert _solve("ex01", "q1") == "correct"
    assert _attempt_wrong("ex01", "q2") == "incorrect"
    states = _states()
    assert states["ex01.q1"] == "correct" and states["ex01.q2"] == "incorrect" and states["ex01.q3"] == "not attempted"
    assert _progress.collect().summary() == f"Correct: 1 of {TOTAL} · Incorrect: 1 · Not attempted: {TOTAL - 2}"
    saved = json.loads(_progress.progress_path().read_text())
    assert saved == {"version": 1, "results": {"ex01.q1": "correct", "ex01.q2": "incorrect"}}
    assert [p.name for p in _progress.progress_path().parent.iterdir()] == ["progress.json"]  # no temporary left


def test_the_last_attempt_counts_but_blanks_never_erase_a_result():
    assert _solve("ex01", "q1") == "correct"
    starter = exercise_module("ex01").q1.starter
    assert verdict("ex01", "q1", starter, {}).state == "not attempted"  # a fresh run of the stored notebook
    assert _states()["ex01.q1"] == "correct"
    assert _attempt_wrong("ex01", "q1") == "incorrect"
    assert _states()["ex01.q1"] == "incorrect"


def test_a_missing_corrupt_or_strange_file_means_nothing_attempted(capsys):
    path = _progress.progress_path()
    for content in ["{not json", "[1, 2]", '{"results": [1]}', '{"results": {"ex01.q1": "maybe", "ex01.q2": 3}}', ""]:
        path.write_text(content)
        assert all(r.state == "not attempted" for r in _progress.collect().rows), content
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert _states()["ex01.q1"] == "not attempted"
    assert _solve("ex01", "q1") == "correct"  # and the next check writes a good file over it
    assert json.loads(path.read_text())["results"] == {"ex01.q1": "correct"}
    capsys.readouterr()


def test_a_file_that_cannot_be_written_is_skipped_in_silence(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("PYTORCH_COURSE_PROGRESS", str(blocker / "progress.json"))  # its folder is a file
    assert _solve("ex01", "q1") == "correct"
    assert capsys.readouterr().out.startswith("Correct: ")  # the verdict shows, nothing else
    assert _states()["ex01.q1"] == "not attempted"
    monkeypatch.setenv("PYTORCH_COURSE_PROGRESS", str(tmp_path))  # a folder where the file should be
    assert _solve("ex01", "q1") == "correct" and _states()["ex01.q1"] == "not attempted"


def test_progress_survives_into_the_next_session(capsys):
    assert _solve("ex01", "q3") == "correct"  # the first session
    fresh = importlib.reload(_progress)  # the next one: the module read again, only the file remembers
    later = fresh.collect()
    assert later.summary().startswith(f"Correct: 1 of {TOTAL} ·")
    assert [r.name for r in later.rows if r.state == "correct"] == ["q3"]
    capsys.readouterr()
    fresh.progress()
    assert any(line.split()[:3] == ["ex01.q3", "✓", "Correct"] for line in capsys.readouterr().out.splitlines())


def test_shown_as_text_outside_a_notebook_and_as_a_table_inside(capsys):
    assert _solve("ex01", "q1") == "correct"
    capsys.readouterr()
    assert progress() is None
    text = capsys.readouterr().out.splitlines()
    assert len(text) == 1 + TOTAL and "ex01.q1" in text[1] and "✓ Correct" in text[1]
    page = _progress.collect()._repr_html_()
    assert page.count("<tr>") == 1 + TOTAL and "✓ Correct" in page and "○ Not attempted" in page
    assert "notebook 01" in page and f"Correct: 1 of {TOTAL}" in page

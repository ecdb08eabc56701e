"""helpers.exercises: the core's behaviour (binding, the blank, verdicts, isolation, light imports).
Each module's problems are tested in tests/test_exercises_exNN.py (machinery in tests/_exercises.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from _exercises import exercise_module, problems_of, verdict
from helpers.exercises import Exercises, Verdict
from helpers.exercises._blank import BLANK, BlankError, has_blank

MODULES = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "helpers" / "exercises").glob("ex[0-9][0-9].py"))


def test_every_lesson_notebook_has_an_exercise_module_and_a_test_file():
    assert MODULES == [f"ex{n:02d}" for n in range(1, len(MODULES) + 1)] and len(MODULES) >= 12
    for module in MODULES:
        assert (Path(__file__).parent / f"test_exercises_{module}.py").is_file(), module


@pytest.mark.parametrize("module", MODULES)
def test_every_notebook_has_a_transfer_exercise(module):
    """Issue 21: at least one exercise applies the lesson to a case the notebook did not show."""
    problems = [getattr(exercise_module(module), q) for q in problems_of(module)]
    assert any(p.transfer for p in problems), f"{module} has no exercise marked transfer=True"


def test_bind_defines_the_blank_and_refuses_anything_but_a_namespace():
    ns: dict = {}
    Exercises("exNN").bind(ns)
    assert ns["____"] is BLANK and repr(BLANK) == "____" and f"{BLANK}" == "____"
    with pytest.raises(TypeError, match=r"exNN.bind\(globals\(\)\)"):
        Exercises("exNN").bind([])


def test_an_unbound_problem_says_how_to_bind(capsys):
    problem = Exercises("exNN").problem(lambda x: "fine", names=("x",), title="t", task="t", starter="x = ____",
                                        hint="h", solution="x = 1")
    problem.check()
    assert problem.last.state == "not attempted" and "exNN.bind(globals())" in problem.last.message


def test_a_checker_that_meets_a_blank_at_run_time_says_not_attempted():
    exercises = Exercises("exNN")
    problem = exercises.problem(lambda f: f(), names=("f",), title="t", task="t", starter="", hint="h", solution="")
    ns: dict = {}
    exercises.bind(ns)
    blank = ns["____"]
    ns["f"] = lambda: blank + 1  # the blank hides behind a closure, so only calling it finds it
    problem.check()
    assert problem.last.state == "not attempted"
    ns["f"] = lambda: 1 / 0
    problem.check()
    assert problem.last == Verdict("incorrect", "your code raised ZeroDivisionError: division by zero")


def test_the_blank_refuses_every_use_and_is_found_in_code_classes_and_containers():
    for use in (lambda: BLANK + 1, lambda: BLANK(), lambda: BLANK.zero_grad(), lambda: BLANK < 0, lambda: bool(BLANK),
                lambda: BLANK[0], lambda: list(BLANK)):
        with pytest.raises(BlankError):
            use()
    ns = {"____": BLANK}
    exec("def f(x):\n    def g():\n        return ____\n    return g\n"  # noqa: S102 - a learner's cell
         "class C:\n    def m(self):\n        return ____\n", ns)
    assert has_blank(ns["f"]) and has_blank(ns["C"]) and has_blank(ns["C"]()) and has_blank({"a": [1, BLANK]})
    assert not has_blank(torch.zeros(2)) and not has_blank(nn.Linear(1, 1)) and not has_blank(lambda: 1)


def test_a_verdict_reads_as_one_line_of_text_and_of_html():
    verdict = Verdict("incorrect", "the gradients doubled: was `optimizer.zero_grad()` called?")
    assert str(verdict) == repr(verdict) == "Incorrect: the gradients doubled: was `optimizer.zero_grad()` called?"
    html = verdict._repr_html_()
    assert "<code>optimizer.zero_grad()</code>" in html and "✗ Incorrect:" in html and "\n" not in html
    correct = Verdict("correct", "a < b")._repr_html_()
    assert "✓ Correct:" in correct and "a &lt; b" in correct


def test_checks_leave_the_notebooks_random_numbers_and_threads_alone():
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    import helpers

    X_train, y_train, *_ = helpers.train_val_test_split(*helpers.make_line_data(), 0.8, 0.1)
    for module, q in [("ex04", "q2"), ("ex07", "q2"), ("ex09", "q3")]:
        verdict(module, q, getattr(exercise_module(module), q).solution_code, {"X_train": X_train, "y_train": y_train})
    assert torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True, env={**os.environ, "MPLBACKEND": "Agg"}).stdout
    return set(out.split())


def test_import_helpers_does_not_import_the_exercises():
    assert "helpers.exercises" not in _modules_after("import helpers")


def test_the_exercises_import_no_plotting_widgets_or_ignite():
    imports = "\n".join(f"from helpers.exercises import {m}" for m in MODULES)
    loaded = _modules_after(f"import helpers.exercises\n{imports}")
    assert not {m.split(".")[0] for m in loaded} & {"matplotlib", "ipywidgets", "IPython", "ignite"}


@pytest.mark.parametrize("module", MODULES)
def test_hints_nudge_and_tasks_stand_on_their_own(module):
    """Issue 21: a hint names the idea, never a statement of the solution; a task never leans on a Try it, which
    sits after the exercises with its answer."""
    for q in problems_of(module):
        problem = getattr(exercise_module(module), q)
        statements = [line.split("#")[0].strip() for line in problem.solution_code.splitlines()]
        leaks = [s for s in statements if len(s) > 20 and not s.startswith(('"""', "def ", "class ")) and
                 s in problem.hint_text]
        assert not leaks, f"{module}.{q}: the hint spells out the solution's {leaks[0]!r}"
        assert "Try it" not in problem.task, f"{module}.{q}: the task cites a Try it, which comes after it"


def test_a_problem_knows_its_name_across_the_course():
    assert exercise_module("ex01").q2.key == "ex01.q2"
    exercises = Exercises("exNN")
    first = exercises.problem(lambda x: "ok", names=("x",), title="t", task="t", starter="x = ____", hint="h",
                              solution="x = 1")
    assert first.key == "exNN.q1"  # not in a module of the package: its place in the list

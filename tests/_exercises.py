"""What every exercise test file shares: run a learner's cell against a module's exercises, and the checks that
every problem of a module must pass (starting code, own solution, wrong answers, bad input, hint and solution).

A file tests/test_exercises_exNN.py declares::

    class TestEx08(ExerciseModule):
        module = "ex08"
        names = {"math": math}          # what the notebook defines before its exercises (besides torch, nn, helpers)
        wrong = [("q1", edit, fragment), ...]

`edit` is an (old, new) replacement applied to the problem's solution, or a whole answer; `fragment` must appear
in the Incorrect verdict's message. tests/conftest.py parametrizes the methods below per problem.
"""

from __future__ import annotations

import importlib

import torch
from torch import nn

import helpers
from helpers.exercises import Problem, Verdict

MIN_WRONG = 4  # plausible wrong answers tested per exercise (issue 21); a class may say fewer while it is built


def exercise_module(module: str):
    """The helpers.exercises module `module` (e.g. "ex08")."""
    return importlib.import_module(f"helpers.exercises.{module}")


def problems_of(module: str) -> list[str]:
    """The names of a module's problems (q1, q2, ...), in order."""
    return sorted(name for name, value in vars(exercise_module(module)).items() if isinstance(value, Problem))


def verdict(module: str, q: str, code: str, names: dict) -> Verdict:
    """Run `code` in a fresh namespace bound to the module's exercises, check problem `q`, return its verdict."""
    mod = exercise_module(module)
    ns = {"torch": torch, "nn": nn, "helpers": helpers, **names}
    mod.bind(ns)
    exec(code, ns)  # noqa: S102 - the starting code, a solution or a wrong answer, as a learner's cell
    problem = getattr(mod, q)
    assert problem.check() is None  # a check cell shows the verdict, never an extra repr
    return problem.last


def apply_edit(module: str, q: str, edit: str | tuple[str, str]) -> str:
    """A wrong answer: the solution with one (old, new) edit, or a whole answer as it is."""
    if isinstance(edit, str):
        return edit
    code = getattr(exercise_module(module), q).solution_code
    assert edit[0] in code, f"the edit {edit[0]!r} does not apply to the solution of {module}.{q}"
    return code.replace(*edit)


class ExerciseModule:
    """The tests every exercise module passes; subclass it as TestExNN with module, names and wrong."""

    module: str = ""
    names: dict = {}
    wrong: list = []
    min_wrong: int = MIN_WRONG

    def test_starting_code_runs_and_is_not_attempted(self, q, capsys):
        problem = getattr(exercise_module(self.module), q)
        assert "____" in problem.starter
        result = verdict(self.module, q, problem.starter, self.names)
        assert result.state == "not attempted", result
        assert capsys.readouterr().out.startswith("Not attempted: ")

    def test_own_solution_is_correct(self, q):
        problem = getattr(exercise_module(self.module), q)
        assert "____" not in problem.solution_code
        result = verdict(self.module, q, problem.solution_code, self.names)
        assert result.state == "correct", result

    def test_wrong_answer_is_incorrect_with_its_message(self, q, edit, fragment):
        result = verdict(self.module, q, apply_edit(self.module, q, edit), self.names)
        assert result.state == "incorrect", result
        assert fragment in result.message, result

    def test_every_exercise_refuses_enough_wrong_answers(self):
        counts = {q: sum(1 for w in self.wrong if w[0] == q) for q in problems_of(self.module)}
        assert len(counts) >= 2 and all(n >= self.min_wrong for n in counts.values()), counts

    def test_bad_input_gives_a_verdict_not_a_traceback(self, q):
        problem = getattr(exercise_module(self.module), q)
        for value in (42, "text", None):
            code = "\n".join(f"{name} = {value!r}" for name in problem.names)
            result = verdict(self.module, q, code, self.names)
            assert result.state == "incorrect", result
        exercise_module(self.module).bind({})
        problem.check()
        assert problem.last.state == "not attempted" and "not defined yet" in problem.last.message

    def test_hint_and_solution_print_text_and_run_nothing(self, q, capsys):
        problem = getattr(exercise_module(self.module), q)
        problem.last = None
        assert problem.hint() is None and problem.solution() is None
        out = capsys.readouterr().out
        assert out.startswith("Hint: ") and "\nSolution:\n" in out and problem.solution_code.strip() in out
        assert problem.last is None and problem.title and problem.task

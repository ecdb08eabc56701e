"""The core of the self-checking exercises: the blank `____`, a verdict, and a problem with check/hint/solution.

A notebook binds its namespace once (`exNN.bind(globals())`); each problem names the variables it
checks, fetches them from that namespace and runs its checker on them. A checker raises `Incorrect`
with a message in the learner's terms, or returns the message shown when the answer is right.
"""

from __future__ import annotations

import contextlib
import html
import random
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from ._blank import BLANK, BlankError, has_blank
from ._progress import record

__all__ = ["Exercises", "Incorrect", "NotAttempted", "Problem", "Verdict"]

NOT_ATTEMPTED, INCORRECT, CORRECT = "not attempted", "incorrect", "correct"
_STYLE = {NOT_ATTEMPTED: ("Not attempted", "#0072B2", "○"), INCORRECT: ("Incorrect", "#D55E00", "✗"),
          CORRECT: ("Correct", "#009E73", "✓")}


class Incorrect(Exception):
    """Raised by a checker: the answer is wrong; the message says what was seen and what to try."""


class NotAttempted(Exception):
    """Raised by a checker when the answer is still only a starting point."""


@dataclass(frozen=True)
class Verdict:
    """The result of a check: its state (not attempted / incorrect / correct) and a one-line explanation."""

    state: str
    message: str

    def __str__(self) -> str:
        return f"{_STYLE[self.state][0]}: {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        """The verdict in a notebook: a coloured label with a mark (never colour alone), then the message."""
        label, colour, mark = _STYLE[self.state]
        text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(self.message, quote=False))
        return f'<p><span style="color:{colour}; font-weight:bold">{mark} {label}:</span> {text}</p>'


def _show(verdict: Verdict) -> None:
    """Display the verdict as HTML in a notebook, or print it as plain text anywhere else."""
    if "IPython" in sys.modules:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(verdict)
            return
    print(verdict)


@contextlib.contextmanager
def _isolated() -> Iterator[None]:
    """Run a check on one thread (its tensors are tiny), leaving the random streams as they were."""
    numpy = sys.modules.get("numpy")
    states = random.getstate(), numpy.random.get_state() if numpy else None, torch.get_num_threads()
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=cuda):
            yield
    finally:
        random.setstate(states[0])
        if numpy:
            numpy.random.set_state(states[1])
        torch.set_num_threads(states[2])


def _one_line(err: BaseException) -> str:
    """An error as `Type: first line of its message`, shortened."""
    first = (str(err).strip().splitlines() or [""])[0]
    return f"{type(err).__name__}: {first[:200]}"


class Exercises:
    """The problems of one notebook, checked against the namespace that `bind` connects."""

    def __init__(self, module: str) -> None:
        self.module, self.namespace = module, None
        self.problems: list[Problem] = []  # in the order they were made: q1, q2, ...

    def bind(self, namespace: dict) -> None:
        """Connect the checks to the notebook's variables (pass globals()) and define the blank ____ there."""
        if not isinstance(namespace, dict):
            raise TypeError(f"bind expects the notebook's namespace: {self.module}.bind(globals())")
        namespace["____"] = BLANK
        self.namespace = namespace

    def problem(self, checker: Callable[..., str], **texts: str | tuple[str, ...] | bool) -> Problem:
        """A problem whose checker(**values) gets the values of `names`; texts: title, task, starter, hint, solution.

        `transfer=True` marks an exercise that applies the lesson to a case the notebook never showed."""
        problem = Problem(self, checker, **texts)
        self.problems.append(problem)
        return problem


class Problem:
    """One exercise: check() shows a verdict (kept in .last); hint() and solution() print text."""

    def __init__(self, exercises: Exercises, checker: Callable[..., str], *, names: tuple[str, ...], title: str,
                 task: str, starter: str, hint: str, solution: str, transfer: bool = False) -> None:
        self._exercises, self._checker, self.names, self.title = exercises, checker, tuple(names), title
        self.transfer = transfer  # applies the lesson to a case the notebook did not show
        self.task, self.starter, self.hint_text, self.solution_code = task, starter, hint, solution
        self.last: Verdict | None = None  # the verdict of the latest check()

    @property
    def key(self) -> str:
        """The exercise's name across the course, e.g. "ex04.q1" (its name in its module)."""
        module = sys.modules.get(f"{__package__}.{self._exercises.module}")
        names = [n for n, v in vars(module).items() if v is self] if module else []
        name = names[0] if names else f"q{self._exercises.problems.index(self) + 1}"
        return f"{self._exercises.module}.{name}"

    def check(self) -> None:
        """Check your answer and show the verdict (also kept as .last, and remembered by progress())."""
        self.last = self._evaluate()
        record(self.key, self.last.state)
        _show(self.last)

    def hint(self) -> None:
        """Print a hint."""
        print(f"Hint: {self.hint_text}")

    def solution(self) -> None:
        """Print one solution (it is not run)."""
        print(f"Solution:\n{self.solution_code.strip()}")

    def _evaluate(self) -> Verdict:
        """Fetch the answer from the bound namespace, run the checker, and turn the outcome into a verdict."""
        ns = self._exercises.namespace
        if ns is None:
            return Verdict(NOT_ATTEMPTED, f"connect the checks first: run `{self._exercises.module}.bind(globals())`.")
        missing = [n for n in self.names if n not in ns]
        if missing:
            return Verdict(NOT_ATTEMPTED, f"`{missing[0]}` is not defined yet: run the cell with your answer first.")
        blanks = [n for n in self.names if has_blank(ns[n])]
        if blanks:
            return Verdict(NOT_ATTEMPTED,
                           f"fill in the blanks (____) in `{blanks[0]}`, run that cell, then check again.")
        try:
            with warnings.catch_warnings(), _isolated(), torch.enable_grad():
                warnings.simplefilter("ignore")
                message = self._checker(**{n: ns[n] for n in self.names})
        except NotAttempted as err:
            return Verdict(NOT_ATTEMPTED, str(err))
        except Incorrect as err:
            return Verdict(INCORRECT, str(err))
        except Exception as err:  # noqa: BLE001 - any error in the learner's code becomes a verdict
            if isinstance(err, BlankError) or "____" in str(err) or "Blank" in str(err):
                return Verdict(NOT_ATTEMPTED,
                               "a blank (____) is still left in your code: fill it in, then check again.")
            return Verdict(INCORRECT, f"your code raised {_one_line(err)}")
        return Verdict(CORRECT, message)

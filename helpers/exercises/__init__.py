"""Self-checking exercises for the course notebooks, in the manner of Kaggle's learntools.

In a notebook::

    from helpers.exercises import ex04
    ex04.bind(globals())     # connects the checks to the notebook's variables, defines the blank ____
    ...                      # fill in the blanks ____ of an exercise's starting code, run it
    ex04.q1.check()          # Correct / Incorrect (what went wrong) / Not attempted
    ex04.q1.hint()           # prints a hint
    ex04.q1.solution()       # prints one solution (nothing is run)

    from helpers.exercises import progress
    progress()               # every exercise of the course with its last result, and the counts

One module per notebook (ex01, ex02, ...), each with problems q1, q2, ...; the checks run your code
on test cases and look at what it does (gradients, modes, files), not only at what it returns.
Each check's result is remembered between sessions in a small file in your cache folder
(`~/.cache/pytorch-workflow-course/progress.json`; the environment variable PYTORCH_COURSE_PROGRESS
names another file); `progress()` shows them all.
Importing this package loads torch and helpers only; matplotlib and ignite load inside the checks
that need them.
"""

from ._blank import BLANK as ____
from ._core import Exercises, Problem, Verdict
from ._progress import progress

__all__ = ["Exercises", "Problem", "Verdict", "progress", "____"]

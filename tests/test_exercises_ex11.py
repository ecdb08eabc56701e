"""helpers.exercises.ex11 (notebook 11): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import statistics
import time

from _exercises import ExerciseModule


class TestEx11(ExerciseModule):
    module = "ex11"
    min_wrong = 2  # raised to 4 as issue 21 reworks these exercises
    names = {"time": time, "statistics": statistics}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("statistics.median(seconds)", "sum(seconds) / len(seconds)"), "the mean"),
        ("q1", ("    for _ in range(warmup):\n        fn()\n", ""), "2 warm-up calls"),
        ("q1", ("time.perf_counter()", "time.time()"), "did not read time.perf_counter()"),
        ("q2", ("2 * in_features", "in_features"), "half of FlopCounterMode"),
        ("q2", ("* batch", "* batch + out_features * batch"), "without the bias"),
        ("q3", ("def accuracy_vectorised(y_pred, y):\n    right = 0\n    for p, t in zip(y_pred, y):\n"
                       "        right += int(p == t)\n    return right / len(y)"), "loops over the tensor"),
        ("q3", ("(y_pred == y).float().mean().item()", "(y_pred == y).sum().item()"), "number of right answers"),
        ("q3", ("(y_pred == y).float().mean().item()", "(y_pred == y).float().mean().item() * 100"),
         "expected 0.72"),
    ]

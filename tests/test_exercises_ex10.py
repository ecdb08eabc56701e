"""helpers.exercises.ex10 (notebook 10): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import math

from _exercises import ExerciseModule


class TestEx10(ExerciseModule):
    module = "ex10"
    min_wrong = 2  # raised to 4 as issue 21 reworks these exercises
    names = {"math": math}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("    model.zero_grad(set_to_none=True)\n", ""), "left over from an earlier backward()"),
        ("q1", (" or not p.grad.any()", ""), "all zeros"),
        ("q1", ("    loss_fn(model(X), y).backward()\n", ""), "did your function run"),
        ("q2", "initial_loss_5 = math.log(10)", "10 classes"),
        ("q2", "initial_loss_5 = 1 / 5", "minus the log"),
        ("q3", ("assert after < before", "assert after <= before"), "never calls optimizer.step()"),
        ("q3", ("assert after < before", "assert after > before"), "failed the correct"),
    ]

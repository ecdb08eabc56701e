"""helpers.exercises.ex12 (notebook 12): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

from ignite.engine import Events

from _exercises import ExerciseModule


class TestEx12(ExerciseModule):
    module = "ex12"
    min_wrong = 2  # raised to 4 as issue 21 reworks these exercises
    names = {"Events": Events}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("return loss.item()", "return loss"), "returned a tensor"),
        ("q1", ("        optimizer.zero_grad()\n", ""), "gradients doubled"),
        ("q1", ("        model.train()\n", ""), "eval mode"),
        ("q2", ("accuracy > goal", "accuracy >= goal"), "exactly the goal"),
        ("q2", ("EPOCH_COMPLETED", "ITERATION_COMPLETED"), "Events.EPOCH_COMPLETED"),
        ("q2", ("            engine.terminate()", "            pass"), "terminate()"),
        ("q3", ('-engine.state.metrics["loss"]', 'engine.state.metrics["loss"]'), "minus the loss"),
        ("q3", ('-engine.state.metrics["loss"]', 'engine.state.metrics["accuracy"]'), "did not change"),
    ]

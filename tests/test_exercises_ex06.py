"""helpers.exercises.ex06 (notebook 06): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

from _exercises import ExerciseModule


class TestEx06(ExerciseModule):
    module = "ex06"
    min_wrong = 2  # raised to 4 as issue 21 reworks these exercises
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("torch.save(model.state_dict(), path)", "torch.save(model, path)"),
         "does not load with weights_only"),
        ("q1", ("torch.load(path, weights_only=True)", "torch.load(path, weights_only=False)"),
         "weights_only=False"),
        ("q1", ("    model.load_state_dict(state_dict)\n", ""), "predicts differently"),
        ("q2", ('    optimizer.load_state_dict(checkpoint["optimizer"])\n', ""), "momentum"),
        ("q2", ('return checkpoint["epoch"]', "return checkpoint"), "returned a dict"),
        ("q2", ("weights_only=True", "weights_only=False"), "weights_only=False"),
    ]

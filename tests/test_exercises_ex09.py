"""helpers.exercises.ex09 (notebook 09): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

from _exercises import ExerciseModule


class TestEx09(ExerciseModule):
    module = "ex09"
    min_wrong = 2  # raised to 4 as issue 21 reworks these exercises
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("argmax(dim=1)", "argmax(dim=0)"), "raised RuntimeError"),
        ("q1", (".float().mean().item()", ".sum().item()"), "number of right answers"),
        ("q2", ("nn.Linear(64, 10),    # one logit per digit", "nn.Linear(64, 10), nn.Softmax(dim=1),"),
         "softmax layer"),
        ("q2", ("nn.Flatten(),", "nn.Identity(),"), "nn.Flatten()"),
        ("q3", ("model.features.requires_grad_(False)", "model.features.eval()"), "still require gradients"),
        ("q3", ("model.features.requires_grad_(False)", "model.requires_grad_(False)"), "head is frozen too"),
    ]

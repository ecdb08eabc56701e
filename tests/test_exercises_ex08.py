"""helpers.exercises.ex08 (notebook 08): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import math

from torch.utils.data import DataLoader, Dataset

from _exercises import ExerciseModule


class TestEx08(ExerciseModule):
    module = "ex08"
    min_wrong = 2  # raised to 4 as issue 21 reworks these exercises
    names = {"math": math, "Dataset": Dataset, "DataLoader": DataLoader}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("return len(self.X)", "return len(self.X) - 1"), "len(dataset) is 6"),
        ("q1", ("return self.X[idx], self.y[idx]", "return self.X, self.y"), "not the whole tensor"),
        ("q1", ("return self.X[idx], self.y[idx]", "return self.X[idx]"), "as a pair"),
        ("q2", ("return math.ceil(n_samples / batch_size)", "return n_samples // batch_size"), "round up"),
        ("q2", ("return n_samples // batch_size", "return math.ceil(n_samples / batch_size)"), "round down"),
        ("q2", ("return math.ceil(n_samples / batch_size)", "return n_samples / batch_size"), "an int"),
        ("q3", ("            total += loss_fn(model(X), y).item() * len(X)\n            count += len(X)",
                        "            total += loss_fn(model(X), y).item()\n            count += 1"), "plain average"),
        ("q3", ("return total / count", "return total"), "mean loss over all 10 samples"),
        ("q3", ("    model.eval()\n", ""), "still in training mode"),
    ]

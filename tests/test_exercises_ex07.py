"""helpers.exercises.ex07 (notebook 07): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import helpers

from _exercises import ExerciseModule

X_TRAIN, Y_TRAIN, *_ = helpers.train_val_test_split(*helpers.make_line_data(), 0.8, 0.1)


class TestEx07(ExerciseModule):
    module = "ex07"
    min_wrong = 2  # raised to 4 as issue 21 reworks these exercises
    names = {"X_train": X_TRAIN, "y_train": Y_TRAIN}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("H = 2 * A.T @ A / len(A)", "H = A.T @ A / len(A)"), "twice the right one"),
        ("q1", ("curvatures[-1]", "curvatures[0]"), "smallest curvature"),
        ("q2", ("nn.MSELoss()", "nn.L1Loss()"), "from the closed form"),
        ("q2", ("X, y = X.to(device), y.to(device)", "X, y = X_train.to(device), y_train.to(device)"),
         "notebook's line"),
        ("q2", ("    for epoch in range(epochs):\n", "    for epoch in range(1):\n"), "where 1 epoch does"),
        ("q2", ("torch.optim.SGD(model.parameters(), lr=lr)", "torch.optim.Adam(model.parameters(), lr=lr)"),
         "not Adam"),
        ("q2", ("lr=lr)", "lr=lr, momentum=0.9)"), "no momentum"),
        ("q2", ("    helpers.set_seed(42)\n", ""), "seed 42 first"),
    ]

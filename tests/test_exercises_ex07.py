"""helpers.exercises.ex07 (notebook 07): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import helpers

from _exercises import ExerciseModule

X_TRAIN, Y_TRAIN, *_ = helpers.train_val_test_split(*helpers.make_line_data(), 0.8, 0.1)
A = "A = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()"
MOVE = "    X, y = X.to(device), y.to(device)\n"
MODEL = "model = helpers.LinearRegressionModelV2().to(device)"
NOTHING_MOVED = '''def train_line(X, y, lr, epochs, device):
    helpers.set_seed(42)
    model = helpers.LinearRegressionModelV2()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(epochs):
        helpers.train_step(model, X, y, nn.MSELoss(), optimizer)
    return model
'''


class TestEx07(ExerciseModule):
    module = "ex07"
    names = {"X_train": X_TRAIN, "y_train": Y_TRAIN}  # what the notebook defines before its exercises
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("H = 2 * A.T @ A / len(A)", "H = A.T @ A / len(A)"), "twice the right one"),
        ("q1", ("curvatures[-1]", "curvatures[0]"), "smallest curvature"),
        ("q1", ("H = 2 * A.T @ A / len(A)", "H = 2 * A.T @ A"), "times off"),
        ("q1", (A, "A = X.double()"), "column of ones"),
        ("q1", (A, "A = torch.cat([X, torch.ones_like(X)], dim=1).double()"), "columns of ones"),
        # the learner's read: A Aᵀ has AᵀA's largest eigenvalue, so the limit came out right from the wrong matrix
        ("q1", ("H = 2 * A.T @ A / len(A)", "H = 2 * A @ A.T / len(A)"), "that is A Aᵀ, not AᵀA"),
        ("q1", ("curvatures = torch.linalg.eigvalsh(H)", "curvatures = torch.linalg.eigh(2 * A @ A.T / len(A))[0]"),
         "not the Hessian"),
        ("q2", ("nn.MSELoss()", "nn.L1Loss()"), "from the closed form"),
        ("q2", (MOVE, "    X, y = X_train.to(device), y_train.to(device)\n"), "notebook's line"),
        ("q2", ("    for epoch in range(epochs):\n", "    for epoch in range(1):\n"), "where 1 epoch does"),
        ("q2", ("torch.optim.SGD(model.parameters(), lr=lr)", "torch.optim.Adam(model.parameters(), lr=lr)"),
         "not Adam"),
        ("q2", ("lr=lr)", "lr=lr, momentum=0.9)"), "no momentum"),
        ("q2", ("    helpers.set_seed(42)\n", ""), "seed 42 first"),
        ("q2", (MOVE, ""), "the data is not"),
        ("q2", (MOVE, "    X.to(device), y.to(device)\n"), "keep the result"),
        ("q2", (MODEL, "model = helpers.LinearRegressionModelV2()"), "move it with model.to(device)"),
        ("q2", NOTHING_MOVED, "stayed on the cpu"),
        # the learner's read: a hard-coded rate that is the check's own 0.5
        ("q2", ("lr=lr)", "lr=0.5)"), "took the steps of lr 0.5"),
        # the learner's read: an optimizer over another model's parameters, and a loop that ignores epochs
        ("q2", ("torch.optim.SGD(model.parameters(), lr=lr)",
                "torch.optim.SGD(helpers.LinearRegressionModelV2().parameters(), lr=lr)"), "nothing updated it"),
        ("q2", ("    for epoch in range(epochs):\n", "    for epoch in range(150):\n"), "your run trained 150"),
        ("q2", ("lr=lr)", "lr=0.01)"), "check the loss, the optimizer and its learning rate"),
    ]

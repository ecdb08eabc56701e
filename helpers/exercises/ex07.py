"""Exercises for notebook 07 (putting it together): the learning-rate limit, and a device-agnostic training run."""

from __future__ import annotations

import math

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._util import call, close, need, number

_ex = Exercises("ex07")
bind = _ex.bind


def _limit(X: torch.Tensor) -> tuple[float, float]:
    """The reference: 2 / the largest and 2 / the smallest eigenvalue of the MSE Hessian (2/N) A^T A."""
    A = torch.cat([X, torch.ones_like(X)], dim=1).double()
    curvatures = torch.linalg.eigvalsh(2 * A.T @ A / len(A))
    return 2 / curvatures[1].item(), 2 / curvatures[0].item()


def _check_lr_limit(lr_limit: object) -> str:
    """2 / the largest eigenvalue of the MSE Hessian, on three sets of inputs."""
    need(callable(lr_limit), "`lr_limit` should be a function lr_limit(X).")
    X_line = helpers.make_line_data()[0]
    cases = [("the 40 training inputs of the course", X_line[:40]),
             ("inputs from 0 to 2", torch.arange(0, 2, 0.1).unsqueeze(1)),
             ("12 random inputs", torch.rand(12, 1, generator=torch.Generator().manual_seed(0)) * 3 - 1)]
    for name, X in cases:
        got = number(f"lr_limit(X) for {name}", call(lr_limit, X, case=f"For {name}"))
        want, flat = _limit(X)
        if close(got, 2 * want, 1e-3):
            raise Incorrect(f"for {name} your limit is {got:.4f}, twice the right one: the Hessian of the mean "
                            "squared error is 2/N AᵀA (the 2 comes from differentiating the square).")
        if close(got, flat, 1e-3):
            raise Incorrect(f"for {name} you divided by the smallest curvature: the steep direction, the largest "
                            "eigenvalue, is the one that blows up first.")
        need(close(got, want, 1e-3), f"for {name} your limit is {got:.4f}, expected {want:.4f} = 2 / the largest "
                                     "eigenvalue of H = 2/N AᵀA, with A the columns x and 1.")
    return f"2 / λ_max for every data set: {_limit(X_line[:40])[0]:.4f} for the course's training inputs."


q1 = _ex.problem(
    _check_lr_limit, names=("lr_limit",), title="The learning-rate limit, for any data",
    task="Write `lr_limit(X)`: the largest learning rate plain SGD on MSE can use to fit a line to inputs `X` "
         "(shape `[N, 1]`), 2 divided by the largest curvature of the loss, as section 4 computed it. The check "
         "calls it on the course's inputs and on two other sets.",
    starter='def lr_limit(X):\n'
            '    """The largest learning rate plain SGD on MSE can use for a line fitted to inputs X [N, 1]."""\n'
            '    A = ____                         # [N, 2]: a column of x and a column of ones\n'
            '    H = ____                         # the Hessian of the MSE loss\n'
            '    curvatures = torch.linalg.eigvalsh(H)  # smallest first\n'
            '    return ____',
    hint="A = torch.cat([X, torch.ones_like(X)], dim=1); H = 2 * A.T @ A / len(A); the limit is "
         "2 / curvatures[-1].item(), the largest eigenvalue.",
    solution='def lr_limit(X):\n'
             '    """The largest learning rate plain SGD on MSE can use for a line fitted to inputs X [N, 1]."""\n'
             '    A = torch.cat([X, torch.ones_like(X)], dim=1).double()\n'
             '    H = 2 * A.T @ A / len(A)\n'
             '    curvatures = torch.linalg.eigvalsh(H)  # smallest first\n'
             '    return 2 / curvatures[-1].item()',
)


def _check_train_line(train_line: object) -> str:
    """A seed-42 LinearRegressionModelV2 trained on the data it is given reaches its closed form."""
    need(callable(train_line), "`train_line` should be a function train_line(X, y, lr, epochs, device).")
    X = torch.arange(0, 1, 0.025).unsqueeze(1)
    y = 2.0 * X - 1.0  # not the notebook's line: a model that learns 0.7 and 0.3 used the wrong data
    model = call(train_line, X, y, 0.5, 200, "cpu", case="Training on the line y = 2 x - 1 for 200 epochs at lr 0.5")
    need(isinstance(model, nn.Module), f"train_line returned {type(model).__name__}: return the trained model.")
    params = list(model.parameters())
    need(len(params) == 2 and all(p.numel() == 1 for p in params), "return a LinearRegressionModelV2: one "
         "weight and one bias.")
    need(all(p.device == torch.device("cpu") for p in params), "the model is not on the device it was given: "
         "model = helpers.LinearRegressionModelV2().to(device).")
    w, b = (p.item() for p in params)
    need(math.isfinite(w) and math.isfinite(b), "the run blew up to NaN or inf: check the loss and the learning rate.")
    need(not (abs(w - 0.7) < 0.05 and abs(b - 0.3) < 0.05), "your model learned the notebook's line (0.7, 0.3), "
         "not the data it was given: train on the arguments X and y, not on X_train and y_train.")
    distance = max(abs(w - 2.0), abs(b + 1.0))
    if distance >= 1e-3:
        once = call(train_line, X, y, 0.5, 1, "cpu", case="Training for 1 epoch")
        one = [p.item() for p in once.parameters()]
        need(not close(one[0], w, 1e-6), "200 epochs end where 1 epoch does: loop `for epoch in range(epochs)`.")
        raise Incorrect(f"after 200 epochs at lr 0.5 your model is at weight {w:.4f}, bias {b:.4f}, {distance:.4f} "
                        "from the closed form (2, -1): with MSE, plain SGD and the lr argument it gets within 0.001.")
    torch.manual_seed(0)  # a step that forgets to seed would start from other numbers than seed 42's
    short = call(train_line, X, y, 0.5, 3, "cpu", case="Training for 3 epochs at lr 0.5")
    need(all(close(p, q, 1e-6) for p, q in zip(short.parameters(), _reference(X, y, 0.5, 3).parameters())),
         "after 3 epochs your model is not where a seed-42 LinearRegressionModelV2 trained with MSE and plain "
         "SGD (no momentum, not Adam) at the given lr is: seed 42 first, then build the model; use the lr and "
         "epochs arguments.")
    return f"weight {w:.4f}, bias {b:.4f}: the closed form (2, -1) within 1e-3, and step for step the reference run."


def _reference(X: torch.Tensor, y: torch.Tensor, lr: float, epochs: int) -> nn.Module:
    """The solution's run: a seed-42 LinearRegressionModelV2, MSE, plain SGD, full batch."""
    torch.manual_seed(42)
    reference = helpers.LinearRegressionModelV2()
    optimizer = torch.optim.SGD(reference.parameters(), lr=lr)
    for _ in range(epochs):
        helpers.train_step(reference, X, y, nn.MSELoss(), optimizer)
    return reference


q2 = _ex.problem(
    _check_train_line, names=("train_line",), title="The whole training run, as one function",
    task="Write `train_line(X, y, lr, epochs, device)`: a `LinearRegressionModelV2` from seed 42 on `device`, "
         "trained on `(X, y)` (moved to `device`) with MSE and plain SGD for `epochs` full-batch epochs; return "
         "the model. The check trains it on *another* line, y = 2 x - 1, and compares the result with that "
         "line's closed form.",
    starter='def train_line(X, y, lr, epochs, device):\n'
            '    """A seed-42 LinearRegressionModelV2 trained on (X, y) with MSE + SGD on device; return it."""\n'
            '    helpers.set_seed(42)\n'
            '    model = ____\n'
            '    X, y = ____\n'
            '    optimizer = ____\n'
            '    for epoch in range(epochs):\n'
            '        helpers.train_step(model, X, y, ____, optimizer)\n'
            '    return model',
    hint="model = helpers.LinearRegressionModelV2().to(device); X, y = X.to(device), y.to(device); "
         "optimizer = torch.optim.SGD(model.parameters(), lr=lr); the loss is nn.MSELoss().",
    solution='def train_line(X, y, lr, epochs, device):\n'
             '    """A seed-42 LinearRegressionModelV2 trained on (X, y) with MSE + SGD on device; return it."""\n'
             '    helpers.set_seed(42)\n'
             '    model = helpers.LinearRegressionModelV2().to(device)\n'
             '    X, y = X.to(device), y.to(device)\n'
             '    optimizer = torch.optim.SGD(model.parameters(), lr=lr)\n'
             '    for epoch in range(epochs):\n'
             '        helpers.train_step(model, X, y, nn.MSELoss(), optimizer)\n'
             '    return model',
)

"""Exercises for notebook 07 (putting it together): the learning-rate limit for any inputs, a device-agnostic run."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._util import call, close, need, number

_ex = Exercises("ex07")
bind = _ex.bind


def _design(X: torch.Tensor, ones: torch.Tensor | None = None) -> torch.Tensor:
    """The matrix A: the inputs' columns and a column of ones (or the given `ones`), in double precision."""
    ones = torch.ones(len(X), 1, dtype=X.dtype) if ones is None else ones
    return torch.cat([X, ones], dim=1).double()


_EIGVALSH = torch.linalg.eigvalsh  # the real solver: the check's own sums never go through the watched one
_SOLVERS = ("eigvalsh", "eigh", "eigvals", "eig")


def _largest(H: torch.Tensor) -> float:
    """The largest eigenvalue of a symmetric matrix."""
    return _EIGVALSH(H)[-1].item()


@contextlib.contextmanager
def _watched_solvers(shapes: list) -> Iterator[None]:
    """Record the shape of every matrix the learner's code hands to torch.linalg's eigenvalue solvers."""
    real = {name: getattr(torch.linalg, name) for name in _SOLVERS}

    def watch(name: str) -> object:
        def solver(matrix: object, *args: object, **kwargs: object) -> object:
            """torch.linalg's solver, recording the shape of the matrix it was given."""
            shapes.append(list(getattr(matrix, "shape", [])))
            return real[name](matrix, *args, **kwargs)
        return solver

    for name in _SOLVERS:
        setattr(torch.linalg, name, watch(name))
    try:
        yield
    finally:
        for name, solver in real.items():
            setattr(torch.linalg, name, solver)


def _check_hessian_shape(shapes: list, name: str, n: int, k: int) -> None:
    """The matrix whose eigenvalues the learner takes must be the Hessian: [k + 1, k + 1], one row per parameter."""
    params = f"{k} {'weight' if k == 1 else 'weights'} and the bias"
    for got in shapes:
        if got == [k + 1, k + 1]:
            continue
        if got == [n, n]:
            raise Incorrect(f"for {name} your H is {got}, one row and one column per *point*: that is A Aᵀ, not "
                            f"AᵀA. It happens to share its largest eigenvalue, but it is not the Hessian, which has "
                            f"one row and one column per *parameter* ({params}): [{k + 1}, {k + 1}].")
        raise Incorrect(f"for {name} the matrix whose eigenvalues you take has shape {got}: the Hessian has one row "
                        f"and one column per parameter ({params}), [{k + 1}, {k + 1}].")


def _check_lr_limit(lr_limit: object) -> str:
    """2 / the largest eigenvalue of the MSE Hessian, for inputs with one and with two features."""
    need(callable(lr_limit), "`lr_limit` should be a function lr_limit(X).")
    X_line = helpers.make_line_data()[0]
    g = torch.Generator().manual_seed(0)
    cases = [("the 40 training inputs of the course", X_line[:40]),
             ("inputs from 0 to 2", torch.arange(0, 2, 0.1).unsqueeze(1)),
             ("30 inputs with 2 features", torch.rand(30, 2, generator=g) * torch.tensor([1.0, 3.0])),
             ("12 inputs with 3 features", torch.rand(12, 3, generator=g) * 2 - 1)]
    for name, X in cases:
        shapes: list = []
        with _watched_solvers(shapes):
            got = number(f"lr_limit(X) for {name}", call(lr_limit, X, case=f"For {name}"))
        A, n = _design(X), len(X)
        H = 2 * A.T @ A / n
        want = 2 / _largest(H)
        if close(got, want, 1e-3):
            _check_hessian_shape(shapes, name, n, X.shape[1])  # A Aᵀ shares AᵀA's largest eigenvalue
            continue
        if close(got, 2 * want, 1e-3):
            raise Incorrect(f"for {name} your limit is {got:.4f}, twice the right one: the Hessian of the mean "
                            "squared error is 2/N AᵀA (the 2 comes from differentiating the square).")
        if close(got, want * n, 1e-3) or close(got, want / n, 1e-3):
            raise Incorrect(f"for {name} your limit is {got:.4f}, {n} times off: the loss is a *mean* over the "
                            f"{n} points, so the Hessian is 2/N AᵀA.")
        if close(got, 2 / _EIGVALSH(H)[0].item(), 1e-3):
            raise Incorrect(f"for {name} you divided by the smallest curvature: the steep direction, the largest "
                            "eigenvalue, is the one that blows up first.")
        if close(got, 2 / _largest(2 * X.double().T @ X.double() / n), 1e-3):
            raise Incorrect(f"for {name} you left out the column of ones: the bias is a parameter too, and its "
                            "column in A is all ones.")
        if X.shape[1] > 1 and close(got, 2 / _largest(2 * _design(X, torch.ones_like(X)).T @ _design(X, torch.ones_like(X)) / n), 1e-3):
            raise Incorrect(f"for {name} A got {X.shape[1]} columns of ones: ones_like(X) has as many columns as "
                            f"X. A linear model has one bias, so A needs exactly one column of ones, torch.ones(N, 1).")
        _check_hessian_shape(shapes, name, n, X.shape[1])
        raise Incorrect(f"for {name} your limit is {got:.4f}, expected {want:.4f} = 2 / the largest eigenvalue of "
                        "H = 2/N AᵀA, with A the input columns and one column of ones.")
    return f"2 / λ_max for one feature or several: {2 / _largest(2 * _design(X_line[:40]).T @ _design(X_line[:40]) / 40):.4f} for the course's training inputs."


q1 = _ex.problem(
    _check_lr_limit, names=("lr_limit",), title="The learning-rate limit, for any number of features", transfer=True,
    task="The optional aside computed the largest learning rate plain SGD on MSE can use for the course's line. "
         "Write `lr_limit(X)` for a linear model on inputs `X` of shape `[N, k]`, with **any number of features** "
         "`k` (a model `nn.Linear(k, 1)`: one weight per feature and one bias): 2 divided by the largest curvature "
         "of the MSE loss. The check calls it on inputs with 1, 2 and 3 features.",
    starter='def lr_limit(X):\n'
            '    """The largest learning rate plain SGD on MSE can use for a linear model on inputs X [N, k]."""\n'
            '    A = ____                         # [N, k + 1]: one column per feature and one column of ones\n'
            '    H = ____                         # the Hessian of the MSE loss\n'
            '    curvatures = torch.linalg.eigvalsh(H)  # smallest first\n'
            '    return ____',
    hint="The aside's recipe carries over, with one change: A needs a column for every weight and one for the bias. "
         "Check the shape of A on an input with 2 features before you trust it.",
    solution='def lr_limit(X):\n'
             '    """The largest learning rate plain SGD on MSE can use for a linear model on inputs X [N, k]."""\n'
             '    A = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()\n'
             '    H = 2 * A.T @ A / len(A)\n'
             '    curvatures = torch.linalg.eigvalsh(H)  # smallest first\n'
             '    return 2 / curvatures[-1].item()',
)


META = torch.device("meta")  # tensors with a shape and a device but no data: shows where things live, on any machine


@contextlib.contextmanager
def _watched_steps(seen: list) -> Iterator[None]:
    """Replace helpers.train_step by one that records where the model and the data are, and runs on `meta` too."""
    real = helpers.train_step

    def train_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: object, optimizer: object) -> float:
        """helpers.train_step, recording the devices; on the meta device (no numbers) it returns 0.0."""
        devices = {p.device for p in model.parameters()}
        seen.append(1)
        if META in devices or X.device == META:
            need(devices == {META}, "the data is on the device, but the model is not: move it with "
                                    "model.to(device) (a model moves in place).")
            need(X.device == META and y.device == META, "the model is on the device, but the data is not: "
                 "X, y = X.to(device), y.to(device). A tensor's .to() returns a copy, so keep the result.")
            from ..training import _train_step

            _train_step(model, X, y, loss_fn, optimizer)  # the step, without .item(): meta tensors hold no numbers
            return 0.0
        return real(model, X, y, loss_fn, optimizer)

    helpers.train_step = train_step
    try:
        yield
    finally:
        helpers.train_step = real


def _check_devices(train_line: object, X: torch.Tensor, y: torch.Tensor) -> None:
    """Train for 2 epochs on the meta device: the model and the data must both be there (a loop of one's own,
    without .item(), runs there too)."""
    seen: list = []
    with _watched_steps(seen):
        try:
            model = train_line(X, y, 0.5, 2, META)
        except Incorrect:
            raise
        except Exception as err:  # noqa: BLE001 - the learner's error becomes a verdict
            if "meta" in str(err) and "item" in str(err):
                raise Incorrect("on the meta device (which has no numbers) your code called .item(): use "
                                "helpers.train_step for each epoch, as the starting code does.") from None
            if "expected device meta" in str(err) or "device meta" in str(err):
                raise Incorrect("the model and the data ended up on different devices: move both, model.to(device) "
                                "and X, y = X.to(device), y.to(device).") from None
            raise
    need(isinstance(model, nn.Module), f"train_line returned {type(model).__name__}: return the trained model.")
    need(any(p.device == META for p in model.parameters()), "asked for the `meta` device, your model and data "
         "stayed on the cpu: move both to the device argument, model.to(device) and X.to(device).")


def _check_train_line(train_line: object) -> str:
    """A seed-42 LinearRegressionModelV2 trained on the data it is given, on the device it is given."""
    need(callable(train_line), "`train_line` should be a function train_line(X, y, lr, epochs, device).")
    X = torch.arange(0, 1, 0.025).unsqueeze(1)
    y = 2.0 * X - 1.0  # not the notebook's line: a model that learns 0.7 and 0.3 used the wrong data
    model = call(train_line, X, y, 0.5, 150, "cpu", case="Training on the line y = 2 x - 1 for 150 epochs at lr 0.5")
    need(isinstance(model, nn.Module), f"train_line returned {type(model).__name__}: return the trained model.")
    params = list(model.parameters())
    need(len(params) == 2 and all(p.numel() == 1 for p in params), "return a LinearRegressionModelV2: one "
         "weight and one bias.")
    w, b = (p.item() for p in params)
    need(math.isfinite(w) and math.isfinite(b), "the run blew up to NaN or inf: check the loss and the learning rate.")
    need(not (abs(w - 0.7) < 0.05 and abs(b - 0.3) < 0.05), "your model learned the notebook's line (0.7, 0.3), "
         "not the data it was given: train on the arguments X and y, not on X_train and y_train.")
    distance = max(abs(w - 2.0), abs(b + 1.0))
    if distance >= 1e-3:
        torch.manual_seed(42)
        start = [p.item() for p in helpers.LinearRegressionModelV2().parameters()]
        need(not all(close(p, q, 1e-6) for p, q in zip((w, b), start)), "after 150 epochs your model still has "
             "its seed-42 starting weight and bias: nothing updated it. The optimizer must hold the parameters of the "
             "model you train and return: torch.optim.SGD(model.parameters(), ...) for that very model.")
        once = call(train_line, X, y, 0.5, 1, "cpu", case="Training for 1 epoch")
        one = [p.item() for p in once.parameters()]
        need(not close(one[0], w, 1e-6), "150 epochs end where 1 epoch does: loop `for epoch in range(epochs)`.")
        raise Incorrect(f"after 150 epochs at lr 0.5 your model is at weight {w:.4f}, bias {b:.4f}, {distance:.4f} "
                        "from the closed form (2, -1), where MSE and plain SGD at the given lr get within 0.001: "
                        "check the loss, the optimizer and its learning rate.")
    torch.manual_seed(0)  # a step that forgets to seed would start from other numbers than seed 42's
    short = call(train_line, X, y, 0.2, 3, "cpu", case="Training for 3 epochs at lr 0.2")
    reached = [p.item() for p in short.parameters()]

    def like(lr: float, epochs: int) -> bool:
        """True if the learner's 3-epoch run at lr 0.2 ended where the reference with these settings does."""
        return all(close(p, q.item(), 1e-6) for p, q in zip(reached, _reference(X, y, lr, epochs).parameters()))

    if not like(0.2, 3):
        need(not like(0.5, 3), "asked for lr 0.2, your run took the steps of lr 0.5: build the optimizer with the "
                               "lr argument, lr=lr, not a number of your own.")
        need(not (like(0.2, 150) or like(0.5, 150)), "asked for 3 epochs, your run trained 150: loop over the "
                                                     "epochs argument, range(epochs).")
        raise Incorrect("after 3 epochs at lr 0.2 your model is not where a seed-42 LinearRegressionModelV2 trained "
                        "with MSE and plain SGD (no momentum, not Adam) at that lr is: seed 42 first, then build the "
                        "model; use the lr and epochs arguments.")
    _check_devices(train_line, X, y)
    return (f"weight {w:.4f}, bias {b:.4f}: the closed form (2, -1) within 1e-3, step for step the reference run, and "
            "the model and the data on the device it was given (checked on `meta`, which every machine has).")


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
         "trained on `(X, y)` (moved to `device`) with MSE and plain SGD for `epochs` epochs, each one "
         "`helpers.train_step` on all the points at once (a *full batch*, as everywhere so far); return the model. "
         "The check trains it on *another* line, y = 2 x - 1, at two learning rates, compares the result with that "
         "line's closed form, and runs it once on the `meta` device (tensors without numbers, which every machine "
         "has) to see that the model and the data both went to `device`.",
    starter='def train_line(X, y, lr, epochs, device):\n'
            '    """A seed-42 LinearRegressionModelV2 trained on (X, y) with MSE + SGD on device; return it."""\n'
            '    helpers.set_seed(42)\n'
            '    model = ____\n'
            '    X, y = ____\n'
            '    optimizer = ____\n'
            '    for epoch in range(epochs):\n'
            '        helpers.train_step(model, X, y, ____, optimizer)\n'
            '    return model',
    hint="Everything a computation touches must sit on one device: the model's parameters and both tensors. A "
         "model moves in place; a tensor's move returns a copy that you must keep. The recipe is section 4's.",
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

"""Exercises for notebook 07 (putting it together): the learning-rate limit for any inputs, a device-agnostic run."""

from __future__ import annotations

import math

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._hessian import check_hessian, design, largest, limit, limit_mistake, watched_solvers
from ._run_watch import META, RunWatch, train_step_on_meta
from ._util import call, close, need, number

_ex = Exercises("ex07")
bind = _ex.bind


def _cases() -> list[tuple[str, torch.Tensor]]:
    """Inputs with 1, 2 and 3 features; two of them have 40 points (a result kept by size is caught)."""
    X_line = helpers.make_line_data()[0]
    g = torch.Generator().manual_seed(0)
    return [("the 40 training inputs of the course", X_line[:40]),
            ("inputs from 0 to 2", torch.arange(0, 2, 0.1).unsqueeze(1)),
            ("30 inputs with 2 features", torch.rand(30, 2, generator=g) * torch.tensor([1.0, 3.0])),
            ("12 inputs with 3 features", torch.rand(12, 3, generator=g) * 2 - 1),
            ("40 inputs from -1 to 3", torch.arange(-1, 3, 0.1).unsqueeze(1))]


def _check_lr_limit(lr_limit: object) -> str:
    """2 / the largest eigenvalue of the MSE Hessian, for inputs with one, two and three features."""
    need(callable(lr_limit), "`lr_limit` should be a function lr_limit(X).")
    earlier: list = []
    for name, X in _cases():
        given, seen = X.clone(), []
        with watched_solvers(seen):
            got = number(f"lr_limit(X) for {name}", call(lr_limit, given, case=f"For {name}"))
        need(torch.equal(given, X), f"for {name} lr_limit changed the X it was given, in place (an operation such "
             "as X -= X.mean(0), X.mul_(...) or X[:, 0] = ...): the caller's inputs are now other numbers. Leave "
             "X as it is: build new tensors from it (torch.cat does).")
        A, n = design(X), len(X)
        H = 2 * A.T @ A / n
        want = 2 / largest(H)
        if not close(got, want, 1e-3):
            limit_mistake(got, want, name, X, earlier, seen)
            check_hessian(seen, name, H, n, f"your limit is {got:.4f}, expected {want:.4f}: ")
            raise Incorrect(f"for {name} your limit is {got:.4f}, expected {want:.4f} = 2 / the largest eigenvalue "
                            "of H = 2/N AᵀA, with A the input columns and one column of ones.")
        check_hessian(seen, name, H, n, "your limit is right, but only because your return makes up for your H: ")
        earlier.append((name, got, want))
    return (f"2 / λ_max for one feature or several: {limit(design(_cases()[0][1])):.4f} for the course's training "
            "inputs.")


q1 = _ex.problem(
    _check_lr_limit, names=("lr_limit",), title="The learning-rate limit, for any number of features", transfer=True,
    task="The optional aside computed the largest learning rate plain SGD on MSE can use for the course's line. "
         "Write `lr_limit(X)` for a linear model on inputs `X` of shape `[N, k]`, with **any number of features** "
         "`k` (a model `nn.Linear(k, 1)`: one weight per feature and one bias): 2 divided by the largest curvature "
         "of the MSE loss, the largest eigenvalue of its Hessian `H` (one row and one column per parameter). The "
         "check calls it on inputs with 1, 2 and 3 features (two of them with 40 points), wants each `X` left as "
         "it was, and looks at the matrix you hand to `torch.linalg`'s eigenvalue functions too: it must be `H` "
         "itself, not a multiple of it or A Aᵀ, even where those give the same number.",
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


def _run_line(train_line: object, X: torch.Tensor, y: torch.Tensor, lr: float, epochs: int, device: object,
              case: str) -> tuple[nn.Module, RunWatch]:
    """Call train_line, watching what it does; it must return a model."""
    watch = RunWatch(epochs, len(X))
    with watch.watching():
        model = call(train_line, X, y, lr, epochs, device, case=case)
    need(isinstance(model, nn.Module), f"train_line returned {type(model).__name__}: return the trained model.")
    return model, watch


def _check_optimizer(model: nn.Module, watch: RunWatch, lr: float, where: str = "") -> None:
    """The run must step plain SGD at the rate asked for, over the parameters of the model it returns."""
    need(watch.steps, "your run never called optimizer.step(): build torch.optim.SGD(model.parameters(), lr=lr) and "
                      "let helpers.train_step step it each epoch.")
    optimizer = watch.stepped(model)
    need(optimizer is not None, f"{where}the optimizer your run stepped holds other parameters than the model it "
         "returns, so nothing updated that model: build torch.optim.SGD(model.parameters(), ...) for that very "
         "model, after moving it (model.to(device) can replace the parameter objects, as it does on `meta`).")
    need(type(optimizer) is torch.optim.SGD, f"your optimizer is {type(optimizer).__name__}, not plain SGD: "
                                             "torch.optim.SGD(model.parameters(), lr=lr).")
    group = optimizer.param_groups[0]
    for key, plain in (("momentum", 0), ("dampening", 0), ("weight_decay", 0), ("nesterov", False),
                       ("maximize", False)):
        need(group.get(key, plain) == plain, f"your SGD has {key}={group[key]}: plain SGD has none, and the task's "
                                             "run is torch.optim.SGD(model.parameters(), lr=lr) alone.")
    need(math.isclose(float(group["lr"]), lr), f"asked for lr {lr}, your optimizer has lr={group['lr']}: build it "
         "with the lr argument, lr=lr, not a number of your own (nor a notebook variable).")


def _check_steps(model: nn.Module, watch: RunWatch, X: torch.Tensor) -> None:
    """One full-batch step per epoch, on the X given; the model starts from seed 42's LinearRegressionModelV2."""
    n, epochs, steps = len(X), watch.epochs, watch.steps
    _, first, inputs = watch.modules.get(id(model), (model, [], []))
    need(inputs, "your run never called the model: helpers.train_step(model, X, y, loss_fn, optimizer) each epoch.")
    sizes = {len(x) for x in inputs}
    need(max(sizes) >= n, f"your model saw at most {max(sizes)} of the {n} points in one forward pass: train on all "
                          "of X and y at once (a slice such as X[:-1] leaves points out).")
    need(steps == epochs, f"asked for {epochs} epochs, your run took {steps} optimizer step{'s' * (steps != 1)}"
         + (f" ({steps // epochs} an epoch)" if steps > epochs and steps % epochs == 0 else "")
         + ": one full-batch step per epoch, `for epoch in range(epochs)`, with the epochs argument.")
    need(all(x.shape == X.shape and torch.equal(x.cpu(), X) for x in inputs), "the inputs your model was trained "
         "on are not the X given to train_line: train on the arguments X and y (moved to the device), not on a "
         "notebook variable such as X_train, and not on y.")
    need(any(p is q for p in model.parameters() for q in watch.made), "the model train_line returned was not "
         "built in this call (its parameters existed before it: a notebook variable such as `model`, or a model "
         "kept from an earlier call): build a new LinearRegressionModelV2 inside train_line, from seed 42.")
    torch.manual_seed(42)
    start = helpers.LinearRegressionModelV2()
    if _same(first, list(start.parameters())):
        return
    need(isinstance(model, helpers.LinearRegressionModelV2), f"train_line returned a {type(model).__name__}: build "
         "a helpers.LinearRegressionModelV2 (its nn.Linear starts from other seed-42 numbers).")
    raise Incorrect("your model did not start from seed 42's LinearRegressionModelV2: set the seed, "
                    "helpers.set_seed(42), then build the model first (anything drawn in between changes its start; "
                    "seed 42 first, then the model).")


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    """True if two lists of parameters hold the same numbers."""
    return len(a) == len(b) and all(close(p, q.detach(), 1e-6) for p, q in zip(a, b))


def _check_devices(train_line: object, X: torch.Tensor, y: torch.Tensor) -> None:
    """Train for 2 epochs on the meta device: the model and the data must both be there (a loop of one's own,
    without .item(), runs there too), and the optimizer must hold the parameters of the model after its move."""
    with train_step_on_meta():
        try:
            model, watch = _run_line(train_line, X, y, 0.5, 2, META, "On the meta device")
        except Incorrect as err:
            if "your code raised" not in str(err):
                raise
            if "item() cannot be called on meta" in str(err):
                raise Incorrect("on the meta device (which has no numbers) your code called .item(): use "
                                "helpers.train_step for each epoch, as the starting code does.") from None
            if "device meta" in str(err):
                raise Incorrect("the model and the data ended up on different devices: move both, model.to(device) "
                                "and X, y = X.to(device), y.to(device).") from None
            raise
    need(any(p.device == META for p in model.parameters()), "asked for the `meta` device, your model and data "
         "stayed on the cpu: move both to the device argument, model.to(device) and X.to(device).")
    _check_optimizer(model, watch, 0.5, "on the `meta` device, ")


def _check_train_line(train_line: object) -> str:
    """A seed-42 LinearRegressionModelV2 trained on the data it is given, on the device it is given."""
    need(callable(train_line), "`train_line` should be a function train_line(X, y, lr, epochs, device).")
    X = torch.arange(-1, 1, 0.05).unsqueeze(1)
    y = 2.0 * X - 1.0  # not the notebook's line: a model that learns 0.7 and 0.3 used the wrong data
    torch.manual_seed(0)  # a run that forgets to seed starts from other numbers than seed 42's
    short, watch = _run_line(train_line, X, y, 0.2, 3, "cpu", "Training for 3 epochs at lr 0.2")
    _check_optimizer(short, watch, 0.2)
    _check_steps(short, watch, X)
    model, watch = _run_line(train_line, X, y, 0.5, 30, "cpu", "Training for 30 epochs at lr 0.5")
    need(model is not short, "train_line returned the same model object on two calls: build a new model in every "
                             "call (a model made outside the function keeps training where the last call stopped).")
    w, b = (p.item() for p in model.parameters())
    distance = max(abs(w - 2.0), abs(b + 1.0))
    need(math.isfinite(distance), "the run blew up to NaN or inf: check the loss (MSE, a mean) and the learning rate.")
    need(distance < 1e-3, f"after 30 epochs at lr 0.5 your model is at weight {w:.4f}, bias {b:.4f}, {distance:.4f} "
                          "from the closed form (2, -1), where MSE and plain SGD at the given lr get within 0.001: "
                          "check the loss (nn.MSELoss()) and the targets (the y given).")
    need(_same([p.detach() for p in short.parameters()], list(_reference(X, y, 0.2, 3).parameters())),
         "after 3 epochs at lr 0.2 your model is not where a seed-42 LinearRegressionModelV2 trained with MSE and "
         "plain SGD at that lr is: check the loss (nn.MSELoss()) and the targets (the y given).")
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
         "has) to see that the model and the data both went to `device`. It also counts the optimizer's steps (one "
         "an epoch), looks at what the model is given, and wants a new model from every call, its optimizer built "
         "after the move (moving a model can replace its parameter objects, as it does on `meta`).",
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

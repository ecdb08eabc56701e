"""Exercises for notebook 04 (training loop): a step for a two-output model, a learning rate, MSE gradients by hand."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._util import call, close, need, number

_ex = Exercises("ex04")
bind = _ex.bind


class _TwoOutputs(nn.Module):
    """A model with two outputs (one nn.Linear(1, 2)) that records whether each forward pass ran in training mode."""

    def __init__(self) -> None:
        super().__init__()
        self.linear, self.modes = nn.Linear(1, 2), []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Record the mode, then compute both outputs: shape [N, 2]."""
        self.modes.append(self.training)
        return self.linear(x)


def _two_output_case() -> tuple[torch.Tensor, torch.Tensor, _TwoOutputs]:
    """Ten inputs, two targets (a rising and a falling line) and a two-output model left in eval mode.

    Both of its lines cross their targets, so errors have both signs (with one sign only, L1 would be linear
    and some wrong losses would agree with the right one)."""
    X = torch.arange(0, 1, 0.1).unsqueeze(1)
    Y = torch.cat([0.7 * X + 0.3, 1.0 - X], dim=1)
    model = _TwoOutputs().eval()
    with torch.no_grad():
        model.linear.weight.copy_(torch.tensor([[0.2], [0.5]]))
        model.linear.bias.copy_(torch.tensor([0.5, 0.4]))
    return X, Y, model


def _stepped(model: nn.Module, loss: torch.Tensor, lr: float) -> list[torch.Tensor]:
    """The parameters one plain SGD step of `loss` would give a copy of `model`."""
    grads = torch.autograd.grad(loss, list(model.parameters()), retain_graph=True)
    return [(p - lr * g).detach() for p, g in zip(model.parameters(), grads)]


def _check_train_step_two(train_step_two: object) -> str:
    """Training mode, the sum of both columns' losses, one update that uses both gradients, fresh gradients."""
    need(callable(train_step_two), "`train_step_two` should be a function train_step_two(model, X, Y, loss_fn, optimizer).")
    X, Y, model = _two_output_case()
    l1, calls = nn.L1Loss(), []

    def loss_fn(y_pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The L1 loss, counting its calls."""
        calls.append(1)
        return l1(y_pred, y)

    twin = copy.deepcopy(model)
    P = twin(X)
    col = [l1(P[:, i], Y[:, i]) for i in range(2)]
    want_loss = (col[0] + col[1]).item()
    want = _stepped(twin, col[0] + col[1], 0.1)
    only = [_stepped(twin, col[i], 0.1) for i in range(2)]
    optimizer, steps = torch.optim.SGD(model.parameters(), lr=0.1), []
    optimizer.register_step_post_hook(lambda *_: steps.append(1))
    model.modes.clear()
    out = call(train_step_two, model, X, Y, loss_fn, optimizer, case="Called once on a model left in eval mode")
    need(model.modes, "your step never called the model: the forward pass is Y_pred = model(X).")
    need(model.modes[0], "the forward pass ran in eval mode: start the step with model.train().")
    need(calls, "your step never called the loss_fn it was given: compute each column's loss with loss_fn.")
    need(out is not None, "your step returned nothing: return the summed loss as a Python number.")
    need(not isinstance(out, torch.Tensor), "your step returned a tensor: return loss.item(), a Python number.")
    need(isinstance(out, float), f"your step returned {type(out).__name__}: return loss.item(), a Python number.")
    if not close(out, want_loss):
        with torch.no_grad():
            whole, first = l1(P, Y).item(), col[0].item()
            crossed = (l1(P[:, 0], Y[:, 0:1]) + l1(P[:, 1], Y[:, 1:2])).item()
        if close(out, whole):
            raise Incorrect(f"your step returned {out:.4f}, the loss of all 2 x 10 numbers at once: that is the mean "
                            f"of the two columns' losses, half their sum ({want_loss:.4f}). Add loss_fn of column 0 "
                            "and loss_fn of column 1.")
        if close(out, first) or close(out, col[1].item()):
            raise Incorrect(f"your step returned {out:.4f}, the loss of one column only: the loss is the sum of "
                            "both columns' losses.")
        if close(out, crossed):
            raise Incorrect("a prediction column of shape [10] met a target of shape [10, 1]: they broadcast to "
                            "[10, 10] and compare every prediction with every label. Slice both the same way, "
                            "Y_pred[:, 0] and Y[:, 0].")
        raise Incorrect(f"your step returned {out:.4f}, but the sum of the two columns' losses before the update "
                        f"was {want_loss:.4f}: loss_fn(Y_pred[:, 0], Y[:, 0]) + loss_fn(Y_pred[:, 1], Y[:, 1]).")
    need(len(steps) <= 1, f"one call of your step called optimizer.step() {len(steps)} times: that is {len(steps)} "
                          "updates for one batch. backward() adds, so both gradients can wait for one step.")
    params = [p.detach() for p in model.parameters()]
    need(steps, "the parameters did not change: call optimizer.step() after loss.backward().")
    need(not all(torch.equal(p, q) for p, q in zip(params, twin.parameters())), "the parameters did not change: "
         "the gradients were cleared before optimizer.step() used them (zero_grad() belongs before backward()).")
    if not all(close(p, q, 1e-6) for p, q in zip(params, want)):
        if any(all(close(p, q, 1e-6) for p, q in zip(params, o)) for o in only):
            raise Incorrect("the update used only one column's gradient: the other was cleared or never computed. "
                            "Call zero_grad() once, before backward(), on the summed loss (or before both "
                            "backward() calls: they add up).")
        raise Incorrect("the parameters after your step are not where one SGD step on the summed loss puts them: "
                        "zero_grad(), then backward() on the sum, then one step().")
    torch.manual_seed(0)
    model = _TwoOutputs()
    reference = copy.deepcopy(model)
    P = reference(X)
    (l1(P[:, 0], Y[:, 0]) + l1(P[:, 1], Y[:, 1])).backward()
    run_optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the parameters stay put
    for _ in range(2):
        call(train_step_two, model, X, Y, loss_fn, run_optimizer, case="Called twice on one batch")
    for p, r in zip(model.parameters(), reference.parameters()):
        if p.grad is not None and close(p.grad, 2 * r.grad) and not close(p.grad, r.grad):
            raise Incorrect("after two calls on one batch the gradients are twice one batch's: zero them with "
                            "optimizer.zero_grad() at the start of every step.")
        need(p.grad is None or close(p.grad, r.grad), "after two calls the gradients are not one batch's gradient: "
                                                        "optimizer.zero_grad() before backward().")
    return ("training mode, the sum of both columns' losses, one update with both outputs' gradients, and fresh "
            "gradients every call: the same loop serves any model and any loss.")


q1 = _ex.problem(
    _check_train_step_two, names=("train_step_two",), title="A training step for a model with two outputs",
    transfer=True,
    task="A model with two outputs predicts two targets at once: `model(X)` has shape `[N, 2]`, one column per "
         "target, and so does `Y`. Write `train_step_two(model, X, Y, loss_fn, optimizer)`: one training step "
         "whose loss is the **sum** of `loss_fn` on each column (column 0 of the predictions against column 0 of "
         "`Y`, column 1 against column 1), with one update per call; return that summed loss, measured before "
         "the update, as a Python number. The check runs it on a two-output model left in eval mode, looks at "
         "the parameters after one step, and calls it twice on one batch.",
    starter='def train_step_two(model, X, Y, loss_fn, optimizer):\n'
            '    """One training step of a two-output model; the loss is the sum of the two columns\' losses."""\n'
            '    ____            # 0. training mode\n'
            '    Y_pred = ____   # 1. forward pass: shape [N, 2]\n'
            '    loss = ____     # 2. loss: column 0\'s loss plus column 1\'s loss\n'
            '    ____            # 3. zero the gradients\n'
            '    ____            # 4. backpropagation\n'
            '    ____            # 5. update the parameters\n'
            '    return ____',
    hint="The six steps are the notebook's; only step 2 is new. Pick a column by indexing the second dimension, "
         "and pick it the same way from the predictions and the targets, so that their shapes match. One "
         "backward() on the sum gives both outputs' gradients at once.",
    solution='def train_step_two(model, X, Y, loss_fn, optimizer):\n'
             '    """One training step of a two-output model; the loss is the sum of the two columns\' losses."""\n'
             '    model.train()                                                    # 0. training mode\n'
             '    Y_pred = model(X)                                                # 1. forward pass\n'
             '    loss = loss_fn(Y_pred[:, 0], Y[:, 0]) + loss_fn(Y_pred[:, 1], Y[:, 1])  # 2. loss\n'
             '    optimizer.zero_grad()                                            # 3. zero the gradients\n'
             '    loss.backward()                                                  # 4. backpropagation\n'
             '    optimizer.step()                                                 # 5. update the parameters\n'
             '    return loss.item()',
)


def _check_lr(lr_mse: object) -> str:
    """100 epochs of MSE + SGD at the learner's rate reach (0.7, 0.3) within 1e-3."""
    lr = number("lr_mse", lr_mse)
    need(lr > 0, f"lr_mse = {lr}: a learning rate is a positive step size.")
    X, y = helpers.make_line_data()
    X_train, y_train = X[:40], y[:40]
    torch.manual_seed(42)
    model = helpers.LinearRegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(100):
        helpers.train_step(model, X_train, y_train, nn.MSELoss(), optimizer)
    w, b = model.weights.item(), model.bias.item()
    need(math.isfinite(w) and math.isfinite(b) and abs(w) < 10,
         f"with lr = {lr} the run blew up (weights {w:.3g}): every step overshoots the minimum by more than it "
         "started from, so the error grows. Try a smaller learning rate.")
    distance = max(abs(w - 0.7), abs(b - 0.3))
    need(distance < 1e-3, f"after 100 epochs with lr = {lr}: weights {w:.4f}, bias {b:.4f}, still {distance:.4f} "
                          "from the answer. " + ("Too small a step: MSE's gradient is small along the flat "
                                                 "valley, so try a larger learning rate." if lr < 0.6 else
                                                 "Close to the limit the steps bounce across the valley: try "
                                                 "a little smaller."))
    return f"with lr = {lr}, 100 epochs of MSE + SGD end at weights {w:.4f}, bias {b:.4f}: within 0.001 of the truth."


q2 = _ex.problem(
    _check_lr, names=("lr_mse",), title="A learning rate that arrives",
    task="Find a learning rate `lr_mse` for MSE + plain SGD that takes the seed-42 `LinearRegressionModel` "
         "within 0.001 of weight 0.7 and bias 0.3 in 100 epochs on the 40 training points. The check trains "
         "with your number. Try 0.1, 0.5 and 1.0 first: two are too slow in 100 epochs and one blows up. The "
         "answer lies between them.",
    starter='lr_mse = ____  # a learning rate for MSE + SGD, 100 epochs',
    hint="Bisect: if a rate is too slow, try one halfway to the rate that blew up; if it blows up or bounces, go "
         "halfway back. The notebook's `train_path` function, given a number of epochs, shows where a rate ends "
         "(the last point of its path).",
    solution='lr_mse = 0.7',
)


def _check_mse_gradients(mse_gradients: object) -> str:
    """The chain rule's MSE gradients equal autograd's for models below, above and across the line."""
    need(callable(mse_gradients), "`mse_gradients` should be a function mse_gradients(model, X, y).")
    X, y = helpers.make_line_data()
    cases = [("the seed-42 model (every error negative)", None, 40), ("a model far above the line", (2.0, 1.5), 40),
             ("a model crossing the line (errors of both signs)", (0.8, 0.25), 50), ("10 points", (0.1, -0.4), 10)]
    for name, params, n in cases:
        torch.manual_seed(42)
        model = helpers.LinearRegressionModel()
        if params:
            with torch.no_grad():
                model.weights.fill_(params[0])
                model.bias.fill_(params[1])
        reference = copy.deepcopy(model)
        nn.MSELoss()(reference(X[:n]), y[:n]).backward()
        out = call(mse_gradients, model, X[:n], y[:n], case=f"For {name}")
        need(model.weights.grad is None and model.bias.grad is None,
             "you called backward(): the point is to get the gradients from the chain rule, without autograd.")
        need(isinstance(out, (tuple, list)) and len(out) == 2, "return two numbers: grad_w, grad_b.")
        got = [number("grad_w", out[0]), number("grad_b", out[1])]
        want = [reference.weights.grad.item(), reference.bias.grad.item()]
        with torch.no_grad():
            e = reference(X[:n]) - y[:n]
        l1 = [(torch.sign(e) * X[:n]).mean().item(), torch.sign(e).mean().item()]
        same = lambda a, b: all(close(g, w, 1e-4) for g, w in zip(a, b))  # noqa: E731
        if same(got, want):
            continue
        if same(got, [-w for w in want]):
            raise Incorrect(f"for {name} your gradients have the opposite sign of autograd's: the error is "
                            "e = y_pred - y, prediction minus label.")
        if same(got, l1):
            raise Incorrect(f"for {name} you returned the L1 gradients (built from sign(e)): the slope of e² is 2e, "
                            "which grows with the error.")
        if same(got, [w / 2 for w in want]):
            raise Incorrect(f"for {name} your gradients are half of autograd's: the slope of e² is 2e, not e.")
        if same(got, [n * w for w in want]):
            raise Incorrect(f"for {name} your gradients are {n} times autograd's: nn.MSELoss averages over the "
                            f"{n} points, so take the mean, not the sum.")
        if close(got[1], want[1], 1e-4) and close(got[0], want[1], 1e-4):
            raise Incorrect(f"for {name} your dL/dw equals dL/db: the chain rule multiplies by de/dw = x for the "
                            "weight (and by 1 for the bias).")
        raise Incorrect(f"for {name}: yours {got[0]:.4f}, {got[1]:.4f}, autograd's {want[0]:.4f}, {want[1]:.4f}. "
                        "Apply the chain rule to (1/N) Σ (w xᵢ + b - yᵢ)².")
    return "the chain rule agrees with autograd on every case: errors all negative, all positive, and mixed."


q3 = _ex.problem(
    _check_mse_gradients, names=("mse_gradients",), title="MSE gradients by the chain rule", transfer=True,
    task="The notebook derived the L1 gradients by hand. Do the same for the MSE loss "
         "L = (1/N) Σ (w xᵢ + b - yᵢ)²: write `mse_gradients(model, X, y)` that returns dL/dw and dL/db of a "
         "`LinearRegressionModel`, from the chain rule, without calling `backward()`. The check compares them "
         "with autograd's `.grad` for models below, above and across the line, on 40, 50 and 10 points.",
    starter='def mse_gradients(model, X, y):\n'
            '    """dL/dw and dL/db of the MSE loss of a LinearRegressionModel on (X, y), by the chain rule."""\n'
            '    with torch.no_grad():\n'
            '        e = ____          # the errors: prediction minus label\n'
            '    grad_w = ____         # dL/dw\n'
            '    grad_b = ____         # dL/db\n'
            '    return grad_w, grad_b',
    hint="Follow the notebook's L1 derivation step by step, with e² in place of |e|: the slope of e² (the right "
         "panel of the loss picture) is the first factor, and how e changes with each parameter is the second. "
         "nn.MSELoss averages over the points.",
    solution='def mse_gradients(model, X, y):\n'
             '    """dL/dw and dL/db of the MSE loss of a LinearRegressionModel on (X, y), by the chain rule."""\n'
             '    with torch.no_grad():\n'
             '        e = model(X) - y\n'
             '    grad_w = (2 * e * X).mean()\n'
             '    grad_b = (2 * e).mean()\n'
             '    return grad_w, grad_b',
)

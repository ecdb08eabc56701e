"""Exercises for notebook 04 (training loop): a training step, a learning rate, L1 gradients by hand."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._util import call, check_training_step, close, need, number

_ex = Exercises("ex04")
bind = _ex.bind


def _check_train_step(train_step: object) -> str:
    """The shared training-step checks, on the learner's train_step."""
    need(callable(train_step), "`train_step` should be a function train_step(model, X, y, loss_fn, optimizer).")
    check_training_step(lambda model, optimizer, loss_fn: lambda X, y: train_step(model, X, y, loss_fn, optimizer))
    return ("training mode, the loss before the update returned as a number, fresh gradients every call, and a "
            "step that moves the parameters downhill.")


q1 = _ex.problem(
    _check_train_step, names=("train_step",), title="The training step",
    task="Write the five numbered steps of the loop as a function `train_step(model, X, y, loss_fn, optimizer)` "
         "that returns the loss of its forward pass as a Python number. The check calls it: on a model left in "
         "eval mode, twice on one batch (the gradient must be one batch's gradient, not the sum of two), and "
         "it looks at the parameters and the loss after the step.",
    starter='def train_step(model, X, y, loss_fn, optimizer):\n'
            '    """One training step on (X, y); return the loss (before the update) as a Python number."""\n'
            '    ____           # 0. training mode\n'
            '    y_pred = ____  # 1. forward pass\n'
            '    loss = ____    # 2. loss\n'
            '    ____           # 3. zero the gradients\n'
            '    ____           # 4. backpropagation\n'
            '    ____           # 5. update the parameters\n'
            '    return ____',
    hint="model.train(); y_pred = model(X); loss = loss_fn(y_pred, y); optimizer.zero_grad(); loss.backward(); "
         "optimizer.step(); return loss.item(). The order matters: backward() adds to .grad, so clear it first.",
    solution='def train_step(model, X, y, loss_fn, optimizer):\n'
             '    """One training step on (X, y); return the loss (before the update) as a Python number."""\n'
             '    model.train()                # 0. training mode\n'
             '    y_pred = model(X)            # 1. forward pass\n'
             '    loss = loss_fn(y_pred, y)    # 2. loss\n'
             '    optimizer.zero_grad()        # 3. zero the gradients\n'
             '    loss.backward()              # 4. backpropagation\n'
             '    optimizer.step()             # 5. update the parameters\n'
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
         "started from. For this data the limit is about 0.86 (notebook 07 works it out).")
    distance = max(abs(w - 0.7), abs(b - 0.3))
    need(distance < 1e-3, f"after 100 epochs with lr = {lr}: weights {w:.4f}, bias {b:.4f}, still {distance:.4f} "
                          "from the answer. " + ("Too small a step: MSE's gradient shrinks near the answer, so "
                                                 "try a larger learning rate." if lr < 0.6 else
                                                 "Close to the limit the steps bounce across the valley: try "
                                                 "a little smaller."))
    return f"with lr = {lr}, 100 epochs of MSE + SGD end at weights {w:.4f}, bias {b:.4f}: within 0.001 of the truth."


q2 = _ex.problem(
    _check_lr, names=("lr_mse",), title="A learning rate that arrives",
    task="Find a learning rate `lr_mse` for MSE + plain SGD that takes the seed-42 `LinearRegressionModel` "
         "within 0.001 of weight 0.7 and bias 0.3 in 100 epochs on the 40 training points. The check trains "
         "with your number. Try 0.1, 0.5 and 1.0 first (Try it 1): which is too slow, which blows up?",
    starter='lr_mse = ____  # a learning rate for MSE + SGD, 100 epochs',
    hint="MSE's gradient shrinks near the answer, so MSE needs larger steps than L1: 0.01 crawls, 0.1 is still "
         "slow after 100 epochs. Too large, and each step overshoots: above about 0.86 the run diverges.",
    solution='lr_mse = 0.7',
)


def _check_l1_gradients(l1_gradients: object) -> str:
    """The formula's gradients equal autograd's for models below, above and across the line."""
    need(callable(l1_gradients), "`l1_gradients` should be a function l1_gradients(model, X, y).")
    X, y = helpers.make_line_data()
    cases = [("the seed-42 model (every error negative)", 42, None, 40), ("a model above the line", 0, (0.9, 0.5), 40),
             ("a model crossing the line (errors of both signs)", 0, (0.8, 0.25), 50), ("10 points", 1, None, 10)]
    for name, seed, params, n in cases:
        torch.manual_seed(seed)
        model = helpers.LinearRegressionModel()
        if params:
            with torch.no_grad():
                model.weights.fill_(params[0])
                model.bias.fill_(params[1])
        reference = copy.deepcopy(model)
        nn.L1Loss()(reference(X[:n]), y[:n]).backward()
        out = call(l1_gradients, model, X[:n], y[:n], case=f"For {name}")
        need(model.weights.grad is None and model.bias.grad is None,
             "you called backward(): the point is to get the gradients from the formula, without autograd.")
        need(isinstance(out, (tuple, list)) and len(out) == 2, "return two numbers: grad_w, grad_b.")
        got = [number("grad_w", out[0]), number("grad_b", out[1])]
        want = [reference.weights.grad.item(), reference.bias.grad.item()]
        if all(close(g, -w, 1e-4) for g, w in zip(got, want)) and not all(close(g, w, 1e-4) for g, w in zip(got, want)):
            raise Incorrect(f"for {name} your gradients have the opposite sign of autograd's: the error is "
                            "e = y_pred - y, prediction minus label.")
        if n > 1 and any(close(g, n * w, 1e-4) and abs(w) > 1e-6 for g, w in zip(got, want)):
            raise Incorrect(f"for {name} your gradients are {n} times autograd's: nn.L1Loss averages over the "
                            f"{n} points, so take the mean of sign(e) * x, not the sum.")
        need(all(close(g, w, 1e-4) for g, w in zip(got, want)), f"for {name}: yours {got[0]:.4f}, {got[1]:.4f}, "
             f"autograd's {want[0]:.4f}, {want[1]:.4f}. dL/dw is the mean of sign(e) * x, dL/db the mean of sign(e).")
    return "the formula agrees with autograd on every case: errors all negative, all positive, and mixed."


q3 = _ex.problem(
    _check_l1_gradients, names=("l1_gradients",), title="L1 gradients by the formula",
    task="Write `l1_gradients(model, X, y)` for a `LinearRegressionModel`: return dL/dw and dL/db of the L1 loss "
         "from the formula in the notebook, without calling `backward()`. The check compares them with "
         "autograd's `.grad` for models below, above and across the line.",
    starter='def l1_gradients(model, X, y):\n'
            '    """dL/dw and dL/db of the L1 loss of a LinearRegressionModel on (X, y), by the formula."""\n'
            '    with torch.no_grad():\n'
            '        e = ____          # the errors: prediction minus label\n'
            '    grad_w = ____         # the mean of sign(e) * x\n'
            '    grad_b = ____         # the mean of sign(e)\n'
            '    return grad_w, grad_b',
    hint="e = model(X) - y; torch.sign(e) is -1, 0 or +1 for each point; .mean() averages over the points, "
         "as nn.L1Loss does.",
    solution='def l1_gradients(model, X, y):\n'
             '    """dL/dw and dL/db of the L1 loss of a LinearRegressionModel on (X, y), by the formula."""\n'
             '    with torch.no_grad():\n'
             '        e = model(X) - y\n'
             '    grad_w = (torch.sign(e) * X).mean()\n'
             '    grad_b = torch.sign(e).mean()\n'
             '    return grad_w, grad_b',
)

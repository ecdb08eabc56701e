"""helpers.exercises.ex04 (notebook 04): starting code, solutions, and wrong answers refused with a message."""

from __future__ import annotations

import re

import pytest
import torch
from _exercises import ExerciseModule, verdict
from torch import nn

import helpers

SUM = "loss = loss_fn(Y_pred[:, 0], Y[:, 0]) + loss_fn(Y_pred[:, 1], Y[:, 1])"
TWO_BACKWARDS = '''def train_step_two(model, X, Y, loss_fn, optimizer):
    model.train()
    Y_pred = model(X)
    loss_0 = loss_fn(Y_pred[:, 0], Y[:, 0])
    loss_1 = loss_fn(Y_pred[:, 1], Y[:, 1])
    optimizer.zero_grad()
    loss_0.backward(retain_graph=True)
    optimizer.zero_grad()
    loss_1.backward()
    optimizer.step()
    return (loss_0 + loss_1).item()
'''

ZERO_LAST = TWO_BACKWARDS.split("    loss_0 =")[0] + '''\
    loss = loss_fn(Y_pred[:, 0], Y[:, 0]) + loss_fn(Y_pred[:, 1], Y[:, 1])
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()  # last: fine only if .grad was empty before the first call
    return loss.item()
'''
STEP_BEFORE_BACKWARD = ZERO_LAST.replace("""    loss.backward()
    optimizer.step()
    optimizer.zero_grad()  # last: fine only if .grad was empty before the first call
""", """    optimizer.zero_grad()
    optimizer.step()
    loss.backward()
""")
TWO_UPDATES = """def train_step_two(model, X, Y, loss_fn, optimizer):
    model.train()
    for j in range(2):
        optimizer.zero_grad()
        loss_fn(model(X)[:, j], Y[:, j]).backward()
        optimizer.step()
    with torch.no_grad():
        Y_pred = model(X)
    return (loss_fn(Y_pred[:, 0], Y[:, 0]) + loss_fn(Y_pred[:, 1], Y[:, 1])).item()
"""


def _notebook_names() -> dict:
    """What notebook 04 defines before its exercises, besides torch, nn and helpers: globals a wrong answer uses."""
    torch.manual_seed(42)
    model = helpers.LinearRegressionModel()
    X_train, y_train, X_val, y_val, X_test, y_test = helpers.train_val_test_split(*helpers.make_line_data(), 0.8, 0.1)
    return {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.01), "loss_fn": nn.L1Loss(),
            "X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val, "X_test": X_test, "y_test": y_test}


STEP = "    optimizer.step()  "
GRADS = "grad_w = (2 * e * X).mean()\n    grad_b = (2 * e).mean()"
CENTRAL = '''def mse_gradients(model, X, y):
    def loss(w, b):
        return ((w * X + b - y) ** 2).mean()
    w, b, h = model.weights.detach(), model.bias.detach(), 1e-2
    return (loss(w + h, b) - loss(w - h, b)) / (2 * h), (loss(w, b + h) - loss(w, b - h)) / (2 * h)
'''


class TestEx04(ExerciseModule):
    module = "ex04"
    names = _notebook_names()
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", (SUM, "loss = loss_fn(Y_pred, Y)"), "Call loss_fn once per column"),
        # right for the L1 loss only (it averages, both columns have 10 numbers): the second loss_fn refuses it
        ("q1", (SUM, "loss = 2 * loss_fn(Y_pred, Y)"), "Doubling the loss of all the numbers matched"),
        ("q1", (SUM, "loss = loss_fn(Y_pred[:, 0], Y[:, 0])"), "one column only"),
        ("q1", (SUM, "loss = (loss_fn(Y_pred[:, 0], Y[:, 0]) + loss_fn(Y_pred[:, 1], Y[:, 1])) / 2"),
         "the mean of the two columns' losses"),
        ("q1", ("return loss.item()", "return (loss_fn(model(X)[:, 0], Y[:, 0]) + loss_fn(model(X)[:, 1], Y[:, 1]))"
                                      ".item()"), "measured after the update"),
        ("q1", (SUM, "loss = loss_fn(Y_pred[:, 0], Y[:, 0:1]) + loss_fn(Y_pred[:, 1], Y[:, 1:2])"), "broadcast"),
        ("q1", ("    optimizer.step()  ", "    optimizer.step()\n    optimizer.step()  "), "2 times"),
        ("q1", ("    optimizer.zero_grad()  ", "    pass  "), "never cleared the gradients"),
        ("q1", ZERO_LAST, "comes after optimizer.step()"),
        ("q1", STEP_BEFORE_BACKWARD, "optimizer.step() ran before loss.backward()"),
        ("q1", ("    model.train()  ", "    pass  "), "eval mode"),
        ("q1", TWO_BACKWARDS, "only one column's gradient"),
        ("q1", ("return loss.item()", "return loss"), "returned a tensor"),
        ("q1", (SUM, "loss = nn.L1Loss()(Y_pred[:, 0], Y[:, 0]) + nn.L1Loss()(Y_pred[:, 1], Y[:, 1])"),
         "never called the loss_fn"),
        ("q1", ("    loss.backward()  ", "    optimizer.zero_grad()\n    loss.backward()\n    optimizer.zero_grad()  "),
         "cleared before optimizer.step()"),
        ("q1", (SUM, "loss = loss_fn(Y[:, 0], Y_pred[:, 0]) + loss_fn(Y[:, 1], Y_pred[:, 1])"),
         "called loss_fn(target, prediction)"),
        # one forward pass per column: the same value, but two passes (with dropout, two different networks)
        ("q1", ("    Y_pred = model(X)  ", "    Y_pred = torch.cat([model(X)[:, :1], model(X)[:, 1:]], dim=1)  "),
         "ran the model 2 times"),
        # the notebook's optimizer instead of the argument (here named opt)
        ("q1", ("train_step_two(model, X, Y, loss_fn, optimizer):", "train_step_two(model, X, Y, loss_fn, opt):"),
         "another optimizer"),
        ("q1", (STEP, "    with torch.no_grad():\n        for p in model.parameters():\n"
                      "            p -= 0.01 * p.grad  "), "the parameters changed, but your step never called optimizer.step()"),
        ("q1", ("    return loss.item()", "    global total\n    total = globals().get('total', 0.0) + loss.item()\n"
                                         "    return total"), "leaks from call to call"),
        ("q1", TWO_UPDATES, "called optimizer.step() 2 times"),  # one update per column, then the loss after both
        ("q2", "lr_mse = 0.58", "still 0.00105 from the answer"),
        ("q2", "lr_mse = 0.1", "Too small a step"),
        ("q2", "lr_mse = 1.0", "blew up"),
        ("q2", "lr_mse = 0.85", "bounce across the valley"),
        ("q2", "lr_mse = -0.5", "positive step size"),
        ("q3", ("model(X) - y", "y - model(X)"), "opposite sign"),
        ("q3", ("grad_w = (2 * e * X).mean()\n    grad_b = (2 * e).mean()",
                "grad_w = (torch.sign(e) * X).mean()\n    grad_b = torch.sign(e).mean()"), "L1 gradients"),
        ("q3", ("grad_w = (2 * e * X).mean()\n    grad_b = (2 * e).mean()",
                "grad_w = (e * X).mean()\n    grad_b = e.mean()"), "half of autograd's"),
        ("q3", ("grad_w = (2 * e * X).mean()\n    grad_b = (2 * e).mean()",
                "grad_w = (2 * e * X).sum()\n    grad_b = (2 * e).sum()"), "times autograd's"),
        ("q3", ("(2 * e * X).mean()", "(2 * e).mean()"), "dL/dw equals dL/db"),
        ("q3", ("    return grad_w, grad_b", "    nn.MSELoss()(model(X), y).backward()\n"
                                            "    return model.weights.grad, model.bias.grad"), "you used autograd"),
        ("q3", ("    return grad_w, grad_b", "    return torch.autograd.grad(nn.MSELoss()(model(X), y), "
                                            "[model.weights, model.bias])"), "you used autograd"),
        ("q3", ("    return grad_w, grad_b", "    with torch.enable_grad():\n"
                                            "        w = model.weights.detach().clone().requires_grad_(True)\n"
                                            "        b = model.bias.detach().clone().requires_grad_(True)\n"
                                            "        L = ((w * X + b - y) ** 2).mean()\n"
                                            "        return torch.autograd.grad(L, [w, b])"), "torch.autograd.grad"),
        ("q3", ("    return grad_w, grad_b", "    import copy\n    m = copy.deepcopy(model)\n"
                                            "    with torch.enable_grad():\n"
                                            "        torch.nn.functional.mse_loss(m(X), y).backward()\n"
                                            "    return m.weights.grad, m.bias.grad"), "you used autograd (backward()"),
        ("q3", ("    return grad_w, grad_b", "    return torch.func.grad(lambda p: ((p[0] * X + p[1] - y) ** 2).mean())("
                                            "torch.cat([model.weights, model.bias]))"), "you used autograd"),
        ("q3", "def mse_gradients(model, X, y):\n    with torch.inference_mode():\n"
               "        e = model(X_train) - y_train\n    return (2 * e * X_train).mean(), (2 * e).mean()\n",
         "ignores the y and X it is given"),
        ("q3", ("model(X) - y", "model(X) - y_train"), "the notebook's y_train lies on it"),
        ("q3", ("    with torch.inference_mode():", "    model = globals()['model']\n    with torch.inference_mode():"),
         "ignores the model it is given"),
        ("q3", (GRADS, "grad_w = (2 * e.abs() * X).mean()\n    grad_b = (2 * e.abs()).mean()"), "absolute error |e|"),
        ("q3", (GRADS, "grad_w = (2 * e * X).sum() / 40\n    grad_b = (2 * e).sum() / 40"), "divided by 40"),
        ("q3", ("return grad_w, grad_b", "return grad_b, grad_w"), "returned dL/db first"),
        ("q3", ("(2 * e).mean()", "(2 * e * X).mean()"), "dL/db equals dL/dw"),
        # agrees on labels that lie on the line; refused on noisy labels
        ("q3", ("model(X) - y", "model(X) - (0.7 * X + 0.3)"), "not with the labels y"),
    ]


def _step(model, X, y, loss_fn, optimizer, *, steps=1, loss=None, order="zbs"):
    """A training step with a chosen number of optimizer.step() calls, optionally its own loss, and an order of
    zero_grad (z, or m for the model's own), backward (b) and step (s)."""
    model.train()
    value = (loss or loss_fn)(model(X), y)
    calls = {"z": optimizer.zero_grad, "m": model.zero_grad, "b": value.backward,
             "s": lambda: [optimizer.step() for _ in range(steps)]}
    for c in order:
        calls[c]()
    return value.item()


def test_the_shared_step_check_counts_the_updates_and_wants_the_given_loss():
    """helpers.exercises._steps.check_training_step: one step() per call, the loss_fn given."""
    import pytest
    from torch import nn

    from helpers.exercises._core import Incorrect
    from helpers.exercises._steps import check_training_step

    check_training_step(lambda model, opt, loss_fn: lambda X, y: _step(model, X, y, loss_fn, opt))
    with pytest.raises(Incorrect, match="called optimizer.step\\(\\) 2 times"):
        check_training_step(lambda model, opt, loss_fn: lambda X, y: _step(model, X, y, loss_fn, opt, steps=2))
    with pytest.raises(Incorrect, match="never called the loss function it was given"):
        check_training_step(lambda model, opt, loss_fn: lambda X, y: _step(model, X, y, loss_fn, opt,
                                                                          loss=nn.MSELoss()))


def test_the_shared_step_check_names_what_a_wrong_order_did():
    """An old gradient is left in .grad before the first call, so where zero_grad() stands shows in the update."""
    import pytest

    from helpers.exercises._core import Incorrect
    from helpers.exercises._steps import check_training_step

    check_training_step(lambda model, opt, loss_fn: lambda X, y: _step(model, X, y, loss_fn, opt, order="mbs"))
    wrong = {"zsb": "ran before loss.backward()", "szb": "ran before loss.backward()",
             "bsz": "comes after optimizer.step()", "bs": "never cleared the gradients",
             "bzs": "cleared before optimizer.step()", "zb": "never called optimizer.step()",
             "zs": "never called loss.backward()"}
    for order, fragment in wrong.items():
        with pytest.raises(Incorrect, match=re.escape(fragment)):
            check_training_step(lambda model, opt, loss_fn: lambda X, y: _step(model, X, y, loss_fn, opt, order=order))


@pytest.mark.parametrize("answer", [
    CENTRAL,  # exact for a quadratic: accepted, and the message says why it agrees
    "def mse_gradients(model, X, y):\n    import numpy as np\n    with torch.inference_mode():\n"
    "        e = (model(X) - y).numpy()\n    return float(np.mean(2 * e * X.numpy())), float(np.mean(2 * e))\n",
])
def test_other_right_ways_to_get_the_mse_gradients_are_accepted(answer):
    result = verdict("ex04", "q3", answer, TestEx04.names)
    assert result.state == "correct" and "central difference" in result.message, result

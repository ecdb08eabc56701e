"""helpers.exercises.ex04 (notebook 04): starting code, solutions, and wrong answers refused with a message."""

from __future__ import annotations

import re

from _exercises import ExerciseModule

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


class TestEx04(ExerciseModule):
    module = "ex04"
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
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
    """helpers.exercises._util.check_training_step (also used by ex12): one step() per call, the loss_fn given."""
    import pytest
    from torch import nn

    from helpers.exercises._core import Incorrect
    from helpers.exercises._util import check_training_step

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
    from helpers.exercises._util import check_training_step

    check_training_step(lambda model, opt, loss_fn: lambda X, y: _step(model, X, y, loss_fn, opt, order="mbs"))
    wrong = {"zsb": "ran before loss.backward()", "szb": "ran before loss.backward()",
             "bsz": "comes after optimizer.step()", "bs": "never cleared the gradients",
             "bzs": "cleared before optimizer.step()", "zb": "never called optimizer.step()",
             "zs": "never called loss.backward()"}
    for order, fragment in wrong.items():
        with pytest.raises(Incorrect, match=re.escape(fragment)):
            check_training_step(lambda model, opt, loss_fn: lambda X, y: _step(model, X, y, loss_fn, opt, order=order))

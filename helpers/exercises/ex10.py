"""Exercises for notebook 10 (testing and debugging): gradients that reach every layer, the initial loss, a test."""

from __future__ import annotations

import math

import torch
from torch import nn

import helpers

from ._core import Exercises
from ._util import call, close, need, number

_ex = Exercises("ex10")
bind = _ex.bind


class _Patient(nn.Module):
    """A model with a layer forward never uses and a layer whose output is multiplied by zero."""

    def __init__(self) -> None:
        super().__init__()
        self.used, self.unused, self.blocked = nn.Linear(2, 3), nn.Linear(3, 3), nn.Linear(2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The used layer, plus the blocked one times zero."""
        return self.used(x) + 0.0 * self.blocked(x)


def _check_params_that_cannot_learn(params_that_cannot_learn: object) -> str:
    """Unused and blocked parameters found, stale gradients cleared first."""
    need(callable(params_that_cannot_learn), "`params_that_cannot_learn` should be a function "
                                             "params_that_cannot_learn(model, X, y, loss_fn).")
    torch.manual_seed(0)
    X, y, loss_fn = torch.rand(6, 2), torch.rand(6, 3), nn.MSELoss()
    clean = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3))
    got = call(params_that_cannot_learn, clean, X, y, loss_fn, case="For a model where every layer learns")
    need(isinstance(got, (list, tuple)), f"return a list of names, got {type(got).__name__}.")
    need(list(got) == [], f"for a model where every parameter gets a gradient you returned {list(got)}: did your "
                          "function run loss_fn(model(X), y).backward()?")
    model = _Patient()
    for p in model.unused.parameters():
        p.grad = torch.ones_like(p)  # left over from an earlier backward pass
    got = list(call(params_that_cannot_learn, model, X, y, loss_fn, case="For a model with an unused layer"))
    want = ["unused.weight", "unused.bias", "blocked.weight", "blocked.bias"]
    need(not any(n.startswith("used") for n in got), f"you listed {got}, but `used` does get a gradient.")
    need("unused.weight" in got, "a gradient left over from an earlier backward() hid the layer that forward never "
                                 "uses: clear the gradients first, model.zero_grad(set_to_none=True).")
    need("blocked.weight" in got, "`blocked` gets a gradient of all zeros (its output is multiplied by 0), so it "
                                  "cannot learn either: also list parameters whose .grad has no non-zero entry.")
    need(sorted(got) == sorted(want), f"you returned {got}, expected {want}.")
    return "both kinds of blocked parameter found (never used, and all-zero gradients), and nothing on a healthy model."


q1 = _ex.problem(
    _check_params_that_cannot_learn, names=("params_that_cannot_learn",),
    title="Do the gradients reach every layer?",
    task="Write the gradient check of section 6 in your own words, as `params_that_cannot_learn(model, X, y, "
         "loss_fn)`: clear the old gradients, run one forward "
         "pass, the loss and `backward()`, and return the names of the parameters whose `.grad` is `None` or all "
         "zeros. The check calls it on a healthy model and on one with a layer that `forward` never uses (its "
         "gradients left over from an earlier pass) and a layer whose output is multiplied by 0.",
    starter='def params_that_cannot_learn(model, X, y, loss_fn):\n'
            '    """Names of the parameters whose .grad is None or all zeros after one backward pass."""\n'
            '    ____                   # clear the old gradients\n'
            '    ____                   # one forward pass, the loss, backward()\n'
            '    return [name for name, p in model.named_parameters() if ____]',
    hint="model.zero_grad(set_to_none=True) clears; loss_fn(model(X), y).backward() fills .grad; keep the names "
         "where p.grad is None or not p.grad.any().",
    solution='def params_that_cannot_learn(model, X, y, loss_fn):\n'
             '    """Names of the parameters whose .grad is None or all zeros after one backward pass."""\n'
             '    model.zero_grad(set_to_none=True)\n'
             '    loss_fn(model(X), y).backward()\n'
             '    return [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]',
)


def _check_initial_loss(initial_loss_5: object) -> str:
    """log(5), the loss of an even guess over 5 classes."""
    got = number("initial_loss_5", initial_loss_5)
    need(not close(got, math.log(10), 1e-3), "log(10) is the start for 10 classes; this model has 5.")
    need(not close(got, 0.2, 1e-3), "0.2 = 1/5 is the probability a clueless model gives each class; the "
                                    "cross-entropy is minus the log of that probability.")
    need(not close(got, -math.log(5), 1e-3), "a loss is never negative: it is minus the log of a probability, "
                                             "-log(1/5) = log(5).")
    need(close(got, math.log(5), 1e-2), f"{got:.4f} is not the loss of a model that spreads its probability "
                                        "evenly over 5 classes: -log(1/5).")
    return f"log(5) = {math.log(5):.4f}: a model that knows nothing gives each of 5 classes a probability of 1/5."


q2 = _ex.problem(
    _check_initial_loss, names=("initial_loss_5",), title="The initial loss for 5 classes",
    task="A fresh classifier for the digits 0-4 only has five classes (Try it 2). What cross-entropy loss do you "
         "expect before any training? Write the number, check it, then measure it with "
         "`DigitCNN(num_classes=5)` on those images.",
    starter='initial_loss_5 = ____  # the expected loss of an untrained 5-class model',
    hint="An untrained model gives each class about the same probability, 1/C. The cross-entropy is minus the "
         "log of the probability of the true class.",
    solution='initial_loss_5 = math.log(5)  # -log(1/5), about 1.609',
)


def _step_without_update(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                         optimizer: torch.optim.Optimizer) -> float:
    """A broken step: no optimizer.step()."""
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def _step_uphill(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                 optimizer: torch.optim.Optimizer) -> float:
    """A broken step: it moves the parameters with the gradient, uphill."""
    loss = helpers.train_step(model, X, y, loss_fn, optimizer)
    with torch.no_grad():
        for p in model.parameters():
            p += 2 * optimizer.param_groups[0]["lr"] * p.grad
    return loss


def _check_test(test_step_lowers_loss: object) -> str:
    """The learner's test passes the correct step and fails two broken ones."""
    need(callable(test_step_lowers_loss), "`test_step_lowers_loss` should be a function test_step_lowers_loss(step).")

    def failure(step: object) -> AssertionError | None:
        """The AssertionError the learner's test raises for `step`, or None if it passes."""
        try:
            test_step_lowers_loss(step)
        except AssertionError as err:
            return err
        return None

    failed = call(failure, helpers.train_step, case="Given the correct helpers.train_step")
    need(failed is None, f"your test failed the correct helpers.train_step ({failed}): a test must pass working code.")
    for step, what in [(_step_without_update, "never calls optimizer.step()"),
                       (_step_uphill, "moves the parameters uphill")]:
        need(call(failure, step, case=f"Given a step that {what}") is not None, f"your test passed a step that "
             f"{what}: a test that cannot fail checks nothing. Assert that the loss after the step is lower.")
    return "it passes the correct step and fails the two broken ones: a test that can fail."


q3 = _ex.problem(
    _check_test, names=("test_step_lowers_loss",), title="A test that can fail",
    task="Complete `test_step_lowers_loss(step)`, a pytest-style test: it measures the loss on a fixed batch, "
         "runs one `step(model, X, y, loss_fn, optimizer)` and asserts that the loss went down. The check runs "
         "your test on `helpers.train_step` (it must pass) and on two broken steps (it must fail with "
         "`AssertionError`).",
    starter='def test_step_lowers_loss(step):\n'
            '    """One call of step(model, X, y, loss_fn, optimizer) must lower the loss on a fixed batch."""\n'
            '    torch.manual_seed(0)\n'
            '    model, loss_fn = helpers.LinearRegressionModel(), nn.MSELoss()\n'
            '    X, y = helpers.make_line_data()\n'
            '    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n'
            '    before = ____          # the loss on (X, y) before the step, as a number\n'
            '    step(model, X, y, loss_fn, optimizer)\n'
            '    after = ____           # the loss after the step\n'
            '    assert ____, f"the loss went from {before:.4f} to {after:.4f}"',
    hint="Measure with torch.no_grad() (or inference_mode): loss_fn(model(X), y).item(), before and after. "
         "`assert after < before`: a step that changes nothing must fail too, so not <=.",
    solution='def test_step_lowers_loss(step):\n'
             '    """One call of step(model, X, y, loss_fn, optimizer) must lower the loss on a fixed batch."""\n'
             '    torch.manual_seed(0)\n'
             '    model, loss_fn = helpers.LinearRegressionModel(), nn.MSELoss()\n'
             '    X, y = helpers.make_line_data()\n'
             '    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n'
             '    with torch.no_grad():\n'
             '        before = loss_fn(model(X), y).item()\n'
             '    step(model, X, y, loss_fn, optimizer)\n'
             '    with torch.no_grad():\n'
             '        after = loss_fn(model(X), y).item()\n'
             '    assert after < before, f"the loss went from {before:.4f} to {after:.4f}"',
)

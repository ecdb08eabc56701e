"""Checks of a training step: a model that records its modes, a log of zero_grad/backward/step, where an update
should land, and the shared check of a one-output step."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn

from ._core import Incorrect
from ._util import call, close, need

__all__ = ["ModeProbe", "RecordingLoss", "StepLog", "check_one_batch_gradient", "check_training_step", "check_update",
           "loss_as_number", "sgd_at", "stale_gradients"]


class ModeProbe(nn.Module):
    """One nn.Linear(1, outputs) that records whether each forward pass ran in training mode."""

    def __init__(self, outputs: int = 1) -> None:
        super().__init__()
        self.linear, self.modes = nn.Linear(1, outputs), []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Record the mode, then compute the outputs: shape [N, outputs]."""
        self.modes.append(self.training)
        return self.linear(x)


class RecordingLoss(nn.Module):
    """The loss_fn handed to the learner's step: `loss`, recording each call's prediction, target and value."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss, self.calls = loss, []

    def forward(self, y_pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss, recorded."""
        value = self.loss(y_pred, target)
        self.calls.append((y_pred, target, float(value.detach().sum())))
        return value


class StepLog:
    """What a training step did, in order: "zero_grad" (model's or optimizer's), "backward", "step"."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.events: list[str] = []
        for p in model.parameters():
            p.register_post_accumulate_grad_hook(self._backward)
        optimizer.register_step_pre_hook(lambda *_: self.events.append("step"))
        for owner in (optimizer, model):
            owner.zero_grad = self._logged(owner.zero_grad)

    def _backward(self, _: torch.Tensor) -> None:
        """A gradient was accumulated: one backward() fires this once per parameter, logged once."""
        if self.events[-1:] != ["backward"]:
            self.events.append("backward")

    def _logged(self, zero_grad: Callable) -> Callable:
        """zero_grad, recorded in the log before it runs."""
        def wrapper(*args: object, **kwargs: object) -> object:
            self.events.append("zero_grad")
            return zero_grad(*args, **kwargs)
        return wrapper


def stale_gradients(model: nn.Module) -> list[torch.Tensor]:
    """Fill every parameter's .grad with an old gradient, as an earlier backward() leaves it; return copies."""
    for i, p in enumerate(model.parameters()):
        p.grad = torch.full_like(p, 0.5 - 0.75 * i)
    return [p.grad.clone() for p in model.parameters()]


def sgd_at(model: nn.Module, start: list[torch.Tensor], grads: list[torch.Tensor], lr: float) -> bool:
    """True if the model's parameters are one plain SGD step (rate lr) from `start` along `grads`."""
    return all(close(p.detach(), s - lr * g, 1e-6) for p, s, g in zip(model.parameters(), start, grads))


def loss_as_number(out: object, nothing: str = "your step returned nothing: return the loss.") -> float:
    """What a step returned, if it is a Python float; else raise Incorrect (`nothing`: the message for None)."""
    need(out is not None, nothing)
    need(not isinstance(out, torch.Tensor), "your step returned a tensor: return loss.item(), a Python number.")
    need(isinstance(out, float), f"your step returned {type(out).__name__}: return loss.item(), a Python number.")
    return out


def check_update(model: nn.Module, start: list[torch.Tensor], fresh: list[torch.Tensor],
                 stale: list[torch.Tensor], lr: float, log: StepLog) -> bool:
    """True if the parameters are one plain SGD step (rate lr) from `start` along this batch's gradient `fresh`.

    Otherwise raise Incorrect naming what the step did wrong (from `log` and from where the parameters are;
    .grad held `stale` before the call), or return False when no diagnosis fits."""
    if sgd_at(model, start, fresh, lr):
        return True
    events = log.events
    if "step" not in events:
        need(all(torch.equal(p.detach(), s) for p, s in zip(model.parameters(), start)),
             "the parameters changed, but your step never called optimizer.step(): an update by hand "
             "(p -= lr * p.grad) ignores the optimizer it was given (its learning rate, momentum, state). Let "
             "optimizer.step() make the update.")
        raise Incorrect("the parameters did not change: your step never called optimizer.step() on the optimizer "
                        "it was given.")
    need("backward" in events, "your step never called loss.backward(), so there were no gradients of this batch "
                               "for optimizer.step() to use.")
    first_step = events.index("step")
    need(events.index("backward") < first_step,
         "optimizer.step() ran before loss.backward(): when it ran, this batch's gradients did not exist yet, so "
         "it used whatever .grad held (nothing after zero_grad(), or an old gradient). The order is "
         "zero_grad(), backward(), step().")
    last_backward = max(i for i, e in enumerate(events[:first_step]) if e == "backward")
    need("zero_grad" not in events[last_backward:first_step],
         "the parameters did not change: zero_grad() ran between loss.backward() and "
         "optimizer.step(), so the gradients were cleared before optimizer.step() used them. Clear them at the "
         "start of the step, before backward().")
    if sgd_at(model, start, [f + s for f, s in zip(fresh, stale)], lr):
        if "zero_grad" in events[first_step:]:
            raise Incorrect("zero_grad() comes after optimizer.step() in your step, so the update used this "
                            "batch's gradient plus whatever .grad held before the call (the check left an old "
                            "gradient there, as an earlier backward() leaves it). Clear the gradients at the start: "
                            "zero_grad() before loss.backward().")
        raise Incorrect("your step never cleared the gradients: backward() added this batch's gradient to the old "
                        "one already in .grad (the check left one there, as an earlier backward() leaves it), and "
                        "the update used the sum. Call optimizer.zero_grad() before loss.backward().")
    return False


def check_one_batch_gradient(model: nn.Module, one_batch: list[torch.Tensor], doubled: str, other: str) -> None:
    """After two calls on one batch, .grad must hold that batch's gradient `one_batch` (or nothing); raise Incorrect
    with `doubled` if it holds twice that, with `other` if anything else."""
    for p, r in zip(model.parameters(), one_batch):
        if p.grad is not None and close(p.grad, 2 * r) and not close(p.grad, r):
            raise Incorrect(doubled)
        need(p.grad is None or close(p.grad, r), other)


def check_training_step(make: Callable[[nn.Module, torch.optim.Optimizer, Callable], Callable]) -> None:
    """Check a training step built by make(model, optimizer, loss_fn) -> run(X, y) -> the loss it returns.

    The step must use training mode, use the loss function it is given, return the loss before the update
    as a Python number, call optimizer.step() once, and update with this batch's gradient alone: the model
    starts in eval mode with an old gradient in .grad (as an earlier backward() leaves it), so zero_grad()
    must come before backward(), and backward() before step(). Two calls on one batch: one batch's gradient.
    """
    X = torch.arange(0, 1, 0.1).unsqueeze(1)
    y, mse = 0.7 * X + 0.3, nn.MSELoss()
    loss_fn = RecordingLoss(mse)  # a step that builds its own loss never calls it
    torch.manual_seed(0)
    model = ModeProbe().eval()  # as an evaluation at the end of an epoch leaves it
    before_params = [p.detach().clone() for p in model.parameters()]
    fresh = torch.autograd.grad(mse(model(X), y), list(model.parameters()))
    with torch.no_grad():
        loss_before = mse(model(X), y).item()
    model.modes.clear()
    stale = stale_gradients(model)
    optimizer, steps = torch.optim.SGD(model.parameters(), lr=0.1), []
    optimizer.register_step_post_hook(lambda *_: steps.append(1))
    log = StepLog(model, optimizer)
    out = call(make(model, optimizer, loss_fn), X, y, case="Called once")
    need(model.modes, "your step never called the model: the forward pass is y_pred = model(X).")
    need(model.modes[0], "the forward pass ran in eval mode: start the step with model.train() (dropout needs it).")
    loss_as_number(out)
    need(math.isclose(out, loss_before, rel_tol=1e-5),
         f"your step returned {out:.4f}, but the loss of its forward pass was {loss_before:.4f}.")
    need(loss_fn.calls, "your step never called the loss function it was given: loss = loss_fn(y_pred, y), "
                          "so that the same step works with any loss.")
    need(len(steps) <= 1, f"one call of your step called optimizer.step() {len(steps)} times: that is "
                          f"{len(steps)} updates for one batch. Call it once per step.")
    need(check_update(model, before_params, list(fresh), stale, 0.1, log),
         "the parameters after your step are not where one SGD step on this batch's loss puts them: "
         "zero_grad(), then loss.backward(), then one optimizer.step().")
    torch.manual_seed(0)
    model = ModeProbe()
    reference = copy.deepcopy(model)
    mse(reference(X), y).backward()  # one batch's gradient
    run = make(model, torch.optim.SGD(model.parameters(), lr=0.0), loss_fn)  # lr 0: the parameters stay put
    for _ in range(2):
        call(run, X, y, case="Called twice on one batch")
    check_one_batch_gradient(model, [p.grad for p in reference.parameters()],
                             "the gradients doubled after two calls: was optimizer.zero_grad() called before "
                             "loss.backward()?", "after two calls the gradients are not one batch's gradient: zero "
                             "them with optimizer.zero_grad() before loss.backward().")

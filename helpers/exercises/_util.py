"""Small tools the exercise checkers share: call the learner's code, test values, check a training step."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn

from ._blank import BlankError
from ._core import Incorrect, NotAttempted, _one_line

__all__ = ["call", "check_training_step", "close", "need", "number", "shape", "tensor"]


def need(condition: object, message: str) -> None:
    """Raise Incorrect(message) unless `condition` holds."""
    if not condition:
        raise Incorrect(message)


def call(fn: Callable, *args: object, case: str, **kwargs: object) -> object:
    """Call the learner's `fn`; an error becomes Incorrect naming the case (a blank: not attempted)."""
    try:
        return fn(*args, **kwargs)
    except (BlankError, Incorrect, NotAttempted):
        raise
    except Exception as err:  # noqa: BLE001 - the learner's error becomes a verdict
        if "____" in str(err) or "Blank" in str(err):
            raise BlankError(str(err)) from None
        raise Incorrect(f"{case}, your code raised {_one_line(err)}") from None


def shape(t: torch.Tensor) -> str:
    """A tensor's shape as the learner reads it: [50, 1]."""
    return str(list(t.shape))


def tensor(name: str, value: object, *, shape_: tuple[int, ...] | None = None) -> torch.Tensor:
    """Return `value` if it is a tensor (of shape `shape_`), else raise Incorrect naming it."""
    need(isinstance(value, torch.Tensor), f"`{name}` should be a tensor, got {type(value).__name__}.")
    if shape_ is not None:
        need(tuple(value.shape) == shape_, f"`{name}` has shape {shape(value)}, expected {list(shape_)}.")
    return value


def number(name: str, value: object) -> float:
    """Return `value` as a float (a Python number or a one-element tensor), else raise Incorrect."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.item())
    need(isinstance(value, (int, float)) and not isinstance(value, bool),
         f"`{name}` should be a number, got {type(value).__name__}.")
    return float(value)


def close(a: object, b: object, tol: float = 1e-5) -> bool:
    """True if two numbers or tensors agree within a relative and absolute tolerance `tol`."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
        return a.shape == b.shape and torch.allclose(a, b, rtol=tol, atol=tol)
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=tol)


class _Probe(nn.Module):
    """A straight line that records whether each forward pass ran in training mode."""

    def __init__(self) -> None:
        super().__init__()
        self.linear, self.modes = nn.Linear(1, 1), []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Record the mode, then compute the line."""
        self.modes.append(self.training)
        return self.linear(x)


def _grads(model: nn.Module) -> list[torch.Tensor | None]:
    """Copies of the parameters' gradients (None where there is none)."""
    return [None if p.grad is None else p.grad.clone() for p in model.parameters()]


def check_training_step(make: Callable[[nn.Module, torch.optim.Optimizer, Callable], Callable]) -> None:
    """Check a training step built by make(model, optimizer, loss_fn) -> run(X, y) -> the loss it returns.

    The step must use training mode, use the loss function it is given, return the loss before the update
    as a Python number, call optimizer.step() once, change the parameters, lower the loss, and zero the
    gradients (two calls on one batch: one batch's gradient).
    """
    X = torch.arange(0, 1, 0.1).unsqueeze(1)
    y, mse, losses_computed = 0.7 * X + 0.3, nn.MSELoss(), []

    def loss_fn(y_pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The MSE loss, counting its calls (a step that builds its own loss never calls it)."""
        losses_computed.append(1)
        return mse(y_pred, target)

    torch.manual_seed(0)
    model = _Probe().eval()  # as an evaluation at the end of an epoch leaves it
    before_params = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        loss_before = mse(model(X), y).item()
    model.modes.clear()
    optimizer, steps = torch.optim.SGD(model.parameters(), lr=0.1), []
    optimizer.register_step_post_hook(lambda *_: steps.append(1))
    out = call(make(model, optimizer, loss_fn), X, y, case="Called once")
    need(model.modes, "your step never called the model: the forward pass is y_pred = model(X).")
    need(model.modes[0], "the forward pass ran in eval mode: start the step with model.train() (dropout needs it).")
    need(out is not None, "your step returned nothing: return the loss.")
    need(not isinstance(out, torch.Tensor), "your step returned a tensor: return loss.item(), a Python number.")
    need(isinstance(out, float), f"your step returned {type(out).__name__}: return loss.item(), a Python number.")
    need(math.isclose(out, loss_before, rel_tol=1e-5),
         f"your step returned {out:.4f}, but the loss of its forward pass was {loss_before:.4f}.")
    need(losses_computed, "your step never called the loss function it was given: loss = loss_fn(y_pred, y), "
                          "so that the same step works with any loss.")
    need(len(steps) <= 1, f"one call of your step called optimizer.step() {len(steps)} times: that is "
                          f"{len(steps)} updates for one batch. Call it once per step.")
    moved = any(not torch.equal(p, q) for p, q in zip(model.parameters(), before_params))
    if not moved and all(g is None for g in _grads(model)):
        raise Incorrect("the parameters did not change: the gradients were cleared before optimizer.step() "
                        "used them (zero_grad() belongs before loss.backward()).")
    need(moved, "the parameters did not change: was optimizer.step() called after loss.backward()?")
    with torch.no_grad():
        need(mse(model(X), y).item() < loss_before, "the loss went up after your step: step against the gradient.")
    torch.manual_seed(0)
    model = _Probe()
    reference = copy.deepcopy(model)
    mse(reference(X), y).backward()  # one batch's gradient
    run = make(model, torch.optim.SGD(model.parameters(), lr=0.0), loss_fn)  # lr 0: the parameters stay put
    for _ in range(2):
        call(run, X, y, case="Called twice on one batch")
    for g, r in zip(_grads(model), _grads(reference)):
        if g is not None and close(g, 2 * r) and not close(g, r):
            raise Incorrect("the gradients doubled after two calls: was optimizer.zero_grad() called before "
                            "loss.backward()?")
        need(g is None or close(g, r), "after two calls the gradients are not one batch's gradient: "
                                       "zero them with optimizer.zero_grad() before loss.backward().")

"""Watch the torch operations a learner's code runs: refuse autograd's while a check calls it."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.overrides import TorchFunctionMode

from ._core import Incorrect
from ._util import call, need

__all__ = ["NoAutograd", "without_autograd"]


class NoAutograd(TorchFunctionMode):
    """Refuse backward() and torch.autograd.grad (in any spelling, even behind torch.enable_grad()) while active."""

    _AUTOGRAD = {torch.Tensor.backward: "backward()", torch.autograd.backward: "torch.autograd.backward",
                 torch.autograd.grad: "torch.autograd.grad"}

    def __torch_function__(self, func: Callable, types: tuple, args: tuple = (), kwargs: dict | None = None) -> object:
        """Run every torch function as it is, except autograd's, which ends the check."""
        if func in self._AUTOGRAD:
            raise Incorrect(f"you used autograd ({self._AUTOGRAD[func]}), which the check refuses even behind "
                            "torch.enable_grad() or on a copy of the model: get the gradients from the chain rule, "
                            "with tensor arithmetic on the errors.")
        return func(*args, **(kwargs or {}))


def without_autograd(fn: Callable, model: torch.nn.Module, *args: object, case: str) -> object:
    """Call the learner's fn(model, *args) with autograd off and refused; no parameter may get a gradient."""
    with torch.no_grad(), NoAutograd():
        out = call(fn, model, *args, case=case)
    need(all(p.grad is None for p in model.parameters()),
         "you called backward(): the point is to get the gradients from the chain rule, without autograd.")
    return out

"""Watch the torch operations a learner's code runs: refuse autograd's while a check calls it, or count those run
on a tensor."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.overrides import TorchFunctionMode

from ._core import Incorrect
from ._util import call, need

__all__ = ["NoAutograd", "WatchedTensor", "without_autograd"]


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


class WatchedTensor(torch.Tensor):
    """A tensor that counts the PyTorch operations run on it and notes .tolist(), .numpy() and in-place changes."""

    operations, inputs, in_place, converted = 0, (), [], []
    CHANGES = {"__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__"}

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        """Count the operation (noting a conversion, or a change of an input in place), then run it as usual."""
        WatchedTensor.operations += 1
        name = getattr(func, "__name__", "")
        if name in ("tolist", "numpy"):
            WatchedTensor.converted.append(name)
        if args and any(args[0] is t for t in WatchedTensor.inputs) and (
                name in cls.CHANGES or (name.endswith("_") and not name.startswith("_"))):
            WatchedTensor.in_place.append(name)
        return super().__torch_function__(func, types, args, kwargs or {})

    @classmethod
    def watch(cls, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Watched copies of the inputs (the originals stay as they are), with a fresh count."""
        cls.inputs = tuple(t.clone().as_subclass(cls) for t in inputs)
        cls.operations, cls.in_place, cls.converted = 0, [], []
        return cls.inputs

"""Small tools the exercise checkers share: call the learner's code, test its values."""

from __future__ import annotations

import contextlib
import math
import operator
from collections.abc import Callable, Iterator

import torch

from ._blank import BlankError
from ._core import Incorrect, NotAttempted, _one_line

__all__ = ["call", "close", "need", "number", "replaced", "shape", "tensor", "whole"]


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


def whole(v: object) -> int | None:
    """v as an int if it is a whole number (an int, a NumPy integer; never True or False), else None."""
    if isinstance(v, (bool, torch.Tensor)):
        return None
    try:
        return operator.index(v)
    except TypeError:
        return None


def close(a: object, b: object, tol: float = 1e-5) -> bool:
    """True if two numbers or tensors agree within a relative and absolute tolerance `tol`."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
        return a.shape == b.shape and torch.allclose(a, b, rtol=tol, atol=tol)
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=tol)


@contextlib.contextmanager
def replaced(owner: object, name: str, replacement: object) -> Iterator[None]:
    """owner.name is `replacement` inside the block, then what it was (an object's own attribute removed again, so
    that its class's method shows through)."""
    own, real = name in vars(owner), getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        if own:
            setattr(owner, name, real)
        else:
            vars(owner).pop(name, None)

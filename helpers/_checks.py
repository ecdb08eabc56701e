"""Argument checks shared by the helpers: each raises a plain-words error naming the argument."""

import math
from numbers import Real

import torch


def check_number(name: str, value: object) -> float:
    """Return `value` as a float, or raise TypeError/ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """Return `value` if it is an int (not bool) at least `minimum`, else raise naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def check_seed(name: str, value: object) -> int | None:
    """Return a seed that is None or a non-negative int, else raise naming `name`."""
    return None if value is None else check_int(name, value, minimum=0)


def check_fraction(name: str, value: object) -> float:
    """Return `value` if it is a number strictly between 0 and 1, else raise naming `name`."""
    value = check_number(name, value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {value}")
    return value


def check_tensor(name: str, value: object, *, min_dim: int = 1) -> torch.Tensor:
    """Return `value` if it is a tensor with at least `min_dim` dimensions, else raise naming `name`."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(value).__name__}"
            " (wrap lists or arrays with torch.tensor(...))"
        )
    if value.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimension(s), got shape {list(value.shape)}")
    return value


def check_pair(x_name: str, X: object, y_name: str, y: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (X, y) if both are tensors with the same number of rows, else raise naming them."""
    X, y = check_tensor(x_name, X), check_tensor(y_name, y)
    if len(X) != len(y):
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of rows, got {len(X)} and {len(y)}"
        )
    return X, y

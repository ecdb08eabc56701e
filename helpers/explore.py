"""The numbers behind the widget explorers: losses, gradient steps, loss landscapes and training runs.

Kept apart from the drawing (helpers.widgets) so that tests can check every number an explorer
shows, and so that a learner can call the same functions in a notebook cell.
"""

import copy
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ._checks import check_int, check_module, check_number, check_pair, check_tensor
from .evaluation import least_squares_fit
from .models import LinearRegressionModel
from .training import History, _first_test_loss, _first_train_step, _test_loss, _train_step

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "losses_at",
    "gradient_step",
    "loss_grid",
    "split_summary",
    "TrainingRun",
    "train_run",
    "two_parameters",
]

LOSSES = {"L1": nn.L1Loss, "MSE": nn.MSELoss}
OPTIMIZERS = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam}
DIVERGED = 1e6  # a loss above this (or NaN/inf) means the run blew up


def _check_choice(name: str, value: object, choices: dict) -> str:
    """Return `value` if it names one of `choices`, else raise ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value  # type: ignore[return-value]


def losses_at(X: torch.Tensor, y: torch.Tensor, weight: float, bias: float) -> dict[str, float]:
    """Return the L1 and MSE loss of the line y_pred = weight * X + bias on (X, y)."""
    X, y = check_pair("X", X, "y", y)
    y_pred = check_number("weight", weight) * X + check_number("bias", bias)
    return {name: loss()(y_pred, y).item() for name, loss in LOSSES.items()}


def gradient_step(
    X: torch.Tensor, y: torch.Tensor, weight: float, bias: float, lr: float, loss: str = "MSE"
) -> tuple[float, float]:
    """Return (weight, bias) after one plain gradient-descent step from (weight, bias), via autograd."""
    X, y = check_pair("X", X, "y", y)
    lr = check_number("lr", lr)
    if lr <= 0:
        raise ValueError(f"lr must be greater than 0, got {lr}")
    w = torch.tensor(check_number("weight", weight), requires_grad=True)
    b = torch.tensor(check_number("bias", bias), requires_grad=True)
    LOSSES[_check_choice("loss", loss, LOSSES)]()(w * X + b, y).backward()
    return (w - lr * w.grad).item(), (b - lr * b.grad).item()


def loss_grid(
    X: torch.Tensor, y: torch.Tensor, weights: torch.Tensor, biases: torch.Tensor, loss: str = "MSE"
) -> torch.Tensor:
    """Return the loss for every (bias, weight) pair: shape [len(biases), len(weights)], for contours."""
    X, y = check_pair("X", X, "y", y)
    _check_choice("loss", loss, LOSSES)
    weights, biases = check_tensor("weights", weights), check_tensor("biases", biases)
    y_pred = weights.reshape(1, -1, 1) * X.reshape(1, 1, -1) + biases.reshape(-1, 1, 1)
    error = y_pred - y.reshape(1, 1, -1)
    return error.abs().mean(-1) if loss == "L1" else error.pow(2).mean(-1)


def split_summary(
    X: torch.Tensor, y: torch.Tensor, train_fraction: float, shuffle: bool, seed: int | None
) -> dict:
    """Split (X, y), fit the least-squares line on train, say how far test lies outside train, and its errors."""
    from .data import train_test_split

    X_train, y_train, X_test, y_test = train_test_split(X, y, train_fraction, shuffle, seed)
    weight, bias = least_squares_fit(X_train, y_train)
    low, high = X_train.min().item(), X_train.max().item()
    outside = ((X_test < low) | (X_test > high)).sum().item()
    y_pred = weight * X_test + bias
    return {
        "X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test,
        "weight": weight, "bias": bias, "train_range": (low, high),
        "outside": outside, "test_mse": (y_pred - y_test).pow(2).mean().item(),
        "train_mae": (weight * X_train + bias - y_train).abs().mean().item(),
        "test_mae": (y_pred - y_test).abs().mean().item(),
    }


def two_parameters(model: nn.Module) -> tuple[float, float] | None:
    """Return (weight, bias) of a model with exactly two scalar parameters, else None."""
    check_module("model", model)
    values = [p.detach().reshape(-1) for p in model.parameters()]
    if len(values) != 2 or any(v.numel() != 1 for v in values):
        return None
    return values[0].item(), values[1].item()


@dataclass
class TrainingRun:
    """What one training run produced: losses, the (weight, bias) path, and whether it diverged."""

    history: History
    path: list[tuple[float, float]] = field(default_factory=list)
    diverged_at: int | None = None
    model: nn.Module | None = None


def train_run(
    train_data: tuple[torch.Tensor, torch.Tensor],
    val_data: tuple[torch.Tensor, torch.Tensor],
    *,
    lr: float,
    epochs: int,
    loss: str = "L1",
    optimizer: str = "SGD",
    model: nn.Module | None = None,
    seed: int = 42,
) -> TrainingRun:
    """Train a copy of `model` (default: seed-42 LinearRegressionModel) as helpers.fit does; stop if it diverges."""
    for name, data in (("train_data", train_data), ("val_data", val_data)):
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise TypeError(f"{name} must be an (X, y) tuple of tensors, got {type(data).__name__}")
    X_train, y_train = check_pair("train_data[0]", train_data[0], "train_data[1]", train_data[1])
    X_val, y_val = check_pair("val_data[0]", val_data[0], "val_data[1]", val_data[1])
    lr, epochs = check_number("lr", lr), check_int("epochs", epochs, minimum=1)
    if lr <= 0:
        raise ValueError(f"lr must be greater than 0, got {lr}")
    loss_fn = LOSSES[_check_choice("loss", loss, LOSSES)]()
    if model is None:
        with torch.random.fork_rng(devices=[]):  # seed the start without touching the learner's RNG
            torch.manual_seed(check_int("seed", seed, minimum=0))
            model = LinearRegressionModel()
    elif not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module or None, got {type(model).__name__}")
    model = copy.deepcopy(model)  # every run starts from the same parameters
    opt = OPTIMIZERS[_check_choice("optimizer", optimizer, OPTIMIZERS)](model.parameters(), lr=lr)
    run = TrainingRun(history=History(), model=model)
    start = two_parameters(model)
    if start is not None:
        run.path.append(start)
    for epoch in range(1, epochs + 1):
        if epoch == 1:  # the first step checks the shapes (a [N] target against [N, 1] predictions)
            train_loss = _first_train_step(model, X_train, y_train, loss_fn, opt, "train_data[1]").item()
            val_loss = _first_test_loss(model, X_val, y_val, loss_fn, "val_data[1]").item()
        else:
            train_loss = _train_step(model, X_train, y_train, loss_fn, opt).item()
            val_loss = _test_loss(model, X_val, y_val, loss_fn).item()
        if not all(math.isfinite(v) and v < DIVERGED for v in (train_loss, val_loss)):
            run.diverged_at = epoch
            break
        run.history.epochs.append(epoch)
        run.history.train_loss.append(train_loss)
        run.history.val_loss.append(val_loss)
        point = two_parameters(model)
        if point is not None:
            run.path.append(point)
    return run

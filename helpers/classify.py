"""Classification: the digit models, accuracy, a confusion matrix and a loop that trains to a goal.

Notebook 09 writes each of these out; later notebooks import them from here. Models return logits
(raw scores, one per class): `nn.CrossEntropyLoss` applies log-softmax itself, and `argmax` of the
logits is the predicted class, so no softmax layer is needed in the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader

from ._checks import (
    check_batch,
    check_bool,
    check_input_dtype,
    check_int,
    check_loader,
    check_module,
    check_number,
    check_optimizer_holds,
    check_pair,
    check_rows,
    check_tensor,
    model_dtype,
)
from .training import _check_data, _check_model_parts, _first_train_step

__all__ = [
    "DigitMLP", "DigitCNN", "accuracy", "confusion_matrix", "count_parameters", "predict_logits",
    "GoalHistory", "fit_to_goal",
]


class DigitMLP(nn.Module):
    """A multi-layer perceptron on flattened pixels: [N, 1, H, W] -> logits [N, num_classes]."""

    def __init__(self, in_features: int = 64, hidden: int = 64, num_classes: int = 10) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("hidden", hidden), ("num_classes", num_classes)):
            check_int(name, value, minimum=1)
        self.layers = nn.Sequential(
            nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return one logit per class for each image."""
        if x.dim() < 2 or x.shape[1:].numel() != self.layers[1].in_features:
            raise ValueError(f"DigitMLP(in_features={self.layers[1].in_features}) expects a batch of images of that "
                             f"many pixels each, got shape {list(x.shape)}")
        return self.layers(x)


class DigitCNN(nn.Module):
    """A small CNN for 8x8 grey digits: `features` (two 3x3 convolutions, a max-pool), then `classifier` (the head)."""

    def __init__(self, num_classes: int = 10, channels: int = 32, hidden: int = 128) -> None:
        super().__init__()
        for name, value in (("num_classes", num_classes), ("channels", channels), ("hidden", hidden)):
            check_int(name, value, minimum=1)
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, padding=1), nn.ReLU(),  # [N, 1, 8, 8] -> [N, c, 8, 8]
            nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1), nn.ReLU(),  # -> [N, 2c, 8, 8]
            nn.MaxPool2d(2),  # -> [N, 2c, 4, 4]
            nn.Flatten(),  # -> [N, 2c * 16]
        )
        self.classifier = nn.Sequential(  # the head: from 2c * 16 features to one logit per class
            nn.Dropout(0.5), nn.Linear(2 * channels * 16, hidden), nn.ReLU(),
            nn.Dropout(0.5), nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return one logit per class for each image [N, 1, 8, 8]."""
        if x.dim() != 4 or x.shape[1:] != (1, 8, 8):
            raise ValueError(f"DigitCNN expects a batch of grey 8x8 images, shape [N, 1, 8, 8], got {list(x.shape)}")
        return self.classifier(self.features(x))


def _check_labels(name: str, y: object) -> torch.Tensor:
    """Return `y` if it is a 1-D tensor of integer class labels, else raise naming `name` with the fix."""
    y = check_tensor(name, y)
    if y.dim() != 1:
        fix = f": use {name}.squeeze(1)" if y.dim() == 2 and y.shape[1] == 1 else ""
        raise ValueError(f"{name} must be class labels of shape [N], got {list(y.shape)}{fix}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels, got {y.dtype}: use {name}.long()")
    return y


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """Return the fraction of correct predictions; `y_hat` is logits [N, C] (argmax taken) or labels [N]."""
    y_hat, y = check_pair("y_hat", y_hat, "y", y)
    if y_hat.dim() not in (1, 2) or (y_hat.dim() == 2 and y_hat.shape[1] < 2):
        raise ValueError(
            f"y_hat must be logits [N, C] with C >= 2 classes, or class labels [N], got shape {list(y_hat.shape)}"
            + (": with one score per sample, argmax is always 0; use (y_hat.squeeze(1) > 0).long() as labels"
               if y_hat.dim() == 2 else "")
        )
    if y_hat.dim() == 1:
        _check_labels("y_hat", y_hat)
    y = _check_labels("y", y)
    if len(y) == 0:
        raise ValueError("y_hat and y are empty: the accuracy of no predictions is undefined")
    if y_hat.device != y.device:
        raise ValueError(f"y_hat is on {y_hat.device} but y is on {y.device}: move both to one device")
    if y_hat.dim() == 2:
        if y_hat.is_floating_point() and torch.isnan(y_hat).any():
            raise ValueError("y_hat holds NaN scores: the model's output is broken (did training diverge?)")
        _check_range("y", y, y_hat.shape[1])
        y_hat = y_hat.argmax(dim=1)
    return (y_hat == y).float().mean().item()


def _check_range(name: str, y: torch.Tensor, num_classes: int) -> None:
    """Raise ValueError when a label is below 0 or at least `num_classes`."""
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"{name} holds the label {low if low < 0 else high}, but there are {num_classes} classes "
            f"(labels 0 to {num_classes - 1})"
        )


def confusion_matrix(y_pred: torch.Tensor, y: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Return counts [C, C]: row = true class, column = predicted class."""
    y_pred, y = check_pair("y_pred", y_pred, "y", y)
    if y_pred.dim() == 2 and y_pred.is_floating_point():
        raise ValueError("y_pred must be 1-D integer class labels, got logits: take y_pred.argmax(dim=1) first")
    y_pred, y = _check_labels("y_pred", y_pred), _check_labels("y", y)
    if len(y) == 0:
        raise ValueError("y_pred and y are empty: there is nothing to count")
    if num_classes is None:
        num_classes = int(max(y_pred.max(), y.max())) + 1
    check_int("num_classes", num_classes, minimum=1)
    _check_range("y_pred", y_pred, num_classes)
    _check_range("y", y, num_classes)
    flat = (y.cpu() * num_classes + y_pred.cpu()).long()
    return torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Return the number of parameter values in `model` (only those with requires_grad, by default)."""
    check_module("model", model)
    check_bool("trainable_only", trainable_only)
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def predict_logits(model: nn.Module, X: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Return model(X) in eval mode under torch.inference_mode, computed in batches."""
    check_module("model", model)
    X = check_input_dtype("X", check_rows("X", check_tensor("X", X)), model_dtype(model))
    check_int("batch_size", batch_size, minimum=1)
    device = next(model.parameters(), torch.empty(0)).device
    model.eval()
    with torch.inference_mode():
        return torch.cat([model(X[i : i + batch_size].to(device)).cpu() for i in range(0, len(X), batch_size)])


@dataclass
class GoalHistory:
    """Per epoch: mean training loss and validation accuracy; whether and when the goal was passed."""

    train_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    reached_goal: bool = False
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        """Return the number of epochs run."""
        return len(self.train_loss)


def fit_to_goal(
    model: nn.Module,
    train_loader: DataLoader,
    val_data: tuple[torch.Tensor, torch.Tensor],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    goal: float,
    max_epochs: int,
) -> GoalHistory:
    """Train epoch by epoch until validation accuracy exceeds `goal`, or for `max_epochs` at most."""
    _check_model_parts(model, loss_fn, optimizer)
    check_loader("train_loader", train_loader)
    if not isinstance(val_data, (tuple, list)) or len(val_data) != 2:
        raise TypeError(f"val_data must be an (X_val, y_val) tuple of tensors, got {type(val_data).__name__}")
    dtype = model_dtype(model)
    X_val, y_val = _check_data("val_data[0]", val_data[0], "val_data[1]", _check_labels("val_data[1]", val_data[1]), dtype)
    goal = check_number("goal", goal)
    if not 0 <= goal < 1:
        raise ValueError(f"goal must be an accuracy between 0 and 1 (exclusive of 1), got {goal}")
    max_epochs = check_int("max_epochs", max_epochs, minimum=1)
    check_optimizer_holds(model, optimizer)
    history, start = GoalHistory(), time.perf_counter()
    while history.epochs < max_epochs and not history.reached_goal:
        model.train()
        total, count = 0.0, 0
        for batch in train_loader:
            if history.epochs == 0 and count == 0:  # the run's first batch: checked before any update
                X, y = _first_batch(model, batch, dtype)
                loss = _first_train_step(model, X, y, loss_fn, optimizer, "y in train_loader's batches")
            else:
                X, y = batch
                loss = loss_fn(model(X), y)  # 1. forward pass, 2. loss
                optimizer.zero_grad()  # 3. zero the gradients
                loss.backward()  # 4. backpropagation
                optimizer.step()  # 5. update the parameters
            total, count = total + loss.item() * len(X), count + len(X)
        history.train_loss.append(total / count)
        logits = predict_logits(model, X_val)
        if history.epochs == 1 and logits.dim() == 2:  # the first evaluation: do the labels fit the model?
            _check_range("val_data[1]", y_val, logits.shape[1])
        history.val_accuracy.append(accuracy(logits, y_val))
        history.reached_goal = history.val_accuracy[-1] > goal
    history.seconds = time.perf_counter() - start
    return history


def _first_batch(model: nn.Module, batch: object, dtype: torch.dtype | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the checked (X, y) of a loader's first batch; fit_to_goal does not move data, so check the device."""
    X, y = check_batch("train_loader", batch)
    X, y = _check_data("X in train_loader's batches", X, "y in train_loader's batches", y, dtype)
    device = next(model.parameters(), torch.empty(0)).device
    if X.device != device:
        raise ValueError(f"train_loader's batches are on {X.device} but the model is on {device}: "
                         "fit_to_goal does not move data; move the model there, or make the loader's tensors there")
    return X, y

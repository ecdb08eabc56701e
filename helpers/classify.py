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

from ._checks import check_int, check_number, check_pair, check_tensor

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
        return self.classifier(self.features(x))


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """Return the fraction of correct predictions; `y_hat` is logits [N, C] (argmax taken) or labels [N]."""
    y_hat, y = check_pair("y_hat", y_hat, "y", y)
    if y_hat.dim() == 2:
        y_hat = y_hat.argmax(dim=1)
    if y_hat.shape != y.shape:
        raise ValueError(f"y_hat must be logits [N, C] or labels shaped like y {list(y.shape)}, "
                         f"got {list(y_hat.shape)}")
    return (y_hat == y).float().mean().item()


def confusion_matrix(y_pred: torch.Tensor, y: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Return counts [C, C]: row = true class, column = predicted class."""
    y_pred, y = check_pair("y_pred", y_pred, "y", y)
    if y_pred.dim() != 1 or y.dim() != 1 or y_pred.is_floating_point() or y.is_floating_point():
        raise ValueError("y_pred and y must be 1-D integer class labels (take logits.argmax(dim=1) first)")
    if num_classes is None:
        num_classes = int(max(y_pred.max(), y.max())) + 1
    check_int("num_classes", num_classes, minimum=1)
    if min(y_pred.min(), y.min()) < 0 or max(y_pred.max(), y.max()) >= num_classes:
        raise ValueError(f"labels must be between 0 and num_classes - 1 = {num_classes - 1}")
    flat = (y.cpu() * num_classes + y_pred.cpu()).long()
    return torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Return the number of parameter values in `model` (only those with requires_grad, by default)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def predict_logits(model: nn.Module, X: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Return model(X) in eval mode under torch.inference_mode, computed in batches."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    X = check_tensor("X", X)
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
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(train_loader, DataLoader):
        raise TypeError(f"train_loader must be a DataLoader, got {type(train_loader).__name__}")
    if not isinstance(val_data, (tuple, list)) or len(val_data) != 2:
        raise TypeError("val_data must be an (X_val, y_val) tuple of tensors")
    X_val, y_val = check_pair("val_data[0]", val_data[0], "val_data[1]", val_data[1])
    goal = check_number("goal", goal)
    if not 0 <= goal < 1:
        raise ValueError(f"goal must be an accuracy between 0 and 1 (exclusive of 1), got {goal}")
    max_epochs = check_int("max_epochs", max_epochs, minimum=1)
    history, start = GoalHistory(), time.perf_counter()
    while history.epochs < max_epochs and not history.reached_goal:
        model.train()
        total, count = 0.0, 0
        for X, y in train_loader:
            loss = loss_fn(model(X), y)  # 1. forward pass, 2. loss
            optimizer.zero_grad()  # 3. zero the gradients
            loss.backward()  # 4. backpropagation
            optimizer.step()  # 5. update the parameters
            total, count = total + loss.item() * len(X), count + len(X)
        history.train_loss.append(total / count)
        history.val_accuracy.append(accuracy(predict_logits(model, X_val), y_val))
        history.reached_goal = history.val_accuracy[-1] > goal
    history.seconds = time.perf_counter() - start
    return history

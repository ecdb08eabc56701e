"""Stage 3 and 5 of the workflow: pictures of data, predictions and loss curves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from ._checks import check_pair, check_tensor

if TYPE_CHECKING:  # matplotlib is imported inside the functions, only when a plot is drawn
    from matplotlib.axes import Axes

__all__ = ["plot_predictions", "plot_loss_curves"]


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """Return `ax`, or the axes of a new figure of the given size."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _numpy(t: torch.Tensor) -> Any:
    """Return a tensor on any device, with or without grad, as a flat NumPy array."""
    return t.detach().cpu().reshape(-1).numpy()


def plot_predictions(
    train_data: torch.Tensor,
    train_labels: torch.Tensor,
    test_data: torch.Tensor,
    test_labels: torch.Tensor,
    predictions: torch.Tensor | None = None,
    *,
    ax: Axes | None = None,
) -> Axes:
    """Scatter training data (blue), test data (green) and predictions on the test data (red)."""
    train_data, train_labels = check_pair("train_data", train_data, "train_labels", train_labels)
    test_data, test_labels = check_pair("test_data", test_data, "test_labels", test_labels)
    if predictions is not None:
        check_tensor("predictions", predictions)
        if len(predictions) != len(test_data):
            raise ValueError(
                f"predictions must have one row per test point: got {len(predictions)} rows "
                f"for {len(test_data)} test points"
            )
    ax = _new_axes(ax, (8, 5))
    ax.scatter(_numpy(train_data), _numpy(train_labels), c="b", s=12, label="Training data")
    ax.scatter(_numpy(test_data), _numpy(test_labels), c="g", s=12, label="Testing data")
    if predictions is not None:
        ax.scatter(_numpy(test_data), _numpy(predictions), c="r", s=12, label="Predictions")
    ax.set_xlabel("X")
    ax.set_ylabel("y")
    ax.legend(loc="upper left")
    return ax


def plot_loss_curves(history: Any, *, ax: Axes | None = None, log_scale: bool = False) -> Axes:
    """Plot train and test loss against epochs from a History (or a dict with the same lists)."""
    data = history if isinstance(history, Mapping) else getattr(history, "__dict__", None)
    keys = ("epochs", "train_loss", "test_loss")
    if not isinstance(data, Mapping) or any(k not in data for k in keys):
        raise TypeError(
            "history must be a History from helpers.fit or a dict with lists "
            f"'epochs', 'train_loss' and 'test_loss', got {type(history).__name__}"
        )
    lengths = {k: len(data[k]) for k in keys}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"history lists must have the same length, got {lengths}")
    ax = _new_axes(ax, (8, 5))
    ax.plot(data["epochs"], data["train_loss"], label="Train loss")
    ax.plot(data["epochs"], data["test_loss"], label="Test loss")
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Loss")
    ax.set_title("Loss curves")
    ax.legend()
    return ax

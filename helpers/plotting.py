"""Stage 3 and 5 of the workflow: pictures of data, predictions and loss curves.

Every series has its own colour from the Okabe-Ito palette (safe for colour-blind readers) *and* its
own marker or line style, so the picture still reads in grey or for a reader who cannot tell the
colours apart. `STYLES` holds them; the widget explorers use the same ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from ._checks import check_number, check_pair, check_tensor

if TYPE_CHECKING:  # matplotlib is imported inside the functions, only when a plot is drawn
    from matplotlib.axes import Axes

__all__ = ["plot_predictions", "plot_loss_curves", "STYLES"]

# Okabe-Ito colours, each paired with a marker (points) and a line style (curves)
STYLES: dict[str, dict[str, str]] = {
    "train": {"color": "#0072B2", "marker": "o", "linestyle": "-"},  # blue, circles, solid
    "validation": {"color": "#E69F00", "marker": "s", "linestyle": "--"},  # orange, squares, dashed
    "test": {"color": "#009E73", "marker": "^", "linestyle": "-."},  # bluish green, triangles, dash-dot
    "predictions": {"color": "#D55E00", "marker": "x", "linestyle": ":"},  # vermillion, crosses, dotted
}
LABELS = {"train": "Training data", "validation": "Validation data", "test": "Test data", "predictions": "Predictions"}


def _new_axes(ax: Axes | None, figsize: object) -> Axes:
    """Return `ax`, or the axes of a new figure of the given size (checked: two positive numbers)."""
    if ax is not None:
        if not hasattr(ax, "scatter") or not hasattr(ax, "figure"):
            raise TypeError(f"ax must be a matplotlib Axes, e.g. from fig, ax = plt.subplots(), got {type(ax).__name__}")
        return ax
    if (not isinstance(figsize, (tuple, list)) or len(figsize) != 2
            or any(check_number("figsize values", v) <= 0 for v in figsize)):
        raise ValueError(f"figsize must be (width, height) in inches, two positive numbers, e.g. (8, 5), got {figsize!r}")
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _check_one_feature(name: str, value: torch.Tensor) -> None:
    """Raise ValueError unless the tensor holds one number per row ([N] or [N, 1]): the picture has one x axis."""
    if value.numel() != len(value):
        raise ValueError(f"{name} must hold one number per point, shape [N] or [N, 1], got {list(value.shape)}: "
                         "this picture draws one feature against y")


def _numpy(t: torch.Tensor) -> Any:
    """Return a tensor on any device, with or without grad, as a flat NumPy array."""
    return t.detach().cpu().reshape(-1).numpy()


def _scatter(ax: Axes, X: torch.Tensor, y: torch.Tensor, kind: str, size: float = 20) -> None:
    """Scatter one series in its colour and marker, labelled for the legend."""
    style = STYLES[kind]
    ax.scatter(_numpy(X), _numpy(y), c=style["color"], marker=style["marker"], s=size, label=LABELS[kind])


def plot_predictions(
    train_data: torch.Tensor,
    train_labels: torch.Tensor,
    test_data: torch.Tensor,
    test_labels: torch.Tensor,
    predictions: torch.Tensor | None = None,
    figsize: tuple[float, float] | None = None,
    *,
    ax: Axes | None = None,
    held_out: str = "test",
) -> Axes:
    """Scatter training data, held-out data (test, or validation with held_out="validation") and predictions on it.

    The arguments are notebook 02's, in its order (`figsize` sizes a new figure, default (8, 5)); `ax=` draws
    into axes you already have instead.
    """
    if held_out not in ("test", "validation"):
        raise ValueError(f"held_out must be 'test' or 'validation', got {held_out!r}")
    if ax is not None and figsize is not None:
        raise ValueError("give figsize (for a new figure) or ax (axes that already have a figure), not both")
    train_data, train_labels = check_pair("train_data", train_data, "train_labels", train_labels)
    test_data, test_labels = check_pair("test_data", test_data, "test_labels", test_labels)
    for name, value in (("train_data", train_data), ("train_labels", train_labels), ("test_data", test_data),
                        ("test_labels", test_labels)):
        _check_one_feature(name, value)
    if predictions is not None:
        check_tensor("predictions", predictions)
        if len(predictions) != len(test_data):
            raise ValueError(
                f"predictions must have one row per {held_out} point: got {len(predictions)} rows "
                f"for {len(test_data)} {held_out} points"
            )
        _check_one_feature("predictions", predictions)
    ax = _new_axes(ax, (8, 5) if figsize is None else figsize)
    _scatter(ax, train_data, train_labels, "train", size=14)
    _scatter(ax, test_data, test_labels, held_out, size=30)
    if predictions is not None:
        _scatter(ax, test_data, predictions, "predictions", size=40)
    ax.set_xlabel("X")
    ax.set_ylabel("y")
    ax.legend(loc="upper left")
    return ax


def plot_loss_curves(history: Any, *, ax: Axes | None = None, log_scale: bool = False) -> Axes:
    """Plot training and validation loss against epochs from a History (or a dict with the same lists)."""
    data = history if isinstance(history, Mapping) else getattr(history, "__dict__", None)
    keys = ("epochs", "train_loss", "val_loss")
    if not isinstance(data, Mapping) or any(k not in data for k in keys):
        raise TypeError(
            "history must be a History from helpers.fit or a dict with lists "
            f"'epochs', 'train_loss' and 'val_loss', got {type(history).__name__}"
        )
    lengths = {k: len(data[k]) for k in keys}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"history lists must have the same length, got {lengths}")
    if not lengths["epochs"]:
        raise ValueError("history is empty: there is no loss to plot yet (train first, e.g. history = helpers.fit(...))")
    if not isinstance(log_scale, bool):
        raise TypeError(f"log_scale must be True or False, got {log_scale!r}")
    ax = _new_axes(ax, (8, 5))
    every = max(1, len(data["epochs"]) // 10)  # a marker every tenth of the run: legible at any length
    for key, kind, label in (("train_loss", "train", "Training loss"), ("val_loss", "validation", "Validation loss")):
        ax.plot(data["epochs"], data[key], label=label, markevery=every, markersize=5, **STYLES[kind])
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Loss")
    ax.set_title("Loss curves")
    ax.legend()
    return ax

"""2. The split explorer: train fraction, shuffle and seed -> train/test points and a line fitted on train."""

from __future__ import annotations

import ipywidgets as widgets
import torch

from .. import explore
from ..data import make_line_data
from ._base import (
    MARK,
    PRED,
    TEST,
    TRAIN,
    WIDE,
    Explorer,
    _Blitted,
    _figure,
    _np,
    _points,
    _slider,
)


def _split_data() -> tuple[torch.Tensor, torch.Tensor]:
    """Notebook 02's curved data: 0.3 + 1.2 x - 0.6 x^2 plus noise of spread 0.02 (seed 42), bending down."""
    X, _ = make_line_data()
    noise = 0.02 * torch.randn(X.shape, generator=torch.Generator().manual_seed(42))
    return X, 0.3 + 1.2 * X - 0.6 * X**2 + noise


def _where(outside: int, n_test: int) -> str:
    """Where the test points lie against the training range, and what that asks of the model, in words."""
    if outside == n_test:
        return (f"All {n_test} test points lie outside the training range: the model must extrapolate beyond what "
                "it saw.")
    if outside == 0:
        return f"All {n_test} test points lie inside the training range: the model only interpolates between them."
    inside = n_test - outside
    return (f"{outside} of {n_test} test points {'lies' if outside == 1 else 'lie'} outside the training range "
            f"(there the model must extrapolate); the other {inside} {'lies' if inside == 1 else 'lie'} inside it "
            "(there it interpolates).")


def _split_scene(X: torch.Tensor, y: torch.Tensor) -> tuple[_Blitted, dict]:
    """Axes sized to the data and the legend drawn once; the band, dots, fitted line and title move."""
    from matplotlib.patches import Rectangle

    fig, (ax,) = _figure(width=6.5, height=4.2)
    fig.subplots_adjust(top=0.86)  # a title of two lines
    band = Rectangle((0, 0), 0, 1, transform=ax.get_xaxis_transform(), color=TRAIN, alpha=0.08, label="training range")
    ax.add_patch(band)
    train = ax.scatter([], [], c=TRAIN, marker=MARK["train"], s=14, label="train")
    test = ax.scatter([], [], c=TEST, marker=MARK["test"], s=30, label="test")
    x_low, x_high, y_low, y_high = X.min().item(), X.max().item(), y.min().item(), y.max().item()
    (fit,) = ax.plot([x_low, x_high], [y_low, y_high], c=PRED, ls=":", lw=2, label="line fitted on train")
    pad_x, pad_y = 0.05 * (x_high - x_low), 0.1 * (y_high - y_low)
    # room above the data: a line fitted on a few points overshoots it, and that overshoot is the lesson
    top = y_high + 6 * pad_y
    ax.set(xlabel="X", ylabel="y", xlim=(x_low - pad_x, x_high + pad_x), ylim=(y_low - pad_y, top), title=" ")
    legend = ax.legend(loc="upper left")
    moving = {"band": band, "train": train, "test": test, "fit": fit, "title": ax.title}
    return _Blitted(fig, [*moving.values(), legend]), moving  # the legend is repainted to stay on top


def split_explorer(
    X: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    *,
    train_fraction: float = 0.8,
    shuffle: bool = False,
    seed: int = 42,
) -> Explorer:
    """Train fraction, shuffle and seed -> which points are train/test, and a line fitted on train.

    With no X and y, the data is notebook 02's curved line (0.3 + 1.2 x - 0.6 x^2, noise 0.02, seed 42)."""
    if X is None and y is None:
        X, y = _split_data()
    elif X is None or y is None:
        raise ValueError("give both X and y, or neither (the default data)")

    def compute(train_fraction: float, shuffle: bool, seed: int) -> dict:
        r = explore.split_summary(X, y, train_fraction, shuffle, seed)
        r["shuffle"], r["seed"] = shuffle, seed
        n_test = len(r["X_test"])
        r["message"] = (f"{len(r['X_train'])} train / {n_test} test points. {_where(r['outside'], n_test)} "
                        f"Mean absolute error of the line fitted on train: {r['train_mae']:.4f} on train, "
                        f"{r['test_mae']:.4f} on test.")
        return r

    xs = torch.tensor([X.min().item(), X.max().item()])
    blitted, moving = _split_scene(X, y)

    def draw(r: dict) -> _Blitted:
        low, high = r["train_range"]
        moving["band"].set_x(low)
        moving["band"].set_width(high - low)
        moving["train"].set_offsets(_points(r["X_train"], r["y_train"]))
        moving["test"].set_offsets(_points(r["X_test"], r["y_test"]))
        moving["fit"].set_ydata(_np(r["weight"] * xs + r["bias"]))
        kind = f"shuffled split (seed {r['seed']})" if r["shuffle"] else "ordered split"
        moving["title"].set_text(f"{kind}, {len(r['X_train'])} train / {len(r['X_test'])} test: MAE "
                                 f"{r['train_mae']:.4f} train, {r['test_mae']:.4f} test\n{r['outside']} of "
                                 f"{len(r['X_test'])} test points outside the training range")
        return blitted

    controls = {
        "train_fraction": _slider("train fraction", train_fraction, 0.1, 0.9, 0.05),
        "shuffle": widgets.Checkbox(value=shuffle, description="shuffle", style=WIDE),
        "seed": widgets.IntSlider(value=seed, min=0, max=50, description="shuffle seed", style=WIDE),
    }
    return Explorer("Split explorer", "Turn shuffle on and off: an ordered split tests the model on x values it "
                    "never saw (extrapolation); a shuffled one tests it between them.", controls, compute, draw)

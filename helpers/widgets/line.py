"""1. The line explorer: weight, bias, noise and number of points -> the data, the true line, and the best
straight line through the dots (what a model could learn from them at best)."""

from __future__ import annotations

import ipywidgets as widgets

from ..data import make_line_data
from ..evaluation import least_squares_fit
from ._base import (
    MARK,
    PRED,
    TRAIN,
    TRUE,
    WIDE,
    Explorer,
    _Blitted,
    _figure,
    _points,
    _slider,
)


def _line_compute(weight: float, bias: float, noise_std: float, n_points: int, seed: int) -> dict:
    """Exactly `n_points` points from x = 0 up to (not including) 1, their line, noise and best straight line."""
    X, y = make_line_data(weight, bias, step=1.0 / n_points, noise_std=noise_std, seed=seed)
    # arange with a float step can give one point more (1 / 49 is rounded: 49 steps stop just short of 1)
    X, y = X[:n_points], y[:n_points]
    fit = least_squares_fit(X, y)
    return {"X": X, "y": y, "weight": weight, "bias": bias, "fit": fit, "noise_std": noise_std,
            "message": f"X has shape {list(X.shape)}, y has shape {list(y.shape)}: "
            f"{len(X)} samples with 1 feature each. Best straight line through the dots: "
            f"{fit[0]:.2f} X + {fit[1]:.2f}."}


def _line_scene() -> tuple[_Blitted, dict]:
    """Axes, legend and labels drawn once; the dots, the true line and the title move."""
    fig, (ax,) = _figure(width=6.4, height=4.2)
    fig.subplots_adjust(top=0.86)  # a title of two lines
    dots = ax.scatter([], [], c=TRAIN, marker=MARK["train"], s=14, label="data (X, y)")
    # the best line is wide and drawn under the thin true line, so both show where they coincide
    (fit_line,) = ax.plot([0, 1], [0, 0], c=PRED, ls=":", lw=4, zorder=1.9, label="best straight line through the dots")
    (true_line,) = ax.plot([0, 1], [0, 0], c=TRUE, ls="--", lw=1.2, label="true line")
    ax.set(xlabel="X", ylabel="y", xlim=(-0.05, 1.05), ylim=(-2.3, 3.5), title=" ")
    legend = ax.legend(handles=[dots, true_line, fit_line], loc="upper left")
    moving = {"dots": dots, "true_line": true_line, "fit_line": fit_line, "title": ax.title}
    return _Blitted(fig, [*moving.values(), legend]), moving  # the legend is repainted to stay on top


def line_explorer(
    weight: float = 0.7, bias: float = 0.3, noise_std: float = 0.0, n_points: int = 50, seed: int = 0
) -> Explorer:
    """Sliders for weight, bias, noise and number of points -> the data and the true line."""
    controls = {
        "weight": _slider("weight", weight, -2, 2, 0.05),
        "bias": _slider("bias", bias, -1, 1, 0.05),
        "noise_std": _slider("noise std", noise_std, 0, 0.5, 0.01),
        "n_points": widgets.IntSlider(value=n_points, min=2, max=200, description="points", style=WIDE),
        "seed": widgets.IntSlider(value=seed, min=0, max=20, description="noise seed", style=WIDE),
    }
    blitted, moving = _line_scene()

    def draw(r: dict) -> _Blitted:
        moving["dots"].set_offsets(_points(r["X"], r["y"]))
        moving["true_line"].set_ydata([r["bias"], r["weight"] + r["bias"]])
        (w, b), n = r["fit"], len(r["X"])
        moving["fit_line"].set_ydata([b, w + b])
        moving["title"].set_text(f"true line {r['weight']:.2f} X + {r['bias']:.2f}, best fit {w:.2f} X + {b:.2f}\n"
                                 f"{n} points, noise std {r['noise_std']:.2f}: X and y have shape [{n}, 1]")
        return blitted

    return Explorer("Line explorer", "Change the line and the noise; the dashed line is the truth the "
                    "model will have to find from the dots alone, the dotted one the best it could find from "
                    "them.", controls, _line_compute, draw)

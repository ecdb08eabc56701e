"""3. Be the optimizer: drag weight and bias over the loss landscape, take gradient steps.

Notebook 03 shows it with `steps=False`: only the weight and bias sliders and the MSE, the words that notebook
teaches; notebook 04 explains the rest (the L1 loss, gradient steps, the learning rate), which the full
explorer adds."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import torch
from torch import nn

from .. import explore
from ..data import make_line_data, train_test_split
from ..evaluation import least_squares_fit
from ._base import (
    MARK,
    PRED,
    TOGGLES,
    TRAIN,
    WIDE,
    Explorer,
    _Blitted,
    _figure,
    _landscape,
    _np,
    _slider,
)


def optimizer_explorer(
    X: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    *,
    model: nn.Module | None = None,
    lr: float = 0.1,
    loss: str = "MSE",
    steps: bool = True,
) -> Explorer:
    """Drag weight and bias -> predictions, L1/MSE loss, your place on the landscape; a step button.

    steps=False leaves only the weight and bias sliders: the loss stays `loss`, with no learning rate and no
    gradient-step button (for a learner who has not met gradient descent yet)."""
    if not isinstance(steps, bool):
        raise TypeError(f"steps must be True or False, got {steps!r}")
    if loss not in explore.LOSSES:
        raise ValueError(f"loss must be one of {list(explore.LOSSES)}, got {loss!r}")
    if X is None and y is None:
        X, y, _, _ = train_test_split(*make_line_data())
    elif X is None or y is None:
        raise ValueError("give both X and y, or neither (the course's training data)")
    start = explore.two_parameters(model) if model is not None else (0.3367, 0.1288)
    if start is None:
        raise ValueError("model must have exactly two scalar parameters (a weight and a bias)")
    best = least_squares_fit(X, y)
    ws, bs = torch.linspace(-1, 2, 61), torch.linspace(-1, 1.5, 51)
    grids = {name: explore.loss_grid(X, y, ws, bs, name).clamp_min(1e-6) for name in explore.LOSSES}
    path: list[tuple[float, float]] = [start]

    def compute(weight: float, bias: float, loss: str, lr: float) -> dict:
        if not stepping[0]:
            path[:] = [(weight, bias)]  # a hand-made move starts a new path
        losses = explore.losses_at(X, y, weight, bias)
        shown = " &nbsp; ".join(f"{name}: {losses[name]:.4f}" for name in (explore.LOSSES if steps else [loss]))
        return {"weight": weight, "bias": bias, "losses": losses, "loss": loss, "path": list(path),
                "message": f"{shown} &nbsp; (the best line, the star: weight {best[0]:.4f}, bias {best[1]:.4f})"}

    xs = torch.tensor([X.min().item(), X.max().item()])
    # the data's range with room around it: wide enough for most lines, close enough to see a small gap
    pad = max(0.5, (y.max() - y.min()).item())
    ylim = (y.min().item() - pad, y.max().item() + pad)
    scenes: dict[str, tuple[_Blitted, dict]] = {}  # one per loss: the landscape is the slow part to draw

    def scene(loss: str) -> tuple[_Blitted, dict]:
        """Draw the still parts once (data, landscape with its colour bar, axes); return them and the moving artists."""
        from matplotlib.ticker import FuncFormatter

        fig, (left, right) = _figure(2, width=4.6)
        fig.subplots_adjust(right=0.9)  # room for the colour bar's labels
        left.scatter(_np(X), _np(y), c=TRAIN, marker=MARK["train"], s=14, label="training data")
        (line,) = left.plot(_np(xs), _np(xs), c=PRED, ls=":", lw=2, label="your model")
        left.set(xlabel="X", ylabel="y", ylim=ylim, title=" ")
        contours = _landscape(right, grids[loss], ws, bs, best)
        right.get_lines()[-1].set_label("best line (least squares)")
        bar = fig.colorbar(contours, ax=right, fraction=0.06, pad=0.02,
                           format=FuncFormatter(lambda v, _: f"{10 ** v:.2g}"))
        bar.set_label(f"{loss} on the training data")
        right.set_title(f"{loss} of every line (dark = small)")
        (trail,) = right.plot([], [], c="white", lw=1, marker=".", ms=5)
        (dot,) = right.plot([], [], marker="o", ms=9, c=PRED, mec="white", ls="none", label="you")
        right.set(xlim=(-1, 2), ylim=(-1, 1.5))
        legends = [left.legend(loc="upper left"), right.legend(loc="lower left", fontsize=8)]
        moving = {"line": line, "title": left.title, "trail": trail, "dot": dot}
        return _Blitted(fig, [*moving.values(), *legends]), moving  # legends move too: they stay on top

    def draw(r: dict) -> _Blitted:
        if r["loss"] not in scenes:
            scenes[r["loss"]] = scene(r["loss"])
        blitted, moving = scenes[r["loss"]]
        moving["line"].set_ydata(_np(r["weight"] * xs + r["bias"]))
        moving["title"].set_text(f"your line's {r['loss']}: {r['losses'][r['loss']]:.4f}")
        moving["trail"].set_data(*zip(*r["path"]))
        moving["dot"].set_data([r["weight"]], [r["bias"]])
        return blitted

    stepping = [False]
    controls = {
        "weight": _slider("weight", start[0], -1, 2, 0.001, readout_format=".4f"),
        "bias": _slider("bias", start[1], -1, 1.5, 0.001, readout_format=".4f"),
    }
    if not steps:
        fixed = loss
        explorer = Explorer("Be the optimizer", f"Drag the weight and bias to make the {fixed} small: the dot "
                            "labelled <i>you</i> is your line on the map of every line's loss; the star is the best "
                            "line.", controls, lambda weight, bias: compute(weight, bias, fixed, lr), draw)
        return explorer
    controls["loss"] = widgets.ToggleButtons(options=list(explore.LOSSES), value=loss, description="loss",
                                             style=TOGGLES)
    controls["lr"] = widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.1, description="learning rate",
                                            style=WIDE, readout_format=".3f")
    step_button = widgets.Button(description="Take one gradient step", button_style="primary",
                                 layout=widgets.Layout(width="auto"))
    controls["step"] = step_button
    explorer = Explorer("Be the optimizer", "Drag the weight and bias to make the loss small, then press the "
                        "button to see where one step of gradient descent would take you.", controls, compute, draw)

    def take_step(_: Any = None) -> None:
        v = explorer.values()
        w, b = explore.gradient_step(X, y, v["weight"], v["bias"], v["lr"], v["loss"])
        path.append((w, b))
        stepping[0] = True
        try:
            explorer.set_values(weight=w, bias=b)
        finally:
            stepping[0] = False

    step_button.on_click(take_step)
    explorer.take_step = take_step
    return explorer

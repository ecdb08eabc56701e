"""4. The training explorer: learning rate, epochs, loss and optimizer -> train/validation curves, fit and path."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import torch
from torch import nn

from .. import explore
from ..data import make_line_data, train_val_test_split
from ..evaluation import least_squares_fit
from ._base import (
    MARK,
    PRED,
    TOGGLES,
    TRAIN,
    VAL,
    WIDE,
    Explorer,
    _figure,
    _landscape,
    _np,
)


def training_explorer(
    train_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    val_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    *,
    model: nn.Module | None = None,
    lr: float = 0.01,
    epochs: int = 100,
    loss: str = "L1",
    optimizer: str = "SGD",
) -> Explorer:
    """Learning rate, epochs, loss and optimizer -> loss curves, the final fit and the (w, b) path.

    Without data it trains on the course's ordered 40 / 5 / 5 split: 40 training points, validated on
    the next 5 (the last 5, the test set, stay untouched).
    """
    if train_data is None and val_data is None:
        X_train, y_train, X_val, y_val, _, _ = train_val_test_split(*make_line_data(), 0.8, 0.1)
        train_data, val_data = (X_train, y_train), (X_val, y_val)
    elif train_data is None or val_data is None:
        raise ValueError("give both train_data and val_data as (X, y) tuples, or neither")
    best = least_squares_fit(*train_data)
    ws, bs = torch.linspace(-1, 2, 61), torch.linspace(-1, 1.5, 51)

    def compute(lr: float, epochs: int, loss: str, optimizer: str) -> dict:
        run = explore.train_run(train_data, val_data, lr=lr, epochs=epochs, loss=loss, optimizer=optimizer, model=model)
        if run.diverged_at is not None:
            return {"run": run, "draw": False, "message": f"<span style='color:#b00'>The loss blew up at epoch "
                    f"{run.diverged_at}: a learning rate of {lr:.3g} makes every step overshoot more than the "
                    "last. Try a smaller learning rate.</span>"}
        end = run.path[-1] if run.path else None
        where = f"weight {end[0]:.4f}, bias {end[1]:.4f} " if end else ""
        return {"run": run, "loss": loss, "message": f"After {epochs} epochs: {where}(least squares: weight "
                f"{best[0]:.4f}, bias {best[1]:.4f}); validation loss {run.history.val_loss[-1]:.4f}"}

    def draw(r: dict) -> Any:
        from matplotlib.ticker import FuncFormatter

        run = r["run"]
        fig, (curves, fit, land) = _figure(3, width=4.1, height=3.5)
        fig.subplots_adjust(left=0.075, right=0.9, wspace=0.42)  # room for the log-scale labels and the colour bar
        every = max(1, len(run.history.epochs) // 10)
        for values, color, ls, mark, label in ((run.history.train_loss, TRAIN, "-", MARK["train"], "training"),
                                               (run.history.val_loss, VAL, "--", MARK["validation"], "validation")):
            curves.plot(run.history.epochs, [max(v, 1e-8) for v in values], c=color, ls=ls, marker=mark,
                        markevery=every, ms=4, label=label)
        curves.set(yscale="log", xlabel="epoch", ylabel=f"{r['loss']} loss (log scale)",
                   title="loss curves: still falling at the end?")
        curves.legend()
        (Xtr, ytr), (Xva, yva) = train_data, val_data
        fit.scatter(_np(Xtr), _np(ytr), c=TRAIN, marker=MARK["train"], s=8, label="training")
        fit.scatter(_np(Xva), _np(yva), c=VAL, marker=MARK["validation"], s=18, label="validation")
        with torch.inference_mode():
            fit.scatter(_np(Xva), _np(run.model(Xva)), c=PRED, marker=MARK["predictions"], s=24, label="predictions")
        fit.set(xlabel="X", ylabel="y", title="final fit: crosses on the squares?")
        fit.legend(loc="upper left", fontsize=8)
        if run.path:
            contours = _landscape(land, explore.loss_grid(Xtr, ytr, ws, bs, r["loss"]).clamp_min(1e-6), ws, bs, best)
            bar = fig.colorbar(contours, ax=land, fraction=0.06, pad=0.02,
                               format=FuncFormatter(lambda v, _: f"{10 ** v:.2g}"))  # the contours hold log10
            bar.set_label(f"{r['loss']} loss on the training data")
            pw, pb = zip(*run.path)
            land.plot(pw, pb, c=PRED, lw=1.5, label="(w, b) while training")
            land.plot(pw[0], pb[0], marker="o", ms=6, c=PRED, mec="white", ls="none", label="start")
            land.set(xlim=(-1, 2), ylim=(-1, 1.5), title="the path: does it reach the star?")
            land.legend(loc="lower left", fontsize=8)
        else:
            land.set_axis_off()
            land.text(0.5, 0.5, "the path is drawn for\ntwo-parameter models", ha="center", transform=land.transAxes)
        return fig

    slider = {"continuous_update": False, "style": WIDE}
    controls = {
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-4, max=1, step=0.1, description="learning rate",
                                     readout_format=".4f", **slider),
        "epochs": widgets.IntSlider(value=epochs, min=10, max=1000, step=10, description="epochs", **slider),
        "loss": widgets.ToggleButtons(options=list(explore.LOSSES), value=loss, description="loss", style=TOGGLES),
        "optimizer": widgets.ToggleButtons(options=list(explore.OPTIMIZERS), value=optimizer,
                                           description="optimizer", style=TOGGLES),
    }
    train_button = widgets.Button(description="Train again", button_style="primary", layout=widgets.Layout(width="auto"))
    controls["train"] = train_button
    explorer = Explorer("Training explorer", "Pick a learning rate, epochs, loss and optimizer; training runs "
                        "when you let go of a slider. Where does L1 + SGD stall? What does Adam do?",
                        controls, compute, draw)
    train_button.on_click(lambda _: explorer.update())
    return explorer

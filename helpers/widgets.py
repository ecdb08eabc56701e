"""Widget explorers: sliders that redraw a picture of the data, the split, the loss and training.

Each explorer is a function that returns an `Explorer` (an ipywidgets VBox): call it as a cell's
last line to show it. The numbers come from helpers.explore; this module only lays out controls
and draws. Only APIs common to ipywidgets 7.7 (Colab) and 8 are used. Pictures are PNGs in an
`Image` widget, so a redraw swaps one image without flicker, in JupyterLab and in Colab alike.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import torch
from torch import nn

from . import explore
from .data import make_line_data, train_test_split
from .evaluation import least_squares_fit

__all__ = ["Explorer", "line_explorer", "split_explorer", "optimizer_explorer", "training_explorer"]

DPI = 80
TRAIN, TEST, PRED, TRUE = "tab:blue", "tab:green", "tab:red", "black"
WIDE = {"description_width": "initial"}
TOGGLES = {"description_width": "initial", "button_width": "64px"}


def _figure(ncols: int = 1, width: float = 6.0, height: float = 3.8) -> tuple[Any, list]:
    """Return a new Figure (not pyplot: nothing to close, nothing auto-shown) and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), dpi=DPI)
    # fixed margins: a layout engine would cost a second draw on every redraw
    fig.subplots_adjust(left=0.75 / (width * ncols), right=0.98, bottom=0.14, top=0.9, wspace=0.35)
    return fig, list(fig.subplots(1, ncols, squeeze=False)[0])


def _png(fig: Any) -> bytes:
    """Render a figure to PNG bytes, as the inline backend would."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})  # fast beats small here
    return buf.getvalue()


class _Blitted:
    """A figure drawn once; each redraw repaints only its moving artists over the saved background."""

    def __init__(self, fig: Any, moving: list) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        # repainted in the order a full draw would use, so the picture is the same pixel for pixel
        # (the axes' frames too, which a full draw paints over anything that reaches the edge)
        frames = [spine for ax in fig.axes for spine in ax.spines.values()]
        self.figure, self.canvas = fig, FigureCanvasAgg(fig)
        self.moving = sorted([*moving, *frames], key=lambda artist: artist.get_zorder())
        for artist in self.moving:
            artist.set_animated(True)  # left out of the background drawn below
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(fig.bbox)

    def png(self) -> bytes:
        """Repaint the moving artists on the background and return the picture as PNG bytes."""
        from PIL import Image

        self.canvas.restore_region(self.background)
        for artist in self.moving:
            self.figure.draw_artist(artist)
        buf = io.BytesIO()
        Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(
            buf, format="png", compress_level=1
        )
        return buf.getvalue()


def _np(t: torch.Tensor) -> Any:
    """Return a tensor as a flat NumPy array for matplotlib."""
    return t.detach().cpu().reshape(-1).numpy()


class Explorer(widgets.VBox):
    """Controls, a message line and a picture; `result` holds the numbers last shown."""

    def __init__(self, title: str, hint: str, controls: dict[str, widgets.Widget], compute: Callable, draw: Callable):
        self.controls, self._compute, self._draw = controls, compute, draw
        self.result: dict | None = None
        self.figure: Any = None
        self.message = widgets.HTML(value="")
        # at its own size, left-aligned: a flex box would otherwise stretch (and blur) the picture
        self.image = widgets.Image(format="png", layout=widgets.Layout(align_self="flex-start"))
        self._paused = False
        header = widgets.HTML(value=f"<b>{title}</b><br><span style='font-size:90%'>{hint}</span>")
        rows = [widgets.HBox(list(controls.values())[i : i + 3]) for i in range(0, len(controls), 3)]
        super().__init__(children=[header, *rows, self.message, self.image])
        for control in controls.values():
            if isinstance(control, widgets.ValueWidget):
                control.observe(self.update, names="value")
        self.update()

    def values(self) -> dict[str, Any]:
        """Return the current value of every control that has one."""
        return {k: c.value for k, c in self.controls.items() if isinstance(c, widgets.ValueWidget)}

    def update(self, change: dict | None = None) -> None:
        """Recompute and redraw; a bad combination shows a message instead of raising."""
        if self._paused:
            return
        try:
            self.result = self._compute(**self.values())
        except (ValueError, RuntimeError) as err:
            self.result = None
            self._show(f"Can't show this: {err}")
            return
        self._show(self.result.get("message", ""))
        if self.result.get("draw", True):
            drawn = self._draw(self.result)  # a Figure, or a _Blitted one that repaints only what moves
            self.figure = drawn.figure if isinstance(drawn, _Blitted) else drawn
            self.image.width = str(round(self.figure.get_figwidth() * DPI))
            self.image.value = drawn.png() if isinstance(drawn, _Blitted) else _png(drawn)

    def _show(self, message: str) -> None:
        """Show `message` above the picture; hide the picture when there is nothing sound to draw."""
        self.message.value = f"<span style='color:#b00'>{message}</span>" if message.startswith("Can't") else message
        ok = self.result is not None and self.result.get("draw", True)
        self.image.layout.display = None if ok else "none"

    def set_values(self, **values: Any) -> None:
        """Set several controls at once and redraw once."""
        self._paused = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._paused = False
        self.update()


def _slider(description: str, value: float, low: float, high: float, step: float, **kw: Any) -> widgets.FloatSlider:
    """A float slider with the course's style (2-decimal readout unless told otherwise)."""
    return widgets.FloatSlider(
        value=value, min=low, max=high, step=step, description=description, style=WIDE,
        readout_format=kw.pop("readout_format", ".2f"), **kw,
    )


# 1. Line explorer ---------------------------------------------------------------------------------


def _line_compute(weight: float, bias: float, noise_std: float, n_points: int, seed: int) -> dict:
    X, y = make_line_data(weight, bias, step=1.0 / n_points, noise_std=noise_std, seed=seed)
    return {"X": X, "y": y, "weight": weight, "bias": bias,
            "message": f"X has shape {list(X.shape)}, y has shape {list(y.shape)}: "
            f"{len(X)} samples with 1 feature each."}


def _points(X: torch.Tensor, y: torch.Tensor) -> Any:
    """Return (X, y) as an [N, 2] array, what a scatter's set_offsets takes."""
    import numpy as np

    return np.column_stack([_np(X), _np(y)])


def _line_scene() -> tuple[_Blitted, dict]:
    """Axes, legend and labels drawn once; the dots, the true line and the title move."""
    fig, (ax,) = _figure()
    dots = ax.scatter([], [], c=TRAIN, s=12, label="data (X, y)")
    (true_line,) = ax.plot([0, 1], [0, 0], c=TRUE, ls="--", label="true line")
    ax.set(xlabel="X", ylabel="y", xlim=(-0.05, 1.05), ylim=(-2.3, 3.5), title=" ")
    legend = ax.legend(loc="upper left")
    moving = {"dots": dots, "true_line": true_line, "title": ax.title}
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
        moving["title"].set_text(f"y = {r['weight']:.2f} X + {r['bias']:.2f} + noise")
        return blitted

    return Explorer("Line explorer", "Change the line and the noise; the dashed line is the truth the "
                    "model will have to find from the dots alone.", controls, _line_compute, draw)


# 2. Split explorer --------------------------------------------------------------------------------


def _split_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The course line, bent a little and with some noise, the way real data rarely is a straight line."""
    X, y = make_line_data(noise_std=0.03, seed=0)
    return X, y + 0.8 * X**2


def _split_scene(X: torch.Tensor, y: torch.Tensor) -> tuple[_Blitted, dict]:
    """Axes sized to the data and the legend drawn once; the band, dots, fitted line and title move."""
    from matplotlib.patches import Rectangle

    fig, (ax,) = _figure(width=6.5)
    band = Rectangle((0, 0), 0, 1, transform=ax.get_xaxis_transform(), color=TRAIN, alpha=0.08, label="training range")
    ax.add_patch(band)
    train = ax.scatter([], [], c=TRAIN, s=12, label="train")
    test = ax.scatter([], [], c=TEST, s=12, label="test")
    x_low, x_high, y_low, y_high = X.min().item(), X.max().item(), y.min().item(), y.max().item()
    (fit,) = ax.plot([x_low, x_high], [y_low, y_high], c=PRED, label="line fitted on train")
    pad_x, pad_y = 0.05 * (x_high - x_low), 0.1 * (y_high - y_low)
    ax.set(xlabel="X", ylabel="y", xlim=(x_low - pad_x, x_high + pad_x), ylim=(y_low - pad_y, y_high + pad_y), title=" ")
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
    """Train fraction, shuffle and seed -> which points are train/test, and a line fitted on train."""
    if X is None and y is None:
        X, y = _split_data()
    elif X is None or y is None:
        raise ValueError("give both X and y, or neither (the default data)")

    def compute(train_fraction: float, shuffle: bool, seed: int) -> dict:
        r = explore.split_summary(X, y, train_fraction, shuffle, seed)
        r["shuffle"] = shuffle
        kind = "extrapolate beyond" if r["outside"] else "interpolate within"
        r["message"] = (f"{len(r['X_train'])} train / {len(r['X_test'])} test points. {r['outside']} test points "
                        f"lie outside the training range, so the model must {kind} what it saw. "
                        f"Test MSE of the line fitted on train: {r['test_mse']:.4f}")
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
        moving["title"].set_text("shuffled split" if r["shuffle"] else "ordered split")
        return blitted

    controls = {
        "train_fraction": _slider("train fraction", train_fraction, 0.1, 0.9, 0.05),
        "shuffle": widgets.Checkbox(value=shuffle, description="shuffle", style=WIDE),
        "seed": widgets.IntSlider(value=seed, min=0, max=50, description="shuffle seed", style=WIDE),
    }
    return Explorer("Split explorer", "Turn shuffle on and off: an ordered split tests the model on x values it "
                    "never saw (extrapolation); a shuffled one tests it between them.", controls, compute, draw)


# 3. Be the optimizer ------------------------------------------------------------------------------


def _landscape(ax: Any, grid: torch.Tensor, ws: torch.Tensor, bs: torch.Tensor, best: tuple[float, float]) -> None:
    """Draw a loss landscape (log-spaced filled contours) with the least-squares optimum marked."""
    ax.contourf(_np(ws), _np(bs), grid.log10().numpy(), levels=14, cmap="viridis")
    ax.plot(*best, marker="*", ms=14, c="white", mec="black", ls="none", label="least squares")
    ax.set(xlabel="weight", ylabel="bias", title="loss landscape (log scale)")


def optimizer_explorer(
    X: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    *,
    model: nn.Module | None = None,
    lr: float = 0.1,
    loss: str = "MSE",
) -> Explorer:
    """Drag weight and bias -> predictions, L1/MSE loss, your place on the landscape; a step button."""
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
        return {"weight": weight, "bias": bias, "losses": losses, "loss": loss, "path": list(path),
                "message": f"L1 loss: {losses['L1']:.4f} &nbsp; MSE: {losses['MSE']:.4f} &nbsp; "
                f"(least squares: weight {best[0]:.4f}, bias {best[1]:.4f})"}

    xs = torch.tensor([X.min().item(), X.max().item()])
    scenes: dict[str, tuple[_Blitted, dict]] = {}  # one per loss: the landscape is the slow part to draw

    def scene(loss: str) -> tuple[_Blitted, dict]:
        """Draw the still parts once (data, landscape, axes); return them and the moving artists."""
        fig, (left, right) = _figure(2, width=4.6)
        left.scatter(_np(X), _np(y), c=TRAIN, s=12, label="data")
        (line,) = left.plot(_np(xs), _np(xs), c=PRED, label="your model")
        left.set(xlabel="X", ylabel="y", ylim=(-1.5, 3.5), title=" ")
        _landscape(right, grids[loss], ws, bs, best)
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
        moving["title"].set_text(f"{r['loss']} loss {r['losses'][r['loss']]:.4f}")
        moving["trail"].set_data(*zip(*r["path"]))
        moving["dot"].set_data([r["weight"]], [r["bias"]])
        return blitted

    stepping = [False]
    controls = {
        "weight": _slider("weight", start[0], -1, 2, 0.001, readout_format=".4f"),
        "bias": _slider("bias", start[1], -1, 1.5, 0.001, readout_format=".4f"),
        "loss": widgets.ToggleButtons(options=list(explore.LOSSES), value=loss, description="loss", style=TOGGLES),
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.1, description="learning rate",
                                     style=WIDE, readout_format=".3f"),
    }
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


# 4. Training explorer -----------------------------------------------------------------------------


def training_explorer(
    train_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    test_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    *,
    model: nn.Module | None = None,
    lr: float = 0.01,
    epochs: int = 100,
    loss: str = "L1",
    optimizer: str = "SGD",
) -> Explorer:
    """Learning rate, epochs, loss and optimizer -> loss curves, the final fit and the (w, b) path."""
    if train_data is None and test_data is None:
        X_train, y_train, X_test, y_test = train_test_split(*make_line_data())
        train_data, test_data = (X_train, y_train), (X_test, y_test)
    elif train_data is None or test_data is None:
        raise ValueError("give both train_data and test_data as (X, y) tuples, or neither")
    best = least_squares_fit(*train_data)
    ws, bs = torch.linspace(-1, 2, 61), torch.linspace(-1, 1.5, 51)

    def compute(lr: float, epochs: int, loss: str, optimizer: str) -> dict:
        run = explore.train_run(train_data, test_data, lr=lr, epochs=epochs, loss=loss, optimizer=optimizer, model=model)
        if run.diverged_at is not None:
            return {"run": run, "draw": False, "message": f"<span style='color:#b00'>The loss blew up at epoch "
                    f"{run.diverged_at}: a learning rate of {lr:.3g} makes every step overshoot more than the "
                    "last. Try a smaller learning rate.</span>"}
        end = run.path[-1] if run.path else None
        where = f"weight {end[0]:.4f}, bias {end[1]:.4f} " if end else ""
        return {"run": run, "loss": loss, "message": f"After {epochs} epochs: {where}(least squares: weight "
                f"{best[0]:.4f}, bias {best[1]:.4f}); test loss {run.history.test_loss[-1]:.4f}"}

    def draw(r: dict) -> Any:
        run = r["run"]
        fig, (curves, fit, land) = _figure(3, width=3.9, height=3.3)
        curves.plot(run.history.epochs, [max(v, 1e-8) for v in run.history.train_loss], label="train")
        curves.plot(run.history.epochs, [max(v, 1e-8) for v in run.history.test_loss], label="test")
        curves.set(yscale="log", xlabel="epoch", ylabel=f"{r['loss']} loss", title="loss curves")
        curves.legend()
        (Xtr, ytr), (Xte, yte) = train_data, test_data
        fit.scatter(_np(Xtr), _np(ytr), c=TRAIN, s=8, label="train")
        fit.scatter(_np(Xte), _np(yte), c=TEST, s=8, label="test")
        with torch.inference_mode():
            fit.scatter(_np(Xte), _np(run.model(Xte)), c=PRED, s=8, label="predictions")
        fit.set(xlabel="X", ylabel="y", title="final fit")
        fit.legend(loc="upper left", fontsize=8)
        if run.path:
            _landscape(land, explore.loss_grid(Xtr, ytr, ws, bs, r["loss"]).clamp_min(1e-6), ws, bs, best)
            pw, pb = zip(*run.path)
            land.plot(pw, pb, c=PRED, lw=1.5)
            land.set(xlim=(-1, 2), ylim=(-1, 1.5))
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

"""What every explorer shares: the Explorer box, figures rendered to PNG, blitting, the course's sliders."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import torch

from ..plotting import STYLES

__all__ = ["Explorer"]

DPI = 80
# the course's Okabe-Ito colours (helpers.plotting.STYLES), always paired with a marker or line style
TRAIN, VAL, TEST, PRED = (STYLES[k]["color"] for k in ("train", "validation", "test", "predictions"))
MARK = {k: v["marker"] for k, v in STYLES.items()}
TRUE = "black"  # the true line: black and dashed
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


def _points(X: torch.Tensor, y: torch.Tensor) -> Any:
    """Return (X, y) as an [N, 2] array, what a scatter's set_offsets takes."""
    import numpy as np

    return np.column_stack([_np(X), _np(y)])


def _landscape(ax: Any, grid: torch.Tensor, ws: torch.Tensor, bs: torch.Tensor, best: tuple[float, float]) -> Any:
    """Draw a loss landscape (log-spaced filled contours) with the least-squares optimum marked; return the contours.

    The contours hold log10 of the loss: a colour bar made from them (fig.colorbar) can label its ticks 10**v."""
    contours = ax.contourf(_np(ws), _np(bs), grid.log10().numpy(), levels=14, cmap="viridis")
    ax.plot(*best, marker="*", ms=14, c="white", mec="black", ls="none", label="least squares")
    ax.set(xlabel="weight", ylabel="bias", title="loss landscape (log scale)")
    return contours

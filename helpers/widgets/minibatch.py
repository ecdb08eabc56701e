"""5. The mini-batch explorer: batch size, learning rate and epochs -> loss per step and the (w, b) path."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import ipywidgets as widgets
import torch
from torch.utils.data import RandomSampler

from .. import explore
from .._checks import check_int, check_number, check_pair, check_seed
from ..datasets import make_noisy_line_dataset
from ..evaluation import least_squares_fit
from ..models import LinearRegressionModel
from ._base import WIDE, Explorer, _Blitted, _figure

MINI, FULL, TRACK = "#E69F00", "#0072B2", "#000000"  # Okabe-Ito orange, blue, black
LEGEND_ROOM = 0.36  # the top share of the loss axes (log scale) kept free for its legend
DIVERGED = 1e6  # a parameter beyond this (or NaN/inf) means the run blew up
MAX_EPOCHS = 30


@dataclass
class MinibatchRun:
    """One run of mini-batch SGD on the MSE: the loss of each batch, and (w, b) after each step."""

    batch_size: int
    steps_per_epoch: int
    step_losses: list[float] = field(default_factory=list)  # each batch's loss, before its step
    path: list[tuple[float, float]] = field(default_factory=list)  # the start, then after each step
    epoch_losses: list[float] = field(default_factory=list)  # whole training set, after each epoch
    diverged_at: int | None = None  # the epoch in which it blew up


def _sums(x: torch.Tensor, y: torch.Tensor, batch_size: int) -> list[list[float]]:
    """Per batch of `batch_size` consecutive rows: count, sum x, sum x^2, sum y, sum xy, sum y^2."""
    terms = torch.stack([torch.ones_like(x), x, x * x, y, x * y, y * y], dim=1)
    batch = torch.arange(len(x)) // batch_size
    return torch.zeros(int(batch[-1]) + 1, 6, dtype=x.dtype).index_add_(0, batch, terms).tolist()


def _mse(w: float, b: float, s: list[float]) -> float:
    """MSE of the line w x + b on a batch, from its sums (the mean of (w x + b - y)^2, expanded)."""
    n, sx, sxx, sy, sxy, syy = s
    return max(0.0, (w * w * sxx + 2 * w * b * sx + b * b * n - 2 * w * sxy - 2 * b * sy + syy) / n)  # never -1e-17


def _count(n: int, word: str) -> str:
    """Return '1 step' or '3 steps'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _default_start() -> tuple[float, float]:
    """The course's reference start: LinearRegressionModel from seed 42, without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(42)
        return explore.two_parameters(LinearRegressionModel())  # type: ignore[return-value]


def minibatch_run(
    X: torch.Tensor, y: torch.Tensor, *, batch_size: int, lr: float, epochs: int,
    start: tuple[float, float] | None = None, seed: int | None = 0,
) -> MinibatchRun:
    """SGD on the MSE of y = w X + b, batch by batch in the order make_loaders(..., seed=seed) deals them.

    The gradient of the MSE of a line needs only six sums per batch, so each step costs a few float
    operations instead of a forward and backward pass: thousands of steps redraw at once. The tests
    check the result against helpers.fit over the DataLoader of make_loaders.
    """
    X, y = check_pair("X", X, "y", y)
    if X.shape[1:] not in ((), (1,)) or y.shape[1:] not in ((), (1,)):
        raise ValueError(f"X and y must have shape [N, 1], got {list(X.shape)} and {list(y.shape)}")
    batch_size, epochs = check_int("batch_size", batch_size, minimum=1), check_int("epochs", epochs, minimum=1)
    lr, seed = check_number("lr", lr), check_seed("seed", seed)
    if lr <= 0:
        raise ValueError(f"lr must be greater than 0, got {lr}")
    if start is None:
        start = _default_start()
    w, b = check_number("start[0]", start[0]), check_number("start[1]", start[1])
    x64, y64 = X.detach().cpu().double().reshape(-1), y.detach().cpu().double().reshape(-1)
    n, whole = len(x64), _sums(x64, y64, len(x64))[0]
    generator = torch.Generator()
    if seed is not None:
        generator.manual_seed(seed)
    else:
        generator.seed()  # a fresh, random order
    sampler = RandomSampler(range(n), generator=generator)
    run = MinibatchRun(batch_size=batch_size, steps_per_epoch=math.ceil(n / batch_size), path=[(w, b)])
    limit = 100 * _mse(w, b, whole) + 1e-12  # a training-set loss 100 times the starting one: it blew up
    for epoch in range(1, epochs + 1):
        # as a shuffling DataLoader does each epoch: draw a base seed for workers, then run its sampler
        torch.empty((), dtype=torch.int64).random_(generator=generator)
        order = torch.tensor(list(sampler))
        for s in _sums(x64[order], y64[order], batch_size):
            count, sx, sxx, sy, sxy, _ = s
            run.step_losses.append(_mse(w, b, s))
            grad_w, grad_b = 2 * (w * sxx + b * sx - sxy) / count, 2 * (w * sx + b * count - sy) / count
            w, b = w - lr * grad_w, b - lr * grad_b
            if not (abs(w) < DIVERGED and abs(b) < DIVERGED):  # also catches NaN
                run.diverged_at = epoch
                return run
            run.path.append((w, b))
        run.epoch_losses.append(_mse(w, b, whole))
        if not run.epoch_losses[-1] < limit:
            run.diverged_at = epoch
            return run
    return run


def _window(X: torch.Tensor, y: torch.Tensor, start: tuple[float, float], best: tuple[float, float]) -> tuple:
    """The (weight, bias) window around the start and the optimum, and the MSE landscape over it."""
    pad = max(0.2, abs(best[0] - start[0]), abs(best[1] - start[1])) * 0.75  # room for a wandering batch of 1
    w_lim = (min(start[0], best[0]) - pad, max(start[0], best[0]) + pad)
    b_lim = (min(start[1], best[1]) - pad, max(start[1], best[1]) + pad)
    ws, bs = torch.linspace(*w_lim, 61), torch.linspace(*b_lim, 51)
    return ws, bs, w_lim, b_lim, explore.loss_grid(X, y, ws, bs, "MSE").clamp_min(1e-6)


FONTS = {"font.size": 12, "axes.titlesize": 12.5, "legend.fontsize": 11}  # readable at the widget's 80 dpi
NICE = [k * 10.0**e for e in range(-6, 4) for k in (1, 2, 5)]  # 0.01, 0.02, 0.05, 0.1, ...: ticks a reader can read


def _plain(value: float, _: object = None) -> str:
    """A tick label as a plain number (0.02, not 2x10^-2)."""
    return f"{value:.3g}" if 1e-4 <= value < 1e4 else f"{value:.0e}"


def _landscape(ax: object, fig: object, window: tuple) -> None:
    """The MSE over the window in light greys (white along the valley), its log-scale colour bar at round values."""
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    ws, bs, _, _, grid = window
    low, high = grid.log10().min().item(), grid.log10().max().item()
    greys = ListedColormap(colormaps["Greys"](np.linspace(0.02, 0.62, 256)))  # never dark: markers stay visible
    levels = np.linspace(low, high, 15)
    filled = ax.contourf(ws.numpy(), bs.numpy(), grid.log10().numpy(), levels=levels, cmap=greys)
    ax.contour(ws.numpy(), bs.numpy(), grid.log10().numpy(), levels=levels, colors="#888888", linewidths=0.4)
    bar = fig.colorbar(filled, ax=ax, fraction=0.06, pad=0.02)
    ticks = [v for v in NICE if low <= math.log10(v) <= high]
    bar.set_ticks([math.log10(v) for v in ticks], labels=[_plain(v) for v in ticks])
    bar.set_label("MSE on the training set (log scale)")


def _scene(window: tuple, best: tuple[float, float], start: tuple[float, float]) -> tuple[_Blitted, dict]:
    """Draw the still parts once; the curves, the loss axes' ticks (they follow the data) and the paths move."""
    import matplotlib
    from matplotlib.ticker import FuncFormatter, NullFormatter

    _, _, w_lim, b_lim, _ = window
    with matplotlib.rc_context(FONTS):  # text sizes are fixed when each artist is made
        fig, (curves, land) = _figure(2, width=5.6, height=4.4)
        fig.subplots_adjust(left=0.08, right=0.91, bottom=0.12, top=0.92, wspace=0.28)
        (steps,) = curves.plot([], [], c=MINI, lw=0.8, alpha=0.7, label="each batch")
        # the same marks as on the landscape: orange circles for the mini-batches, blue dashed squares for the full batch
        (mini_epochs,) = curves.plot([], [], c=MINI, marker="o", ms=5, mec="black", lw=1.5, label="mini-batch")
        (full_epochs,) = curves.plot([], [], c=FULL, ls="--", marker="s", ms=5, mec="white", lw=1.5,
                                     label="full batch")
        curves.set(yscale="log", xlabel="epoch", ylabel="MSE loss (log scale)",
                   title="Loss: each batch (line), whole set after each epoch")
        curves.yaxis.set_major_formatter(FuncFormatter(_plain))
        curves.yaxis.set_minor_formatter(NullFormatter())
        _landscape(land, fig, window)
        # the mini-batch path broad and under the full batch's dashed line: where the two run together, both show
        (mini_path,) = land.plot([], [], c=MINI, lw=3, alpha=0.75, solid_capstyle="round", label="mini-batch path",
                                 zorder=3)
        (full_path,) = land.plot([], [], c=FULL, ls="--", marker="s", ms=3.5, lw=1.3, label="full-batch path",
                                 zorder=4)
        # a ring, so that an end on the star leaves the star in sight
        (end,) = land.plot([], [], ls="none", marker="o", ms=17, mfc="none", mec=MINI, mew=3, label="mini-batch end",
                           zorder=5)
        (begin,) = land.plot(*start, marker="o", ms=9, c=TRACK, mec="white", mew=1.5, ls="none", zorder=6)
        label = land.annotate("start", start, xytext=(-9, 0), textcoords="offset points", ha="right", va="center",
                              fontweight="bold", zorder=6)
        (star,) = land.plot(*best, marker="*", ms=16, c=TRACK, mec="white", mew=1, ls="none", label="least squares",
                            zorder=6)
        blown = land.text(0.5, 0.55, "", transform=land.transAxes, ha="center", va="center", color="#B00000",
                          fontsize=13, fontweight="bold", bbox={"fc": "white", "ec": "#B00000"}, zorder=7)
        land.set(xlim=w_lim, ylim=b_lim, xlabel="weight", ylabel="bias",
                 title="(weight, bias) after each step, toward the star")
        legends = [curves.legend(loc="upper right"), land.legend(loc="lower left", framealpha=0.9)]
    moving = {"curves": curves, "steps": steps, "mini_epochs": mini_epochs, "full_epochs": full_epochs,
              "mini_path": mini_path, "full_path": full_path, "end": end, "blown": blown, "legend": legends[0]}
    # in the order a full draw paints them (the axes' ticks first); the start, the star and the legends do not
    # move, but repaint after the paths to stay on top of them
    artists = [curves.xaxis, curves.yaxis, steps, mini_epochs, full_epochs, mini_path, full_path, end, begin, label,
               star, blown]
    return _Blitted(fig, [*artists, *legends]), moving


def _loss_limits(mini: MinibatchRun, full: MinibatchRun) -> tuple[float, float]:
    """The loss axes' range: every epoch's loss, and room at the top for the legend, which covers the right 4/5."""
    epochs = mini.epoch_losses + full.epoch_losses
    # below, one batch of a point or two can be fitted almost exactly: cut there, but below every epoch's marker
    floor = max(min(epochs) / 30 if epochs else 0.0, min(mini.step_losses), 1e-12)
    low = min([floor, *(v for v in epochs if v > 1e-12)]) / 1.2  # a loss of 0 has no place on a log scale
    everything = max(mini.step_losses + full.step_losses + epochs + [2 * low])

    def right(values: list[float]) -> list[float]:
        return values[int(0.2 * len(values)):]  # the later part of a run, drawn under the legend

    under_legend = max(right(mini.step_losses) + right(mini.epoch_losses) + right(full.epoch_losses) + [2 * low])
    return low, max(1.3 * everything, low * (under_legend / low) ** (1 / (1 - LEGEND_ROOM)))


def minibatch_explorer(
    X: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    *,
    batch_size: int = 32,
    lr: float = 0.2,
    epochs: int = 30,
    seed: int = 0,
) -> Explorer:
    """Batch size, learning rate and epochs -> loss per step and the (w, b) path, beside full-batch training."""
    if X is None and y is None:
        data = make_noisy_line_dataset()
        X, y = data["training_data"], data["training_labels"]
    elif X is None or y is None:
        raise ValueError("give both X and y, or neither (the course's noisy line)")
    X, y = check_pair("X", X, "y", y)
    n, start, best = len(X), _default_start(), least_squares_fit(X, y)
    sizes = sorted({*(2**k for k in range(int(math.log2(n)) + 1) if 2**k < n), n})
    if batch_size not in sizes:
        raise ValueError(f"batch_size must be one of {sizes} (powers of 2 below {n}, or {n} for the full batch)")
    if not 0.001 <= check_number("lr", lr) <= 1:
        raise ValueError(f"lr must be between 0.001 and 1 (the slider's range), got {lr}")
    if not 1 <= check_int("epochs", epochs) <= MAX_EPOCHS:
        raise ValueError(f"epochs must be between 1 and {MAX_EPOCHS} (the slider's range), got {epochs}")
    window = _window(X, y, start, best)

    def compute(batch_size: int, lr: float, epochs: int) -> dict:
        mini = minibatch_run(X, y, batch_size=batch_size, lr=lr, epochs=epochs, start=start, seed=seed)
        full = minibatch_run(X, y, batch_size=n, lr=lr, epochs=epochs, start=start, seed=seed)
        if mini.diverged_at is not None or full.diverged_at is not None:
            which = "mini-batch" if mini.diverged_at is not None and batch_size < n else "full-batch"
            at = mini.diverged_at if mini.diverged_at is not None else full.diverged_at
            return {"mini": mini, "full": full, "blown": f"the {which} run blew up in epoch {at}",
                    "message": f"<span style='color:#b00'>The {which} run blew up in epoch {at}: at a learning "
                    f"rate of {lr:.3g} its steps overshoot more each time, and its path leaves the picture. Try a "
                    "smaller learning rate.</span>"}
        (w, b), (fw, fb) = mini.path[-1], full.path[-1]
        steps = mini.steps_per_epoch
        return {"mini": mini, "full": full, "blown": "", "message":
                f"Batch size {batch_size}: {_count(steps, 'step')} per epoch, {steps * epochs} in "
                f"{_count(epochs, 'epoch')}, ending at weight {w:.4f}, bias {b:.4f}. Full batch ({n}): "
                f"{_count(epochs, 'step')}, ending at weight {fw:.4f}, bias {fb:.4f}. "
                f"Least squares: weight {best[0]:.4f}, bias {best[1]:.4f}."}

    blitted, moving = _scene(window, best, start)

    def draw(r: dict) -> _Blitted:
        from matplotlib.ticker import LogLocator

        mini, full = r["mini"], r["full"]
        moving["steps"].set_data([i / mini.steps_per_epoch for i in range(len(mini.step_losses))],
                                 [max(v, 1e-12) for v in mini.step_losses])
        texts = moving["legend"].get_texts()
        texts[0].set_text(f"each batch of {mini.batch_size}")
        for text, run, name in [(texts[1], mini, "mini-batch"), (texts[2], full, "full batch")]:
            last = "blew up" if run.diverged_at else f"last {run.epoch_losses[-1]:.4f}"
            text.set_text(f"{name}, whole set ({last})")
        moving["mini_epochs"].set_data(range(1, len(mini.epoch_losses) + 1), mini.epoch_losses)
        moving["full_epochs"].set_data(range(1, len(full.epoch_losses) + 1), full.epoch_losses)
        moving["mini_path"].set_data(*zip(*mini.path))
        # thousands of steps of a tiny batch, or a run that blew up: a fine line, or it hides everything
        many = len(mini.path) > 1000 or mini.diverged_at is not None
        moving["mini_path"].set(linewidth=0.6 if many else 3, alpha=0.5 if many else 0.75)
        moving["full_path"].set_data(*zip(*full.path))
        moving["end"].set_data([mini.path[-1][0]], [mini.path[-1][1]])
        moving["blown"].set_text(r["blown"])
        moving["blown"].set_visible(bool(r["blown"]))
        curves = moving["curves"]
        curves.relim()
        curves.autoscale_view()
        low, high = _loss_limits(mini, full)
        curves.set_ylim(low, high)
        curves.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5) if high / low < 300 else (1,)))
        return blitted

    slider = {"continuous_update": False, "style": WIDE}
    controls = {
        "batch_size": widgets.SelectionSlider(options=sizes, value=batch_size, description="batch size", **slider),
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.1, description="learning rate",
                                     readout_format=".3f", **slider),
        "epochs": widgets.IntSlider(value=epochs, min=1, max=MAX_EPOCHS, description="epochs", **slider),
    }
    return Explorer("Mini-batch explorer", "Pick a batch size and a learning rate; training runs when you let go "
                    "of a slider. Small batches take many cheap, noisy steps per epoch; the full batch takes one.",
                    controls, compute, draw)

"""The mini-batch explorer: its numbers are those of helpers.fit over make_loaders, and every control works.

Runs under ipywidgets 8 (the course pin) and 7.7.1 (Colab's)."""

import io
import math

import ipywidgets
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import TensorDataset

import helpers
from helpers import widgets as W
from helpers.datasets import evaluate_loss, make_loaders, make_noisy_line_dataset
from helpers.widgets._base import _png
from helpers.widgets.minibatch import minibatch_explorer, minibatch_run

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def train():
    d = make_noisy_line_dataset()
    return d["training_data"], d["training_labels"]


def _fit(X, y, batch_size, lr, epochs, seed=0):
    """The real thing: LinearRegressionModel from seed 42, helpers.fit over the loaders of make_loaders."""
    torch.manual_seed(42)
    model = helpers.LinearRegressionModel()
    (loader,) = make_loaders(TensorDataset(X, y), batch_size=batch_size, seed=seed)
    history = helpers.fit(model, loader, (X, y), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=lr), epochs)
    return (model.weights.item(), model.bias.item()), history


def _pixels(explorer):
    return np.asarray(Image.open(io.BytesIO(bytes(explorer.image.value))).convert("RGBA"))


def test_is_exported_and_builds_with_no_arguments():
    assert "minibatch_explorer" in W.__all__ and W.minibatch_explorer is minibatch_explorer
    explorer = minibatch_explorer()
    assert isinstance(explorer, ipywidgets.VBox) and bytes(explorer.image.value).startswith(PNG)
    assert explorer.result is not None and explorer.image.layout.display != "none"


@pytest.mark.parametrize("batch_size, epochs", [(1, 1), (32, 3), (48, 2), (400, 4)])
def test_run_ends_where_helpers_fit_over_the_dataloader_ends(train, batch_size, epochs):
    X, y = train
    run = minibatch_run(X, y, batch_size=batch_size, lr=0.2, epochs=epochs)
    expected, history = _fit(X, y, batch_size, 0.2, epochs)
    assert run.path[-1] == pytest.approx(expected, abs=1e-5)
    assert run.epoch_losses[-1] == pytest.approx(history.val_loss[-1], rel=1e-4)  # the whole training set
    assert len(run.path) == 1 + epochs * math.ceil(400 / batch_size) == 1 + len(run.step_losses)


def test_step_losses_are_the_batch_losses_of_the_hand_written_loop(train):
    X, y = train
    run = minibatch_run(X, y, batch_size=64, lr=0.1, epochs=2)
    torch.manual_seed(42)
    model = helpers.LinearRegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    (loader,) = make_loaders(TensorDataset(X, y), batch_size=64, seed=0)
    losses = [helpers.train_step(model, Xb, yb, nn.MSELoss(), optimizer) for _ in range(2) for Xb, yb in loader]
    assert run.step_losses == pytest.approx(losses, rel=1e-4)
    assert run.epoch_losses[-1] == pytest.approx(evaluate_loss(model, make_loaders(TensorDataset(X, y))[0],
                                                               nn.MSELoss()), rel=1e-4)


def test_message_shows_the_run_and_the_least_squares_answer(train):
    explorer = minibatch_explorer()
    (w, b), _ = _fit(*train, batch_size=32, lr=0.2, epochs=30)
    best = helpers.least_squares_fit(*train)
    text = explorer.message.value
    assert f"weight {w:.4f}, bias {b:.4f}" in text and f"weight {best[0]:.4f}, bias {best[1]:.4f}" in text
    assert "13 steps per epoch, 390 in 30 epochs" in text  # ceil(400 / 32) = 13


def test_smaller_batches_give_noisier_losses_and_more_steps():
    explorer = minibatch_explorer()
    explorer.set_values(batch_size=4, lr=0.05)
    small = explorer.result["mini"]
    explorer.set_values(batch_size=128)
    large = explorer.result["mini"]
    assert small.steps_per_epoch == 100 and large.steps_per_epoch == 4
    spread = [np.log10(np.array(r.step_losses[r.steps_per_epoch:])).std() for r in (small, large)]
    assert spread[0] > 2 * spread[1]


def test_mini_batches_get_closer_than_the_full_batch_in_the_same_epochs(train):
    explorer = minibatch_explorer()
    best = np.array(helpers.least_squares_fit(*train))
    mini, full = explorer.result["mini"], explorer.result["full"]
    assert full.steps_per_epoch == 1 and len(full.path) == 31
    assert np.abs(np.array(mini.path[-1]) - best).max() < np.abs(np.array(full.path[-1]) - best).max() / 5


def test_every_control_at_its_ends_never_raises():
    explorer = minibatch_explorer()
    for name, control in explorer.controls.items():
        start = control.value
        ends = control.options if hasattr(control, "options") else [control.min, control.max]
        if isinstance(control, ipywidgets.FloatLogSlider):
            ends = [control.base ** control.min, control.base ** control.max]
        for value in (ends[0], ends[-1]):
            control.value = value
            shown = explorer.image.layout.display != "none"
            assert shown or explorer.message.value, f"{name}={value}: neither a picture nor a message"
        control.value = start


def test_trains_on_release_only():
    controls = minibatch_explorer().controls.values()
    assert controls and all(c.continuous_update is False for c in controls)


def test_a_learning_rate_that_diverges_says_so_in_the_message_and_in_a_new_picture():
    explorer = minibatch_explorer()
    calm = _pixels(explorer)
    explorer.controls["lr"].value = 1.0
    blown = explorer.figure.axes[1].texts[-1]
    assert "blew up" in explorer.message.value and "blew up in epoch 1" in blown.get_text() and blown.get_visible()
    assert explorer.image.layout.display != "none" and not np.array_equal(_pixels(explorer), calm)  # nothing stale
    explorer.controls["lr"].value = 0.1
    assert "blew up" not in explorer.message.value and not blown.get_visible()


def test_a_control_change_changes_the_picture_and_the_same_values_give_the_same_picture():
    explorer = minibatch_explorer()
    first = _pixels(explorer)
    explorer.controls["batch_size"].value = 8
    assert not np.array_equal(_pixels(explorer), first)
    explorer.controls["batch_size"].value = 32
    assert np.array_equal(_pixels(explorer), first)
    assert np.array_equal(_pixels(minibatch_explorer()), first)


def test_seed_changes_the_order_and_so_the_path(train):
    X, y = train
    a = minibatch_run(X, y, batch_size=16, lr=0.2, epochs=2, seed=0)
    b = minibatch_run(X, y, batch_size=16, lr=0.2, epochs=2, seed=1)
    assert a.path[-1] != b.path[-1] and a.path == minibatch_run(X, y, batch_size=16, lr=0.2, epochs=2, seed=0).path


def test_fast_redraw_is_pixel_identical_to_a_full_render():
    explorer = minibatch_explorer()
    explorer.set_values(batch_size=2, lr=0.01, epochs=5)
    full = np.asarray(Image.open(io.BytesIO(_png(explorer.figure))).convert("RGBA"))
    assert np.array_equal(_pixels(explorer), full)


def test_takes_the_learners_data():
    X = torch.linspace(0, 1, 100).unsqueeze(1)
    explorer = minibatch_explorer(X, 2 * X - 1, batch_size=8, lr=0.5, epochs=30)
    assert explorer.controls["batch_size"].options[-1] == 100
    assert explorer.result["mini"].path[-1] == pytest.approx((2, -1), abs=0.01)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [({"X": torch.zeros(5, 1)}, ValueError, "both X and y"),
     ({"batch_size": 30}, ValueError, "batch_size must be one of"),
     ({"lr": 2.0}, ValueError, "lr must be between"), ({"lr": "0.1"}, TypeError, "lr"),
     ({"epochs": 100}, ValueError, "epochs must be between"),
     ({"X": torch.zeros(5, 1), "y": torch.zeros(4, 1)}, ValueError, "same number of rows")],
)
def test_explorer_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        minibatch_explorer(**kwargs)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [({"batch_size": 0}, ValueError, "batch_size"), ({"lr": 0.0}, ValueError, "lr"),
     ({"epochs": 1.5}, TypeError, "epochs"), ({"seed": -1}, ValueError, "seed"),
     ({"start": (0.1, "b")}, TypeError, r"start\[1\]"), ({"X": torch.zeros(10, 2)}, ValueError, r"\[N, 1\]")],
)
def test_run_refuses_bad_arguments(train, kwargs, error, match):
    args = {"X": train[0], "y": train[1], "batch_size": 8, "lr": 0.1, "epochs": 1, **kwargs}
    if args["X"].shape[1] == 2:
        args["y"] = torch.zeros(10, 1)
    with pytest.raises(error, match=match):
        minibatch_run(**args)


def test_does_not_import_pyplot():
    import subprocess
    import sys

    code = "import sys, helpers.widgets as W; W.minibatch_explorer(); print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False" and "Warning" not in out.stderr


def _legend_box(ax):
    """The legend's box, in pixels."""
    return ax.get_legend().get_window_extent()


@pytest.mark.parametrize("batch_size, lr", [(1, 0.2), (32, 0.2), (400, 0.2), (1, 10**-0.2), (4, 10**-0.1)])
def test_the_loss_legend_covers_no_loss_and_every_loss_is_in_view(batch_size, lr):
    explorer = minibatch_explorer()
    explorer.set_values(batch_size=batch_size, lr=lr)
    curves = explorer.figure.axes[0]
    box, (low, high) = _legend_box(curves), curves.get_ylim()
    for line in curves.get_lines():
        x, y = line.get_data()
        points = curves.transData.transform(np.column_stack([x, y]))
        inside = (points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)
        assert not inside.any(), line.get_label()
        if line.get_marker() not in (None, "None", ""):  # the epochs' markers: all of them in view
            assert low <= min(y) and max(y) <= high


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_the_star_and_the_start_sit_above_the_paths_and_the_end_ring_lets_the_star_show():
    land = minibatch_explorer().figure.axes[1]
    lines = _lines(land)
    star, start = lines["least squares"], next(l for l in land.get_lines() if l.get_label().startswith("_"))
    paths = [lines[k] for k in ("mini-batch path", "full-batch path", "mini-batch end")]
    assert min(star.get_zorder(), start.get_zorder()) > max(p.get_zorder() for p in paths)
    assert lines["mini-batch end"].get_markerfacecolor() == "none"  # a ring around the star, not a patch over it
    assert any(t.get_text() == "start" for t in land.texts)  # the start is named where it is


def test_the_mini_batch_path_runs_under_the_full_batch_path_and_both_show():
    """Their first steps run together: the broad orange path under the thin dashed blue one (issue 22)."""
    lines = _lines(minibatch_explorer().figure.axes[1])
    mini, full = lines["mini-batch path"], lines["full-batch path"]
    assert mini.get_zorder() < full.get_zorder() and mini.get_linewidth() > 2 * full.get_linewidth()
    assert full.get_linestyle() == "--"


def test_each_run_looks_the_same_on_both_panels():
    curves, land, _ = minibatch_explorer().figure.axes
    steps, mini_epochs, full_epochs = curves.get_lines()
    lines = _lines(land)
    assert mini_epochs.get_color() == steps.get_color() == lines["mini-batch path"].get_color()
    full = lines["full-batch path"]
    for prop in ("color", "marker", "linestyle"):
        assert getattr(full_epochs, f"get_{prop}")() == getattr(full, f"get_{prop}")(), prop


def test_the_colour_bar_and_the_loss_axis_read_as_plain_numbers_on_a_log_scale():
    figure = minibatch_explorer().figure
    curves, land, bar = figure.axes
    assert "log scale" in bar.get_ylabel() and "log scale" in curves.get_ylabel()
    values = [float(t.get_text()) for t in bar.get_yticklabels() if t.get_text()]  # 0.02, not 10**-1.7
    assert len(values) >= 3 and all(f"{v:.0e}"[0] in "125" for v in values)
    labels = [t.get_text() for t in curves.get_yticklabels() if t.get_text()]
    assert len(labels) >= 3 and all(float(t) > 0 for t in labels)  # 0.01, 0.02, 0.05, ...: not 10^-2


def test_the_text_is_readable():
    figure = minibatch_explorer().figure
    curves, land, _ = figure.axes
    texts = [curves.title, land.title, curves.xaxis.label, land.yaxis.label, *curves.get_legend().get_texts(),
             *land.get_legend().get_texts(), *land.get_xticklabels()]
    assert min(t.get_fontsize() for t in texts) >= 11


def test_the_legends_name_the_last_losses_and_show_the_marks_as_plotted():
    explorer = minibatch_explorer()
    curves, land, _ = explorer.figure.axes
    texts = [t.get_text() for t in curves.get_legend().get_texts()]
    assert f"last {explorer.result['mini'].epoch_losses[-1]:.4f}" in texts[1]
    assert f"last {explorer.result['full'].epoch_losses[-1]:.4f}" in texts[2]
    for ax in (curves, land):
        handles = dict(zip([t.get_text() for t in ax.get_legend().get_texts()], ax.get_legend().legend_handles))
        for line in ax.get_lines():
            if line.get_label() in handles:
                handle = handles[line.get_label()]
                for prop in ("color", "marker", "markerfacecolor", "markeredgecolor", "linestyle"):
                    assert getattr(handle, f"get_{prop}")() == getattr(line, f"get_{prop}")(), (line.get_label(), prop)


def test_a_wandering_batch_of_one_ends_inside_the_picture(train):
    explorer = minibatch_explorer(*train)
    explorer.set_values(batch_size=1, lr=10**-0.2)  # the notch below the one where it blows up
    land = explorer.figure.axes[1]
    (w, b), (w_lo, w_hi), (b_lo, b_hi) = explorer.result["mini"].path[-1], land.get_xlim(), land.get_ylim()
    assert w_lo < w < w_hi and b_lo < b < b_hi

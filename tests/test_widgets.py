"""The widget explorers: they build with no arguments, show the right numbers, respond to every
control, and never raise at a slider's ends. Runs under ipywidgets 8 (the course pin) and 7.7.1
(Colab's), see `make test`."""

import ipywidgets
import pytest
import torch
from torch import nn

import helpers
from helpers import explore
from helpers import widgets as W
from helpers.widgets._base import _png

EXPLORERS = [W.line_explorer, W.split_explorer, W.optimizer_explorer, W.training_explorer]
PNG = b"\x89PNG"


def test_all_lists_the_explorers():
    assert {f.__name__ for f in EXPLORERS} <= set(W.__all__)


@pytest.mark.parametrize("build", EXPLORERS, ids=lambda f: f.__name__)
def test_builds_with_no_arguments_and_shows_a_picture(build):
    explorer = build()
    assert isinstance(explorer, ipywidgets.VBox)
    assert explorer.image in explorer.children and bytes(explorer.image.value).startswith(PNG)
    assert explorer.result is not None and explorer.image.layout.display != "none"
    assert any(isinstance(c, (ipywidgets.FloatSlider, ipywidgets.FloatLogSlider, ipywidgets.IntSlider))
               for c in explorer.controls.values())


def _ends(control):
    if isinstance(control, ipywidgets.FloatLogSlider):
        return [control.base ** control.min, control.base ** control.max]
    if hasattr(control, "min"):
        return [control.min, control.max]
    if isinstance(control, ipywidgets.Checkbox):
        return [True, False]
    if hasattr(control, "options"):
        return list(control.options)
    return []


@pytest.mark.parametrize("build", EXPLORERS, ids=lambda f: f.__name__)
def test_every_control_at_its_ends_never_raises(build):
    explorer = build()
    for name, control in explorer.controls.items():
        start = control.value if hasattr(control, "value") else None
        for value in _ends(control):
            control.value = value  # observers run synchronously: an exception would surface here
            shown = explorer.image.layout.display != "none"
            assert shown or explorer.message.value, f"{name}={value}: neither a picture nor a message"
        if start is not None:
            control.value = start


def test_line_explorer_draws_the_data_of_its_sliders():
    explorer = W.line_explorer()
    first = bytes(explorer.image.value)
    explorer.set_values(weight=-1.5, bias=0.5, n_points=20)
    X, y = explorer.result["X"], explorer.result["y"]
    assert X.shape == (20, 1) and torch.allclose(y, -1.5 * X + 0.5)
    assert bytes(explorer.image.value) != first and "[20, 1]" in explorer.message.value


def test_split_explorer_shows_extrapolation_only_for_the_ordered_split():
    explorer = W.split_explorer()
    ordered = dict(explorer.result)
    assert ordered["outside"] == len(ordered["X_test"]) == 10
    explorer.controls["shuffle"].value = True
    shuffled = explorer.result
    assert shuffled["outside"] < ordered["outside"]
    assert shuffled["test_mse"] < ordered["test_mse"]  # the bent data punishes extrapolation
    assert "extrapolate" in W.split_explorer().message.value


def test_split_explorer_accepts_the_learners_data():
    X = torch.linspace(0, 2, 30).unsqueeze(1)
    explorer = W.split_explorer(X, 3 * X - 1, train_fraction=0.5)
    assert len(explorer.result["X_train"]) == 15 and explorer.result["weight"] == pytest.approx(3, abs=1e-4)


def test_optimizer_explorer_shows_the_loss_of_a_model_with_those_parameters(split):
    explorer = W.optimizer_explorer()
    explorer.set_values(weight=0.55, bias=0.2)
    model = helpers.LinearRegressionModel()
    with torch.no_grad():
        model.weights.fill_(0.55), model.bias.fill_(0.2)
    X, y = split[0], split[1]
    assert explorer.result["losses"]["MSE"] == pytest.approx(nn.MSELoss()(model(X), y).item(), abs=1e-7)
    assert explorer.result["losses"]["L1"] == pytest.approx(nn.L1Loss()(model(X), y).item(), abs=1e-7)
    assert f"{explorer.result['losses']['L1']:.4f}" in explorer.message.value


def test_optimizer_step_button_moves_where_autograd_says_and_draws_the_path(split):
    explorer = W.optimizer_explorer(lr=0.1, loss="MSE")
    step_button = explorer.controls["step"]
    start = explorer.values()
    picture = bytes(explorer.image.value)
    step_button.click()
    expected = explore.gradient_step(split[0], split[1], start["weight"], start["bias"], 0.1, "MSE")
    assert (explorer.values()["weight"], explorer.values()["bias"]) == pytest.approx(expected, abs=1e-9)
    assert len(explorer.result["path"]) == 2 and bytes(explorer.image.value) != picture
    step_button.click()
    assert len(explorer.result["path"]) == 3
    explorer.controls["weight"].value = 1.0  # a move by hand starts a new path
    assert len(explorer.result["path"]) == 1


def test_optimizer_explorer_starts_from_the_learners_model_and_refuses_others():
    model = helpers.LinearRegressionModelV2()
    explorer = W.optimizer_explorer(model=model)
    w, b = explore.two_parameters(model)
    assert explorer.values()["weight"] == pytest.approx(w, abs=0.01)
    with pytest.raises(ValueError, match="two scalar parameters"):
        W.optimizer_explorer(model=nn.Linear(3, 1))


def test_training_explorer_defaults_reproduce_the_reference_run():
    explorer = W.training_explorer()
    run = explorer.result["run"]
    assert run.path[-1] == pytest.approx((0.5784, 0.3513), abs=1e-4)
    assert "0.5784" in explorer.message.value


def test_training_explorer_trains_on_release_only():
    explorer = W.training_explorer()
    sliders = [c for c in explorer.controls.values() if hasattr(c, "continuous_update")]
    assert sliders and all(c.continuous_update is False for c in sliders)


def test_a_learning_rate_that_diverges_shows_a_message_not_nan_plots():
    explorer = W.training_explorer(loss="MSE")
    explorer.controls["lr"].value = 10.0
    assert "blew up" in explorer.message.value and explorer.image.layout.display == "none"
    explorer.controls["lr"].value = 0.1
    assert "blew up" not in explorer.message.value and explorer.image.layout.display != "none"


def test_train_button_retrains_and_adam_gets_closer():
    explorer = W.training_explorer()
    explorer.set_values(optimizer="Adam", lr=0.02, epochs=300)
    w, b = explorer.result["run"].path[-1]
    assert abs(w - 0.7) < 0.05 and abs(b - 0.3) < 0.05
    before = explorer.result
    explorer.controls["train"].click()
    assert explorer.result is not before and explorer.result["run"].path[-1] == pytest.approx((w, b))


def test_training_explorer_validates_on_the_5_points_after_training_and_never_sees_the_test_set():
    explorer = W.training_explorer()
    run = explorer.result["run"]
    X, y = helpers.make_line_data()
    _, _, X_val, y_val, _, _ = helpers.train_val_test_split(X, y, 0.8, 0.1)
    assert run.history.val_loss[-1] == pytest.approx(helpers.test_step(run.model, X_val, y_val, nn.L1Loss()))
    assert "validation loss" in explorer.message.value


def _marker_shapes(ax):
    return {tuple(map(tuple, c.get_paths()[0].vertices.round(3))) for c in ax.collections if len(c.get_paths())}


def test_explorers_never_code_by_colour_alone():
    from helpers.plotting import STYLES

    split = W.split_explorer()
    (ax,) = split.figure.axes
    assert len(_marker_shapes(ax)) == 2  # train and test points have different markers
    training = W.training_explorer()
    curves, fit = training.figure.axes[:2]  # then the landscape and its colour bar
    train_line, val_line = curves.get_lines()[:2]
    assert train_line.get_linestyle() != val_line.get_linestyle() and train_line.get_marker() != val_line.get_marker()
    assert len(_marker_shapes(fit)) == 3  # training, validation, predictions
    colours = {line.get_color().upper() for line in (train_line, val_line)}
    assert colours == {STYLES["train"]["color"].upper(), STYLES["validation"]["color"].upper()}


def test_training_explorer_takes_the_learners_model_and_data():
    X = torch.linspace(0, 1, 20).unsqueeze(1)
    explorer = W.training_explorer((X, 2 * X), (X, 2 * X), model=nn.Sequential(nn.Linear(1, 4), nn.Linear(4, 1)),
                                   lr=0.05, loss="MSE")
    assert explorer.result["run"].path == [] and bytes(explorer.image.value).startswith(PNG)


def test_explorers_do_not_import_pyplot():
    import subprocess
    import sys

    code = "import sys, helpers.widgets as W; W.training_explorer(); print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False" and "Warning" not in out.stderr


@pytest.mark.parametrize(
    "build, values",
    [(W.line_explorer, {"weight": -1.2, "noise_std": 0.3, "n_points": 120}),
     (W.split_explorer, {"train_fraction": 0.4, "shuffle": True, "seed": 7}),
     (W.optimizer_explorer, {"weight": 1.2, "bias": -0.4, "loss": "L1"})],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_fast_redraw_is_pixel_identical_to_a_full_render(build, values):
    import io

    import numpy as np
    from PIL import Image

    explorer = build()
    explorer.set_values(**values)
    fast = np.asarray(Image.open(io.BytesIO(bytes(explorer.image.value))).convert("RGBA"))
    full = np.asarray(Image.open(io.BytesIO(_png(explorer.figure))).convert("RGBA"))
    assert fast.shape == full.shape and (fast == full).all()


def test_line_explorer_draws_the_best_line_through_the_dots_and_says_the_shapes_in_its_picture():
    explorer = W.line_explorer()
    explorer.set_values(noise_std=0.3, n_points=5, seed=0)
    X, y = explorer.result["X"], explorer.result["y"]
    assert explorer.result["fit"] == pytest.approx(helpers.least_squares_fit(X, y), abs=1e-6)
    (ax,) = explorer.figure.axes
    assert "[5, 1]" in ax.get_title() and f"{explorer.result['fit'][0]:.2f} X" in ax.get_title()
    # the numbers notebook 01's answer to the explorer's "Try" quotes
    fits = {}
    for n, seed in [(50, 0), (5, 0), (5, 1), (5, 2)]:
        explorer.set_values(n_points=n, seed=seed)
        fits[n, seed] = tuple(round(v, 2) for v in explorer.result["fit"])
    assert fits == {(50, 0): (0.88, 0.23), (5, 0): (0.04, 0.48), (5, 1): (0.42, 0.48), (5, 2): (0.75, 0.26)}


@pytest.mark.parametrize("n", [49, 50, 98, 103, 107, 196, 197])
def test_line_explorer_draws_exactly_the_number_of_points_on_its_slider(n):
    """arange(0, 1, 1 / n) gives n + 1 values for these n (floating-point rounding): the explorer must not."""
    explorer = W.line_explorer()
    explorer.set_values(n_points=n)
    X = explorer.result["X"]
    assert X.shape == (n, 1) and float(X.max()) < 1 and f"{n} points" in explorer.figure.axes[0].get_title()
    if n == 50:  # the course's data, bit for bit
        assert torch.equal(X, helpers.make_line_data()[0])


def test_split_explorer_says_how_many_test_points_it_must_extrapolate_to_and_shows_the_overshoot():
    explorer = W.split_explorer()
    assert "All 10 test points lie outside the training range" in explorer.message.value
    explorer.set_values(shuffle=True, seed=42)
    assert "1 of 10 test points lies outside" in explorer.message.value
    assert "the other 9 lie inside it" in explorer.message.value
    (ax,) = explorer.figure.axes
    for fraction in (0.2, 0.5, 0.8):
        explorer.set_values(train_fraction=fraction, shuffle=False)
        x_end = float(explorer.result["X_test"].max())
        assert explorer.result["weight"] * x_end + explorer.result["bias"] < ax.get_ylim()[1]  # inside the picture


def test_split_explorer_shows_notebook_02s_curve_and_its_errors_in_the_picture():
    X, _ = helpers.make_line_data()
    noise = 0.02 * torch.randn(X.shape, generator=torch.Generator().manual_seed(42))
    explorer = W.split_explorer()
    shown = torch.cat([explorer.result["y_train"], explorer.result["y_test"]])
    assert torch.equal(shown, 0.3 + 1.2 * X - 0.6 * X**2 + noise)  # bends down, exactly notebook 02's data
    w, b = helpers.least_squares_fit(X[:40], shown[:40])
    assert explorer.result["test_mae"] == pytest.approx(helpers.mae(w * X[40:] + b, shown[40:]), abs=1e-6)
    (ax,) = explorer.figure.axes
    assert f"{explorer.result['test_mae']:.4f} test" in ax.get_title() and "10 of 10 test points outside" in ax.get_title()
    # the numbers notebook 02's answer to the explorer's "Try" quotes
    maes = {}
    for fraction, shuffle, seed in [(0.9, False, 42), (0.7, False, 42), (0.5, False, 42), (0.8, True, 42),
                                    (0.8, True, 0)]:
        explorer.set_values(train_fraction=fraction, shuffle=shuffle, seed=seed)
        maes[fraction, shuffle, seed] = round(explorer.result["test_mae"], 4)
    assert maes == {(0.9, False, 42): 0.103, (0.7, False, 42): 0.1355, (0.5, False, 42): 0.1645,
                    (0.8, True, 42): 0.059, (0.8, True, 0): 0.0576}


def test_optimizer_explorer_without_steps_asks_only_for_what_notebook_03_teaches():
    explorer = W.optimizer_explorer(steps=False)
    assert list(explorer.controls) == ["weight", "bias"] and not hasattr(explorer, "take_step")
    assert "MSE: 0.1049" in explorer.message.value and "L1" not in explorer.message.value
    left, landscape, bar = explorer.figure.axes  # the map of the loss has a colour bar with a label
    assert "MSE" in bar.get_ylabel() and left.get_title() == "your line's MSE: 0.1049"
    low, high = left.get_ylim()  # close enough to the data to see the gap between it and the start line
    assert low < 0.1288 and high > 0.85 and high - low < 2
    # the numbers notebook 03's answer to the explorer's "Try" quotes
    shown = {}
    for w, b in [(0.7, 0.3), (0.75, 0.28), (0.6, 0.3), (1.0, 0.3), (1.0, 0.18)]:
        explorer.set_values(weight=w, bias=b)
        shown[w, b] = round(explorer.result["losses"]["MSE"], 4)
    assert shown == {(0.7, 0.3): 0.0, (0.75, 0.28): 0.0001, (0.6, 0.3): 0.0021, (1.0, 0.3): 0.0185,
                     (1.0, 0.18): 0.0048}
    with pytest.raises(TypeError, match="steps must be True or False"):
        W.optimizer_explorer(steps="no")
    with pytest.raises(ValueError, match="loss must be one of"):
        W.optimizer_explorer(loss="Huber")

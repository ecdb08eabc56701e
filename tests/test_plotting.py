"""plot_predictions and plot_loss_curves draw what they promise, from any tensor, and never by colour alone."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb
from torch import nn

import helpers
from helpers.plotting import STYLES

OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}


def _colors(ax):
    return [tuple(np.round(c.get_facecolor()[0][:3], 3)) for c in ax.collections]


def _rgb(kind):
    return tuple(np.round(to_rgb(STYLES[kind]["color"]), 3))


def _marker_shapes(ax):
    """The vertices of each scatter's marker: different markers have different shapes."""
    return [tuple(map(tuple, np.round(c.get_paths()[0].vertices, 3))) for c in ax.collections]


def test_styles_are_okabe_ito_with_a_distinct_marker_and_line_style_each():
    assert {s["color"].upper() for s in STYLES.values()} <= OKABE_ITO
    for key in ("color", "marker", "linestyle"):
        values = [s[key] for s in STYLES.values()]
        assert len(set(values)) == len(values) == 4, f"two series share a {key}"


def test_plot_predictions_draws_train_test_and_predictions(split):
    X_train, y_train, X_test, y_test = split
    ax = helpers.plot_predictions(X_train, y_train, X_test, y_test, predictions=y_test + 0.1)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Training data", "Test data", "Predictions"]
    assert _colors(ax) == [_rgb("train"), _rgb("test"), _rgb("predictions")]
    assert len(set(_marker_shapes(ax))) == 3  # colour is not the only difference
    train, test, pred = (c.get_offsets() for c in ax.collections)
    assert np.allclose(train, torch.cat([X_train, y_train], 1).numpy())
    assert np.allclose(pred[:, 1], (y_test + 0.1).squeeze().numpy())
    assert len(test) == 10


def test_plot_predictions_on_validation_data_says_so(split):
    ax = helpers.plot_predictions(*split, predictions=split[3], held_out="validation")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Training data", "Validation data", "Predictions"]
    assert _colors(ax)[1] == _rgb("validation")


def test_plot_predictions_without_predictions_has_two_series(split):
    ax = helpers.plot_predictions(*split)
    assert len(ax.collections) == 2


def test_plot_predictions_accepts_tensors_that_require_grad_and_draws_on_given_axes(split, seeded):
    model = helpers.LinearRegressionModel()
    y_hat = model(split[2])  # requires grad: plotting must detach, not crash
    assert y_hat.requires_grad
    fig, ax = plt.subplots(figsize=(4, 3))
    assert helpers.plot_predictions(*split, predictions=y_hat, ax=ax) is ax
    assert len(fig.axes) == 1 and len(ax.collections) == 3


def test_plot_predictions_has_no_global_default_data():
    import inspect

    params = inspect.signature(helpers.plot_predictions).parameters
    assert all(p.default is inspect.Parameter.empty for name, p in params.items() if name.endswith(("data", "labels")))


def test_plot_loss_curves_from_fit_history(split, seeded):
    model = helpers.LinearRegressionModel()
    history = helpers.fit(
        model, split[:2], split[2:], nn.L1Loss(), torch.optim.SGD(model.parameters(), lr=0.01), 20, eval_every=5
    )
    ax = helpers.plot_loss_curves(history, log_scale=True)
    train_line, val_line = ax.get_lines()
    assert list(train_line.get_xdata()) == [5, 10, 15, 20]
    assert list(val_line.get_ydata()) == history.val_loss
    assert ax.get_yscale() == "log"


def test_plot_loss_curves_accepts_a_dict_and_tells_the_curves_apart_without_colour():
    ax = helpers.plot_loss_curves({"epochs": [1, 2], "train_loss": [1.0, 0.5], "val_loss": [1.1, 0.6]})
    train_line, val_line = ax.get_lines()
    assert [line.get_label() for line in (train_line, val_line)] == ["Training loss", "Validation loss"]
    assert train_line.get_linestyle() != val_line.get_linestyle()
    assert train_line.get_marker() != val_line.get_marker()


def test_plot_predictions_takes_figsize_like_notebook_02s_version(split):
    import inspect

    names = list(inspect.signature(helpers.plot_predictions).parameters)
    assert names[:6] == ["train_data", "train_labels", "test_data", "test_labels", "predictions", "figsize"]
    ax = helpers.plot_predictions(*split, figsize=(7, 4))
    assert tuple(ax.figure.get_size_inches()) == (7, 4)
    ax = helpers.plot_predictions(*split, None, (3, 2))  # in notebook 02's order, by position
    assert tuple(ax.figure.get_size_inches()) == (3, 2)
    assert tuple(helpers.plot_predictions(*split).figure.get_size_inches()) == (8, 5)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"figsize": (0, 4)}, ValueError, r"figsize must be \(width, height\)"),
    ({"figsize": 7}, ValueError, "figsize must be"),
    ({"figsize": ("7", 4)}, TypeError, "figsize values must be a number"),
    ({"ax": "left"}, TypeError, "ax must be a matplotlib Axes"),
])
def test_plot_predictions_checks_figsize_and_ax(split, kwargs, error, match):
    with pytest.raises(error, match=match):
        helpers.plot_predictions(*split, **kwargs)


def test_plot_predictions_refuses_figsize_with_ax_and_data_with_two_features(split):
    _, ax = plt.subplots(figsize=(4, 3))
    with pytest.raises(ValueError, match="figsize .* or ax .*, not both"):
        helpers.plot_predictions(*split, figsize=(7, 4), ax=ax)
    X_train, y_train, X_test, y_test = split
    with pytest.raises(ValueError, match=r"train_data must hold one number per point.*\[40, 2\]"):
        helpers.plot_predictions(X_train.repeat(1, 2), y_train, X_test, y_test)
    with pytest.raises(ValueError, match=r"predictions must hold one number per point"):
        helpers.plot_predictions(*split, predictions=torch.zeros(10, 3))


def test_plot_loss_curves_refuses_an_empty_history_and_a_non_bool_log_scale():
    with pytest.raises(ValueError, match="history is empty"):
        helpers.plot_loss_curves(helpers.History())
    with pytest.raises(TypeError, match="log_scale must be True or False"):
        helpers.plot_loss_curves({"epochs": [1], "train_loss": [1.0], "val_loss": [1.0]}, log_scale="yes")

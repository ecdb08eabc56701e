"""plot_predictions and plot_loss_curves draw what they promise, from any tensor."""

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

import helpers


def _colors(ax):
    return [tuple(np.round(c.get_facecolor()[0][:3], 2)) for c in ax.collections]


def test_plot_predictions_draws_train_test_and_predictions(split):
    X_train, y_train, X_test, y_test = split
    ax = helpers.plot_predictions(X_train, y_train, X_test, y_test, predictions=y_test + 0.1)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Training data", "Testing data", "Predictions"]
    assert _colors(ax) == [(0.0, 0.0, 1.0), (0.0, 0.5, 0.0), (1.0, 0.0, 0.0)]
    train, test, pred = (c.get_offsets() for c in ax.collections)
    assert np.allclose(train, torch.cat([X_train, y_train], 1).numpy())
    assert np.allclose(pred[:, 1], (y_test + 0.1).squeeze().numpy())
    assert len(test) == 10


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
    train_line, test_line = ax.get_lines()
    assert list(train_line.get_xdata()) == [5, 10, 15, 20]
    assert list(test_line.get_ydata()) == history.test_loss
    assert ax.get_yscale() == "log"


def test_plot_loss_curves_accepts_a_dict():
    ax = helpers.plot_loss_curves({"epochs": [1, 2], "train_loss": [1.0, 0.5], "test_loss": [1.1, 0.6]})
    assert [line.get_label() for line in ax.get_lines()] == ["Train loss", "Test loss"]

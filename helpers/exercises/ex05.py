"""Exercises for notebook 05 (evaluation): predictions done right, MAE and MSE by hand, residuals."""

from __future__ import annotations

import torch
from torch import nn

from ._core import Exercises, Incorrect
from ._util import call, close, need, shape, tensor

_ex = Exercises("ex05")
bind = _ex.bind


def _dropout_model() -> nn.Module:
    """A small model whose dropout layer makes training-mode outputs random; left in training mode."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1)).train()


def _no_graph(out: object, what: str, inference: bool = True) -> torch.Tensor:
    """Shared checks of a prediction: a tensor with no graph (and an inference tensor)."""
    out = tensor(what, out)
    need(not out.requires_grad, f"{what} carries a graph (requires_grad=True): run the model inside "
                                "`with torch.inference_mode():`.")
    need(out.is_inference() or not inference, f"{what} has no graph, but it is not an inference tensor: "
         "torch.no_grad() switches the graph off too, but the course predicts under torch.inference_mode().")
    return out


def _check_evaluate(evaluate: object) -> str:
    """Eval mode (dropout off) and inference mode, the model's own outputs."""
    need(callable(evaluate), "`evaluate` should be a function evaluate(model, X).")
    model, X = _dropout_model(), torch.linspace(0, 1, 20).unsqueeze(1)
    first = call(evaluate, model, X, case="For a model with dropout, left in training mode")
    second = call(evaluate, model, X, case="Called a second time")
    first = _no_graph(first, "`evaluate(model, X)`")
    need(torch.equal(first, second), "two calls gave different predictions: the dropout layer was still active. "
                                     "Call model.eval() before predicting.")
    need(not model.training, "after `evaluate` the model is in training mode: call model.eval().")
    with torch.no_grad():
        need(close(first, model.eval()(X)), "the predictions differ from the model's own outputs in eval mode.")
    need(first.shape == (20, 1), f"the predictions have shape {shape(first)}, expected [20, 1] like X.")
    return "eval mode (dropout off: the same answer twice) and inference mode (no graph: `is_inference()` is True)."


q1 = _ex.problem(
    _check_evaluate, names=("evaluate",), title="Predictions done right",
    task="Write `evaluate(model, X)`: the model's predictions for `X` in evaluation mode and inside "
         "`torch.inference_mode()`, as `helpers.predict` makes them. The check calls it on a model with a "
         "dropout layer, left in training mode: two calls must agree, and the result must be an inference "
         "tensor.",
    starter='def evaluate(model, X):\n'
            '    """Predictions of model on X in evaluation mode, without building a graph."""\n'
            '    ____\n'
            '    with ____:\n'
            '        return ____',
    hint="model.eval() switches dropout off (it does not stop the graph); `with torch.inference_mode():` stops "
         "the graph. You need both.",
    solution='def evaluate(model, X):\n'
             '    """Predictions of model on X in evaluation mode, without building a graph."""\n'
             '    model.eval()\n'
             '    with torch.inference_mode():\n'
             '        return model(X)',
)


def _check_metrics(mae: object, mse: object) -> str:
    """MAE and MSE equal the definitions on errors of both signs and edge cases."""
    need(callable(mae) and callable(mse), "`mae` and `mse` should be functions mae(y_pred, y) and mse(y_pred, y).")
    cases = [("errors 2, -2 and 1", [3.0, -1.0, 2.0], [1.0, 1.0, 1.0]),
             ("errors 0.1, -0.3, 0.2 and 0.4", [0.4, 0.0, 0.5, 0.9], [0.3, 0.3, 0.3, 0.5]),
             ("a perfect prediction", [0.5, 0.7], [0.5, 0.7]), ("one point, error -0.5", [0.2], [0.7])]
    for name, pred, true in cases:
        y_pred, y = torch.tensor(pred).unsqueeze(1), torch.tensor(true).unsqueeze(1)
        e = y_pred - y
        for fn, fname, want in [(mae, "mae", e.abs().mean().item()), (mse, "mse", e.pow(2).mean().item())]:
            got = call(fn, y_pred, y, case=f"For {name}, {fname}")
            need(not isinstance(got, torch.Tensor), f"`{fname}` returned a tensor: return a Python number (.item()).")
            need(isinstance(got, float), f"`{fname}` returned {type(got).__name__}: return a Python number.")
            if close(got, e.mean().item()) and not close(got, want):
                raise Incorrect(f"for {name} your {fname} is {got:.4f}: errors of opposite sign cancelled. Take "
                                f"{'.abs()' if fname == 'mae' else '.pow(2)'} of each error before the mean.")
            need(not (close(got, e.abs().mean().item()) and fname == "mse" and not close(got, want)),
                 f"for {name} your mse is the mean absolute error {got:.4f}: square the errors instead.")
            need(close(got, want), f"for {name} your {fname} is {got:.4f}, expected {want:.4f}: the mean over the "
                                   f"points of {'|e|' if fname == 'mae' else 'e squared'}, with e = y_pred - y.")
    return "both agree with the definitions, on errors of both signs, a perfect prediction and a single point."


q2 = _ex.problem(
    _check_metrics, names=("mae", "mse"), title="MAE and MSE by hand",
    task="Write `mae(y_pred, y)` and `mse(y_pred, y)`: the mean absolute error and the mean squared error, each "
         "returned as a Python number. The check compares them with the definitions on a few cases: errors of "
         "both signs, large ones, a perfect prediction and a single point.",
    starter='def mae(y_pred, y):\n'
            '    """Mean absolute error, as a Python number."""\n'
            '    return ____\n'
            '\n'
            '\n'
            'def mse(y_pred, y):\n'
            '    """Mean squared error, as a Python number."""\n'
            '    return ____',
    hint="(y_pred - y).abs().mean().item() and (y_pred - y).pow(2).mean().item(): the error of each point first, "
         "then the mean over the points.",
    solution='def mae(y_pred, y):\n'
             '    """Mean absolute error, as a Python number."""\n'
             '    return (y_pred - y).abs().mean().item()\n'
             '\n'
             '\n'
             'def mse(y_pred, y):\n'
             '    """Mean squared error, as a Python number."""\n'
             '    return (y_pred - y).pow(2).mean().item()',
)


def _check_residuals(residuals_of: object) -> str:
    """y - y_pred, shaped like y, from predictions without a graph in eval mode."""
    need(callable(residuals_of), "`residuals_of` should be a function residuals_of(model, X, y).")
    model, X = _dropout_model(), torch.linspace(0, 1, 12).unsqueeze(1)
    with torch.no_grad():
        y = model.eval()(X) + torch.linspace(-0.3, 0.3, 12).unsqueeze(1)  # the model misses by a known amount
    model.train()
    out = call(residuals_of, model, X, y, case="For a model with dropout, left in training mode")
    out = _no_graph(out, "`residuals_of(model, X, y)`", inference=False)
    again = call(residuals_of, model, X, y, case="Called a second time")
    need(torch.equal(out, again), "two calls gave different residuals: predict in eval mode (model.eval()).")
    want = torch.linspace(-0.3, 0.3, 12).unsqueeze(1)
    need(not close(out, -want, 1e-4), "your residuals have the wrong sign: a residual is y - y_pred, true minus "
                                      "predicted (positive where the model predicts too low).")
    need(out.shape == y.shape, f"the residuals have shape {shape(out)}, expected {shape(y)} like y.")
    need(close(out, want, 1e-4), "the residuals should be y - y_pred, one per point.")
    return "true minus predicted, one per point, from predictions in eval and inference mode: ready to plot."


q3 = _ex.problem(
    _check_residuals, names=("residuals_of",), title="Residuals",
    task="Write `residuals_of(model, X, y)`: what the model missed at each point, `y - y_pred`, with `y_pred` made "
         "in evaluation and inference mode (you may call your `evaluate`). The check calls it on a model with "
         "dropout whose misses it knows.",
    starter='def residuals_of(model, X, y):\n'
            '    """y - y_pred for each point, with predictions made in eval and inference mode."""\n'
            '    y_pred = ____\n'
            '    return ____',
    hint="y_pred = evaluate(model, X) (or helpers.predict(model, X)); a residual is true minus predicted, y - y_pred.",
    solution='def residuals_of(model, X, y):\n'
             '    """y - y_pred for each point, with predictions made in eval and inference mode."""\n'
             '    y_pred = helpers.predict(model, X)\n'
             '    return y - y_pred',
)

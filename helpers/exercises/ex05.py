"""Exercises for notebook 05 (evaluation): predictions done right, an MAE over uneven batches, choose then test."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._modes import check_modes, dropouts, eval_predictions, in_training, no_graph, watch_modes
from ._util import call, close, need, number, shape, whole

_ex = Exercises("ex05")
bind = _ex.bind


def _dropout_model(seed: int = 0) -> nn.Module:
    """A small model whose dropout layer makes training-mode outputs random; left in training mode."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1)).train()


def _evaluate_once(evaluate: Callable, model: nn.Module, X: torch.Tensor, case: str) -> torch.Tensor:
    """One call of the learner's evaluate, watched: no graph, an inference tensor, dropout off by eval mode."""
    arrived, ps = in_training(model), [d.p for d in dropouts(model)]
    with watch_modes(model) as (dropout_on, outputs):
        out = call(evaluate, model, X, case=case)
    out = no_graph(out, "`evaluate(model, X)`", outputs)
    check_modes(model, arrived, ps, dropout_on, "the model")
    need(out.shape == X.shape, f"the predictions have shape {shape(out)}, expected {shape(X)} like X.")
    return out


def _check_evaluate(evaluate: object) -> str:
    """Eval mode (dropout off) and inference mode, the model's own outputs; a model in eval mode stays there."""
    need(callable(evaluate), "`evaluate` should be a function evaluate(model, X).")
    model, X = _dropout_model(), torch.linspace(0, 1, 20).unsqueeze(1)
    first = _evaluate_once(evaluate, model, X, "For a model with dropout, left in training mode")
    layers = [m.training for m in model.modules()]
    second = _evaluate_once(evaluate, model, X, "Called a second time")
    need(torch.equal(first, second), "two calls gave different predictions: the dropout layer was still active in "
                                     "one of them. Call model.eval() before the forward pass.")
    with torch.no_grad():
        need(close(first, model.eval()(X)), "the predictions differ from the model's own outputs in eval mode.")
    model = _dropout_model(1).eval()
    third = _evaluate_once(evaluate, model, X, "For a model already in evaluation mode")
    with torch.no_grad():
        need(close(third, model(X)), "for a model already in eval mode the predictions differ from its own outputs.")
    kept = ("and the model's own mode put back" if all(layers) else "and the model left in eval mode" if
            not any(layers) else "and its layers left in eval mode (model.eval() would also set the model's own "
                                 "flag, model.training, which still says True)")
    return f"eval mode (dropout off: the same answer twice), inference mode (`is_inference()` is True), {kept}."


q1 = _ex.problem(
    _check_evaluate, names=("evaluate",), title="Predictions done right",
    task="Write `evaluate(model, X)`: the model's predictions for `X` in evaluation mode and inside "
         "`torch.inference_mode()`. The check calls it on a model with a dropout layer, left in training mode, "
         "and on one already in evaluation mode: two calls must agree, and the result must be an inference "
         "tensor. The rule here and in the next two exercises: switch dropout off with evaluation mode (not by "
         "changing the layers), and a model that arrived in evaluation mode must leave in evaluation mode. "
         "(Better still, but not required: put back whatever mode the model had, which `model.training` tells "
         "you.)",
    starter='def evaluate(model, X):\n'
            '    """Predictions of model on X in evaluation mode, without building a graph."""\n'
            '    ____\n'
            '    with ____:\n'
            '        return ____',
    hint="Two separate switches: one changes how layers such as dropout behave, the other stops autograd from "
         "recording. You need both, and the first must be on before the forward pass.",
    solution='def evaluate(model, X):\n'
             '    """Predictions of model on X in evaluation mode, without building a graph."""\n'
             '    was_training = model.training\n'
             '    model.eval()\n'
             '    with torch.inference_mode():\n'
             '        y_pred = model(X)\n'
             '    model.train(was_training)  # put back the mode the model had\n'
             '    return y_pred',
)


class _Line(nn.Module):
    """y = w · x + b with fixed numbers (one weight per feature), plus a dropout layer that only training mode uses."""

    def __init__(self, w: float | list[float], b: float) -> None:
        super().__init__()
        self.w, self.b = nn.Parameter(torch.tensor(w).reshape(-1)), nn.Parameter(torch.tensor(b))
        self.dropout = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The line, through dropout: shape [N, 1]."""
        return self.dropout((x * self.w).sum(dim=1, keepdim=True) + self.b)


def _batches(sizes: list[int], features: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Consecutive batches of the course's line with the given sizes; inputs x (and x² with 2 features)."""
    X, y = helpers.make_line_data()
    X = torch.cat([X, X ** 2], dim=1) if features == 2 else X
    out, start = [], 0
    for n in sizes:
        out.append((X[start:start + n], y[start:start + n]))
        start += n
    return out


def _mae_mistake(got: float, preds: list, batches: list, name: str) -> str:
    """What a wrong MAE over `batches` most likely did (`preds`: the eval-mode predictions), in words."""
    errors = [p - y for p, (_, y) in zip(preds, batches)]
    e = torch.cat(errors)
    n, k, want, features = len(e), len(batches), e.abs().mean().item(), batches[0][0].shape[1]
    per_batch = [b.abs().mean().item() for b in errors]
    # a [n] column against a [n, 1] one: every prediction meets every label of its batch
    crossed = [(p.reshape(1, -1) - y.reshape(-1, 1)).abs() for p, (_, y) in zip(preds, batches)]
    mistakes = [
        (sum(per_batch) / k, f"you averaged the batches' MAEs ({got:.4f}), but the batches differ in size, so each "
                             f"point does not count the same: the MAE over all {n} points is {want:.4f}. Add up the "
                             "absolute errors and divide by the number of points."),
        (per_batch[-1], f"you returned the last batch's MAE only ({got:.4f}): add up over every batch."),
        (e.pow(2).mean().item(), "you returned the mean squared error: MAE takes the absolute error."),
        (e.mean().item(), f"you averaged the signed errors ({got:.4f}): errors above and below the line cancel out. "
                          "Take the absolute value of each error first, .abs()."),
        (abs(e.mean().item()), f"you took the absolute value of the averaged signed errors ({got:.4f}): errors above "
                               "and below the line cancel out before .abs() sees them. Take the absolute value of "
                               "each error first."),
        (e.abs().median().item(), f"you returned the median absolute error ({got:.4f}): the MAE is the mean, the "
                                  "sum divided by the number of points."),
        (e.abs().sum().item() / k, f"you divided the total error by the number of batches ({k}): divide by the "
                                   f"number of points ({n})."),
        (want / features, f"you divided by the number of numbers in the inputs (X.numel(), {n * features}): with "
                          f"{features} features per point that is {features} times the number of points ({n}). "
                          "Count the points with len(y) or X.shape[0]."),
        (e.abs().sum().item() / (k * len(batches[0][1])),
         f"you divided by the number of batches times the size of the first batch ({k} x {len(batches[0][1])}), but "
         f"the batches differ in size: there are {n} points. Count the points of every batch, len(y)."),
        (e.abs().sum().item(), f"you returned a sum ({got:.4f}), not a mean: divide by the number of points."),
        (sum(per_batch), f"you returned a sum ({got:.4f}), not a mean: divide by the number of points."),
    ] + [(v, "a prediction column of shape [N] met labels of shape [N, 1] (or the other way round): they broadcast "
             "to [N, N] and compare every prediction with every label of the batch. Keep both [N, 1] (or squeeze "
             "both), and the errors are one per point.")
         for v in (sum(c.sum().item() for c in crossed) / n, sum(c.mean().item() * len(c) for c in crossed) / n,
                   sum(c.mean().item() for c in crossed) / k)]
    for value, message in mistakes:
        if close(got, value, 1e-5) and (k > 1 or "batches" not in message) and (features > 1 or "X.numel" not in
                                                                                 message):
            return f"for {name} {message}"
    return (f"for {name} your MAE is {got:.4f}, expected {want:.4f}: the mean of |prediction - label| over every "
            "point of every batch.")


def _one_mae(batched_mae: Callable, model: nn.Module, batches: list, name: str) -> None:
    """One call of the learner's batched_mae, watched: eval mode, no graph, a Python number, the right value."""
    arrived, ps = in_training(model), [d.p for d in dropouts(model)]
    preds = eval_predictions(model, [bx for bx, _ in batches])
    with watch_modes(model) as (dropout_on, outputs):
        got = call(batched_mae, model, batches, case=f"For {name}")
    need(not isinstance(got, torch.Tensor), "batched_mae returned a tensor: return a Python number (.item()).")
    got = number("batched_mae(model, batches)", got)
    check_modes(model, arrived, ps, dropout_on, "the model")
    need(not any(graph for graph, _ in outputs), "your predictions carry a graph: make them inside "
                                                 "`with torch.inference_mode():`.")
    if not close(got, torch.cat([p - by for p, (_, by) in zip(preds, batches)]).abs().mean().item(), 1e-5):
        raise Incorrect(_mae_mistake(got, preds, batches, name))


def _check_batched_mae(batched_mae: object) -> str:
    """The MAE over every point of uneven batches, in eval and inference mode, as a Python number."""
    need(callable(batched_mae), "`batched_mae` should be a function batched_mae(model, batches).")
    cases = [("batches of 16, 16 and 8 points", [16, 16, 8], 1),
             ("batches of 32, 2 and 6 points of 2 features", [32, 2, 6], 2),
             ("batches of 10 points each, of 2 features", [10, 10, 10, 10], 2), ("one batch of 5 points", [5], 1)]
    for name, sizes, features in cases:
        model = _Line([0.5, 0.1][:features], 0.35).train()
        _one_mae(batched_mae, model, _batches(sizes, features), name)
    _one_mae(batched_mae, _Line(0.5, 0.35).eval(), _batches([3, 2], 1), "a model already in eval mode")
    return ("every point counts once, whatever the batch sizes and the number of features; predictions in eval "
            "mode, without a graph.")


q2 = _ex.problem(
    _check_batched_mae, names=("batched_mae",), title="An MAE over batches of different sizes", transfer=True,
    task="Data often comes in batches, and the last batch is usually smaller. Write `batched_mae(model, batches)`: "
         "the mean absolute error over **every point** of a list of `(X, y)` batches, with the predictions made "
         "in evaluation mode and without a graph; return a Python number. The check passes batches of different "
         "sizes (and equal ones), inputs with one feature and with two, and a model with a dropout layer left in "
         "training mode, then one already in evaluation mode (the rule of exercise 1 holds).",
    starter='def batched_mae(model, batches):\n'
            '    """Mean absolute error over every point of a list of (X, y) batches, as a Python number."""\n'
            '    ____  # predictions the right way: evaluation mode, no graph\n'
            '    ____  # the absolute errors of every point, whatever the batch sizes\n'
            '    return ____',
    hint="Averaging the batches' MAEs gives a batch of 2 points as much say as a batch of 32. Keep two running "
         "totals over the batches instead: one of errors, one of points.",
    solution='def batched_mae(model, batches):\n'
             '    """Mean absolute error over every point of a list of (X, y) batches, as a Python number."""\n'
             '    model.eval()\n'
             '    total, count = 0.0, 0\n'
             '    with torch.inference_mode():\n'
             '        for X, y in batches:\n'
             '            total += (model(X) - y).abs().sum().item()\n'
             '            count += len(y)\n'
             '    return total / count',
)


def _data(kind: str) -> tuple[tuple, tuple]:
    """Validation and test data: the notebook's split, or other points on which the ways of choosing differ.

    The notebook's (inputs 0.80-0.88, 0.90-0.98): A = 1.7 x - 0.54 crosses the truth among the validation inputs
    (lowest validation MAE, 0.024, with one large error each side); B = 0.7 x + 0.326 is off by 0.026 everywhere
    (lowest validation MSE, largest error and [N] - [N, 1] MAE); C = 1.0 x + 0.018 crosses it among the test
    inputs (lowest test MAE); D = 0.4 x + 0.45 is far off everywhere. The other validation data (inputs 0.6-0.9,
    one label 0.1 below the line): B has the lowest MAE and MSE, C the smallest largest error, D the lowest
    [N] - [N, 1] MAE, A the highest MAE; the other test data has noisy labels."""
    X, y = helpers.make_line_data()
    if kind == "notebook":
        return (X[40:45], y[40:45]), (X[45:], y[45:])
    x_val = torch.linspace(0.6, 0.9, 5).unsqueeze(1)
    y_val = 0.7 * x_val + 0.3
    y_val[3] -= 0.1
    return (x_val, y_val), (X[5:10], helpers.make_line_data(noise_std=0.05, seed=1)[1][5:10])


_LINES = ((1.7, -0.54), (0.7, 0.326), (1.0, 0.018), (0.4, 0.45))  # A, B, C, D
_CALLS = (  # (name, order of the lines, positions that arrive in eval mode, data)
    ("four candidate lines", [0, 3, 1, 2], (), "notebook"),  # A D B C
    ("the same lines in another order, two of them in eval mode", [3, 2, 0, 1], (0, 2), "notebook"),  # D C A B
    ("the same lines on other validation and test data", [2, 0, 3, 1], (), "other"),  # C A D B
)


def _measure(model: nn.Module, data: tuple, how: str = "mae") -> float:
    """The model's error on (X, y) in eval mode, leaving every layer's mode as it was: its MAE, MSE, largest
    absolute error ("max") or the MAE of a [N] prediction against [N, 1] labels ("crossed")."""
    (pred,) = eval_predictions(model, [data[0]])
    errors = pred.reshape(1, -1) - data[1].reshape(-1, 1) if how == "crossed" else pred - data[1]
    value = errors.abs().pow(2 if how == "mse" else 1)
    return (value.max() if how == "max" else value.mean()).item()


def _index(index: object) -> int:
    """The chosen model's position as an int (np.argmin's np.int64 too); a tensor, a bool or a model refused."""
    need(not isinstance(index, torch.Tensor), f"the index you returned is a tensor ({index!r}): return a Python "
                                              "int, with .item() or int(...), as the MAE is a Python number.")
    position = whole(index)
    need(position is not None, f"the first thing returned should be the index of the chosen model (an integer, its "
                               f"position in the list), got {index!r}.")
    return position


def _answers(choose_and_report: Callable) -> list[tuple[int, float, list, tuple, tuple]]:
    """Call the learner's function for each of _CALLS; return (index, test MAE, models, val, test) for each."""
    answers = []
    for name, order, in_eval, kind in _CALLS:
        models = [_Line(*_LINES[i]).train(position not in in_eval) for position, i in enumerate(order)]
        val, test = _data(kind)
        arrived = [in_training(m) for m in models]
        with contextlib.ExitStack() as stack:
            watched = [stack.enter_context(watch_modes(m)) for m in models]
            out = call(choose_and_report, models, val, test, case=f"For {name}")
        for model, was, (dropout_on, _) in zip(models, arrived, watched):
            check_modes(model, was, [0.5], dropout_on, "a model")
        need(isinstance(out, (tuple, list)) and len(out) == 2, "return two things: the index of the chosen model "
                                                               "and its test MAE.")
        index, reported = _index(out[0]), out[1]
        need(not isinstance(reported, torch.Tensor), "the test MAE you returned is a tensor: return a Python number "
                                                     "(.item(), or helpers.mae, which returns one).")
        answers.append((index, number("the test MAE", reported), models, val, test))
    return answers


def _lowest(values: list[float]) -> int:
    """The position of the lowest value."""
    return min(range(len(values)), key=values.__getitem__)


def _choice_mistake(chosen: list[int], answers: list) -> str | None:
    """Which other way of choosing gives the learner's indices in every call, in words (None if none does)."""
    notebook_val = _data("notebook")[0]
    ways = {"one-based": [], "notebook": [], "test": [], "crossed": [], "mse": [], "max": [], "worst": []}
    for _, _, models, val, test in answers:
        val_mae = [_measure(m, val) for m in models]
        ways["one-based"].append(_lowest(val_mae) + 1)
        ways["notebook"].append(_lowest([_measure(m, notebook_val) for m in models]))
        ways["test"].append(_lowest([_measure(m, test) for m in models]))
        for how in ("crossed", "mse", "max"):
            ways[how].append(_lowest([_measure(m, val, how) for m in models]))
        ways["worst"].append(_lowest([-v for v in val_mae]))
    messages = {
        "one-based": "one more than the position of the model with the lowest validation MAE: Python counts list "
                     "positions from 0.",
        "notebook": "the best on the notebook's validation split (X_val, y_val), whatever val_data holds: the check "
                    "passed other validation data too. Measure on the function's argument, val_data.",
        "test": "the best on the *test* set (alone, or added to the validation MAE). Choose on the validation set "
                "alone: the test set only reports, once, on the model already chosen.",
        "crossed": "the best by an MAE of predictions of shape [N] against labels of shape [N, 1] (a .squeeze() on "
                   "one side only): they broadcast to [N, N] and compare every prediction with every label. Keep "
                   "both [N, 1], as helpers.predict returns them.",
        "mse": "the one with the lowest validation *MSE*; the task chooses by MAE. The two can disagree: MSE punishes "
               "a few large errors more than many small ones.",
        "max": "the one whose largest validation error is smallest (.max() of the errors); the task chooses by the "
               "MAE, the mean of the absolute errors.",
        "worst": "the one with the highest validation MAE: a lower error is better.",
    }
    return next((messages[way] for way, indices in ways.items() if chosen == indices), None)


def _check_choose(choose_and_report: object) -> str:
    """The model with the lowest validation MAE, and its test MAE; each other way of choosing named."""
    need(callable(choose_and_report), "`choose_and_report` should be a function "
                                      "choose_and_report(models, val_data, test_data).")
    answers = _answers(choose_and_report)
    chosen = [a[0] for a in answers]
    best = [_lowest([_measure(m, val) for m in models]) for _, _, models, val, _ in answers]
    if chosen != best:
        (i, b), name = next(((i, b), c[0]) for i, b, c in zip(chosen, best, _CALLS) if i != b)
        mistake = _choice_mistake(chosen, answers)
        need(mistake is None, f"for {name} you chose model {i}, {mistake} (The lowest validation MAE is model {b}'s.)")
        need(0 <= i < 4, f"for {name} you returned {i}, but the four models are at positions 0 to 3.")
        raise Incorrect(f"for {name} you chose model {i}; the lowest validation MAE is model {b}'s.")
    notebook_test = _data("notebook")[1]
    for (index, reported, models, val, test), (name, *_) in zip(answers, _CALLS):
        test_mae = [_measure(m, test) for m in models]
        if close(reported, test_mae[index], 1e-5):
            continue
        need(not close(reported, _measure(models[index], val), 1e-5),
             f"you reported the chosen model's validation MAE ({reported:.4f}): report its test MAE, the number "
             "nothing was tuned to.")
        need(not close(reported, min(test_mae), 1e-5),
             f"you reported the best test MAE of all the models ({reported:.4f}): report the test MAE of the model "
             "you chose, whatever it is.")
        need(not close(reported, _measure(models[index], notebook_test), 1e-5),
             f"for {name} you reported the chosen model's MAE on the notebook's test split (X_test, y_test), "
             f"{reported:.4f}, not on the test_data it was given ({test_mae[index]:.4f}): measure on the function's "
             "argument.")
        raise Incorrect(f"for {name} you reported {reported:.4f}; model {index}'s test MAE is {test_mae[index]:.4f}.")
    return ("chosen on the validation set by MAE, reported on the test set. Here the test set, or the validation "
            "MSE, would have chosen another model: the data you choose on and the metric you choose by decide.")


q3 = _ex.problem(
    _check_choose, names=("choose_and_report",), title="Choose on validation, report on test", transfer=True,
    task="Write `choose_and_report(models, val_data, test_data)`: given a list of trained models and two "
         "`(X, y)` pairs, choose the model with the lowest validation MAE and return its index in the list (a "
         "Python int) and its test MAE (a Python number), measured on the data it is given: the check passes the "
         "notebook's split and other data. It gives four candidate lines, each with a dropout layer, most left in "
         "training mode as training leaves them, some in evaluation mode (the rule of exercise 1 holds); ranked "
         "by test MAE, or by validation MSE, they come in another order than by validation MAE.",
    starter='def choose_and_report(models, val_data, test_data):\n'
            '    """The index of the model with the lowest validation MAE, and that model\'s test MAE."""\n'
            '    val_maes = ____\n'
            '    best = ____\n'
            '    test_mae = ____\n'
            '    return best, test_mae',
    hint="Two different jobs: one set chooses (compare every model on it), the other set is looked at once, for "
         "the model already chosen. `helpers.predict` and `helpers.mae` do the measuring.",
    solution='def choose_and_report(models, val_data, test_data):\n'
             '    """The index of the model with the lowest validation MAE, and that model\'s test MAE."""\n'
             '    val_maes = [helpers.mae(helpers.predict(m, val_data[0]), val_data[1]) for m in models]\n'
             '    best = min(range(len(models)), key=lambda i: val_maes[i])\n'
             '    test_mae = helpers.mae(helpers.predict(models[best], test_data[0]), test_data[1])\n'
             '    return best, test_mae',
)

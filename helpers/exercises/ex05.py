"""Exercises for notebook 05 (evaluation): predictions done right, an MAE over uneven batches, choose then test."""

from __future__ import annotations

import operator
from collections.abc import Callable

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._util import call, close, need, number, shape, tensor

_ex = Exercises("ex05")
bind = _ex.bind


def _dropout_model(seed: int = 0) -> nn.Module:
    """A small model whose dropout layer makes training-mode outputs random; left in training mode."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1)).train()


def _no_graph(out: object, what: str, graphs: list[bool]) -> torch.Tensor:
    """Shared checks of a prediction: a tensor with no graph, made under inference mode.

    `graphs` says, for each forward pass of the model, whether its output recorded a graph."""
    out = tensor(what, out)
    need(not out.requires_grad, f"{what} carries a graph (requires_grad=True): run the model inside "
                                "`with torch.inference_mode():`.")
    if not out.is_inference():
        need(not any(graphs), f"{what} has no graph, but only because it was cut off afterwards (.detach()): the "
                              "forward pass built one first. Switch recording off before the forward pass, with "
                              "`torch.inference_mode()`, and no graph is built at all.")
        raise Incorrect(f"{what} was made with autograd switched off (torch.no_grad() or "
                        "torch.set_grad_enabled(False)), but it is not an inference tensor: the lesson predicts "
                        "under torch.inference_mode(), which skips even more bookkeeping.")
    return out


def _check_evaluate(evaluate: object) -> str:
    """Eval mode (dropout off) and inference mode, the model's own outputs; a model in eval mode stays there."""
    need(callable(evaluate), "`evaluate` should be a function evaluate(model, X).")
    model, X, graphs = _dropout_model(), torch.linspace(0, 1, 20).unsqueeze(1), []
    model.register_forward_hook(lambda module, inputs, output: graphs.append(output.requires_grad))
    first = call(evaluate, model, X, case="For a model with dropout, left in training mode")
    first = _no_graph(first, "`evaluate(model, X)`", graphs)
    restored = model.training
    second = call(evaluate, model, X, case="Called a second time")
    need(torch.equal(first, tensor("evaluate(model, X)", second)), "two calls gave different predictions: the "
         "dropout layer was still active in one of them. Call model.eval() before the forward pass.")
    with torch.no_grad():
        need(close(first, model.eval()(X)), "the predictions differ from the model's own outputs in eval mode.")
    need(first.shape == (20, 1), f"the predictions have shape {shape(first)}, expected [20, 1] like X.")
    model = _dropout_model(1).eval()
    call(evaluate, model, X, case="For a model already in evaluation mode")
    need(not model.training, "a model that was in evaluation mode came back in training mode: leave it in eval "
                             "mode (or put back the mode it had, model.train(was_training)).")
    kept = "and the model's own mode put back" if restored else "and the model left in eval mode"
    return f"eval mode (dropout off: the same answer twice), inference mode (`is_inference()` is True), {kept}."


q1 = _ex.problem(
    _check_evaluate, names=("evaluate",), title="Predictions done right",
    task="Write `evaluate(model, X)`: the model's predictions for `X` in evaluation mode and inside "
         "`torch.inference_mode()`. The check calls it on a model with a dropout layer, left in training mode: "
         "two calls must agree, and the result must be an inference tensor. A model that was in evaluation mode "
         "must not come back in training mode. (Better still, but not required: put back whatever mode the "
         "model had, which `model.training` tells you.)",
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
    """y = w x + b with fixed numbers, plus a dropout layer that only training mode uses."""

    def __init__(self, w: float, b: float) -> None:
        super().__init__()
        self.w, self.b, self.dropout = nn.Parameter(torch.tensor(w)), nn.Parameter(torch.tensor(b)), nn.Dropout(0.5)
        self.modes: list[bool] = []  # for each forward pass: was it in training mode?

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The line, through dropout (recording the mode)."""
        self.modes.append(self.training)
        return self.dropout(self.w * x + self.b)


def _batches(sizes: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Consecutive batches of the course's line with the given sizes."""
    X, y = helpers.make_line_data()
    out, start = [], 0
    for n in sizes:
        out.append((X[start:start + n], y[start:start + n]))
        start += n
    return out


def _mae_mistake(got: float, batches: list, name: str) -> str:
    """What a wrong MAE over `batches` most likely did (predictions in eval mode), in words."""
    with torch.no_grad():
        preds = [0.5 * bx + 0.35 for bx, _ in batches]
    errors = [p - y for p, (_, y) in zip(preds, batches)]
    e = torch.cat(errors)
    n, k, want = len(e), len(batches), e.abs().mean().item()
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
        (e.abs().median().item(), f"you returned the median absolute error ({got:.4f}): the MAE is the mean, the "
                                  "sum divided by the number of points."),
        (e.abs().sum().item() / k, f"you divided the total error by the number of batches ({k}): divide by the "
                                   f"number of points ({n})."),
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
        if close(got, value, 1e-5) and (k > 1 or "batches" not in message):
            return f"for {name} {message}"
    return (f"for {name} your MAE is {got:.4f}, expected {want:.4f}: the mean of |prediction - label| over every "
            "point of every batch.")


def _check_batched_mae(batched_mae: object) -> str:
    """The MAE over every point of uneven batches, in eval and inference mode, as a Python number."""
    need(callable(batched_mae), "`batched_mae` should be a function batched_mae(model, batches).")
    cases = [("batches of 16, 16 and 8 points", [16, 16, 8]), ("batches of 32, 2 and 6 points", [32, 2, 6]),
             ("batches of 10 points each", [10, 10, 10, 10]), ("one batch of 5 points", [5])]
    for name, sizes in cases:
        batches, model = _batches(sizes), _Line(0.5, 0.35).train()
        got = call(batched_mae, model, batches, case=f"For {name}")
        need(not isinstance(got, torch.Tensor), "batched_mae returned a tensor: return a Python number (.item()).")
        got = number("batched_mae(model, batches)", got)
        need(not any(model.modes), "the model made its predictions in training mode, so its dropout layer was on "
                                   "(it arrives in training mode): call model.eval() first, eval mode.")
        if not close(got, torch.cat([(0.5 * bx + 0.35 - by) for bx, by in batches]).abs().mean().item(), 1e-5):
            raise Incorrect(_mae_mistake(got, batches, name))
    probe, seen = _Line(0.5, 0.35).eval(), []
    probe.register_forward_hook(lambda module, inputs, output: seen.append(output.requires_grad))
    call(batched_mae, probe, _batches([3, 2]), case="For a model in eval mode")
    need(not any(seen), "your predictions carry a graph: make them inside `with torch.inference_mode():`.")
    return "every point counts once, whatever the batch sizes; predictions in eval mode, without a graph."


q2 = _ex.problem(
    _check_batched_mae, names=("batched_mae",), title="An MAE over batches of different sizes", transfer=True,
    task="Data often comes in batches, and the last batch is usually smaller. Write `batched_mae(model, batches)`: "
         "the mean absolute error over **every point** of a list of `(X, y)` batches, with the predictions made "
         "in evaluation mode and without a graph; return a Python number. The check passes batches of different "
         "sizes (and equal ones) and a model with a dropout layer left in training mode.",
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


def _candidates() -> tuple[list[nn.Module], tuple, tuple]:
    """Four lines with dropout, in training mode, and validation / test data on which they rank differently.

    Errors on the validation inputs (0.80-0.88) and the test inputs (0.90-0.98): A = 1.7 x - 0.54 crosses the
    truth in the middle of the validation inputs (lowest validation MAE, 0.024, but one large error each side);
    B = 0.7 x + 0.326 is off by 0.026 everywhere (lowest validation MSE); C = 1.0 x + 0.018 crosses it among the
    test inputs (lowest test MAE, and lowest validation + test MAE); D = 0.4 x + 0.45 is far off everywhere."""
    X, y = helpers.make_line_data()
    models = [_Line(w, b).train() for w, b in ((1.7, -0.54), (0.7, 0.326), (1.0, 0.018), (0.4, 0.45))]
    return models, (X[40:45], y[40:45]), (X[45:], y[45:])


def _mae(model: nn.Module, data: tuple, power: int = 1) -> float:
    """The model's MAE on (X, y) in eval mode (its MSE with power=2), leaving its mode and record as they were."""
    was_training, modes = model.training, list(model.modes)
    with torch.inference_mode():
        value = (model.eval()(data[0]) - data[1]).abs().pow(power).mean().item()
    model.train(was_training)
    model.modes[:] = modes
    return value


_ORDERS = ([0, 3, 1, 2], [3, 2, 0, 1])  # A D B C, then D C A B: each way of choosing gives its own pair of indices


def _answers(choose_and_report: Callable) -> list[tuple[int, float, list, tuple, tuple]]:
    """Call the learner's function on the candidates in both orders; return (index, test MAE, models, val, test)."""
    answers = []
    for order, name in zip(_ORDERS, ("four candidate lines", "the same lines in another order")):
        models, val, test = _candidates()
        models = [models[i] for i in order]
        out = call(choose_and_report, models, val, test, case=f"For {name}")
        need(isinstance(out, (tuple, list)) and len(out) == 2, "return two things: the index of the chosen model "
                                                               "and its test MAE.")
        index, reported = out
        need(not any(any(m.modes) for m in models), "a model made predictions in training mode, so its dropout layer "
             "was on (the models arrive in training mode, as training leaves them): predict in eval mode, with "
             "helpers.predict or model.eval().")
        try:
            need(not isinstance(index, bool), "")
            index = operator.index(index)  # an int, np.argmin's np.int64 or torch.argmin's tensor(2)
        except (TypeError, Incorrect):
            raise Incorrect(f"the first thing returned should be the index of the chosen model (an integer, its "
                            f"position in the list), got {index!r}.") from None
        need(not isinstance(reported, torch.Tensor), "the test MAE you returned is a tensor: return a Python number "
                                                     "(.item(), or helpers.mae, which returns one).")
        answers.append((index, number("the test MAE", reported), models, val, test))
    return answers


def _check_choose(choose_and_report: object) -> str:
    """The model with the lowest validation MAE, and its test MAE; each other way of choosing named."""
    need(callable(choose_and_report), "`choose_and_report` should be a function "
                                      "choose_and_report(models, val_data, test_data).")
    answers = _answers(choose_and_report)
    lowest = lambda values: min(range(len(values)), key=values.__getitem__)  # noqa: E731
    ways = {"best": [], "one-based": [], "test": [], "mse": [], "worst": []}
    for _, _, models, val, test in answers:
        val_mae = [_mae(m, val) for m in models]
        ways["best"].append(lowest(val_mae))
        ways["one-based"].append(lowest(val_mae) + 1)
        ways["test"].append(lowest([_mae(m, test) for m in models]))
        ways["mse"].append(lowest([_mae(m, val, 2) for m in models]))
        ways["worst"].append(lowest([-v for v in val_mae]))
    chosen, best = [a[0] for a in answers], ways["best"]
    if chosen != best:
        i, b = next((i, b) for i, b in zip(chosen, best) if i != b)
        need(chosen != ways["one-based"], f"you returned {i}, one more than the position of the model with the lowest "
                                          f"validation MAE ({b}): Python counts list positions from 0.")
        need(chosen != ways["test"], f"you chose model {i}, the best on the *test* set (alone, or added to the "
                                     f"validation MAE); the lowest validation MAE is model {b}'s. Choose on the "
                                     "validation set alone: the test set only reports, once, on the model already "
                                     "chosen.")
        need(chosen != ways["mse"], f"you chose model {i}, the one with the lowest validation *MSE*; the task chooses "
                                    f"by MAE, which picks model {b}. The two can disagree: MSE punishes a few large "
                                    "errors more than many small ones.")
        need(chosen != ways["worst"], f"you chose model {i}, the one with the highest validation MAE: a lower error "
                                      "is better.")
        need(0 <= i < 4, f"you returned {i}, but the four models are at positions 0 to 3.")
        raise Incorrect(f"you chose model {i}; the lowest validation MAE is model {b}'s.")
    for index, reported, models, val, test in answers:
        test_mae = [_mae(m, test) for m in models]
        if close(reported, _mae(models[index], val), 1e-5):
            raise Incorrect(f"you reported the chosen model's validation MAE ({reported:.4f}): report its test MAE, "
                            "the number nothing was tuned to.")
        if close(reported, min(test_mae), 1e-5) and not close(reported, test_mae[index], 1e-5):
            raise Incorrect(f"you reported the best test MAE of all the models ({reported:.4f}): report the test MAE "
                            "of the model you chose, whatever it is.")
        need(close(reported, test_mae[index], 1e-5), f"you reported {reported:.4f}; model {index}'s test MAE is "
                                                     f"{test_mae[index]:.4f}.")
    return ("chosen on the validation set by MAE, reported on the test set. Here the test set, or the validation "
            "MSE, would have chosen another model: the data you choose on and the metric you choose by decide.")


q3 = _ex.problem(
    _check_choose, names=("choose_and_report",), title="Choose on validation, report on test", transfer=True,
    task="Write `choose_and_report(models, val_data, test_data)`: given a list of trained models and two "
         "`(X, y)` pairs, choose the model with the lowest validation MAE and return its index in the list and "
         "its test MAE (a Python number). The check gives four candidate lines, each with a dropout layer and left "
         "in training mode, as training leaves them; ranked by test MAE, or by validation MSE, they come in "
         "another order than by validation MAE.",
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

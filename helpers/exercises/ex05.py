"""Exercises for notebook 05 (evaluation): predictions done right, an MAE over uneven batches, choose then test."""

from __future__ import annotations

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


def _no_graph(out: object, what: str) -> torch.Tensor:
    """Shared checks of a prediction: a tensor with no graph, made under inference mode."""
    out = tensor(what, out)
    need(not out.requires_grad, f"{what} carries a graph (requires_grad=True): run the model inside "
                                "`with torch.inference_mode():`.")
    need(out.is_inference(), f"{what} has no graph, but it is not an inference tensor: torch.no_grad() switches "
                             "the graph off too, but the lesson predicts under torch.inference_mode().")
    return out


def _check_evaluate(evaluate: object) -> str:
    """Eval mode (dropout off) and inference mode, the model's own outputs; a model in eval mode stays there."""
    need(callable(evaluate), "`evaluate` should be a function evaluate(model, X).")
    model, X = _dropout_model(), torch.linspace(0, 1, 20).unsqueeze(1)
    first = call(evaluate, model, X, case="For a model with dropout, left in training mode")
    first = _no_graph(first, "`evaluate(model, X)`")
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The line, through dropout."""
        return self.dropout(self.w * x + self.b)


def _batches(sizes: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Consecutive batches of the course's line with the given sizes."""
    X, y = helpers.make_line_data()
    out, start = [], 0
    for n in sizes:
        out.append((X[start:start + n], y[start:start + n]))
        start += n
    return out


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
        X, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
        with torch.no_grad():
            errors = [(0.5 * bx + 0.35 - by).abs() for bx, by in batches]
        want = torch.cat(errors).mean().item()
        if close(got, want, 1e-5):
            continue
        per_batch = [e.mean().item() for e in errors]
        if close(got, sum(per_batch) / len(per_batch), 1e-5):
            raise Incorrect(f"for {name} you averaged the batches' MAEs ({got:.4f}), but the batches differ in "
                            f"size, so each point does not count the same: the MAE over all {len(X)} points is "
                            f"{want:.4f}. Add up the absolute errors and divide by the number of points.")
        if close(got, per_batch[-1], 1e-5):
            raise Incorrect(f"for {name} you returned the last batch's MAE only ({got:.4f}): add up over every "
                            "batch.")
        if close(got, torch.cat(errors).pow(2).mean().item(), 1e-5):
            raise Incorrect(f"for {name} you returned the mean squared error: MAE takes the absolute error.")
        if close(got, torch.cat(errors).sum().item() / len(sizes), 1e-5) and len(sizes) > 1:
            raise Incorrect(f"for {name} you divided the total error by the number of batches ({len(sizes)}): "
                            f"divide by the number of points ({len(X)}).")
        if any(close(got, v, 1e-5) for v in (sum(per_batch), torch.cat(errors).sum().item())):
            raise Incorrect(f"for {name} you returned a sum ({got:.4f}), not a mean: divide by the number of points.")
        raise Incorrect(f"for {name} your MAE is {got:.4f}, expected {want:.4f}: were the predictions made in eval "
                        "mode (the model has a dropout layer, left in training mode)?")
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
    """Three lines and validation / test data on which the best model by validation is not the best by test."""
    X, y = helpers.make_line_data()
    # errors a (x - c): the first line crosses the truth among the validation inputs (0.80-0.88), the second
    # among the test inputs (0.90-0.98), the third far away
    models = [_Line(0.7 + a, 0.3 - a * c).eval() for a, c in ((0.1, 0.84), (0.15, 0.94), (-0.3, 0.5))]
    return models, (X[40:45], y[40:45]), (X[45:], y[45:])


def _mae(model: nn.Module, data: tuple) -> float:
    """The model's MAE on (X, y)."""
    with torch.inference_mode():
        return (model.eval()(data[0]) - data[1]).abs().mean().item()


def _check_choose(choose_and_report: object) -> str:
    """The model with the lowest validation MAE, and its test MAE (not the best test MAE)."""
    need(callable(choose_and_report), "`choose_and_report` should be a function "
                                      "choose_and_report(models, val_data, test_data).")
    for order, name in (([0, 1, 2], "three candidate lines"), ([2, 0, 1], "the same lines in another order")):
        models, val, test = _candidates()
        models = [models[i] for i in order]
        val_mae, test_mae = [_mae(m, val) for m in models], [_mae(m, test) for m in models]
        best = min(range(3), key=val_mae.__getitem__)
        out = call(choose_and_report, models, val, test, case=f"For {name}")
        need(isinstance(out, (tuple, list)) and len(out) == 2, "return two things: the index of the chosen model "
                                                               "and its test MAE.")
        index, reported = out
        need(isinstance(index, int) and not isinstance(index, bool) and 0 <= index < 3,
             f"the first thing returned should be the index of the chosen model (0, 1 or 2), got {index!r}.")
        reported = number("the test MAE", reported)
        if index == min(range(3), key=test_mae.__getitem__) and index != best:
            raise Incorrect(f"for {name} you chose model {index}, the best on the *test* set: choose on the "
                            "validation set; the test set only reports, once, on the model already chosen.")
        need(index != max(range(3), key=val_mae.__getitem__), f"for {name} you chose model {index}, the one with "
             "the highest validation MAE: a lower error is better.")
        need(index == best, f"for {name} you chose model {index}; the lowest validation MAE is model {best}'s.")
        if close(reported, val_mae[best], 1e-5):
            raise Incorrect(f"for {name} you reported the chosen model's validation MAE ({reported:.4f}): report "
                            "its test MAE, the number nothing was tuned to.")
        if close(reported, min(test_mae), 1e-5) and not close(reported, test_mae[best], 1e-5):
            raise Incorrect(f"for {name} you reported the best test MAE of all the models ({reported:.4f}): report "
                            "the test MAE of the model you chose, whatever it is.")
        need(close(reported, test_mae[best], 1e-5), f"for {name} you reported {reported:.4f}; model {best}'s test "
                                                    f"MAE is {test_mae[best]:.4f}.")
    return ("chosen on the validation set, reported on the test set: here the test set alone would have picked "
            "another model, which is why it must not choose.")


q3 = _ex.problem(
    _check_choose, names=("choose_and_report",), title="Choose on validation, report on test", transfer=True,
    task="Write `choose_and_report(models, val_data, test_data)`: given a list of trained models and two "
         "`(X, y)` pairs, choose the model with the lowest validation MAE and return its index in the list and "
         "its test MAE (a Python number). The check gives three candidate lines whose ranking on the test set "
         "differs from their ranking on the validation set.",
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

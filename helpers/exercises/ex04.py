"""Exercises for notebook 04 (training loop): a step for a two-output model, a learning rate, MSE gradients by hand."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

import helpers

from ._core import Exercises, Incorrect
from ._steps import (ModeProbe, RecordingLoss, StepLog, check_one_batch_gradient, check_update, loss_as_number,
                     sgd_at, stale_gradients)
from ._torch_ops import without_autograd
from ._util import call, close, need, number

_ex = Exercises("ex04")
bind = _ex.bind


def _two_output_case() -> tuple[torch.Tensor, torch.Tensor, ModeProbe]:
    """Ten inputs, two targets (a rising and a falling line) and a two-output model left in eval mode.

    Both of its lines cross their targets, so errors have both signs (with one sign only, L1 would be linear
    and some wrong losses would agree with the right one)."""
    X = torch.arange(0, 1, 0.1).unsqueeze(1)
    Y = torch.cat([0.7 * X + 0.3, 1.0 - X], dim=1)
    model = ModeProbe(2).eval()  # two outputs
    with torch.no_grad():
        model.linear.weight.copy_(torch.tensor([[0.2], [0.5]]))
        model.linear.bias.copy_(torch.tensor([0.5, 0.4]))
    return X, Y, model


def _rmse(y_pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The root of the mean squared error: a loss that is neither a mean nor a sum of one loss per number."""
    return (y_pred - y).pow(2).mean().sqrt()


def _sum_of_columns(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, loss: Callable) -> tuple[float, list]:
    """The task's loss for `model` (loss of column 0 plus loss of column 1) and its gradients."""
    P = model(X)
    total = loss(P[:, 0], Y[:, 0]) + loss(P[:, 1], Y[:, 1])
    return total.item(), list(torch.autograd.grad(total, list(model.parameters())))


def _first_call(train_step_two: Callable) -> float:
    """One call with L1 on a model in eval mode whose .grad holds an old gradient: what, when, in which order."""
    X, Y, model = _two_output_case()
    l1 = nn.L1Loss()
    loss_fn = RecordingLoss(l1)
    start = [p.detach().clone() for p in model.parameters()]
    want_loss, fresh = _sum_of_columns(model, X, Y, l1)
    P = model(X)
    only = [torch.autograd.grad(l1(P[:, i], Y[:, i]), list(model.parameters()), retain_graph=True) for i in range(2)]
    stale = stale_gradients(model)  # as an earlier backward() leaves it
    optimizer, steps, others = torch.optim.SGD(model.parameters(), lr=0.1), [], []
    optimizer.register_step_post_hook(lambda *_: steps.append(1))
    log = StepLog(model, optimizer)
    model.modes.clear()
    any_step = register_optimizer_step_pre_hook(lambda opt, *_: None if opt is optimizer else others.append(opt))
    try:
        out = call(train_step_two, model, X, Y, loss_fn, optimizer, case="Called once on a model left in eval mode")
    finally:
        any_step.remove()
    swapped = [y.requires_grad and not y_pred.requires_grad for y_pred, y, _ in loss_fn.calls]  # target first?
    need(model.modes, "your step never called the model: the forward pass is Y_pred = model(X).")
    need(model.modes[0], "the forward pass ran in eval mode: start the step with model.train().")
    need(swapped, "your step never called the loss_fn it was given: compute each column's loss with loss_fn.")
    need(not others or steps, "your step called step() on another optimizer (one from the notebook, over another "
                              "model's parameters?), never on the `optimizer` it was given, so this model did not "
                              "learn: use the function's argument, optimizer.step().")
    need(len(steps) <= 1, f"one call of your step called optimizer.step() {len(steps)} times: that is {len(steps)} "
                          "updates for one batch. backward() adds, so both gradients can wait for one step.")
    need(not any(swapped), "your step called loss_fn(target, prediction): PyTorch's losses take the prediction "
                           "first, loss_fn(Y_pred[:, 0], Y[:, 0]). With L1 the order happens not to matter, but for "
                           "a loss that is not symmetric (nn.BCELoss, nn.CrossEntropyLoss, nn.KLDivLoss) it does.")
    loss_as_number(out, "your step returned nothing: return the summed loss as a Python number.")
    if not close(out, want_loss):
        _name_wrong_sum(out, want_loss, model, X, Y, P, len(swapped))
    need(len(model.modes) == 1, f"one call of your step ran the model {len(model.modes)} times: one forward pass "
                                "gives both columns, Y_pred = model(X); slice it for each loss. Every pass costs "
                                "time, and with dropout each pass drops other units, so two passes would train two "
                                "different networks.")
    if check_update(model, start, fresh, stale, 0.1, log):
        return out
    if any(sgd_at(model, start, o, 0.1) for o in only):
        raise Incorrect("the update used only one column's gradient: the other was cleared or never computed. "
                        "Call zero_grad() once, before backward(), on the summed loss (or before both "
                        "backward() calls: they add up).")
    raise Incorrect("the parameters after your step are not where one SGD step on the summed loss puts them: "
                    "zero_grad(), then backward() on the sum, then one step().")


def _name_wrong_sum(out: float, want_loss: float, model: nn.Module, X: torch.Tensor, Y: torch.Tensor,
                    P: torch.Tensor, loss_calls: int) -> None:
    """Raise Incorrect naming the loss returned instead of the columns' summed L1 loss (P: from before the update)."""
    l1 = nn.L1Loss()
    with torch.no_grad():
        whole, first = l1(P, Y).item(), l1(P[:, 0], Y[:, 0]).item()
        crossed = (l1(P[:, 0], Y[:, 0:1]) + l1(P[:, 1], Y[:, 1:2])).item()
    if close(out, whole) and loss_calls > 1:
        raise Incorrect(f"your step returned {out:.4f}, the mean of the two columns' losses: the task's loss is "
                        f"their sum ({want_loss:.4f}), so that each target counts fully, whatever their number.")
    if close(out, whole):
        raise Incorrect(f"your step returned {out:.4f}, loss_fn of all 2 x 10 numbers at once; the task's loss "
                        f"is loss_fn of column 0 plus loss_fn of column 1 ({want_loss:.4f}). Call loss_fn once "
                        "per column and add the two. (Doubling the loss of all the numbers is no fix: it equals "
                        "that sum only for a loss that averages, on columns of equal length.)")
    if close(out, first) or close(out, l1(P[:, 1], Y[:, 1]).item()):
        raise Incorrect(f"your step returned {out:.4f}, the loss of one column only: the loss is the sum of "
                        "both columns' losses.")
    if close(out, _sum_of_columns(model, X, Y, l1)[0]):
        raise Incorrect(f"your step returned {out:.4f}, the loss measured after the update: return the loss of "
                        f"step 2, computed before optimizer.step() ({want_loss:.4f}).")
    if close(out, crossed):
        raise Incorrect("a prediction column of shape [10] met a target of shape [10, 1]: they broadcast to "
                        "[10, 10] and compare every prediction with every label. Slice both the same way, "
                        "Y_pred[:, 0] and Y[:, 0].")
    raise Incorrect(f"your step returned {out:.4f}, but the sum of the two columns' losses before the update "
                    f"was {want_loss:.4f}: loss_fn(Y_pred[:, 0], Y[:, 0]) + loss_fn(Y_pred[:, 1], Y[:, 1]).")


def _second_loss(train_step_two: Callable, first_out: float) -> None:
    """One call with a loss that is not a mean (the root of the mean squared error): the sum of both columns' losses."""
    X, Y, model = _two_output_case()
    start = [p.detach().clone() for p in model.parameters()]
    want_loss, fresh = _sum_of_columns(model, X, Y, _rmse)
    with torch.no_grad():
        whole = _rmse(model(X), Y).item()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    out = call(train_step_two, model, X, Y, _rmse, optimizer, case="Called with a second loss_fn, the root of the "
                                                                     "mean squared error")
    need(isinstance(out, float), f"with a second loss your step returned {type(out).__name__}: return loss.item().")
    need(not close(out, want_loss + first_out) or close(out, want_loss),
         f"called a second time, on another model, your step returned {out:.4f}: this call's loss ({want_loss:.4f}) "
         f"plus what the first call returned ({first_out:.4f}). A total kept outside the function (a global) leaks "
         "from call to call: return this call's loss alone.")
    if close(out, 2 * whole) and not close(out, want_loss):
        raise Incorrect(f"with a second loss_fn, the root of the mean squared error, your step returned {out:.4f}, "
                        f"twice loss_fn(Y_pred, Y); the sum of the two columns' losses is {want_loss:.4f}. Doubling "
                        "the loss of all the numbers matched with the L1 loss only because L1 averages and the "
                        "columns have the same length. Call loss_fn on each column and add the two.")
    need(close(out, want_loss), f"with a second loss_fn, the root of the mean squared error, your step returned "
                                f"{out:.4f}, but the sum of the two columns' losses is {want_loss:.4f}: call loss_fn "
                                "on column 0 and on column 1 and add the two, whatever the loss.")
    need(sgd_at(model, start, fresh, 0.1),
         "with a second loss_fn, the root of the mean squared error, the parameters are not where one SGD step on "
         "the sum of the two columns' losses puts them.")


def _check_train_step_two(train_step_two: object) -> str:
    """Training mode, the sum of both columns' losses for any loss, one update with this batch's gradient alone."""
    need(callable(train_step_two),
         "`train_step_two` should be a function train_step_two(model, X, Y, loss_fn, optimizer).")
    _second_loss(train_step_two, _first_call(train_step_two))
    X, Y, _ = _two_output_case()
    l1 = nn.L1Loss()
    torch.manual_seed(0)
    model = ModeProbe(2)
    one_batch = _sum_of_columns(copy.deepcopy(model), X, Y, l1)[1]  # the gradients of one batch
    run_optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the parameters stay put
    outs = [call(train_step_two, model, X, Y, l1, run_optimizer, case="Called twice on one batch") for _ in range(2)]
    need(close(outs[0], outs[1]), f"two calls on one batch, with parameters that did not move (lr 0), returned "
                                  f"{outs[0]:.4f}, then {outs[1]:.4f}: something leaks from call to call. Return "
                                  "this call's loss alone.")
    check_one_batch_gradient(model, one_batch, "after two calls on one batch the gradients are twice one batch's: "
                             "zero them with optimizer.zero_grad() at the start of every step.", "after two calls "
                             "the gradients are not one batch's gradient: optimizer.zero_grad() before backward().")
    return ("training mode, the sum of both columns' losses (with L1 and with a loss that is not a mean), one update "
            "with this batch's gradient alone, whatever .grad held before: the same loop serves any model and any "
            "loss.")


q1 = _ex.problem(
    _check_train_step_two, names=("train_step_two",), title="A training step for a model with two outputs",
    transfer=True,
    task="A model with two outputs predicts two targets at once: `model(X)` has shape `[N, 2]`, one column per "
         "target, and so does `Y`. Write `train_step_two(model, X, Y, loss_fn, optimizer)`: one training step "
         "whose loss is the **sum** of `loss_fn` on each column (column 0 of the predictions against column 0 of "
         "`Y`, column 1 against column 1), with one forward pass and one update per call; return that summed "
         "loss, measured before the update, as a Python number. The check runs it on a two-output model left in "
         "eval mode with an old gradient still in `.grad` (as an earlier `backward()` leaves it), looks at the "
         "parameters after one step, tries a second `loss_fn` that is not an average, and calls it twice on one batch.",
    starter='def train_step_two(model, X, Y, loss_fn, optimizer):\n'
            '    """One training step of a two-output model; the loss is the sum of the two columns\' losses."""\n'
            '    ____            # 0. training mode\n'
            '    Y_pred = ____   # 1. forward pass: shape [N, 2]\n'
            '    loss = ____     # 2. loss: column 0\'s loss plus column 1\'s loss\n'
            '    ____            # 3. zero the gradients\n'
            '    ____            # 4. backpropagation\n'
            '    ____            # 5. update the parameters\n'
            '    return ____',
    hint="The six steps are the notebook's; only step 2 is new. Pick a column by indexing the second dimension, "
         "and pick it the same way from the predictions and the targets, so that their shapes match. One "
         "backward() on the sum gives both outputs' gradients at once.",
    solution='def train_step_two(model, X, Y, loss_fn, optimizer):\n'
             '    """One training step of a two-output model; the loss is the sum of the two columns\' losses."""\n'
             '    model.train()                                                    # 0. training mode\n'
             '    Y_pred = model(X)                                                # 1. forward pass\n'
             '    loss = loss_fn(Y_pred[:, 0], Y[:, 0]) + loss_fn(Y_pred[:, 1], Y[:, 1])  # 2. loss\n'
             '    optimizer.zero_grad()                                            # 3. zero the gradients\n'
             '    loss.backward()                                                  # 4. backpropagation\n'
             '    optimizer.step()                                                 # 5. update the parameters\n'
             '    return loss.item()',
)


def _check_lr(lr_mse: object) -> str:
    """100 epochs of MSE + SGD at the learner's rate reach (0.7, 0.3) within 1e-3."""
    lr = number("lr_mse", lr_mse)
    need(lr > 0, f"lr_mse = {lr}: a learning rate is a positive step size.")
    X, y = helpers.make_line_data()
    X_train, y_train = X[:40], y[:40]
    model = _line_model(None)
    w, b = model.weights.detach().clone(), model.bias.detach().clone()
    for _ in range(100):  # what nn.MSELoss + SGD do, written out (same numbers, without autograd's overhead)
        e = w * X_train + b - y_train
        w -= lr * (2 * e * X_train).mean()
        b -= lr * (2 * e).mean()
    w, b = w.item(), b.item()
    need(math.isfinite(w) and math.isfinite(b) and abs(w) < 10,
         f"with lr = {lr} the run blew up (weights {w:.3g}): every step overshoots the minimum by more than it "
         "started from, so the error grows. Try a smaller learning rate.")
    distance = max(abs(w - 0.7), abs(b - 0.3))
    advice = ("Too small a step: MSE's gradient is small along the flat valley, so try a larger learning rate."
              if lr < 0.6 else "Close to the limit the steps bounce across the valley: try a little smaller.")
    need(distance < 1e-3, f"after 100 epochs with lr = {lr}: weights {w:.5f}, bias {b:.5f}, still {distance:.5f} "
                          f"from the answer, not within 0.001. {advice}")
    return f"with lr = {lr}, 100 epochs of MSE + SGD end at weights {w:.4f}, bias {b:.4f}: within 0.001 of the truth."


q2 = _ex.problem(
    _check_lr, names=("lr_mse",), title="A learning rate that arrives",
    task="Find a learning rate `lr_mse` for MSE + plain SGD that takes the seed-42 `LinearRegressionModel` "
         "within 0.001 of weight 0.7 and bias 0.3 in 100 epochs on the 40 training points. The check trains "
         "with your number. Try 0.1, 0.5 and 1.0 first: two are too slow in 100 epochs and one blows up. The "
         "answer lies between them.",
    starter='lr_mse = ____  # a learning rate for MSE + SGD, 100 epochs',
    hint="Bisect: if a rate is too slow, try one halfway to the rate that blew up; if it blows up or bounces, go "
         "halfway back. The notebook's `train_path` function, given a number of epochs, shows where a rate ends "
         "(the last point of its path).",
    solution='lr_mse = 0.7',
)


def _line_model(params: tuple[float, float] | None) -> nn.Module:
    """The seed-42 LinearRegressionModel, or one with the given (weight, bias)."""
    torch.manual_seed(42)
    model = helpers.LinearRegressionModel()
    if params:
        with torch.no_grad():
            model.weights.fill_(params[0])
            model.bias.fill_(params[1])
    return model


def _gradients(mse_gradients: Callable, model: nn.Module, X: torch.Tensor, y: torch.Tensor, case: str) -> list:
    """The learner's (dL/dw, dL/db) as two floats, called with autograd switched off and refused."""
    out = without_autograd(mse_gradients, model, X, y, case=case)
    need(isinstance(out, (tuple, list)) and len(out) == 2, "return two numbers: grad_w, grad_b.")
    return [number("grad_w", out[0]), number("grad_b", out[1])]


def _same(a: list, b: list) -> bool:
    """Two pairs of gradients agree."""
    return all(close(g, w, 1e-4) for g, w in zip(a, b))


_LINE_LABELS = ("your errors compare the predictions with the line 0.7 x + 0.3 (the notebook's y_train lies on it: "
                "do you use it?), not with the labels y the function is given: here they are noisy, off any line. "
                "The error is e = model(X) - y.")


def _uses_its_arguments(mse_gradients: Callable) -> None:
    """Change the labels alone, the inputs alone, the model alone: the gradients must follow (globals do not)."""
    X, _ = helpers.make_line_data()
    _, y = helpers.make_line_data(noise_std=0.05, seed=1)
    model = _line_model((0.8, 0.25))  # crosses the labels: errors of both signs
    first = _gradients(mse_gradients, model, X[:40], y[:40], case="For 40 noisy points")
    ignored = [name for name, what, args in (("y", "labels", (model, X[:40], y[10:])),
                                             ("X", "inputs", (model, X[10:], y[:40])),
                                             ("model", "model", (_line_model((2.0, 1.5)), X[:40], y[:40])))
               if _same(first, _gradients(mse_gradients, *args, case=f"For other {what}"))]
    with torch.no_grad():
        e_line = model(X[:40]) - (0.7 * X[:40] + 0.3)
    need(ignored != ["y"] or not _same(first, [(2 * e_line * X[:40]).mean().item(), (2 * e_line).mean().item()]),
         _LINE_LABELS)
    if ignored:
        names = " and ".join(ignored[:2])
        globs = " and ".join({"y": "y_train", "X": "X_train", "model": "model"}[n] for n in ignored[:2])
        raise Incorrect(f"your function gave the same gradients when its {names} changed: it ignores the {names} it "
                        f"is given (does it use the notebook's {globs}?). Compute the errors from its arguments: "
                        "e = model(X) - y.")


_MSE_MISTAKES = {
    "line": _LINE_LABELS,
    "abs": "you took the absolute error |e|: the slope of e² is 2e, with e's sign, so a model above the labels and "
           "one below them are pushed in opposite directions. Drop the .abs().",
    "sign": "your gradients have the opposite sign of autograd's: the error is e = y_pred - y, prediction minus label.",
    "l1": "you returned the L1 gradients (built from sign(e)): the slope of e² is 2e, which grows with the error.",
    "half": "your gradients are half of autograd's: the slope of e² is 2e, not e.",
    "sum": "your gradients are N times autograd's (N the number of points): nn.MSELoss averages over the points, so "
           "take the mean, not the sum.",
    "w_as_b": "your dL/dw equals dL/db: the chain rule multiplies by de/dw = x for the weight (and by 1 for the bias).",
    "b_as_w": "your dL/db equals dL/dw: de/db = 1, so the bias's gradient has no factor x (only the weight's has).",
    "swapped": "you returned dL/db first: return grad_w, grad_b, in that order.",
}


def _wrong_ways(want: list, e: torch.Tensor, e_line: torch.Tensor, x: torch.Tensor, n: int) -> dict[str, list]:
    """What each mistake of _MSE_MISTAKES gives on one case (`want`: autograd's gradients, `e`: the errors)."""
    pair = lambda t: [(t * x).mean().item(), t.mean().item()]  # noqa: E731 - (dL/dw, dL/db) from a slope t
    return {"line": pair(2 * e_line), "abs": pair(2 * e.abs()), "sign": [-g for g in want], "l1": pair(torch.sign(e)),
            "half": [g / 2 for g in want], "sum": [n * g for g in want], "w_as_b": [want[1]] * 2,
            "b_as_w": [want[0]] * 2, "swapped": want[::-1]}


def _mse_mistake(results: list) -> str | None:
    """The one mistake that explains the learner's gradients on every case, in words (None if none does).

    `results` holds, for each case, (the learner's gradients, autograd's, the number of points, _wrong_ways)."""
    for way, message in _MSE_MISTAKES.items():
        if all(_same(got, ways[way]) for got, _, _, ways in results):
            return message
    divisors = {round(n * w / g) for got, want, n, _ in results for g, w in zip(got, want) if abs(g) > 1e-8}
    m = divisors.pop() if len(divisors) == 1 else 0
    if m > 1 and all(_same(got, [n * w / m for w in want]) for got, want, n, _ in results):
        ns = sorted({n for _, _, n, _ in results})
        return (f"you divided by {m} whatever the number of points: the check uses "
                f"{', '.join(map(str, ns[:-1]))} and {ns[-1]} points. Take the mean, or divide by len(X).")
    return None


def _check_mse_gradients(mse_gradients: object) -> str:
    """The chain rule's MSE gradients equal autograd's for models below, above and across noisy labels."""
    need(callable(mse_gradients), "`mse_gradients` should be a function mse_gradients(model, X, y).")
    _uses_its_arguments(mse_gradients)
    X, y_line = helpers.make_line_data()
    _, y_noisy = helpers.make_line_data(noise_std=0.05, seed=1)  # labels off any straight line
    cases = [("the seed-42 model (every error negative)", None, 40, y_line),
             ("a model far above noisy labels", (2.0, 1.5), 40, y_noisy),
             ("a model crossing noisy labels (errors of both signs)", (0.8, 0.25), 50, y_noisy),
             ("10 noisy points", (0.1, -0.4), 10, y_noisy)]
    results, first_wrong = [], None
    for name, params, n, y in cases:
        model, reference = _line_model(params), _line_model(params)
        nn.MSELoss()(reference(X[:n]), y[:n]).backward()
        got = _gradients(mse_gradients, model, X[:n], y[:n], case=f"For {name}")
        want = [reference.weights.grad.item(), reference.bias.grad.item()]
        with torch.no_grad():
            e, e_line = reference(X[:n]) - y[:n], reference(X[:n]) - (0.7 * X[:n] + 0.3)
        results.append((got, want, n, _wrong_ways(want, e, e_line, X[:n], n)))
        if first_wrong is None and not _same(got, want):
            first_wrong = f"for {name}: yours {got[0]:.4f}, {got[1]:.4f}, autograd's {want[0]:.4f}, {want[1]:.4f}."
    if first_wrong is None:
        return ("your gradients agree with autograd's on every case: errors all negative, all positive and mixed, "
                "on 40, 50 and 10 points. (A central difference would agree too, because this loss is a quadratic "
                "in w and b; the chain rule is what gives the exact formula, for any loss.)")
    mistake = _mse_mistake(results)
    raise Incorrect(mistake or f"{first_wrong} Apply the chain rule to (1/N) Σ (w xᵢ + b - yᵢ)².")


q3 = _ex.problem(
    _check_mse_gradients, names=("mse_gradients",), title="MSE gradients by the chain rule", transfer=True,
    task="The notebook derived the L1 gradients by hand. Do the same for the MSE loss "
         "L = (1/N) Σ (w xᵢ + b - yᵢ)²: write `mse_gradients(model, X, y)` that returns dL/dw and dL/db of a "
         "`LinearRegressionModel`, from the chain rule, without autograd (no `backward()`, no `torch.autograd.grad`: "
         "the check refuses them, even behind `torch.enable_grad()`). It compares them with autograd's `.grad` for "
         "models below, above and across the labels, on 40, 50 and 10 points, with labels on the line and noisy "
         "ones.",
    starter='def mse_gradients(model, X, y):\n'
            '    """dL/dw and dL/db of the MSE loss of a LinearRegressionModel on (X, y), by the chain rule."""\n'
            '    with torch.inference_mode():\n'
            '        e = ____          # the errors: prediction minus label\n'
            '    grad_w = ____         # dL/dw\n'
            '    grad_b = ____         # dL/db\n'
            '    return grad_w, grad_b',
    hint="Follow the notebook's L1 derivation step by step, with e² in place of |e|: the slope of e² (the right "
         "panel of the loss picture) is the first factor, and how e changes with each parameter is the second. "
         "nn.MSELoss averages over the points.",
    solution='def mse_gradients(model, X, y):\n'
             '    """dL/dw and dL/db of the MSE loss of a LinearRegressionModel on (X, y), by the chain rule."""\n'
             '    with torch.inference_mode():\n'
             '        e = model(X) - y\n'
             '    grad_w = (2 * e * X).mean()\n'
             '    grad_b = (2 * e).mean()\n'
             '    return grad_w, grad_b',
)

"""Exercises for notebook 03 (build a model): a model class, parameters set in place, gradients of a sum."""

from __future__ import annotations

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._util import call, close, need, number, shape

_ex = Exercises("ex03")
bind = _ex.bind


def _check_model_class(LineModel: object) -> str:
    """Two registered parameters, the seed-42 start, and forward = weights * x + bias."""
    need(isinstance(LineModel, type) and issubclass(LineModel, nn.Module),
         "`LineModel` should be a class that subclasses nn.Module.")
    torch.manual_seed(42)
    model = call(LineModel, case="Creating LineModel()")
    names = [name for name, _ in model.named_parameters()]
    need(names, "`LineModel()` has no parameters: wrap each random start in nn.Parameter(...) so that the module "
                "registers it (a plain tensor is invisible to parameters() and to the optimizer).")
    need(sorted(names) == ["bias", "weights"], f"expected two parameters named weights and bias, found {names}.")
    for name, p in model.named_parameters():
        need(p.shape == (1,), f"`{name}` has shape {shape(p)}: one number each, torch.randn(1).")
        need(p.requires_grad, f"`{name}` does not require gradients: training could not change it.")
    torch.manual_seed(42)
    reference = helpers.LinearRegressionModel()
    need(close(model.weights, reference.weights) and close(model.bias, reference.bias),
         f"from seed 42 your model starts at weights {model.weights.item():.4f}, bias {model.bias.item():.4f}; "
         "the notebook's starts at 0.3367 and 0.1288: draw weights first, then bias, each with torch.randn(1).")
    X = torch.arange(0, 1, 0.2).unsqueeze(1)
    y_pred = call(model, X, case="Calling model(X) on X of shape [5, 1]")
    need(isinstance(y_pred, torch.Tensor), f"forward returned {type(y_pred).__name__}: return a tensor.")
    need(y_pred.shape == X.shape, f"model(X) for X of shape [5, 1] has shape {shape(y_pred)}, expected [5, 1].")
    need(not close(y_pred, model.weights * X), "model(X) is weights * x: the bias is missing from forward.")
    need(close(y_pred, model.weights * X + model.bias), "model(X) should be weights * x + bias.")
    return "two registered parameters, the notebook's start from seed 42, and forward computes weights * x + bias."


q1 = _ex.problem(
    _check_model_class, names=("LineModel",), title="Your own model class",
    task="Write the class `LineModel` again, from memory as far as you can: an `nn.Module` with two learnable "
         "parameters, `weights` and `bias`, each starting from `torch.randn(1)`, and a `forward` that returns "
         "`weights * x + bias`. The check builds one from seed 42, inspects its parameters and calls it.",
    starter='class LineModel(nn.Module):\n'
            '    """y = weights * x + bias, with two learnable parameters."""\n'
            '\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.weights = ____\n'
            '        self.bias = ____\n'
            '\n'
            '    def forward(self, x):\n'
            '        return ____',
    hint="self.weights = nn.Parameter(torch.randn(1), requires_grad=True) registers a learnable tensor with the "
         "module; do the same for the bias, in that order.",
    solution='class LineModel(nn.Module):\n'
             '    """y = weights * x + bias, with two learnable parameters."""\n'
             '\n'
             '    def __init__(self):\n'
             '        super().__init__()\n'
             '        self.weights = nn.Parameter(torch.randn(1), requires_grad=True)\n'
             '        self.bias = nn.Parameter(torch.randn(1), requires_grad=True)\n'
             '\n'
             '    def forward(self, x):\n'
             '        return self.weights * x + self.bias',
)


def _check_set_to_truth(set_to_truth: object) -> str:
    """The same parameter objects set in place to 0.7 and 0.3, still requiring gradients."""
    need(callable(set_to_truth), "`set_to_truth` should be a function set_to_truth(model).")
    torch.manual_seed(42)
    model = helpers.LinearRegressionModel()
    weights, bias = model.weights, model.bias
    try:
        set_to_truth(model)
    except RuntimeError as err:
        if "leaf Variable" in str(err):
            raise Incorrect("PyTorch refused to change a parameter in place: autograd tracks it. Do it inside "
                            "`with torch.no_grad():`.") from None
        raise
    need(model.weights is weights and model.bias is bias, "you replaced the parameters with new objects: an optimizer "
         "made earlier still holds the old ones. Change them in place (fill_) inside torch.no_grad().")
    need(close(model.weights, torch.tensor([0.7])) and close(model.bias, torch.tensor([0.3])),
         f"after your function the model has weights {model.weights.item():.4f}, bias {model.bias.item():.4f}; "
         "expected 0.7 and 0.3.")
    need(model.weights.requires_grad and model.bias.requires_grad,
         "the parameters no longer require gradients: training could not move them any more.")
    X = torch.arange(0, 1, 0.02).unsqueeze(1)
    with torch.inference_mode():
        need(close(model(X), 0.7 * X + 0.3), "the model's predictions are not on the line 0.7 x + 0.3.")
    return "the same parameter objects, now 0.7 and 0.3: the model is the line, and the red crosses sit on the data."


q2 = _ex.problem(
    _check_set_to_truth, names=("set_to_truth",), title="Set the parameters by hand",
    task="Write `set_to_truth(model)` for a `LinearRegressionModel` (Try it 2): change its parameters **in "
         "place** to weight 0.7 and bias 0.3. The check calls it on a fresh model and checks the values, that "
         "the parameter objects are the same ones (an optimizer holds them), and that they still require "
         "gradients.",
    starter='def set_to_truth(model):\n'
            '    """Set a LinearRegressionModel\'s parameters to weight 0.7 and bias 0.3, in place."""\n'
            '    with ____:\n'
            '        model.weights.fill_(____)\n'
            '        model.bias.fill_(____)',
    hint="fill_ changes a tensor in place. On a parameter that requires gradients, autograd refuses in-place "
         "changes unless they happen inside `with torch.no_grad():`.",
    solution='def set_to_truth(model):\n'
             '    """Set a LinearRegressionModel\'s parameters to weight 0.7 and bias 0.3, in place."""\n'
             '    with torch.no_grad():\n'
             '        model.weights.fill_(0.7)\n'
             '        model.bias.fill_(0.3)',
)


def _check_sum_gradients(grad_w: object, grad_b: object) -> str:
    """4.2 and 5: the gradients of the sum of 5 predictions."""
    w, b = number("grad_w", grad_w), number("grad_b", grad_b)
    if close(w, 5.0, 1e-3) and close(b, 4.2, 1e-3):
        raise Incorrect("your two numbers are swapped: the weight's gradient sums the x values, the bias's counts "
                        "the points.")
    need(not close(w, 0.84, 1e-3), "0.84 is the mean of the x values: backward() on a sum adds one x for each "
                                   "of the 5 points.")
    need(close(w, 4.2, 1e-3), f"grad_w = {w} is not what backward() puts in model.weights.grad: the derivative of "
                              "sum(weights * x + bias) with respect to weights is the sum of the x values.")
    need(not close(b, 1.0, 1e-3), "1 would be the bias's gradient for one point: each of the 5 points adds 1.")
    need(close(b, 5.0, 1e-3), f"grad_b = {b} is not what backward() puts in model.bias.grad: each point's "
                              "prediction grows by 1 when the bias does.")
    return "the sum of the 5 x values (4.2) for the weight, and 5 for the bias: what training will follow."


q3 = _ex.problem(
    _check_sum_gradients, names=("grad_w", "grad_b"), title="Gradients of a sum, by hand",
    task="Work out, without running it first, what `y_plain.sum().backward()` puts into `model.weights.grad` "
         "and `model.bias.grad` (Try it 3): the 5 validation inputs are 0.80, 0.82, 0.84, 0.86 and 0.88. "
         "Write the two numbers, check, then confirm them by running the backward pass.",
    starter='grad_w = ____  # model.weights.grad after y_plain.sum().backward(), as a number\n'
            'grad_b = ____  # model.bias.grad',
    hint="The sum is sum(weights * x_i + bias) over the 5 points. Its derivative with respect to weights is the "
         "sum of the x_i; with respect to bias, 1 for every point.",
    solution='grad_w = 0.80 + 0.82 + 0.84 + 0.86 + 0.88  # 4.2\ngrad_b = 5.0',
)

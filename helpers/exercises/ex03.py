"""Exercises for notebook 03 (build a model): a model with three parameters (transfer), the state_dict of a
network never shown (transfer), and one function that sets the line of either course model in place."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._util import call, close, need, number, shape

_ex = Exercises("ex03")
bind = _ex.bind

_X = torch.tensor([[-1.0], [0.0], [0.5], [1.0], [2.0], [3.0]])  # six inputs, negative ones too


def _quad_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    """The registered parameters a, b, c, each one learnable number, or Incorrect."""
    params = dict(model.named_parameters())
    need(params, "`QuadModel()` has no parameters: wrap each random start in nn.Parameter(...) and assign it to "
                 "self in __init__, so the module registers it (a plain tensor is invisible to parameters()).")
    need(sorted(params) == ["a", "b", "c"], f"expected three parameters named a, b and c, found {sorted(params)}.")
    for name, p in params.items():
        need(p.shape == (1,), f"`{name}` has shape {shape(p)}: one number each, like the notebook's weights.")
        need(p.requires_grad, f"`{name}` does not require gradients: training could never change it.")
    return params


def _check_quad_model(QuadModel: object) -> str:
    """Three registered parameters, a random start, a x^2 + b x + c, and a graph back to every parameter."""
    need(isinstance(QuadModel, type) and issubclass(QuadModel, nn.Module),
         "`QuadModel` should be a class that subclasses nn.Module.")
    torch.manual_seed(0)
    model = call(QuadModel, case="Creating QuadModel()")
    params = _quad_parameters(model)
    torch.manual_seed(1)
    other = call(QuadModel, case="Creating a second QuadModel()")
    need(not all(torch.equal(p, q) for p, q in zip(model.parameters(), other.parameters())),
         "two QuadModels made after different seeds start at the same numbers: draw each start with torch.randn(1).")
    with torch.no_grad():
        for name, value in zip("abc", (2.0, -1.0, 0.5)):
            params[name].fill_(value)
    y_pred = call(model, _X, case="Calling model(x) on x of shape [6, 1]")
    need(isinstance(y_pred, torch.Tensor), f"forward returned {type(y_pred).__name__}: return a tensor.")
    need(y_pred.shape == _X.shape, f"model(x) for x of shape [6, 1] has shape {shape(y_pred)}, expected [6, 1].")
    want = 2 * _X**2 - _X + 0.5
    need(not close(y_pred, want - 0.5), "with a=2, b=-1, c=0.5 your model gives a x^2 + b x: the + c is missing.")
    need(not close(y_pred, 2 * (2 * _X) - _X + 0.5), "your model multiplies a by x * 2: x squared is x ** 2.")
    need(not close(y_pred, 2 * _X - _X**2 + 0.5), "a and b are swapped: a multiplies x squared, b multiplies x.")
    need(close(y_pred, want), f"with a=2, b=-1, c=0.5 and x = {_X.flatten().tolist()}, expected {want.flatten().tolist()}"
                              f", got {[round(v, 4) for v in y_pred.flatten().tolist()]}.")
    need(close(call(model, _X, case="Calling model(x) a second time"), y_pred),
         "a second call gave other numbers: the parameters belong in __init__, made once, not in forward.")
    need(y_pred.grad_fn is not None, "model(x) carries no graph back to the parameters: something in forward "
         "(.item(), .detach(), torch.tensor(...), torch.no_grad()) cut it, so training could never change them.")
    grads = torch.autograd.grad(y_pred.sum(), [params[n] for n in "abc"], allow_unused=True)
    for name, grad, want_grad in zip("abc", grads, ((_X**2).sum(), _X.sum(), float(len(_X)))):
        need(grad is not None, f"`{name}` gets no gradient from model(x): forward cut it off the graph (.item(), "
                               "float(), .detach() or .data), so training could never change it.")
        need(close(grad, torch.tensor([want_grad])), f"the gradient reaching `{name}` is {grad.item():.4f}, expected "
                                                     f"{float(want_grad):.4f}: use the parameter itself in forward.")
    return "three registered parameters from a random start, a x^2 + b x + c, and a graph back to all three."


q1 = _ex.problem(
    _check_quad_model, names=("QuadModel",), title="A model with three parameters", transfer=True,
    task="Notebook 02's curved data bends like a parabola. Write `QuadModel`, an `nn.Module` with three learnable "
         "parameters `a`, `b` and `c`, each starting from `torch.randn(1)`, whose `forward` returns "
         "`a * x**2 + b * x + c`. The check builds two models, sets their parameters, calls them on six inputs, "
         "and follows the result's graph back to each parameter (what training will need).",
    starter='class QuadModel(nn.Module):\n'
            '    """y = a * x**2 + b * x + c, with three learnable parameters."""\n'
            '\n'
            '    def __init__(self):\n'
            '        ____\n'
            '\n'
            '    def forward(self, x):\n'
            '        return ____',
    hint="Three building blocks, as in the notebook: the base class set up first, each learnable number wrapped so "
         "the module registers it, and forward written with tensor operations only (a parameter turned into a "
         "Python number leaves the graph).",
    solution='class QuadModel(nn.Module):\n'
             '    """y = a * x**2 + b * x + c, with three learnable parameters."""\n'
             '\n'
             '    def __init__(self):\n'
             '        super().__init__()\n'
             '        self.a = nn.Parameter(torch.randn(1))\n'
             '        self.b = nn.Parameter(torch.randn(1))\n'
             '        self.c = nn.Parameter(torch.randn(1))\n'
             '\n'
             '    def forward(self, x):\n'
             '        return self.a * x**2 + self.b * x + self.c',
)


class _TwoLayer(nn.Module):
    """The network of q2, built here to compute the answer (the learner sees its code in the task)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(3, 4)
        self.out = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Three features in, four numbers in between, one prediction out."""
        return self.out(self.hidden(x))


def _check_state_dict(shapes: object, n_params: object) -> str:
    """The state_dict's keys and shapes, and the number of learnable numbers, of a two-layer network."""
    truth = {k: list(v.shape) for k, v in _TwoLayer().state_dict().items()}
    need(isinstance(shapes, dict), f"`shapes` should be a dict from state_dict key to shape, got "
                                   f"{type(shapes).__name__}.")
    keys = sorted(map(str, shapes))
    need(not {"weight", "bias"} & set(keys), "a key is the layer's attribute name, a dot, then the parameter's name "
                                             "(as `linear_layer.weight` in the notebook).")
    need(keys == sorted(truth), f"your keys are {keys}; the state_dict has {len(truth)}: one weight and one bias "
                                "for each of the two layers.")
    for key, want in truth.items():
        got = shapes[key]
        need(isinstance(got, (list, tuple)), f"`shapes[{key!r}]` should be a shape written as a list, like [4, 3].")
        got = list(got)
        need(not (key.endswith("weight") and got == want[::-1]), f"`{key}` is {got}: nn.Linear stores its weight as "
             "[out_features, in_features], one row per output.")
        need(not (key.endswith("bias") and len(got) == 2), f"`{key}` is {got}: a bias is flat, one number per output.")
        need(got == want, f"`{key}` is {got}: look at the layer's in_features and out_features again.")
    count, weights_only = sum(v.numel() for v in _TwoLayer().parameters()), sum(
        v.numel() for k, v in _TwoLayer().named_parameters() if k.endswith("weight"))
    n = number("n_params", n_params)
    need(n != weights_only, f"n_params = {n:g} counts the weights only: every bias number is learned too.")
    need(n != len(truth), f"n_params = {n:g} counts tensors; count the numbers inside them.")
    need(n == count, f"n_params = {n:g}: add up the numbers in every shape above.")
    return (f"{len(truth)} tensors named layer.parameter, weights [out, in], biases [out]: {count} numbers for "
            "training to learn.")


q2 = _ex.problem(
    _check_state_dict, names=("shapes", "n_params"), title="Read a network you have not seen", transfer=True,
    task="A *network* is a model built from several layers, each one's output the next one's input. `TwoLayer` "
         "below (in the starting code) takes samples of 3 features: its first layer turns them into 4 numbers, its "
         "second turns those 4 into 1 prediction. The first is called `hidden`, the usual name for a layer whose "
         "output is neither the input nor the prediction. Without running it first, write down what "
         "`TwoLayer().state_dict()` holds: `shapes`, a dict from each key to its shape as a list, and `n_params`, "
         "how many learnable numbers the network has in all. Then check, and confirm by printing the state_dict.",
    starter='class TwoLayer(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.hidden = nn.Linear(3, 4)\n'
            '        self.out = nn.Linear(4, 1)\n'
            '\n'
            '    def forward(self, x):\n'
            '        return self.out(self.hidden(x))\n'
            '\n'
            'shapes = ____    # {"key": [shape], ...}, one entry for each tensor in the state_dict\n'
            'n_params = ____  # learnable numbers in all',
    hint="Each nn.Linear holds a weight and a bias; the keys join the attribute name and the parameter name with "
         "a dot. The notebook's nn.Linear(1, 1) had a weight of shape [1, 1]: one row per output, one column per "
         "input. A bias has one number per output.",
    solution='class TwoLayer(nn.Module):\n'
             '    def __init__(self):\n'
             '        super().__init__()\n'
             '        self.hidden = nn.Linear(3, 4)\n'
             '        self.out = nn.Linear(4, 1)\n'
             '\n'
             '    def forward(self, x):\n'
             '        return self.out(self.hidden(x))\n'
             '\n'
             'shapes = {"hidden.weight": [4, 3], "hidden.bias": [4], "out.weight": [1, 4], "out.bias": [1]}\n'
             'n_params = 4 * 3 + 4 + 1 * 4 + 1  # 21',
)


def _same_layout(cls: object, theirs: type) -> bool:
    """True if `cls` is an nn.Module class whose models have the parameters (names, shapes) of `theirs`."""
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        return False
    try:
        ours = [(n, p.shape) for n, p in cls().named_parameters()]
    except Exception:  # noqa: BLE001 - a class the learner broke: use helpers' instead
        return False
    return ours == [(n, p.shape) for n, p in theirs().named_parameters()]


def _model_classes() -> list[tuple[type, type]]:
    """The two course classes to try: the notebook's own where it defines them (cells above), then helpers'."""
    theirs = (helpers.LinearRegressionModel, helpers.LinearRegressionModelV2)
    ns = _ex.namespace or {}
    ours = tuple(ns.get(c.__name__) if _same_layout(ns.get(c.__name__), c) else c for c in theirs)
    return [ours] if ours == theirs else [ours, theirs]


def _set_line_on(set_line: Callable, classes: tuple[type, type]) -> None:
    """Call set_line on models of both classes with several lines; Incorrect at the first thing that is wrong."""
    for make in classes:
        name = f"{'helpers.' if make.__module__ == helpers.models.__name__ else ''}{make.__name__}"
        for weight, bias in [(0.7, 0.3), (-1.5, 2.0)]:
            case = f"For a {name} and set_line(model, {weight}, {bias})"
            model = make()
            before = [(p, p.shape, p._version) for p in model.parameters()]
            start = [p.item() for p in model.parameters()]
            try:
                call(set_line, model, weight, bias, case=case)
            except Incorrect as err:
                if "leaf Variable" in str(err):
                    raise Incorrect(f"{case}, PyTorch refused to change a parameter in place: autograd records "
                                    "every operation on it. Do it inside `with torch.no_grad():`.") from None
                raise
            need(torch.is_grad_enabled(), f"{case}, gradients stayed switched off after your function: use "
                                          "`with torch.no_grad():`, which switches them back on at its end.")
            after = list(model.parameters())
            need(len(after) == 2 and all(p is q for (p, _, _), q in zip(before, after)), f"{case}, the model now has "
                 "other parameter objects: an optimizer made earlier still holds the old ones. Change them in place.")
            for p, old_shape, _ in before:
                need(p.shape == old_shape, f"{case}, a parameter changed shape from {list(old_shape)} to {shape(p)}: "
                                           "fill the tensor you have, keep its shape.")
                need(p.requires_grad, f"{case}, a parameter no longer requires gradients: training could not move it.")
            w, b = (p.item() for p in after)
            need([w, b] != start, f"{case}, the parameters did not change: was the in-place change made on a copy "
                                  "of them (clone, detach().numpy(), a new tensor)?")
            need(all(p._version > version for p, _, version in before), f"{case}, the parameters changed behind "
                 "autograd's back (through `.data`): a graph built before the change would silently compute its "
                 "gradients with the old numbers. Change each parameter itself, in place, inside "
                 "`with torch.no_grad():`.")
            need(not (close(w, bias) and close(b, weight)), f"{case}, the weight became {w:g} and the bias {b:g}: "
                                                            "swapped. A model lists its weight first, then its bias.")
            need(close(w, weight) and close(b, bias), f"{case}, the model's weight is {w:.4f} and bias {b:.4f}, "
                                                      f"expected {weight} and {bias}.")
            with torch.no_grad():
                need(close(model(_X), weight * _X + bias), f"{case}, the model's predictions are not on the line "
                                                           f"{weight} x + {bias}.")


def _check_set_line(set_line: object) -> str:
    """Both course models (the notebook's classes, or helpers'): the same parameter objects, set in place, shapes
    kept, still learnable, and the change seen by autograd."""
    need(callable(set_line), "`set_line` should be a function set_line(model, weight, bias).")
    first: Incorrect | None = None
    for classes in _model_classes():  # an answer that tests isinstance against either set of classes is right
        try:
            _set_line_on(set_line, classes)
        except Incorrect as err:
            first = first or err
            continue
        return "one function for both models: the same parameter objects, changed in place, still learnable."
    raise first


q3 = _ex.problem(
    _check_set_line, names=("set_line",), title="Set the line of either model",
    task="Write `set_line(model, weight, bias)` that sets the line of **either** course model, the hand-written "
         "`LinearRegressionModel` (parameters `weights`, `bias`) or the `nn.Linear` one, `LinearRegressionModelV2` "
         "(`linear_layer.weight`, `linear_layer.bias`), to the given weight and bias, **in place**. The check "
         "calls it on models of both classes (the ones this notebook defines, or helpers' with the same names) with "
         "several values, and checks the parameter objects stay the same ones (an optimizer holds them), keep "
         "their shapes and still require gradients.",
    starter='def set_line(model, weight, bias):\n'
            '    """Set a one-feature line model\'s weight and bias in place, whatever its parameters are called."""\n'
            '    ____',
    hint="Both models list their parameters in the same order, weight first, then bias, whatever their names: "
         "get them without naming them. Change each one in place, inside a `torch.no_grad()` block, as the "
         "notebook did when it put a model on the best line.",
    solution='def set_line(model, weight, bias):\n'
             '    """Set a one-feature line model\'s weight and bias in place, whatever its parameters are called."""\n'
             '    w, b = model.parameters()\n'
             '    with torch.no_grad():\n'
             '        w.fill_(weight)\n'
             '        b.fill_(bias)',
)

"""Exercises for notebook 03 (build a model): a model with three parameters (transfer), the state_dict of a
network never shown (transfer), and one function that sets the line of either course model in place."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._util import call, close, need, number, shape, whole

_ex = Exercises("ex03")
bind = _ex.bind

_X = torch.tensor([[-1.0], [0.0], [0.5], [1.0], [2.0], [3.0]])  # six inputs, negative ones too


def _quad_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    """The registered parameters a, b, c, each one learnable number, or Incorrect."""
    params = dict(model.named_parameters())
    declared = sorted({n for c in type(model).__mro__[:-1] if issubclass(c, nn.Module) and c is not nn.Module
                       for n, v in vars(c).items() if isinstance(v, nn.Parameter)})
    need(params or not declared, f"`QuadModel()` has no parameters: {', '.join(declared)} are nn.Parameters "
         "written in the class body, as class attributes. A module registers a parameter only when it is assigned "
         "to self in __init__ (self.a = nn.Parameter(...)), and class attributes would be shared by every model.")
    need(params, "`QuadModel()` has no parameters: wrap each random start in nn.Parameter(...) and assign it to "
                 "self in __init__, so the module registers it (a plain tensor is invisible to parameters()).")
    need(sorted(params) == ["a", "b", "c"], f"expected three parameters named a, b and c, found {sorted(params)}.")
    for name, p in params.items():
        need(p.shape == (1,), f"`{name}` has shape {shape(p)}: one number each, like the notebook's weights.")
        need(p.dtype == torch.float32, f"`{name}` is {p.dtype}: start from torch.randn(1) as it comes, float32 "
                                       "like the data (a float64 parameter would meet float32 inputs).")
        need(p.requires_grad, f"`{name}` does not require gradients: training could never change it.")
    return params


def _check_starts(starts: list[float]) -> None:
    """Made after torch.manual_seed(0), a, b and c are three torch.randn(1) draws (in any order)."""
    torch.manual_seed(0)
    draws = torch.randn(3)
    if close(torch.tensor(sorted(starts)), draws.sort().values):
        return
    torch.manual_seed(0)
    need(not close(torch.tensor(sorted(starts)), torch.rand(3).sort().values), "the parameters start from "
         "torch.rand(1), uniform in [0, 1): start each from torch.randn(1), a normal draw (negative numbers too).")
    shown = ", ".join(f"{v:.4f}" for v in starts)
    raise Incorrect(f"after torch.manual_seed(0), a new QuadModel starts at a, b, c = {shown}, but three "
                    f"torch.randn(1) draws give {', '.join(f'{v:.4f}' for v in draws.tolist())} (in some order): "
                    "start each parameter from torch.randn(1) itself, not scaled, shifted or made positive.")


def _check_quad_model(QuadModel: object) -> str:
    """Three registered parameters, a random start, a x^2 + b x + c, and a graph back to every parameter."""
    need(isinstance(QuadModel, type) and issubclass(QuadModel, nn.Module),
         "`QuadModel` should be a class that subclasses nn.Module.")
    torch.manual_seed(0)
    model = call(QuadModel, case="Creating QuadModel()")
    params = _quad_parameters(model)
    starts = [params[n].item() for n in "abc"]
    torch.manual_seed(1)
    other = call(QuadModel, case="Creating a second QuadModel()")
    need(not any(p is q for p, q in zip(model.parameters(), other.parameters())), "two QuadModels share the same "
         "parameter objects: the starts were drawn once, outside __init__, and every model is handed the same "
         "ones. Create each nn.Parameter inside __init__, so that each model gets its own.")
    need(not all(torch.equal(p, q) for p, q in zip(model.parameters(), other.parameters())),
         "two QuadModels made after different seeds start at the same numbers: each start must be a fresh "
         "torch.randn(1) draw (not a constant, and without setting a seed inside __init__).")
    _check_starts(starts)
    with torch.no_grad():
        for name, value in zip("abc", (2.0, -1.0, 0.5)):
            params[name].fill_(value)
    x = _X.clone()
    y_pred = call(model, x, case="Calling model(x) on x of shape [6, 1]")
    need(torch.equal(x, _X), f"forward changed the x it was given, from {_X.flatten().tolist()} to "
                             f"{[round(v, 4) for v in x.flatten().tolist()]} (x **= 2, x *= x, or a method with a "
                             "trailing _ such as pow_): the caller's data must stay as it was. Compute new tensors "
                             "instead (x ** 2).")
    need(isinstance(y_pred, torch.Tensor), f"forward returned {type(y_pred).__name__}: return a tensor.")
    need(y_pred.shape == _X.shape, f"model(x) for x of shape [6, 1] has shape {shape(y_pred)}, expected [6, 1].")
    want = 2 * _X**2 - _X + 0.5
    need(not close(y_pred, want - 0.5), "with a=2, b=-1, c=0.5 your model gives a x^2 + b x: the + c is missing.")
    need(not close(y_pred, 2 * (2 * _X) - _X + 0.5), "your model multiplies a by x * 2: x squared is x ** 2.")
    need(not close(y_pred, 2 * _X - _X**2 + 0.5), "a and b are swapped: a multiplies x squared, b multiplies x.")
    need(close(y_pred, want), f"with a=2, b=-1, c=0.5 and x = {_X.flatten().tolist()}, expected {want.flatten().tolist()}"
                              f", got {[round(v, 4) for v in y_pred.flatten().tolist()]}.")
    need(close(call(model, _X.clone(), case="Calling model(x) a second time"), y_pred),
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


def _edited_two_layer() -> dict[str, list[int]] | None:
    """The state_dict shapes of the notebook's TwoLayer if the learner changed the class given, else None."""
    cls = (_ex.namespace or {}).get("TwoLayer")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        return None
    try:
        theirs = {k: list(v.shape) for k, v in cls().state_dict().items()}
    except Exception:  # noqa: BLE001 - a class that cannot be built is judged by the answer alone
        return None
    return None if theirs == {k: list(v.shape) for k, v in _TwoLayer().state_dict().items()} else theirs


def _check_state_dict(shapes: object, n_params: object) -> str:
    """The state_dict's keys and shapes, and the number of learnable numbers, of a two-layer network."""
    truth = {k: list(v.shape) for k, v in _TwoLayer().state_dict().items()}
    edited = _edited_two_layer()
    need(edited is None, f"the `TwoLayer` in your cell is not the one given: its state_dict holds {edited}. The "
                         "exercise reads the network of the starting code, nn.Linear(3, 4) then nn.Linear(4, 1): "
                         "put the class back as it was given and answer for it.")
    need(isinstance(shapes, dict), f"`shapes` should be a dict from state_dict key to shape, got "
                                   f"{type(shapes).__name__}.")
    keys = sorted(map(str, shapes))
    need(not {"weight", "bias"} & set(keys), "a key is the layer's attribute name, a dot, then the parameter's name "
                                             "(as `linear_layer.weight` in the notebook).")
    unknown = [k for k in keys if k not in truth]
    need(len(keys) != len(truth) or not unknown, f"you wrote {len(keys)} keys, the right number, but "
         f"{', '.join(map(repr, unknown))} {'is not a key' if len(unknown) == 1 else 'are not keys'} of the "
         "state_dict: a key is the layer's attribute name (the name after self.), a dot, then the parameter's "
         "name, with nothing before or after (as `linear_layer.weight` in the notebook).")
    need(keys == sorted(truth), f"your keys are {keys}; the state_dict has {len(truth)}: one weight and one bias "
                                "for each of the two layers.")
    for key, want in truth.items():
        got = shapes[key]
        need(isinstance(got, (list, tuple)), f"`shapes[{key!r}]` should be a shape written as a list, like [4, 3].")
        need(not any(isinstance(v, bool) for v in got), f"`shapes[{key!r}]` = {got!r} holds a truth value (True or "
             "False), not a size: write each size as a whole number.")
        sizes = [whole(v) for v in got]
        need(None not in sizes, f"`shapes[{key!r}]` should be a shape written as a list of whole numbers, like "
                                f"[4, 3]; got {got!r}.")
        got = sizes
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
    need(not isinstance(n_params, torch.Tensor), f"n_params = {n_params!r} is a tensor: a count is a Python int, "
                                                 "take it out with int(...) or .item().")
    need(whole(n_params) is not None, f"n_params = {n_params!r} is a {type(n_params).__name__}: a count of "
                                       "numbers is a whole number, write an int.")
    return (f"{len(truth)} tensors named layer.parameter, weights [out, in], biases [out]: {count} numbers for "
            "training to learn.")


q2 = _ex.problem(
    _check_state_dict, names=("shapes", "n_params"), title="Read a network you have not seen", transfer=True,
    task="A *network* is a model built from several layers, each one's output the next one's input. `TwoLayer` "
         "below (in the starting code) takes samples of 3 features: its first layer turns them into 4 numbers, its "
         "second turns those 4 into 1 prediction. The first is called `hidden`, the usual name for a layer whose "
         "output is neither the input nor the prediction. Leave the class as it is and, without running it first, "
         "write down what `TwoLayer().state_dict()` holds: `shapes`, a dict from each key to its shape as a list "
         "of whole numbers, and `n_params`, how many learnable numbers the network has in all, an `int`. Then "
         "check, and confirm by printing the state_dict.",
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


_LINES = [(0.7, 0.3), (-1.5, 2.0), (0.123456, -1.0e-3)]  # the last has more digits than any rounding keeps


def _rounded(w: float, b: float, weight: float, bias: float) -> bool:
    """True if the weight and bias are `weight` and `bias` rounded to a few decimals (and rounding changed them)."""
    exact = close(w, weight) and close(b, bias)
    return not exact and any(close(w, round(weight, k)) and close(b, round(bias, k)) for k in range(6))


def _check_values(case: str, before: list, start: list[float], weight: float, bias: float) -> None:
    """After set_line: each parameter set (seen by autograd), in the right place, to the exact value."""
    w, b = (p.item() for p, _, _ in before)
    need([w, b] != start, f"{case}, the parameters did not change: was the in-place change made on a copy "
                          "of them (clone, detach().numpy(), a new tensor)?")
    for (p, _, version), first, name in zip(before, start, ("weight", "bias")):
        need(p._version > version or p.item() != first, f"{case}, the {name} was never set: it still holds its "
             f"random start, {first:.4f}. Set both the weight and the bias.")
    need(all(p._version > version for p, _, version in before), f"{case}, the parameters changed behind "
         "autograd's back (through `.data`): a graph built before the change would silently compute its "
         "gradients with the old numbers. Change each parameter itself, in place, inside "
         "`with torch.no_grad():`.")
    need(not (close(w, bias) and close(b, weight)), f"{case}, the weight became {w:g} and the bias {b:g}: "
                                                    "swapped. A model lists its weight first, then its bias.")
    need(not _rounded(w, b, weight, bias), f"{case}, the weight became {w:.6g} and the bias {b:.6g}: "
         f"the numbers you were given, {weight} and {bias}, rounded. Set them as they are.")
    need(close(w, weight) and close(b, bias), f"{case}, the model's weight is {w:.4f} and bias {b:.4f}, "
                                              f"expected {weight} and {bias}.")


def _set_line_on(set_line: Callable, classes: tuple[type, type]) -> None:
    """Call set_line on models of both classes with several lines; Incorrect at the first thing that is wrong."""
    for make in classes:
        name = f"{'helpers.' if make.__module__ == helpers.models.__name__ else ''}{make.__name__}"
        for weight, bias in _LINES:
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
                need(p.grad is None, f"{case}, a parameter has a gradient (.grad) after your function: setting the "
                                     "line must leave .grad alone, or optimizer.step() would move the line by a "
                                     "gradient no loss produced.")
            _check_values(case, before, start, weight, bias)
            with torch.no_grad():
                need(close(model(_X), weight * _X + bias), f"{case}, the model's predictions are not on the line "
                                                           f"{weight} x + {bias}.")


def _check_set_line(set_line: object) -> str:
    """Both course models, of the notebook's classes and of helpers': the same parameter objects, set in place,
    shapes kept, still learnable, and the change seen by autograd."""
    need(callable(set_line), "`set_line` should be a function set_line(model, weight, bias).")
    errors: list[Incorrect | None] = []
    for classes in _model_classes():
        try:
            _set_line_on(set_line, classes)
            errors.append(None)
        except Incorrect as err:
            errors.append(err)
    if not any(errors):
        return "one function for both models: the same parameter objects, changed in place, still learnable."
    if None in errors:  # right for one set of classes only: the function tells the models apart by class
        works, fails = (("this notebook's classes", "helpers' classes of the same names") if errors[0] is None else
                        ("helpers' classes", "the classes this notebook defines"))
        raise Incorrect(f"your function works for models of {works} but not for those of {fails}, which have the "
                        "same parameters (later notebooks use helpers'): do not tell the models apart by their class "
                        f"object. {errors[0] or errors[1]}")
    raise errors[0]


q3 = _ex.problem(
    _check_set_line, names=("set_line",), title="Set the line of either model",
    task="Write `set_line(model, weight, bias)` that sets the line of **either** course model, the hand-written "
         "`LinearRegressionModel` (parameters `weights`, `bias`) or the `nn.Linear` one, `LinearRegressionModelV2` "
         "(`linear_layer.weight`, `linear_layer.bias`), to the given weight and bias exactly, **in place**. The "
         "check calls it on models of both classes, both the ones this notebook defines and helpers' of the same "
         "names (later notebooks use those), with several values, and checks the parameter objects stay the same "
         "ones (an optimizer holds them), keep their shapes, still require gradients, and hold no gradient "
         "(their `.grad` stays `None`).",
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

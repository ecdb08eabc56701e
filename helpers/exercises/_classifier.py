"""Notebook 09's classifier for any image size: build the learner's model, run it while watching its Linear layers,
and name what its layers do wrong (a softmax, a squashed output, a flattened batch) or which non-linearity it has."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

import torch
from torch import nn

from ._core import Incorrect
from ._util import call, close

__all__ = ["build", "check_logits_free", "check_no_softmax_layer", "flatten_note", "is_affine", "linear_outputs",
           "non_linearities"]

_SOFTMAXES = (nn.Softmax, nn.LogSoftmax, nn.Softmin)
_NOT_ACTIVATIONS = (nn.Linear, nn.Flatten, nn.Unflatten, nn.Dropout, nn.Identity, nn.BatchNorm1d, nn.LayerNorm)
_END = "Logits must be free to take any value: end with the Linear layer."
# what a model may do to its last Linear layer's outputs, and what to say when it does (the logits are raw scores)
_SQUASHES: list[tuple[Callable[[torch.Tensor], torch.Tensor], str]] = [
    (torch.relu, "a ReLU: every logit is 0 or more, the negative ones cut off. " + _END),
    (torch.sigmoid, "a sigmoid: every logit is squeezed into (0, 1). " + _END),
    (torch.tanh, "a tanh: every logit is squeezed into (-1, 1). " + _END),
    (lambda t: torch.softmax(t, dim=1), "softmax: each image's outputs are probabilities that add up to 1. "
     "nn.CrossEntropyLoss applies softmax itself, so the model must return raw scores (logits): end with the "
     "Linear layer."),
    (lambda t: torch.log_softmax(t, dim=1), "log-softmax: each image's outputs are log-probabilities. "
     "nn.CrossEntropyLoss applies softmax itself, so the model must return raw scores (logits): end with the "
     "Linear layer."),
]


def is_affine(model: nn.Module, x: torch.Tensor) -> bool:
    """True if model(2x) == 2 model(x) - model(0): a model with no non-linearity (two Linear layers collapse)."""
    with torch.no_grad():
        return close(model(2 * x), 2 * model(x) - model(torch.zeros_like(x)), 1e-4)


def build(make_classifier: object, args: tuple, kwargs: dict, case: str) -> nn.Module:
    """Call the learner's make_classifier; a layer passed as a class or a function is named as such."""
    try:
        return call(make_classifier, *args, case=case, **kwargs)
    except Incorrect as err:
        found = re.search(r"raised TypeError: ([\w.]+) is not a Module subclass", str(err))
        if not found:
            raise
        what = found.group(1)
        if "modules" in what:  # nn.ReLU, the class itself
            name = what.rsplit(".", 1)[-1]
            raise Incorrect(f"{err}: you passed the class nn.{name} itself. nn.Sequential holds layers, objects made "
                            f"by calling the class: nn.{name}().") from None
        raise Incorrect(f"{err}: {what.rsplit('.', 1)[-1]} is a function, and nn.Sequential holds layers (modules). "
                        "Use the layer that does the same, e.g. nn.ReLU().") from None


def check_no_softmax_layer(model: nn.Module) -> None:
    """No nn.Softmax (or LogSoftmax, Softmin) layer, at the end or between the layers."""
    softmax = [m for m in model.modules() if isinstance(m, _SOFTMAXES)]
    if not softmax:
        return
    last = list(model)[-1] if isinstance(model, nn.Sequential) and len(model) else None
    if last is softmax[-1]:
        raise Incorrect(f"the model ends in nn.{type(last).__name__}: nn.CrossEntropyLoss applies softmax itself, so "
                        "the model must return raw scores (logits). End with the Linear layer.")
    raise Incorrect(f"nn.{type(softmax[0]).__name__} sits between the layers: it turns the hidden values of each image "
                    "into shares that add up to 1, so they can no longer grow independently. Use an activation that "
                    "acts on each value on its own, such as nn.ReLU().")


def flatten_note(model: nn.Module, batch: int, c: int, h: int, w: int) -> str:
    """What the model's nn.Flatten does wrong to images [batch, c, h, w] (start_dim 0: the batch too), else ''."""
    for m in model.modules():
        if isinstance(m, nn.Flatten) and m.start_dim in (0, -4):
            return (f" (nn.Flatten(start_dim={m.start_dim}) flattens the batch dimension too: the {batch} images "
                    f"become one row of {batch * c * h * w} numbers. Leave start_dim at its default, 1: nn.Flatten() "
                    f"keeps one row per image, of {c} x {h} x {w} = {c * h * w} numbers)")
    return ""


@contextlib.contextmanager
def linear_outputs(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Record, while open, the output of every nn.Linear layer (LazyLinear too) the model runs, in order."""
    outputs: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out.detach().clone()))
               for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def check_logits_free(logits: torch.Tensor, outputs: list[torch.Tensor]) -> None:
    """The logits are the last Linear layer's outputs as they are: no ReLU, sigmoid, tanh or softmax after it."""
    if not outputs or outputs[-1].shape != logits.shape:  # no nn.Linear ran (its own F.linear): nothing to compare
        return
    last, got = outputs[-1], logits.detach()
    if close(got, last):
        return
    for squash, what in _SQUASHES:
        if close(got, squash(last)):
            raise Incorrect(f"after its last Linear layer your model applies {what}")
    if bool((last < 0).any()) and bool((got >= 0).all()):
        raise Incorrect("every logit your model gives is 0 or more, though its last Linear layer gave negative "
                        "values: something after that layer cuts them off. " + _END)


def non_linearities(model: nn.Module) -> str:
    """The model's layers that act as non-linearities, named for the learner: nn.ReLU, your module Act."""
    names: list[str] = []
    for m in model.modules():
        if list(m.children()) or isinstance(m, _NOT_ACTIVATIONS):
            continue
        kind = type(m)
        name = f"nn.{kind.__name__}" if kind.__module__.startswith("torch.nn") else f"your module {kind.__name__}"
        if name not in names:
            names.append(name)
    return ", ".join(names) if names else "in your model's forward"

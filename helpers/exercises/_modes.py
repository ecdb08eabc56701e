"""Watch the modes a learner's code predicts in: train/eval (dropout on or off), and whether a graph was built."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from ._core import Incorrect
from ._util import need, tensor

__all__ = ["check_modes", "dropouts", "eval_predictions", "in_training", "no_graph", "watch_modes"]


def dropouts(model: nn.Module) -> list[nn.Dropout]:
    """The model's dropout layers."""
    return [m for m in model.modules() if isinstance(m, nn.Dropout)]


@contextlib.contextmanager
def watch_modes(model: nn.Module) -> Iterator[tuple[list[bool], list[tuple[bool, bool]]]]:
    """Record, while open, whether each pass through a dropout layer had it on (training mode), and for each
    forward pass of the model whether its output recorded a graph and whether it is an inference tensor."""
    dropout_on: list[bool] = []
    outputs: list[tuple[bool, bool]] = []
    handles = [d.register_forward_pre_hook(lambda m, _: dropout_on.append(m.training)) for d in dropouts(model)]
    handles.append(model.register_forward_hook(
        lambda m, _, out: outputs.append((out.requires_grad, out.is_inference()))))
    try:
        yield dropout_on, outputs
    finally:
        for handle in handles:
            handle.remove()


def in_training(model: nn.Module) -> bool:
    """True if any layer of the model is in training mode."""
    return any(m.training for m in model.modules())


def check_modes(model: nn.Module, arrived_training: bool, ps: list[float], dropout_on: list[bool], who: str) -> None:
    """Dropout off by eval mode (p unchanged), and a model that arrived in eval mode left in eval mode.

    The rule of all three exercises: predict in eval mode; leave a model that came in eval mode in eval mode."""
    now = [d.p for d in dropouts(model)]
    need(now == ps, f"you set the dropout layers' p from {ps[0]} to {now[0]} instead of switching {who} to eval "
                    "mode: that changes the model for good (training it afterwards runs without dropout), and layers "
                    "that eval mode also switches, such as batch normalisation, stay in training mode. Call "
                    "model.eval() and leave p alone.")
    if any(dropout_on):
        need(arrived_training, f"{who} arrived in eval mode, but its dropout layer was on when it predicted: your "
                               "code switched it into training mode (model.train(not model.training) flips the "
                               "mode, whatever it was). Call model.eval(), which gives eval mode from either.")
        raise Incorrect(f"{who} arrived in training mode, as training leaves it, and made its predictions with its "
                        "dropout layer on: call model.eval() before the forward pass.")
    need(arrived_training or not in_training(model),
         f"{who} arrived in eval mode and left in training mode: leave a model that came in eval mode in eval "
         "mode (better: put back the mode it had, was_training = model.training ... model.train(was_training)).")


def no_graph(out: object, what: str, outputs: list[tuple[bool, bool]]) -> torch.Tensor:
    """Shared checks of a prediction: a tensor with no graph, made under inference mode.

    `outputs` says, for each forward pass of the model, whether its output recorded a graph and was an inference
    tensor."""
    out = tensor(what, out)
    need(not out.requires_grad, f"{what} carries a graph (requires_grad=True): run the model inside "
                                "`with torch.inference_mode():`.")
    if not out.is_inference():
        need(not any(graph for graph, _ in outputs), f"{what} has no graph, but only because it was cut off "
             "afterwards (.detach()): the forward pass built one first. Switch recording off before the forward "
             "pass, with `torch.inference_mode()`, and no graph is built at all.")
        need(not any(inference for _, inference in outputs), f"the model made its predictions inside "
             "torch.inference_mode(), but what you returned is not an inference tensor: an operation after the "
             "`with` block (.clone(), arithmetic, .to()) made a new, ordinary tensor from them. Return the "
             "predictions as the model made them, or do that work inside the block.")
        raise Incorrect(f"{what} was made with autograd switched off (torch.no_grad() or "
                        "torch.set_grad_enabled(False)), but it is not an inference tensor: the lesson predicts "
                        "under torch.inference_mode(), which skips even more bookkeeping.")
    return out


def eval_predictions(model: nn.Module, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """The model's eval-mode predictions, leaving every layer's mode as it was."""
    modes = [(m, m.training) for m in model.modules()]
    with torch.inference_mode():
        preds = [model.eval()(x) for x in inputs]
    for m, mode in modes:
        m.train(mode)
    return preds

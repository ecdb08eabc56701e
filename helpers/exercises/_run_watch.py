"""Watch a learner's training run: each optimizer step, each forward pass and every new parameter (RunWatch), and
helpers.train_step on the meta device, where tensors have a device and a shape but no numbers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn
from torch.nn.modules.module import register_module_forward_pre_hook, register_module_parameter_registration_hook
from torch.optim.optimizer import register_optimizer_step_pre_hook

import helpers

from ._core import Incorrect
from ._util import need, replaced

__all__ = ["META", "RunWatch", "train_step_on_meta"]


META = torch.device("meta")  # tensors with a shape and a device but no data: shows where things live, on any machine


@contextlib.contextmanager
def train_step_on_meta() -> Iterator[None]:
    """Replace helpers.train_step by one that checks where the model and the data are, and runs on `meta` too."""
    real = helpers.train_step

    def train_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: object, optimizer: object) -> float:
        """helpers.train_step, checking the devices; on the meta device (no numbers) it returns 0.0."""
        devices = {p.device for p in model.parameters()}
        if META in devices or X.device == META:
            need(devices == {META}, "the data is on the device, but the model is not: move it with "
                                    "model.to(device) (a model moves in place).")
            need(X.device == META and y.device == META, "the model is on the device, but the data is not: "
                 "X, y = X.to(device), y.to(device). A tensor's .to() returns a copy, so keep the result.")
            from ..training import _train_step

            _train_step(model, X, y, loss_fn, optimizer)  # the step, without .item(): meta tensors hold no numbers
            return 0.0
        return real(model, X, y, loss_fn, optimizer)

    with replaced(helpers, "train_step", train_step):
        yield


class RunWatch:
    """What one call of train_line on `n` points did: each optimizer step (the run is stopped past twice `epochs`),
    and for each module the parameters it had at its first forward pass and the inputs it saw."""

    def __init__(self, epochs: int, n: int) -> None:
        self.epochs, self.n, self.optimizers, self.modules = epochs, n, [], {}
        self.steps, self.batch, self.made = 0, n, []  # the parameters made during the call (kept: no id reused)

    def step(self, optimizer: torch.optim.Optimizer, *_: object) -> None:
        """An optimizer is about to step: count it, and stop a run that takes far more steps than epochs."""
        self.steps += 1
        if all(o is not optimizer for o in self.optimizers):
            self.optimizers.append(optimizer)
        if self.steps <= 2 * self.epochs:
            return
        taken = f"asked for {self.epochs} epochs, your run had taken more than {2 * self.epochs} optimizer steps"
        need(self.batch >= self.n, f"{taken}, each on {self.batch} of the {self.n} points"
             + (" (one step per point)" if self.batch == 1 else "") + f": an epoch here is one step on all {self.n} "
             "points at once, a full batch.")
        raise Incorrect(f"{taken} when the check stopped it: one full-batch step per epoch, `for epoch in "
                        "range(epochs)`, with the epochs argument (not a number of your own).")

    def forward(self, module: nn.Module, args: tuple) -> None:
        """A module is about to run: keep its parameters the first time, and the input it was given."""
        if id(module) not in self.modules:  # the module itself is kept too, so no other object takes its id
            self.modules[id(module)] = (module, [p.detach().clone() for p in module.parameters()], [])
        if args and isinstance(args[0], torch.Tensor):
            self.modules[id(module)][2].append(args[0].detach())
            self.batch = len(args[0]) if args[0].dim() else 1

    @contextlib.contextmanager
    def watching(self) -> Iterator[RunWatch]:
        """Watch every optimizer step and forward pass made inside the block."""
        handles = [register_optimizer_step_pre_hook(self.step), register_module_forward_pre_hook(self.forward),
                   register_module_parameter_registration_hook(lambda module, name, p: self.made.append(p))]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()

    def stepped(self, model: nn.Module) -> torch.optim.Optimizer | None:
        """The optimizer stepped in the run that holds the parameters of `model` (None if none does)."""
        ids = {id(p) for p in model.parameters()}
        return next((o for o in self.optimizers if ids <= {id(p) for g in o.param_groups for p in g["params"]}), None)

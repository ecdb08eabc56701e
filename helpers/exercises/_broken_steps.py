"""Training steps with one bug each (and one correct step in an unusual order), to run a learner's test on.

Each takes (model, X, y, loss_fn, optimizer) and returns the loss as a number, as helpers.train_step does."""

from __future__ import annotations

import torch
from torch import nn

import helpers

__all__ = ["step_before_backward", "step_extra_first_layer_update", "step_first_layer_without_graph",
           "step_last_layer_left_out", "step_new_adam", "step_twice", "step_without_update", "step_zero_grad_last",
           "uneven_step"]


def step_new_adam(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                  optimizer: torch.optim.Optimizer) -> float:
    """Broken: a new Adam at every call; the one passed in is never used."""
    return helpers.train_step(model, X, y, loss_fn, torch.optim.Adam(model.parameters(), lr=0.01))


def step_twice(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
               optimizer: torch.optim.Optimizer) -> float:
    """Broken: optimizer.step() twice per call."""
    loss = helpers.train_step(model, X, y, loss_fn, optimizer)
    optimizer.step()
    return loss


def step_without_update(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                        optimizer: torch.optim.Optimizer) -> float:
    """Broken: no optimizer.step()."""
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def step_first_layer_without_graph(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                                   optimizer: torch.optim.Optimizer) -> float:
    """Broken: the first layer runs under no_grad, so it never gets a gradient and Adam never updates it."""
    model.train()
    with torch.no_grad():
        hidden = model[0](X)
    loss = loss_fn(model[1:](hidden), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_before_backward(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                         optimizer: torch.optim.Optimizer) -> float:
    """Broken: optimizer.step() first, so each update uses the gradients of the call before (none at the first)."""
    model.train()
    optimizer.step()
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    return loss.item()


def step_zero_grad_last(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                        optimizer: torch.optim.Optimizer) -> float:
    """Correct, in another order: the gradients are cleared after the update, ready for the next call."""
    model.train()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


def step_last_layer_left_out(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                             optimizer: torch.optim.Optimizer) -> float:
    """Broken: the last layer runs on detached weights, so it never gets a gradient and Adam never updates it."""
    model.train()
    last = model[-1]
    loss = loss_fn(nn.functional.linear(model[:-1](X), last.weight.detach(), last.bias.detach()), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_extra_first_layer_update(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                                  optimizer: torch.optim.Optimizer) -> float:
    """Broken: a second step() for a penalty on the first layer alone, so Adam counts 4 steps there, 2 elsewhere."""
    loss = helpers.train_step(model, X, y, loss_fn, optimizer)
    optimizer.zero_grad()  # the other layers' gradients become None: this step() skips them
    model[0](X).pow(2).mean().backward()
    optimizer.step()
    return loss


def uneven_step() -> object:
    """Broken (a fresh one for each run of the test): its first call updates only the first layer, twice; its second
    updates every layer once: after two calls Adam counts 3 steps for the first layer and 1 for the others."""
    calls = []

    def step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
             optimizer: torch.optim.Optimizer) -> float:
        calls.append(1)
        if len(calls) > 1:
            return helpers.train_step(model, X, y, loss_fn, optimizer)
        model.train()
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        for p in model[1:].parameters():
            p.grad = None
        optimizer.step()
        optimizer.step()
        return loss.item()
    return step

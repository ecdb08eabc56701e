"""Stage 5 of the workflow: one training step, one evaluation step, and a loop over epochs.

`fit` trains on the training data and, after each epoch, measures the loss on held-out validation
data: the numbers you watch while you tune. Keep the test set out of it and evaluate on it once, at
the end (`test_step` or `helpers.predict` plus a metric).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader

from ._checks import check_int, check_pair

__all__ = ["History", "train_step", "test_step", "fit"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """Loss per evaluated epoch, as plain Python floats (epochs count from 1).

    `train_loss` is the mean loss of the epoch's training steps, each measured on the forward pass
    *before* its update (the loss that step's gradient came from); `val_loss` is measured after the
    epoch's last update, in eval mode. Early in training, when every update helps a lot, the validation
    loss can therefore be lower than the training loss of the same epoch.
    """

    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)


def _check_model_parts(model: object, loss_fn: object, optimizer: object = None) -> None:
    """Raise TypeError naming the argument when a model, loss or optimizer is not one."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, e.g. nn.L1Loss(), got {type(loss_fn).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")


def _train_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: LossFn, optimizer) -> torch.Tensor:
    """The five steps, returning the loss as a detached tensor (no device sync)."""
    model.train()
    y_pred = model(X)  # 1. forward pass
    loss = loss_fn(y_pred, y)  # 2. loss
    optimizer.zero_grad()  # 3. zero the gradients
    loss.backward()  # 4. backpropagation
    optimizer.step()  # 5. update the parameters
    return loss.detach()


def _test_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: LossFn) -> torch.Tensor:
    """Loss on held-out data in eval mode under torch.inference_mode, as a tensor (no update)."""
    model.eval()
    with torch.inference_mode():
        return loss_fn(model(X), y)


def train_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: LossFn, optimizer) -> float:
    """Run one training step (forward, loss, zero_grad, backward, step) and return the loss."""
    _check_model_parts(model, loss_fn, optimizer)
    X, y = check_pair("X", X, "y", y)
    return _train_step(model, X, y, loss_fn, optimizer).item()


def test_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: LossFn) -> float:
    """Return the loss on held-out (X, y), validation or test, in eval mode under torch.inference_mode."""
    _check_model_parts(model, loss_fn)
    X, y = check_pair("X", X, "y", y)
    return _test_loss(model, X, y, loss_fn).item()


test_step.__test__ = False  # a helper named test_*, not a test for pytest to collect


def _as_batches(name: str, data: object, device: torch.device) -> Iterable | tuple[torch.Tensor, torch.Tensor]:
    """Return an (X, y) tuple moved to `device` once, or the DataLoader as it is."""
    if isinstance(data, DataLoader):
        return data
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be an (X, y) tuple of tensors or a DataLoader, got {type(data).__name__}")
    X, y = check_pair(f"{name}[0]", data[0], f"{name}[1]", data[1])
    return X.to(device), y.to(device)


def _epoch_loss(step: Callable, data, device: torch.device) -> torch.Tensor:
    """Run `step` on the full batch, or on every batch of a DataLoader (mean loss weighted by size)."""
    if isinstance(data, tuple):
        return step(*data)
    total, count = torch.zeros((), device=device), 0
    for X, y in data:
        X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
        total += step(X, y) * len(X)
        count += len(X)
    if count == 0:
        raise ValueError("the DataLoader yielded no batches")
    return total / count


def fit(
    model: nn.Module,
    train_data,
    val_data,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    device: torch.device | str | None = None,
    eval_every: int = 1,
    progress: bool = False,
) -> History:
    """Train for `epochs` epochs (one step per batch); record train and validation loss every `eval_every`.

    `train_data` and `val_data` are (X, y) tuples of tensors (one full batch) or DataLoaders. Both are
    moved to `device` (default: where the model's parameters are). See History for when each loss is
    measured.
    """
    _check_model_parts(model, loss_fn, optimizer)
    epochs = check_int("epochs", epochs, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    if device is None:
        device = next(model.parameters(), torch.empty(0)).device
    device = torch.device(device)
    model.to(device)
    train = _as_batches("train_data", train_data, device)
    val = _as_batches("val_data", val_data, device)
    history = History()
    steps = range(1, epochs + 1)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="Training", unit="epoch")
    for epoch in steps:
        train_loss = _epoch_loss(lambda X, y: _train_step(model, X, y, loss_fn, optimizer), train, device)
        if epoch % eval_every == 0 or epoch == epochs:
            val_loss = _epoch_loss(lambda X, y: _test_loss(model, X, y, loss_fn), val, device)
            history.epochs.append(epoch)
            history.train_loss.append(train_loss.item())
            history.val_loss.append(val_loss.item())
            if progress:
                steps.set_postfix(train_loss=f"{history.train_loss[-1]:.4f}", val_loss=f"{history.val_loss[-1]:.4f}")
    return history

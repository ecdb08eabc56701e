"""Stage 5 of the workflow: one training step, one evaluation step, and a loop over epochs.

`fit` trains on the training data and, after each epoch, measures the loss on held-out validation
data: the numbers you watch while you tune. Keep the test set out of it and evaluate on it once, at
the end (`test_step` or `helpers.predict` plus a metric).
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ._checks import (
    check_batch,
    check_bool,
    check_device,
    check_finite,
    check_input_dtype,
    check_int,
    check_loader,
    check_loss_fn,
    check_module,
    check_optimizer,
    check_optimizer_holds,
    check_pair,
    check_rows,
    model_dtype,
)

__all__ = ["History", "train_step", "test_step", "fit"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# losses that compare prediction and target element by element: their shapes must be equal
ELEMENTWISE_LOSSES = (nn.L1Loss, nn.MSELoss, nn.SmoothL1Loss, nn.HuberLoss, nn.BCELoss, nn.BCEWithLogitsLoss,
                      nn.KLDivLoss, nn.PoissonNLLLoss, nn.SoftMarginLoss, nn.MultiLabelSoftMarginLoss)
CLASS_LOSSES = (nn.CrossEntropyLoss, nn.NLLLoss)  # targets: one class label per sample (or probabilities)


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


_UNUSED = object()


def _check_model_parts(model: object, loss_fn: object, optimizer: object = _UNUSED) -> None:
    """Raise TypeError naming the argument when a model, loss or optimizer is not one (a class gets the fix)."""
    check_module("model", model)
    check_loss_fn("loss_fn", loss_fn)
    if optimizer is not _UNUSED:
        check_optimizer("optimizer", optimizer)


def _device_of(model: nn.Module) -> torch.device:
    """Return the device of the model's first parameter (cpu for a model without parameters)."""
    return next(model.parameters(), torch.empty(0)).device


def _check_data(x_name: str, X: object, y_name: str, y: object, dtype: torch.dtype | None) -> tuple:
    """Return (X, y) if they are non-empty finite tensors of equal length with X in the model's dtype."""
    X, y = check_pair(x_name, X, y_name, y)
    check_rows(x_name, X)
    check_input_dtype(x_name, X, dtype)
    return check_finite(x_name, X), check_finite(y_name, y)


def _broadcast_fix(y_pred: torch.Tensor, y: torch.Tensor) -> str:
    """Say how to make targets match predictions, e.g. y.unsqueeze(1) for [N] targets and [N, 1] predictions."""
    if y.dim() == y_pred.dim() - 1 and y_pred.shape[-1] == 1:
        return "y = y.unsqueeze(1)"
    if y.dim() == y_pred.dim() + 1 and y.shape[-1] == 1:
        return "y = y.squeeze(-1)"
    return "reshape the targets, or change the model's output, so the two shapes are equal"


def _shape_error(y_name: str, y_pred: torch.Tensor, y: torch.Tensor) -> ValueError:
    """The error for predictions and targets whose shapes differ, with the shapes and the fix."""
    try:
        spread = f" to {list(torch.broadcast_shapes(y_pred.shape, y.shape))}"
    except RuntimeError:
        spread = ""
    return ValueError(
        f"the model's predictions have shape {list(y_pred.shape)} but the targets ({y_name}) have shape "
        f"{list(y.shape)}: the loss would broadcast them{spread} and compare predictions with the wrong "
        f"targets, so the model learns the wrong thing. Make the shapes equal: {_broadcast_fix(y_pred, y)}"
    )


def _check_labels(y_name: str, y_pred: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module) -> None:
    """Raise when class labels for CrossEntropyLoss/NLLLoss have the wrong shape, dtype or range."""
    if y.shape == y_pred.shape and y.is_floating_point():
        return  # class probabilities, one row per sample
    if y.dim() != y_pred.dim() - 1:
        raise ValueError(
            f"{y_name} must hold one class label per sample, shape {list(y_pred.shape[:1] + y_pred.shape[2:])}, "
            f"got {list(y.shape)}" + (": use y.squeeze(1)" if y.dim() == y_pred.dim() and y.shape[1] == 1 else "")
        )
    if y.dtype != torch.long:
        raise TypeError(f"{y_name} holds class labels as {y.dtype}; {type(loss_fn).__name__} needs torch.long: y = y.long()")
    labels = y[y != loss_fn.ignore_index]
    classes = y_pred.shape[1]
    if len(labels) and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(
            f"{y_name} holds the label {int(labels.max() if labels.max() >= classes else labels.min())}, but the "
            f"model gives {classes} scores per sample, for the classes 0 to {classes - 1}"
        )


def _checked_loss(loss_fn: LossFn, y_pred: object, y: torch.Tensor, y_name: str, training: bool) -> torch.Tensor:
    """Compute the first loss of a run, refusing what would make every later one wrong."""
    if not isinstance(y_pred, torch.Tensor):
        raise TypeError(f"the model returned {type(y_pred).__name__}, not a tensor of predictions")
    if isinstance(loss_fn, CLASS_LOSSES):
        _check_labels(y_name, y_pred, y, loss_fn)
    elif isinstance(loss_fn, ELEMENTWISE_LOSSES) and y_pred.shape != y.shape:
        raise _shape_error(y_name, y_pred, y)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Using a target size", category=UserWarning)
        try:
            loss = loss_fn(y_pred, y)
        except UserWarning:  # torch's broadcasting warning from inside another loss function
            raise _shape_error(y_name, y_pred, y) from None
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        got = f"shape {list(loss.shape)}" if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(
            f"loss_fn must return one number as a tensor, got {got}: use reduction='mean' (the default), "
            "and no .item() inside it"
        )
    if training and not loss.requires_grad:
        raise ValueError(
            "the loss does not depend on any trainable parameter (no gradient path): was it computed under "
            "torch.no_grad(), from detached predictions, or with every layer frozen?"
        )
    if training and loss.device.type != "meta" and not torch.isfinite(loss):
        raise ValueError(
            f"the first loss is {loss.item()} although the data are finite: the model's parameters hold NaN or "
            "inf (left by a run that diverged?) or the model computes it (a log of 0?): create a fresh model"
        )
    return loss


def _first_train_step(model: nn.Module, X, y, loss_fn: LossFn, optimizer, y_name: str) -> torch.Tensor:
    """The five steps of `_train_step` with checks between them: the model is untouched when one fails."""
    model.train()
    loss = _checked_loss(loss_fn, model(X), y, y_name, training=True)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()


def _first_test_loss(model: nn.Module, X, y, loss_fn: LossFn, y_name: str) -> torch.Tensor:
    """`_test_loss` with the checks of a run's first evaluation."""
    model.eval()
    with torch.inference_mode():
        return _checked_loss(loss_fn, model(X), y, y_name, training=False)


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


def _evaluator(model: nn.Module, loss_fn: LossFn) -> Callable:
    """Return test(X, y, y_name=None): the held-out loss, with the checks of a first evaluation given y_name."""
    def test(X: torch.Tensor, y: torch.Tensor, y_name: str | None = None) -> torch.Tensor:
        return _test_loss(model, X, y, loss_fn) if y_name is None else _first_test_loss(model, X, y, loss_fn, y_name)

    return test


def _as_batches(name: str, data: object, device: torch.device, dtype: torch.dtype | None) -> DataLoader | tuple:
    """Return an (X, y) tuple, checked and moved to `device` once, or a DataLoader that yields batches."""
    if isinstance(data, DataLoader):
        return check_loader(name, data)
    if isinstance(data, Dataset):
        raise TypeError(f"{name} is a {type(data).__name__}, not a DataLoader: wrap it, DataLoader(dataset, batch_size=32)")
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be an (X, y) tuple of tensors or a DataLoader, got {type(data).__name__}")
    X, y = _check_data(f"{name}[0]", data[0], f"{name}[1]", data[1], dtype)
    return X.to(device), y.to(device)


def _check_same_samples(train: object, val: object, loss_fn: LossFn) -> None:
    """Raise when (X, y) tuples for training and validation differ in the shape of one sample."""
    if not (isinstance(train, tuple) and isinstance(val, tuple)):
        return
    for i in (0, 1) if isinstance(loss_fn, ELEMENTWISE_LOSSES) else (0,):  # class losses take labels or probabilities
        if train[i].shape[1:] != val[i].shape[1:]:
            raise ValueError(
                f"val_data[{i}] has shape {list(val[i].shape)} but train_data[{i}] has shape {list(train[i].shape)}: "
                "one sample must have the same shape in both (same columns, same target shape)"
            )


def _first(name: str, loader: bool, dtype: torch.dtype | None, device: torch.device, step: Callable) -> Callable:
    """Return a one-off step for a run's first batch: it checks what a loader yields, then calls `step` on it."""
    x_name, y_name = (f"X in {name}'s batches", f"y in {name}'s batches") if loader else (f"{name}[0]", f"{name}[1]")

    def run(batch: object) -> tuple[torch.Tensor, int]:
        if loader:
            X, y = check_batch(name, batch)
            X, y = _check_data(x_name, X, y_name, y, dtype)
            batch = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
        return step(*batch, y_name), len(batch[0])

    return run


def _epoch_loss(step: Callable, data, device: torch.device, first: Callable | None = None) -> torch.Tensor:
    """Run `step` on the full batch, or on every batch of a DataLoader (mean loss weighted by size).

    `first`, when given, runs the first batch instead of `step`, with the checks of a run's start.
    """
    if isinstance(data, tuple):
        return first(data)[0] if first is not None else step(*data)
    total, count = torch.zeros((), device=device), 0
    batches = iter(data)
    if first is not None:
        for batch in batches:  # the first batch only
            loss, count = first(batch)
            total += loss * count
            break
    for X, y in batches:
        X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
        total += step(X, y) * len(X)
        count += len(X)
    if count == 0:
        raise ValueError("the DataLoader yielded no batches: an empty dataset, or drop_last=True with too few samples")
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
    measured. The arguments are checked before the first step: (X, y) tuples whole, a DataLoader on its
    first batch (NaN in a later batch is not looked for: that would cost time at every step).
    """
    _check_model_parts(model, loss_fn, optimizer)
    epochs = check_int("epochs", epochs, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    progress = check_bool("progress", progress)
    device = _device_of(model) if device is None else check_device("device", device)
    dtype = model_dtype(model)
    train = _as_batches("train_data", train_data, device, dtype)
    val = _as_batches("val_data", val_data, device, dtype)
    _check_same_samples(train, val, loss_fn)
    model.to(device)
    check_optimizer_holds(model, optimizer)

    def step(X: torch.Tensor, y: torch.Tensor, y_name: str | None = None) -> torch.Tensor:
        if y_name is not None:  # the run's first step: with checks
            return _first_train_step(model, X, y, loss_fn, optimizer, y_name)
        return _train_step(model, X, y, loss_fn, optimizer)

    test = _evaluator(model, loss_fn)
    first_train = _first("train_data", isinstance(train, DataLoader), dtype, device, step)
    first_val = _first("val_data", isinstance(val, DataLoader), dtype, device, test)
    history = History()
    steps = range(1, epochs + 1)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="Training", unit="epoch")
    for epoch in steps:
        train_loss = _epoch_loss(step, train, device, first_train if epoch == 1 else None)
        if epoch % eval_every == 0 or epoch == epochs:
            val_loss = _epoch_loss(test, val, device, None if history.epochs else first_val)
            history.epochs.append(epoch)
            history.train_loss.append(train_loss.item())
            history.val_loss.append(val_loss.item())
            if progress:
                steps.set_postfix(train_loss=f"{history.train_loss[-1]:.4f}", val_loss=f"{history.val_loss[-1]:.4f}")
    return history

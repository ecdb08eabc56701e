"""Stage 6 of the workflow: predictions in inference mode, metrics, and the exact least-squares fit."""

import torch
from torch import nn

from ._checks import check_finite, check_input_dtype, check_module, check_pair, check_rows, check_tensor, model_dtype

__all__ = ["predict", "mae", "mse", "least_squares_fit"]


def predict(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Return the model's predictions for X in eval mode under torch.inference_mode; the model keeps its mode."""
    check_module("model", model)
    X = check_tensor("X", X)
    param = next(model.parameters(), None)
    if param is not None and param.device != X.device:
        raise ValueError(
            f"model is on {param.device} but X is on {X.device}: move both to one device, "
            "e.g. X = X.to(device) and model.to(device)"
        )
    check_input_dtype("X", X, model_dtype(model))
    modes = [(module, module.training) for module in model.modules()]  # each layer's own, e.g. a frozen batch norm
    model.eval()
    try:
        with torch.inference_mode():
            return model(X)
    finally:
        for module, training in modes:  # put back the modes it had: a training run goes on as it was
            module.training = training


def mae(y_pred: torch.Tensor, y_true: torch.Tensor) -> float:
    """Mean absolute error between predictions and targets."""
    y_pred, y_true = _check_shapes(y_pred, y_true)
    return (y_pred - y_true).abs().mean().item()


def mse(y_pred: torch.Tensor, y_true: torch.Tensor) -> float:
    """Mean squared error between predictions and targets."""
    y_pred, y_true = _check_shapes(y_pred, y_true)
    return (y_pred - y_true).pow(2).mean().item()


def _check_shapes(y_pred: object, y_true: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the pair if they are tensors of one shape (no silent broadcasting), else raise."""
    y_pred, y_true = check_pair("y_pred", y_pred, "y_true", y_true)
    check_rows("y_pred", y_pred)
    if y_pred.shape != y_true.shape:
        raise ValueError(
            f"y_pred and y_true must have the same shape, got {list(y_pred.shape)} and {list(y_true.shape)}"
        )
    if y_pred.device != y_true.device:
        raise ValueError(f"y_pred is on {y_pred.device} but y_true is on {y_true.device}: move both to one device")
    return y_pred.detach().float(), y_true.detach().float()


def least_squares_fit(X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Return the (weight, bias) that minimise the squared error exactly, via torch.linalg.lstsq."""
    X, y = check_pair("X", X, "y", y)
    if X.dim() != 2 or X.shape[1] != 1 or y.reshape(len(y), -1).shape[1] != 1:
        raise ValueError(f"X and y must have shape [N, 1], got {list(X.shape)} and {list(y.shape)}")
    if len(X) < 2:
        raise ValueError(f"least_squares_fit needs at least 2 points, got {len(X)}")
    check_finite("X", X)
    check_finite("y", y)
    if bool((X == X[0]).all()):
        raise ValueError(f"every X is {X[0].item()}: many lines pass through points above one x, so there is no "
                         "single best line; use data with at least two different x values")
    A = torch.cat([X, torch.ones_like(X)], dim=1).double().cpu()
    solution = torch.linalg.lstsq(A, y.reshape(-1, 1).double().cpu()).solution
    return solution[0, 0].item(), solution[1, 0].item()

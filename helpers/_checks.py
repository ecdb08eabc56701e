"""Argument checks shared by the helpers: each raises a plain-words error naming the argument."""

import math
import os
from numbers import Real
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


def check_number(name: str, value: object) -> float:
    """Return `value` as a float, or raise TypeError/ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """Return `value` if it is an int (not bool) at least `minimum`, else raise naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def check_seed(name: str, value: object) -> int | None:
    """Return a seed that is None or a non-negative int, else raise naming `name`."""
    return None if value is None else check_int(name, value, minimum=0)


def check_fraction(name: str, value: object) -> float:
    """Return `value` if it is a number strictly between 0 and 1, else raise naming `name`."""
    value = check_number(name, value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {value}")
    return value


def check_tensor(name: str, value: object, *, min_dim: int = 1) -> torch.Tensor:
    """Return `value` if it is a tensor with at least `min_dim` dimensions, else raise naming `name`."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(value).__name__}"
            " (wrap lists or arrays with torch.tensor(...))"
        )
    if value.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimension(s), got shape {list(value.shape)}")
    return value


def check_pair(x_name: str, X: object, y_name: str, y: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (X, y) if both are tensors with the same number of rows, else raise naming them."""
    X, y = check_tensor(x_name, X), check_tensor(y_name, y)
    if len(X) != len(y):
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of rows, got {len(X)} and {len(y)}"
        )
    return X, y


def _what(value: object) -> str:
    """Describe `value` for a message: 'the class X' for a class, else its type's name."""
    return f"the class {value.__name__}" if isinstance(value, type) else type(value).__name__


def check_bool(name: str, value: object) -> bool:
    """Return `value` if it is True or False, else raise TypeError naming `name`."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_module(name: str, value: object) -> nn.Module:
    """Return `value` if it is an nn.Module instance, else raise TypeError (a class gets the fix: add `()`)."""
    if isinstance(value, nn.Module):
        return value
    if isinstance(value, type) and issubclass(value, nn.Module):
        raise TypeError(
            f"{name} must be a torch.nn.Module, got the class {value.__name__}: create one with {value.__name__}()"
        )
    raise TypeError(f"{name} must be a torch.nn.Module, got {type(value).__name__}")


def check_loss_fn(name: str, value: object) -> object:
    """Return `value` if it is a loss function (callable, not a class), else raise TypeError naming `name`."""
    if isinstance(value, type):
        raise TypeError(
            f"{name} must be a loss function, got {_what(value)}: create one with {value.__name__}() "
            f"(e.g. loss_fn = nn.MSELoss(), with the brackets)"
        )
    if not callable(value):
        raise TypeError(f"{name} must be callable, e.g. nn.L1Loss(), got {type(value).__name__}")
    return value


def check_optimizer(name: str, value: object, *, none_ok: bool = False) -> torch.optim.Optimizer | None:
    """Return `value` if it is an optimizer instance (or None when `none_ok`), else raise TypeError."""
    if isinstance(value, torch.optim.Optimizer) or (none_ok and value is None):
        return value
    fix = (
        f": create one for the model, e.g. {value.__name__}(model.parameters(), lr=0.01)"
        if isinstance(value, type) else ""
    )
    either = " or None" if none_ok else ""
    raise TypeError(f"{name} must be a torch.optim.Optimizer{either}, got {_what(value)}{fix}")


def check_optimizer_holds(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Raise ValueError when the optimizer holds none of the model's parameters, or only frozen ones."""
    own = {id(p) for p in model.parameters()}
    held = [p for group in optimizer.param_groups for p in group["params"] if id(p) in own]
    if not own:
        raise ValueError(f"model ({type(model).__name__}) has no parameters, so there is nothing to train")
    if not held:
        raise ValueError(
            "optimizer holds none of model's parameters: it was made for another model (or an earlier copy of "
            "this one), so training would never change this model. Create it from this model, "
            f"e.g. torch.optim.{type(optimizer).__name__}(model.parameters(), lr=...)"
        )
    if not any(p.requires_grad for p in held):
        raise ValueError(
            "every parameter the optimizer holds is frozen (requires_grad=False), so nothing can be trained: "
            "unfreeze the layers to train, e.g. layer.requires_grad_(True)"
        )


def check_device(name: str, value: object) -> torch.device:
    """Return `value` as a torch.device that exists on this machine, else raise naming `name`."""
    if isinstance(value, str):
        try:
            device = torch.device(value)
        except RuntimeError:
            raise ValueError(
                f"{name}={value!r} is not a device name: use 'cpu', 'cuda' or 'mps' "
                "(or helpers.get_device() for the best one on this machine)"
            ) from None
    elif isinstance(value, torch.device):
        device = value
    else:
        raise TypeError(f"{name} must be a str such as 'cpu' or 'cuda', or a torch.device, got {_what(value)}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"{name}={str(device)!r}, but this machine has no CUDA GPU (torch.cuda.is_available() is False): "
            "use helpers.get_device(), which picks 'cuda' only where there is one"
        )
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"{name}={str(device)!r}, but this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    mps = getattr(torch.backends, "mps", None)
    if device.type == "mps" and not (mps is not None and mps.is_available()):
        raise ValueError(f"{name}='mps', but MPS (Apple GPU) is not available here: use helpers.get_device()")
    return device


def check_rows(name: str, value: torch.Tensor) -> torch.Tensor:
    """Return the tensor if it has at least one row, else raise ValueError naming `name`."""
    if len(value) == 0:
        raise ValueError(f"{name} is empty (shape {list(value.shape)}): there is nothing to compute on")
    return value


def check_finite(name: str, value: torch.Tensor) -> torch.Tensor:
    """Return the tensor if it holds no NaN or infinity, else raise ValueError with the count and first rows."""
    if not value.is_floating_point() or value.device.type == "meta" or torch.isfinite(value.detach().sum()):
        return value  # one reduction: a NaN or inf anywhere makes the sum NaN or inf
    bad = ~torch.isfinite(value.detach())  # (or a sum that overflowed: then nothing is bad)
    if bad.any():
        rows = bad.reshape(len(bad), -1).any(dim=1).nonzero().flatten()[:5].tolist() if value.dim() else []
        raise ValueError(
            f"{name} holds {int(bad.sum())} NaN or infinite value(s) (first rows: {rows}): every loss and "
            "gradient would become nan. Remove or fix those rows first, e.g. keep = torch.isfinite(X).all(dim=1)"
        )
    return value


def model_dtype(model: nn.Module) -> torch.dtype | None:
    """Return the dtype model inputs must have: that of its first floating parameter (None: no check)."""
    if any(isinstance(m, (nn.Embedding, nn.EmbeddingBag)) for m in model.modules()):
        return None  # integer token ids are the right input here
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), None)


def check_input_dtype(name: str, value: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    """Return model inputs whose dtype is the model's parameter dtype, else raise TypeError with the fix."""
    if dtype is None or value.dtype == dtype:
        return value
    kind = "floating-point" if value.is_floating_point() else "integer" if not value.is_complex() else "complex"
    raise TypeError(
        f"{name} holds {kind} numbers of dtype {value.dtype}, but the model's parameters are {dtype}: "
        f"convert the data with .to({dtype}) (for float32: X = X.float())"
    )


def check_batch(name: str, batch: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (X, y) from one batch of a DataLoader, or raise naming what the batches hold instead."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return check_pair(f"X in {name}'s batches", batch[0], f"y in {name}'s batches", batch[1])
    if isinstance(batch, torch.Tensor):
        raise ValueError(
            f"{name} yields single tensors, not (X, y) pairs: build its dataset with the labels too, "
            "e.g. DataLoader(TensorDataset(X, y), batch_size=32)"
        )
    if isinstance(batch, (tuple, list)):
        raise ValueError(
            f"{name} yields batches of {len(batch)} item(s), not (X, y) pairs: was its dataset made without "
            "labels? Use TensorDataset(X, y), not TensorDataset(X)"
        )
    raise TypeError(f"{name} yields {type(batch).__name__} batches, not (X, y) pairs of tensors")


def check_loader(name: str, value: object) -> DataLoader:
    """Return `value` if it is a DataLoader that yields at least one batch, else raise naming `name`."""
    if not isinstance(value, DataLoader):
        hint = " (wrap it: DataLoader(dataset, batch_size=32))" if isinstance(value, Dataset) else ""
        raise TypeError(f"{name} must be a torch.utils.data.DataLoader, got {type(value).__name__}{hint}")
    try:
        batches = len(value)
    except TypeError:  # an iterable dataset without a length: the loop finds out
        return value
    if batches == 0:
        size = len(value.dataset) if hasattr(value.dataset, "__len__") else "?"
        cause = ("its dataset is empty" if size == 0 else
                 f"drop_last=True drops the only, incomplete batch: {size} samples < batch_size={value.batch_size}; "
                 "use drop_last=False or a smaller batch_size")
        raise ValueError(f"{name} yields no batches: {cause}")
    return value


def check_callable(name: str, value: object, example: str = "ToTensor()") -> object:
    """Return `value` if it is callable and not a class (a transform, a loader), else raise TypeError."""
    if isinstance(value, type):
        raise TypeError(f"{name} must be an instance, got the class {value.__name__}: create one with "
                        f"{value.__name__}(), with the brackets")
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__} (e.g. {example})")
    return value


def check_path(name: str, value: object) -> Path:
    """Return `value` as a Path if it is a str or os.PathLike, else raise TypeError naming `name`."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or pathlib.Path, got {type(value).__name__}")
    return Path(value)


def check_save_path(name: str, value: object) -> Path:
    """Return `value` as a Path that a file can be written to, else raise before anything is written."""
    path = check_path(name, value)
    if path.is_dir():
        raise ValueError(f"{name} {str(path)!r} is a folder: give a file name in it, e.g. {str(path / 'model.pt')!r}")
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ValueError(f"cannot save to {path}: {blocking} is a file, not a folder")
    return path

"""Stage 7 of the workflow: save and load models and checkpoints, atomically and safely.

Atomic saving. Writing a file takes time and a process can die halfway through (a restarted kernel,
a full disk, a flat battery). `torch.save` straight onto `model.pt` would then leave a truncated
file, and the good file that was there before is already gone. These helpers write to a temporary
file in the same folder, flush it to disk, and only then rename it over the old name with
`os.replace`, which the operating system performs as one indivisible step: at every moment the path
holds either the complete old file or the complete new one. A truncated or damaged file is reported
as a ValueError naming it ("could not read ...: the file is truncated, corrupted or not a torch file").

Safe loading. Every load uses `torch.load(..., weights_only=True)`: only tensors and plain data are
rebuilt, so a file can never run code. A refused file becomes a ValueError that names the file and
the refused global. `load_model` and `load_checkpoint` also compare the file's keys and shapes with
the model before loading anything, and list what is missing, unexpected or of the wrong shape.
"""

import os
import pickle
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

__all__ = ["save_model", "load_model", "save_checkpoint", "load_checkpoint"]

M = TypeVar("M", bound=nn.Module)
RESERVED = ("model_state_dict", "optimizer_state_dict", "epoch", "torch_rng_state")
SAFE_TYPES = (torch.Tensor, int, float, bool, str, type(None))
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read the process umask once (os.umask can only be read by setting it)


def _check_model(model: object) -> nn.Module:
    """Return `model` if it is an nn.Module, else raise TypeError."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _as_path(path: object) -> Path:
    """Return `path` as a Path, or raise TypeError for anything that is not a path."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
    return Path(path)


def _atomic_save(obj: Any, path: Path) -> Path:
    """torch.save to a temp file in the same folder, fsync, then os.replace: the old file survives a failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _safe_load(path: Path, map_location: torch.device | str | None) -> Any:
    """torch.load with weights_only=True, turning every failure into an error that names the file."""
    if not path.is_file():
        raise FileNotFoundError(f"no saved file at {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # torch's message carries terminal colours
        found = [line.strip().split(". Please")[0] for line in text.splitlines() if "GLOBAL" in line]
        raise ValueError(
            f"refused to load {path}: it holds Python objects other than tensors and plain data, and "
            "unpickling them could run code (weights_only=True). Save a state_dict instead "
            f"(helpers.save_model). {found[0] if found else text.splitlines()[0].strip()}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any other failure means the file is damaged
        raise ValueError(f"could not read {path}: the file is truncated, corrupted or not a torch file ({exc})") from None


def _device_of(model: nn.Module) -> torch.device:
    """Return the device of the model's first parameter (cpu for a model without parameters)."""
    return next(model.parameters(), torch.empty(0)).device


def _check_state(model: nn.Module, state: object, path: Path) -> None:
    """Raise ValueError listing missing/unexpected keys or wrong shapes, before anything is loaded."""
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a state_dict (a dict of tensors)")
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise ValueError(
            f"{path} does not match {type(model).__name__}: missing keys {missing}, unexpected keys {unexpected}"
        )
    wrong = {k: (list(state[k].shape), list(v.shape)) for k, v in expected.items() if state[k].shape != v.shape}
    if wrong:
        raise ValueError(f"{path} does not match {type(model).__name__}: shapes (file, model) differ for {wrong}")


def save_model(model: nn.Module, path: str | os.PathLike) -> Path:
    """Save the model's state_dict to `path` atomically (creating parent folders) and return the path."""
    return _atomic_save(_check_model(model).state_dict(), _as_path(path))


def load_model(model: M, path: str | os.PathLike, *, device: torch.device | str | None = None) -> M:
    """Load a state_dict saved by save_model into `model` (weights_only=True) and return the model.

    Keys and shapes are checked against the model first; the tensors are mapped onto `device` (default:
    where the model is), like torch.load's map_location, so a file saved on a GPU loads on a CPU.
    """
    model, path = _check_model(model), _as_path(path)
    target = torch.device(device) if device is not None else _device_of(model)
    state = _safe_load(path, target)
    _check_state(model, state, path)
    model.load_state_dict(state)
    return model.to(target)


def _check_extra(name: str, value: object) -> None:
    """Raise TypeError unless `value` is data that weights_only loading accepts."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            _check_extra(f"{name}[{k!r}]", v)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_extra(f"{name}[{i}]", v)
    elif not isinstance(value, SAFE_TYPES):
        raise TypeError(
            f"checkpoint extra {name} is a {type(value).__name__}; use tensors, numbers, strings, "
            "lists or dicts so that the checkpoint loads with weights_only=True"
        )


def save_checkpoint(
    path: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int, **extra: Any
) -> Path:
    """Save model, optimizer, epoch, torch's RNG state and any extras atomically; return the path."""
    path, model = _as_path(path), _check_model(model)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be an int of 0 or more, got {epoch!r}")
    clash = [k for k in extra if k in RESERVED]
    if clash:
        raise ValueError(f"extra names {clash} are reserved for the checkpoint itself; pick other names")
    for name, value in extra.items():
        _check_extra(name, value)
    checkpoint = {
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "epoch": epoch,
        "torch_rng_state": torch.get_rng_state(),
        **extra,
    }
    return _atomic_save(checkpoint, path)


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    device: torch.device | str | None = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore model (and optimizer, and torch's RNG state) from a checkpoint; return the whole dict."""
    path, model = _as_path(path), _check_model(model)
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}")
    target = torch.device(device) if device is not None else _device_of(model)
    checkpoint = _safe_load(path, target)
    needed = ("model_state_dict", "optimizer_state_dict", "epoch")
    if not isinstance(checkpoint, dict) or any(k not in checkpoint for k in needed):
        raise ValueError(f"{path} is not a checkpoint from save_checkpoint (it needs the keys {list(needed)})")
    _check_state(model, checkpoint["model_state_dict"], path)
    if optimizer is not None:  # before the model, so a mismatch here leaves the model untouched
        try:
            optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{path}: the optimizer state does not match this optimizer ({exc})") from None
    model.load_state_dict(checkpoint["model_state_dict"])
    model.to(target)
    if restore_rng and "torch_rng_state" in checkpoint:
        torch.set_rng_state(checkpoint["torch_rng_state"].cpu())
    return checkpoint

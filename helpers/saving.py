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
the refused global; a file that is plainly something else (an image, text) is named as such.
`load_model` and `load_checkpoint` also compare the file's keys and shapes with the model (and the
optimizer's kind and groups with the saved ones) before loading anything, and list what is missing,
unexpected or of the wrong shape: a failed load leaves model and optimizer as they were.
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

from ._checks import (
    check_bool,
    check_device,
    check_int,
    check_module,
    check_optimizer,
    check_optimizer_holds,
    check_save_path,
)

__all__ = ["save_model", "load_model", "save_checkpoint", "load_checkpoint"]

M = TypeVar("M", bound=nn.Module)
RESERVED = ("model_state_dict", "optimizer_state_dict", "optimizer_class", "epoch", "torch_rng_state",
            "cuda_rng_states")
# settings that tell the kinds of optimizer apart (SGD has momentum, Adam betas, ...)
KIND_SETTINGS = {"momentum", "dampening", "nesterov", "betas", "amsgrad", "rho", "alpha", "centered", "lr_decay",
                 "initial_accumulator_value", "lambd", "t0", "etas", "step_sizes", "momentum_decay"}
SIGNATURES = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
              b"%PDF": "a PDF document"}
SAFE_TYPES = (torch.Tensor, int, float, bool, str, type(None))
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read the process umask once (os.umask can only be read by setting it)


def _check_model(model: object) -> nn.Module:
    """Return `model` if it is an nn.Module, else raise TypeError."""
    return check_module("model", model)


def _as_path(path: object) -> Path:
    """Return `path` as a Path, or raise TypeError for anything that is not a path."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
    return Path(path)


def _model_and_path(call: str, model: object, path: object) -> tuple[nn.Module, Path]:
    """Return (model, path) checked; a model and a path given the other way round get the call's order."""
    if isinstance(path, nn.Module) and isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model and path are the other way round: the order is {call}")
    return _check_model(model), _as_path(path)


def _atomic_save(obj: Any, path: Path) -> Path:
    """torch.save to a temp file in the same folder, fsync, then os.replace: the old file survives a failure."""
    path = check_save_path("path", path)  # a folder in the way fails here, before a temp file exists
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


def _not_torch(head: bytes) -> str:
    """Return why a file starting with `head` is plainly not a torch file ('' when it may be one)."""
    if not head:
        return "the file is empty"
    if head.startswith((b"PK\x03\x04", b"\x80")):  # torch.save's zip format, or a pickle
        return ""
    kind = next((name for magic, name in SIGNATURES.items() if head.startswith(magic)), None)
    if kind is None and all(32 <= c < 127 or c in b"\t\r\n" for c in head):
        kind = "text"
    return f"it is {kind}, not a file written by torch.save" if kind else ""


def _refused(path: Path, why: str, detail: str = "") -> ValueError:
    """The error for a file that weights_only loading refuses: it could run code."""
    return ValueError(
        f"refused to load {path}: {why}, and unpickling them could run code (weights_only=True). "
        f"Save a state_dict instead (helpers.save_model).{' ' + detail if detail else ''}"
    )


def _safe_load(path: Path, map_location: torch.device | str | None) -> Any:
    """torch.load with weights_only=True, turning every failure into an error that names the file."""
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a saved file: give the path of the file in it")
    if not path.is_file():
        raise FileNotFoundError(f"no saved file at {path}")
    with open(path, "rb") as f:
        head = f.read(512)
    if _not_torch(head):
        raise ValueError(f"could not read {path}: {_not_torch(head)}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # torch's message carries terminal colours
        found = [line.strip().split(". Please")[0] for line in text.splitlines() if "GLOBAL" in line]
        if found:
            raise _refused(path, "it holds Python objects other than tensors and plain data", found[0]) from None
        if head.startswith(b"\x80"):  # torch reads only the pickles it wrote itself
            raise _refused(path, "it is a pickle written by pickle.dump, not by torch.save, so it may hold any "
                                 "Python objects") from None
        raise ValueError(f"could not read {path}: the file is truncated, corrupted or not a torch file") from None
    except Exception as exc:  # noqa: BLE001 - any other failure means the file is damaged
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = type(exc).__name__ if "weights_only" in first else first  # never pass on unsafe advice
        raise ValueError(f"could not read {path}: the file is truncated, corrupted or not a torch file ({first})") from None


def _device_of(model: nn.Module) -> torch.device:
    """Return the device of the model's first parameter (cpu for a model without parameters)."""
    return next(model.parameters(), torch.empty(0)).device


def _target(model: nn.Module, device: object) -> torch.device:
    """Return the device to load onto: `device` checked, or where the model is."""
    return _device_of(model) if device is None else check_device("device", device)


def _check_state(model: nn.Module, state: object, path: Path) -> None:
    """Raise ValueError listing missing/unexpected keys or wrong shapes, before anything is loaded."""
    if isinstance(state, Mapping) and "model_state_dict" in state:
        raise ValueError(f"{path} is a checkpoint from save_checkpoint, not a model file: use helpers.load_checkpoint")
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
    model, path = _model_and_path("save_model(model, path)", model, path)
    return _atomic_save(model.state_dict(), path)


def load_model(model: M, path: str | os.PathLike, *, device: torch.device | str | None = None) -> M:
    """Load a state_dict saved by save_model into `model` (weights_only=True) and return the model.

    Keys and shapes are checked against the model first; the file is read onto the cpu, loaded into the
    model, and the model is moved to `device` (default: where it is), so a file saved on a GPU loads anywhere.
    """
    model, path = _model_and_path("load_model(model, path)", model, path)
    target = _target(model, device)
    state = _safe_load(path, "cpu")
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
    """Save model, optimizer (and its class name), epoch, torch's RNG states and any extras atomically.

    `epoch` is the number of epochs done so far (after 50 epochs, 50; inside `for epoch in range(n)`, epoch + 1),
    so that a resumed run continues with `range(checkpoint["epoch"], n)`.
    The random state saved is torch's CPU generator and, when CUDA is initialised, each GPU's generator;
    Python's `random` and NumPy's generators are not saved. Returns the path.
    """
    model, path = _model_and_path("save_checkpoint(path, model, optimizer, epoch)", model, path)
    check_optimizer("optimizer", optimizer)
    check_optimizer_holds(model, optimizer)
    check_int("epoch", epoch, minimum=0)
    clash = [k for k in extra if k in RESERVED]
    if clash:
        raise ValueError(f"extra names {clash} are reserved for the checkpoint itself; pick other names")
    for name, value in extra.items():
        _check_extra(name, value)
    checkpoint = {
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "optimizer_class": type(optimizer).__name__,
        "epoch": epoch,
        "torch_rng_state": torch.get_rng_state(),
        **({"cuda_rng_states": torch.cuda.get_rng_state_all()} if torch.cuda.is_initialized() else {}),
        **extra,
    }
    return _atomic_save(checkpoint, path)


def _check_optimizer_state(optimizer: torch.optim.Optimizer, checkpoint: dict, path: Path) -> None:
    """Raise ValueError when the saved optimizer state cannot go into `optimizer` (kind, groups, shapes)."""
    saved, kind = checkpoint["optimizer_state_dict"], type(optimizer).__name__
    groups = saved.get("param_groups") if isinstance(saved, Mapping) else None
    if not isinstance(groups, list) or not all(isinstance(g, Mapping) and "params" in g for g in groups):
        raise ValueError(f"{path}: the optimizer state is not an optimizer's state_dict")
    name = checkpoint.get("optimizer_class")  # absent in checkpoints saved before it was added: the settings tell
    ours, theirs = ({k for g in gs for k in g} & KIND_SETTINGS for gs in (optimizer.param_groups, groups))
    if (name is not None and name != kind) or ours != theirs:
        was = name or f"another kind of optimizer (settings {sorted(theirs)})"
        raise ValueError(
            f"{path} holds the state of {was}, but optimizer is {kind}: create the same kind of optimizer as when "
            f"it was saved, e.g. torch.optim.{name or 'SGD'}(model.parameters(), ...), then load"
        )
    sizes, have = [len(g["params"]) for g in groups], [len(g["params"]) for g in optimizer.param_groups]
    if sizes != have:
        raise ValueError(f"{path}: the optimizer state does not match this optimizer: the file has parameter "
                         f"groups of sizes {sizes}, the optimizer {have}")
    state = saved.get("state", {})
    for group, saved_group in zip(optimizer.param_groups, groups):
        for param, key in zip(group["params"], saved_group["params"]):
            wrong = [v for v in state.get(key, {}).values() if isinstance(v, torch.Tensor) and v.dim()
                     and v.shape != param.shape]
            if wrong:
                raise ValueError(
                    f"{path}: the optimizer state does not match this optimizer: a parameter of shape "
                    f"{list(param.shape)} would get state of shape {list(wrong[0].shape)} (parameters in another order?)"
                )


def _move(model: nn.Module, device: torch.device, optimizer: torch.optim.Optimizer | None) -> None:
    """Move the model to `device`; if that made new parameter objects (e.g. to meta), point the optimizer at them."""
    before = list(model.parameters())
    model.to(device)
    moved = {id(old): new for old, new in zip(before, model.parameters()) if old is not new}
    if optimizer is not None and moved:
        for group in optimizer.param_groups:
            group["params"] = [moved.get(id(p), p) for p in group["params"]]


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    device: torch.device | str | None = None,
    restore_rng: bool = False,
) -> dict[str, Any]:
    """Restore model (and optimizer, and with restore_rng=True torch's RNG states) from a checkpoint.

    Everything is checked before anything changes. The model is loaded and moved to `device` (default:
    where it is) first, then the optimizer state, so momentum and Adam's averages land on the model's
    device. restore_rng=True restores torch's CPU generator (and the GPUs' when both the file and this
    machine have them), so shuffling and dropout continue as in the saved run; Python's `random` and
    NumPy's generators are not saved. Returns the whole checkpoint dict.
    """
    model, path = _model_and_path("load_checkpoint(path, model, optimizer)", model, path)
    check_optimizer("optimizer", optimizer, none_ok=True)
    check_bool("restore_rng", restore_rng)
    target = _target(model, device)
    checkpoint = _safe_load(path, "cpu")
    needed = ("model_state_dict", "optimizer_state_dict", "epoch")
    if isinstance(checkpoint, dict) and checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise ValueError(f"{path} holds a state_dict (from save_model), not a checkpoint: use helpers.load_model")
    if not isinstance(checkpoint, dict) or any(k not in checkpoint for k in needed):
        raise ValueError(f"{path} is not a checkpoint from save_checkpoint (it needs the keys {list(needed)})")
    _check_state(model, checkpoint["model_state_dict"], path)
    if optimizer is not None:
        check_optimizer_holds(model, optimizer)
        _check_optimizer_state(optimizer, checkpoint, path)
    if restore_rng and "torch_rng_state" not in checkpoint:
        raise ValueError(f"{path} holds no random state to restore: load it with restore_rng=False")
    model.load_state_dict(checkpoint["model_state_dict"])
    _move(model, target, optimizer)
    if optimizer is not None:  # after the move: the state is cast to the device of the parameters
        try:
            optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise ValueError(f"{path}: the model loaded, but the optimizer state did not ({exc})") from None
    if restore_rng:
        torch.set_rng_state(checkpoint["torch_rng_state"])
        states = checkpoint.get("cuda_rng_states")
        if states and torch.cuda.is_available() and len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states)
    return checkpoint

"""What the checks of notebook 06's exercises read in a saved file: its classes, what it holds, how it is loaded."""

from __future__ import annotations

import contextlib
import json
import pickle
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch
from torch import nn

from ._core import Incorrect
from ._util import need, replaced

__all__ = ["check_loads", "check_weights_in_file", "holds_items", "holds_tensor", "no_allow_list", "safe_file",
           "temporary_folder", "watched_load_state_dict", "watched_loads"]


@contextlib.contextmanager
def watched_loads() -> Iterator[list]:
    """Record the weights_only argument of every torch.load call made inside the block."""
    seen, real = [], torch.load

    def load(*args: object, **kwargs: object) -> object:
        """torch.load, recording its weights_only argument."""
        seen.append(kwargs.get("weights_only", "not given"))
        return real(*args, **kwargs)

    with replaced(torch, "load", load):
        yield seen


@contextlib.contextmanager
def watched_load_state_dict(model: nn.Module) -> Iterator[list]:
    """Record each load_state_dict call on `model`: its strict argument and the keys it reported missing."""
    calls, real = [], model.load_state_dict

    def load_state_dict(state_dict: Mapping, *args: object, **kwargs: object) -> object:
        """model.load_state_dict, recording strict and the missing keys."""
        result = real(state_dict, *args, **kwargs)
        calls.append((kwargs.get("strict", args[0] if args else True), list(getattr(result, "missing_keys", []))))
        return result

    with replaced(model, "load_state_dict", load_state_dict):
        yield calls


@contextlib.contextmanager
def temporary_folder() -> Iterator[Path]:
    """A temporary folder whose path never shows in a verdict (a message names it in words)."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            yield Path(folder)
        except Incorrect as err:
            raise Incorrect(str(err).replace(folder, "<a temporary folder>")) from None


def check_loads(seen: list, what: str) -> None:
    """Every load must say weights_only=True."""
    need(seen, f"{what} never called torch.load: read the file with torch.load(path, weights_only=True).")
    need(False not in seen, f"{what} loaded with weights_only=False: unpickling a file can run any code in it. "
                            "A state_dict loads with weights_only=True.")
    need("not given" not in seen, f"{what} called torch.load without weights_only: write weights_only=True out, "
                                  "so that nobody reading your code has to know the default of their PyTorch.")


@contextlib.contextmanager
def no_allow_list() -> Iterator[None]:
    """Check with an empty allow-list, whatever this session allowed, and put the session's own list back after
    (an answer that allows a class with add_safe_globals leaves nothing behind, and no earlier cell helps it)."""
    session = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        yield
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(session)


def _pickled_classes(path: Path) -> list[str]:
    """The globals in a torch.save file that weights_only=True refuses with no allow-list (names, sorted)."""
    allowed = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()  # an allow-list the learner's code set up must not hide a class
    try:
        return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    finally:
        torch.serialization.add_safe_globals(allowed)


def safe_file(path: Path, what: str, suspects: dict[str, str], kinds: tuple[type, ...] = (Mapping,)) -> object:
    """The file must be the only one in its folder, pickle no class (with no allow-list) and load with
    weights_only=True as one of `kinds` (a dict, or also a list or tuple).

    `suspects` maps a class name that may be pickled in the file to what the learner should save instead."""
    need(path.is_file(), f"{what} wrote no file at the path it was given: torch.save(obj, path).")
    files = sorted(str(f.relative_to(path.parent)) for f in path.parent.rglob("*") if f.is_file())
    need(files == [path.name], f"{what} wrote {len(files)} files ({', '.join(files)}), not one: everything must "
         "be in the one file at the path it was given, so that it travels, and gets loaded, as one piece.")
    try:
        pickled = _pickled_classes(path)
    except (ValueError, RuntimeError, OSError, KeyError):
        raise Incorrect(f"the file {what} wrote is not a torch.save file: write it with "
                        "torch.save(obj, path).") from None
    allowed = [getattr(g, "__qualname__", str(g)) for g in torch.serialization.get_safe_globals()]
    because = (f" Your code allowed {', '.join(allowed)} with add_safe_globals: that allow-list lives only in this "
               "session, and whoever loads the file elsewhere (you tomorrow included) has none."
               if allowed else "")
    for name in pickled:
        short = name.rsplit(".", 1)[-1]
        if short in suspects:
            raise Incorrect(f"the file {what} wrote pickles a {short} object ({name}), which weights_only=True "
                            f"refuses unless someone allows that class.{because} {suspects[short]}")
    if pickled:
        raise Incorrect(f"the file {what} wrote pickles Python objects ({', '.join(pickled)}), which "
                        f"weights_only=True refuses without an allow-list.{because} Save state_dicts and plain data "
                        "(numbers, strings, lists, dicts) only.")
    try:
        state = torch.load(path, weights_only=True)
    except pickle.UnpicklingError as err:
        raise Incorrect(f"the file {what} wrote does not load with weights_only=True ({str(err).splitlines()[0]}). "
                        "Save state_dicts and plain data (numbers, strings, lists, dicts) only.") from None
    need(isinstance(state, kinds), f"the file {what} wrote holds a {type(state).__name__}, not a dict.")
    return state


def _parts(obj: object) -> Iterator[object]:
    """obj and everything inside it, through dicts, lists and tuples (a string of JSON counts with what it holds)."""
    yield obj
    if isinstance(obj, Mapping):
        for value in obj.values():
            yield from _parts(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _parts(value)
    elif isinstance(obj, str) and obj[:1] in "{[":
        with contextlib.suppress(ValueError):
            yield from _parts(json.loads(obj))


def holds_tensor(state: object, t: torch.Tensor) -> bool:
    """True if some tensor in the file is `t`: same dtype, same shape, same numbers."""
    return any(isinstance(s, torch.Tensor) and s.dtype == t.dtype and s.shape == t.shape and torch.equal(s, t)
               for s in _parts(state))


def holds_items(state: object, want: Mapping) -> bool:
    """True if some dict in the file holds every key of `want` with its value (a settings dict, a state_dict)."""
    return any(isinstance(m, Mapping) and all(k in m and _same(m[k], v) for k, v in want.items())
               for m in _parts(state))


def _same(a: object, b: object) -> bool:
    """Equal values, tensors compared by their numbers."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    try:
        return bool(a == b)
    except RuntimeError:  # a list of tensors against a list of numbers: not the same
        return False


def check_weights_in_file(state: object, weights: dict[str, torch.Tensor], what: str, hint: str) -> None:
    """The file must hold the model's weights as they were when it was saved (any layout, exact numbers)."""
    missing = [w for w in weights.values() if not holds_tensor(state, w)]
    if not missing:
        return
    tensors = [s for s in _parts(state) if isinstance(s, torch.Tensor)]
    need(tensors, f"the file {what} wrote holds no tensors, so not the model's weights: {hint} A model kept in "
                  "a variable is gone when the session ends; the file is what a later session can load.")
    for s in tensors:
        for w in missing:
            if s.shape == w.shape and s.dtype != w.dtype and torch.allclose(s.to(w.dtype), w, rtol=1e-2, atol=1e-2):
                raise Incorrect(f"the file {what} wrote holds the weights as {s.dtype}, rounded from the model's "
                                f"{w.dtype}: the model loaded from it no longer predicts the same. Save "
                                "model.state_dict() as it is.")
    if any(isinstance(m, Mapping) and set(weights) <= set(m) for m in _parts(state)):
        raise Incorrect(f"the file {what} wrote holds a state_dict with the model's names, but other numbers: the "
                        "weights of another model, not of the model it was given (a notebook variable such as "
                        "`model` is another model). Save the state_dict of the argument.")
    raise Incorrect(f"the file {what} wrote does not hold the weights of the model it was given (its parameters "
                    f"{', '.join(weights)}, as they were when it was called): {hint}")

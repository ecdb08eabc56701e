"""Timing and counting: how long code takes (median and spread of repeated runs) and how big a model is.

Notebook 11 writes these out; later notebooks import them from here. A time is never one number:
the first call of a piece of code does one-time work (memory, caches, an optimizer's state), and
every later call is jostled by whatever else the machine does. So `time_it` runs the code a few
times untimed (warm-up), then times `repeats` runs with `time.perf_counter`, and `Timing` keeps
every run's seconds and reports the median and the interquartile range (IQR, the middle half of the
runs, from q1 to q3), which a single slow run cannot drag: two timings whose middle halves do not
overlap probably differ. On a GPU the clock is read only after `synchronize`, since CUDA work runs
asynchronously.
"""

from __future__ import annotations

import inspect
import math
import time
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from ._checks import check_int, check_number

__all__ = [
    "Timing", "format_seconds", "synchronize", "time_it", "time_interleaved", "speedup", "model_bytes",
]


def _quantile(sorted_values: tuple[float, ...], q: float) -> float:
    """Return the q-quantile of sorted values, interpolating linearly between neighbours (NumPy's default)."""
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def format_seconds(seconds: float) -> str:
    """Write a duration with 3 significant figures in the unit that suits it: '850 ns', '12.3 µs', '4.56 ms', '1.23 s'."""
    seconds = check_number("seconds", seconds)
    if seconds < 0:
        raise ValueError(f"seconds must not be negative, got {seconds}")
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


@dataclass(frozen=True)
class Timing:
    """The seconds of each timed run of one piece of code (warm-up runs excluded), with its median and spread."""

    times: tuple[float, ...]
    warmup: int = 0

    def __post_init__(self) -> None:
        """Check that there is at least one time and that every time is a finite number of seconds >= 0."""
        if not isinstance(self.times, (tuple, list)):
            raise TypeError(f"times must be a tuple or list of seconds, got {type(self.times).__name__}")
        if not self.times:
            raise ValueError("times must hold at least one time, got an empty sequence")
        for t in self.times:
            if check_number("each time", t) < 0:
                raise ValueError(f"times must not be negative, got {t}")
        object.__setattr__(self, "times", tuple(float(t) for t in self.times))
        check_int("warmup", self.warmup, minimum=0)

    @property
    def repeats(self) -> int:
        """Return the number of timed runs."""
        return len(self.times)

    @property
    def median(self) -> float:
        """Return the middle time: half the runs were faster, half slower."""
        return _quantile(tuple(sorted(self.times)), 0.5)

    @property
    def q1(self) -> float:
        """Return the first quartile: a quarter of the runs were faster."""
        return _quantile(tuple(sorted(self.times)), 0.25)

    @property
    def q3(self) -> float:
        """Return the third quartile: three quarters of the runs were faster."""
        return _quantile(tuple(sorted(self.times)), 0.75)

    @property
    def iqr(self) -> float:
        """Return the interquartile range q3 - q1: the spread of the middle half of the runs."""
        return self.q3 - self.q1

    @property
    def min(self) -> float:
        """Return the fastest run."""
        return min(self.times)

    @property
    def max(self) -> float:
        """Return the slowest run."""
        return max(self.times)

    def __str__(self) -> str:
        """Describe the median and the middle half of the runs, e.g. 'median 4.56 ms (middle half 4.4 ms to 4.7 ms, 7 runs)'."""
        return (f"median {format_seconds(self.median)} (middle half {format_seconds(self.q1)} to "
                f"{format_seconds(self.q3)}, {self.repeats} runs)")


def _as_device(device: object) -> torch.device | None:
    """Return `device` as a torch.device that exists here (None stays None), or raise naming the argument."""
    if device is not None and not isinstance(device, torch.device):
        if not isinstance(device, str):
            raise TypeError(f"device must be a torch.device, a string like 'cuda' or None, got {type(device).__name__}")
        try:
            device = torch.device(device)
        except RuntimeError:
            raise ValueError(f"device must name a device such as 'cpu', 'cuda' or 'mps', got {device!r}") from None
    if device is not None and device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device is {str(device)!r} but CUDA is not available here: pass 'cpu' or None "
                             "(helpers.get_device() picks 'cuda' only where there is one)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device is {str(device)!r} but this machine has {torch.cuda.device_count()} CUDA "
                             "GPU(s), numbered from 0")
    if device is not None and device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device is 'mps' but MPS (an Apple GPU) is not available here: pass 'cpu' or None")
    return device


def synchronize(device: torch.device | str | None) -> None:
    """Wait until all work queued on `device` has finished (CUDA and MPS run asynchronously; CPU: nothing to do)."""
    device = _as_device(device)
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device is not None and device.type == "mps":
        torch.mps.synchronize()


def _check_fn(name: str, fn: object) -> None:
    """Raise naming `name` unless `fn` can be called with no arguments."""
    if isinstance(fn, type):
        raise TypeError(f"{name} must be a function of no arguments, got the class {fn.__name__}: to time making "
                        f"one, pass lambda: {fn.__name__}(...)")
    if not callable(fn):
        raise TypeError(f"{name} must be a function of no arguments, got {type(fn).__name__}: pass the function "
                        "itself, not the result of calling it (time_it(step), not time_it(step())), or wrap a call "
                        "in a lambda, e.g. lambda: model(X)")
    try:  # a module's call runs its forward, whose parameters are the ones that count
        parameters = inspect.signature(fn.forward if isinstance(fn, nn.Module) else fn).parameters.values()
    except (TypeError, ValueError):  # some built-ins have no signature to read: the call will speak for itself
        return
    needs = [p.name for p in parameters if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if needs:
        what = type(fn).__name__ if isinstance(fn, nn.Module) else getattr(fn, "__name__", type(fn).__name__)
        raise TypeError(f"{name} is called with no arguments, but {what} needs {', '.join(needs)}: wrap the call "
                        f"in a lambda, e.g. lambda: {what}(...) with the arguments filled in")


def _check_result(name: str, result: object) -> None:
    """Raise when fn returned a generator: none of its body has run, so timing it times nothing of its work."""
    if isinstance(result, types.GeneratorType):
        raise ValueError(f"{name} returned a generator, which does none of its work until something loops over it: "
                         "time the loop as well, e.g. lambda: list(make_batches())")


def _check_timing_args(repeats: object, warmup: object, number: object, clock: object) -> None:
    """Raise naming the argument when repeats, warmup, number or clock is not what time_it expects."""
    check_int("repeats", repeats, minimum=1)
    check_int("warmup", warmup, minimum=0)
    check_int("number", number, minimum=1)
    if not callable(clock):
        raise TypeError(f"clock must be a function returning seconds, e.g. time.perf_counter, got {type(clock).__name__}")


def _timed_run(name: str, fn: Callable[[], object], number: int, device: torch.device | None,
               clock: Callable[[], float]) -> float:
    """Return the seconds of one timed run: `number` calls of fn, divided by `number`, device synchronized."""
    start = clock()
    for _ in range(number):
        result = fn()
    synchronize(device)
    end = clock()
    _check_result(name, result)
    for reading in (start, end):
        if not isinstance(reading, float):
            raise TypeError(f"clock must return seconds as a float, like time.perf_counter, got "
                            f"{type(reading).__name__} {reading!r} (perf_counter_ns counts nanoseconds)")
    if end < start:
        raise ValueError(f"clock went backwards ({start!r} then {end!r}): use time.perf_counter, which only moves "
                         "forward (time.time follows the calendar, which can be set back)")
    return (end - start) / number


def time_it(
    fn: Callable[[], object],
    *,
    repeats: int = 5,
    warmup: int = 1,
    number: int = 1,
    device: torch.device | str | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Timing:
    """Call `fn()` `warmup` times untimed, then time `repeats` runs of `number` calls each; return a Timing.

    Each run's time is per call (the run's seconds divided by `number`; use number > 1 for code that
    takes microseconds). Pass the `device` the code runs on, so the clock waits for a GPU to finish.
    """
    _check_fn("fn", fn)
    _check_timing_args(repeats, warmup, number, clock)
    device = _as_device(device)
    for _ in range(warmup):
        _check_result("fn", fn())
    synchronize(device)
    return Timing(tuple(_timed_run("fn", fn, number, device, clock) for _ in range(repeats)), warmup)


def time_interleaved(
    fns: Mapping[str, Callable[[], object]],
    *,
    repeats: int = 5,
    warmup: int = 1,
    number: int = 1,
    device: torch.device | str | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Timing]:
    """Time several functions taking turns (a, b, a, b, ...), so that load from elsewhere hits them alike.

    Each is first called `warmup` times untimed; then `repeats` rounds time each once, in order.
    Returns {name: Timing}, in the order given.
    """
    if not isinstance(fns, Mapping):
        raise TypeError(f"fns must be a dict of {{name: function of no arguments}}, got {type(fns).__name__}, "
                        "e.g. {'loop': lambda: slow(x), 'vectorised': lambda: fast(x)}")
    if not fns:
        raise ValueError("fns is empty: give at least one {name: function of no arguments}")
    for name, fn in fns.items():
        if not isinstance(name, str):
            raise TypeError(f"fns' names must be strings (they label the results), got {type(name).__name__} {name!r}")
        _check_fn(f"fns[{name!r}]", fn)
    _check_timing_args(repeats, warmup, number, clock)
    device = _as_device(device)
    for name, fn in fns.items():
        for _ in range(warmup):
            _check_result(f"fns[{name!r}]", fn())
    synchronize(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(_timed_run(f"fns[{name!r}]", fn, number, device, clock))
    return {name: Timing(tuple(seconds), warmup) for name, seconds in times.items()}


def _check_timing(name: str, value: object) -> Timing:
    """Return `value` if it is a Timing, else raise TypeError naming `name` and what to do with what it is."""
    if isinstance(value, Timing):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise TypeError(f"{name} must be a Timing (from time_it), got the number {value!r}: for two times in "
                        "seconds, divide them yourself, before / after")
    if hasattr(value, "median") and hasattr(value, "times"):  # e.g. torch.utils.benchmark's Measurement
        raise TypeError(f"{name} must be a Timing (from time_it), got a {type(value).__name__}: divide the medians "
                        "yourself, before.median / after.median")
    raise TypeError(f"{name} must be a Timing (from time_it), got {type(value).__name__}")


def speedup(before: Timing, after: Timing) -> float:
    """Return how many times faster `after` is than `before`: the ratio of their medians."""
    before, after = _check_timing("before", before), _check_timing("after", after)
    if after.median == 0:
        raise ValueError("after's median is 0 s, too fast for the clock: time more calls per run (number=...)")
    return before.median / after.median


def model_bytes(model: nn.Module) -> int:
    """Return the bytes that `model`'s parameters and buffers (e.g. BatchNorm's running mean) take in memory."""
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got the class {model.__name__}: create one with "
                        f"{model.__name__}()")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)

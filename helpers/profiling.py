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

import math
import time
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
        if not isinstance(self.times, (tuple, list)) or not self.times:
            raise ValueError(f"times must be a non-empty tuple of seconds, got {self.times!r}")
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
    """Return `device` as a torch.device (None stays None), or raise naming the argument."""
    if device is None or isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be a torch.device, a string like 'cuda' or None, got {type(device).__name__}")
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device must name a device such as 'cpu', 'cuda' or 'mps', got {device!r}") from error


def synchronize(device: torch.device | str | None) -> None:
    """Wait until all work queued on `device` has finished (CUDA and MPS run asynchronously; CPU: nothing to do)."""
    device = _as_device(device)
    if device is not None and device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device is {str(device)!r} but CUDA is not available here: pass 'cpu' or None")
        torch.cuda.synchronize(device)
    elif device is not None and device.type == "mps":
        torch.mps.synchronize()


def _check_timing_args(repeats: object, warmup: object, number: object, clock: object) -> None:
    """Raise naming the argument when repeats, warmup, number or clock is not what time_it expects."""
    check_int("repeats", repeats, minimum=1)
    check_int("warmup", warmup, minimum=0)
    check_int("number", number, minimum=1)
    if not callable(clock):
        raise TypeError(f"clock must be a function returning seconds, e.g. time.perf_counter, got {type(clock).__name__}")


def _timed_run(fn: Callable[[], object], number: int, device: torch.device | None, clock: Callable[[], float]) -> float:
    """Return the seconds of one timed run: `number` calls of fn, divided by `number`, device synchronized."""
    start = clock()
    for _ in range(number):
        fn()
    synchronize(device)
    return (clock() - start) / number


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
    if not callable(fn):
        raise TypeError(f"fn must be a function of no arguments (e.g. a lambda), got {type(fn).__name__}")
    _check_timing_args(repeats, warmup, number, clock)
    device = _as_device(device)
    for _ in range(warmup):
        fn()
    synchronize(device)
    return Timing(tuple(_timed_run(fn, number, device, clock) for _ in range(repeats)), warmup)


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
    if not isinstance(fns, Mapping) or not fns:
        raise TypeError("fns must be a non-empty dict of {name: function of no arguments}")
    for name, fn in fns.items():
        if not callable(fn):
            raise TypeError(f"fns[{name!r}] must be a function of no arguments, got {type(fn).__name__}")
    _check_timing_args(repeats, warmup, number, clock)
    device = _as_device(device)
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    synchronize(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(_timed_run(fn, number, device, clock))
    return {name: Timing(tuple(seconds), warmup) for name, seconds in times.items()}


def speedup(before: Timing, after: Timing) -> float:
    """Return how many times faster `after` is than `before`: the ratio of their medians."""
    for name, value in (("before", before), ("after", after)):
        if not isinstance(value, Timing):
            raise TypeError(f"{name} must be a Timing (from time_it), got {type(value).__name__}")
    if after.median == 0:
        raise ValueError("after's median is 0 s, too fast for the clock: time more calls per run (number=...)")
    return before.median / after.median


def model_bytes(model: nn.Module) -> int:
    """Return the bytes that `model`'s parameters and buffers (e.g. BatchNorm's running mean) take in memory."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)

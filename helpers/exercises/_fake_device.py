"""A fake asynchronous device (like a GPU) with clocks it controls, to check how a learner times it."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator

from ._util import need

__all__ = ["CLOCKS", "FakeDevice", "check_clocks", "fake_clocks"]


class FakeDevice:
    """A device like a GPU: fn() only queues work (a millisecond of Python), sync() waits until the work is done.

    Its clocks move only when the device is used, so the right answer is known exactly. Every clock reading is
    recorded: how many calls of fn() came before it, whether queued work was still unfinished, which clock. Its
    CPU-time clocks (process_time, thread_time) count only the queueing, as a real one ignores the waiting."""

    QUEUE = 0.001  # seconds Python needs to queue one call's work
    START = 1000.0  # what perf_counter() reads at first: an arbitrary point, as on a real machine
    CALENDAR = 1.7e9  # time.time() counts seconds since 1970: a far larger number

    def __init__(self, durations: list[float]) -> None:
        self.now, self.pending, self.durations, self.calls = self.START, 0.0, durations, 0
        self.cpu, self.syncs, self.callers = 5.0, 0, set()  # CPU seconds used; sync() calls; modules calling fn
        self.reads: list[tuple[int, bool, str, float]] = []  # (calls so far, work still queued, clock, seconds)

    def clock(self, name: str) -> Callable[[], float | int]:
        """The fake of time.<name>: a clock of CLOCKS, or its _ns variant (which counts nanoseconds)."""

        def read() -> float | int:
            seconds = self.cpu if name.startswith(("process", "thread")) else self.now
            seconds += self.CALENDAR if name.startswith("time") else 0.0
            self.reads.append((self.calls, self.pending > 0, name, seconds))
            return round(seconds * 1e9) if name.endswith("_ns") else seconds

        return read

    def fn(self) -> None:
        """The function to time: queue the next call's work and return at once."""
        self.now, self.cpu = self.now + self.QUEUE, self.cpu + self.QUEUE
        self.callers.add(sys._getframe(1).f_globals.get("__name__"))  # e.g. helpers.profiling (time_it)
        self.pending += self.durations[min(self.calls, len(self.durations) - 1)]
        self.calls += 1

    def sync(self) -> None:
        """Wait until the queued work has finished (torch.cuda.synchronize() on a GPU)."""
        self.now, self.pending, self.syncs = self.now + self.pending, 0.0, self.syncs + 1


CLOCKS = tuple(f"{clock}{ns}" for clock in ("perf_counter", "time", "monotonic", "process_time", "thread_time")
                for ns in ("", "_ns"))


@contextlib.contextmanager
def fake_clocks(fn: Callable, device: FakeDevice) -> Iterator[None]:
    """Replace time's clocks by the device's (also a clock the learner imported by name, `from time import ...`)."""
    real = {name: getattr(time, name) for name in CLOCKS}
    names = getattr(fn, "__globals__", {})
    imported = {n: clock for n, v in names.items() for clock, f in real.items() if v is f}
    saved = {n: names[n] for n in imported}
    try:
        for name in CLOCKS:
            setattr(time, name, device.clock(name))
        names.update({n: device.clock(clock) for n, clock in imported.items()})
        yield
    finally:
        for name, f in real.items():
            setattr(time, name, f)
        names.update(saved)


def check_clocks(device: FakeDevice, got: float, warmup: int) -> None:
    """Refuse a reading of a clock other than perf_counter, or one taken while the device still had work queued."""
    clocks = {name.removesuffix("_ns") for _, _, name, _ in device.reads}
    need(clocks or "helpers.profiling" not in device.callers,
         "you timed with helpers' time_it: it never calls sync(), so it times only the queueing, and it reads a "
         "clock of its own. Write the loop: sync(), read time.perf_counter(), fn(), sync(), read it again.")
    need(clocks, f"you returned {got:.3g} without reading time.perf_counter() around the calls"
                 f"{' and without calling sync()' if not device.syncs else ''}: read it before and after each timed "
                 "call, with sync() before each reading.")
    cpu = sorted(clocks & {"process_time", "thread_time"})
    need(not cpu or len(clocks) > 1, f"you timed with time.{cpu[0] if cpu else ''}(), which counts only the CPU time "
                                     "of this program: waiting in sync() for the device costs none, so it misses the "
                                     "device's work. Time with a wall clock, time.perf_counter().")
    need(len(clocks) == 1, f"you read two different clocks ({' and '.join(f'time.{c}()' for c in sorted(clocks))}): "
                           "a duration is the difference of two readings of the same clock, time.perf_counter().")
    need(clocks != {"time"}, "you timed with time.time(), the calendar clock: it can be coarse and the system may "
                             "set it (make it jump) while you measure. Use time.perf_counter().")
    need(clocks != {"monotonic"}, "you timed with time.monotonic(): it never jumps, but on some systems it ticks "
                                  "only every few milliseconds. time.perf_counter() has the finest resolution.")
    busy = [calls for calls, queued, _, _ in device.reads if queued]
    need(not any(calls > warmup for calls in busy),
         "you stopped the clock while the device was still working: fn() only queues its work and returns "
         f"(in {device.QUEUE * 1000:g} ms here). Call sync() after fn() and before reading the clock, or you time "
         "the queueing.")
    need(not busy, "you started the clock while the warm-up's work was still queued, so the first timed call "
                   "also paid for it: call sync() before starting the clock too.")

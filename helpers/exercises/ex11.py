"""Exercises for notebook 11 (bottlenecks and profiling): timing an asynchronous device, FLOPs of a training step,
a per-class metric without a Python loop."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator

import torch
from torch import nn

from ._core import Exercises, Incorrect
from ._util import call, close, need, number

_ex = Exercises("ex11")
bind = _ex.bind


# q1: timing on a device that runs asynchronously ---------------------------------------------------------------


class _FakeDevice:
    """A device like a GPU: fn() only queues work (a millisecond of Python), sync() waits until the work is done.

    Its clocks move only when the device is used, so the right answer is known exactly. Every clock reading is
    recorded: how many calls of fn() came before it, whether queued work was still unfinished, which clock."""

    QUEUE = 0.001  # seconds Python needs to queue one call's work
    START = 1000.0  # what perf_counter() reads at first: an arbitrary point, as on a real machine
    CALENDAR = 1.7e9  # time.time() counts seconds since 1970: a far larger number

    def __init__(self, durations: list[float]) -> None:
        self.now, self.pending, self.durations, self.calls = self.START, 0.0, durations, 0
        self.reads: list[tuple[int, bool, str, float]] = []  # (calls so far, work still queued, clock, seconds)

    def clock(self, name: str) -> Callable[[], float | int]:
        """The fake of time.<name>: perf_counter, perf_counter_ns, time, time_ns, monotonic or monotonic_ns."""

        def read() -> float | int:
            seconds = self.now + (self.CALENDAR if name.startswith("time") else 0.0)
            self.reads.append((self.calls, self.pending > 0, name, seconds))
            return round(seconds * 1e9) if name.endswith("_ns") else seconds

        return read

    def fn(self) -> None:
        """The function to time: queue the next call's work and return at once."""
        self.now += self.QUEUE
        self.pending += self.durations[min(self.calls, len(self.durations) - 1)]
        self.calls += 1

    def sync(self) -> None:
        """Wait until the queued work has finished (torch.cuda.synchronize() on a GPU)."""
        self.now += self.pending
        self.pending = 0.0


_CLOCKS = ("perf_counter", "perf_counter_ns", "time", "time_ns", "monotonic", "monotonic_ns")


@contextlib.contextmanager
def _fake_clocks(fn: Callable, device: _FakeDevice) -> Iterator[None]:
    """Replace time's clocks by the device's (also a clock the learner imported by name, `from time import ...`)."""
    real = {name: getattr(time, name) for name in _CLOCKS}
    names = getattr(fn, "__globals__", {})
    imported = {n: clock for n, v in names.items() for clock, f in real.items() if v is f}
    saved = {n: names[n] for n in imported}
    try:
        for name in _CLOCKS:
            setattr(time, name, device.clock(name))
        names.update({n: device.clock(clock) for n, clock in imported.items()})
        yield
    finally:
        for name, f in real.items():
            setattr(time, name, f)
        names.update(saved)


def _run_on_device(time_on_device: Callable, durations: list[float], repeats: int, warmup: int) -> str:
    """Time the fake device with the learner's function; raise Incorrect saying what went wrong, or pass."""
    case = f"With warmup={warmup} and repeats={repeats}"
    device = _FakeDevice(durations)
    with _fake_clocks(time_on_device, device):
        got = call(time_on_device, device.fn, device.sync, repeats=repeats, warmup=warmup,
                   case=f"{case} on a fake device")
    timed, q = durations[warmup:warmup + repeats], _FakeDevice.QUEUE
    want = statistics.median(timed) + q
    need(not (warmup and device.calls == repeats), f"{case}, fn was called {repeats} times, so the warm-up calls "
                                                   "were missing: call fn() `warmup` times, untimed, first.")
    need(device.calls != 7 or warmup + repeats == 7,
         f"{case}, fn was called 7 times, as for the defaults (2 + 5): use the arguments `warmup` and `repeats`, "
         "not fixed numbers.")
    need(device.calls == warmup + repeats, f"{case}, fn was called {device.calls} times, expected {warmup + repeats}: "
                                           f"{warmup} untimed warm-up calls, then {repeats} timed ones.")
    got = number(f"time_on_device(fn, sync, repeats={repeats}, warmup={warmup})", got)
    clocks = {name.removesuffix("_ns") for _, _, name, _ in device.reads}
    need(clocks, f"you returned {got:.3g} without reading a clock around the calls: read time.perf_counter() "
                 "before and after each timed call.")
    need(len(clocks) == 1, f"you read two different clocks ({' and '.join(f'time.{c}()' for c in sorted(clocks))}): "
                           "a duration is the difference of two readings of the same clock, time.perf_counter().")
    need(clocks != {"time"}, "you timed with time.time(), the calendar clock: it can be coarse and the system may "
                             "set it (make it jump) while you measure. Use time.perf_counter().")
    need(clocks != {"monotonic"}, "you timed with time.monotonic(): it never jumps, but on some systems it ticks "
                                  "only every few milliseconds. time.perf_counter() has the finest resolution.")
    busy = [calls for calls, queued, _, _ in device.reads if queued]
    need(not any(calls > warmup for calls in busy),
         "you stopped the clock while the device was still working: fn() only queues its work and returns "
         f"(in {q * 1000:g} ms here). Call sync() after fn() and before reading the clock, or you time the queueing.")
    need(not busy, "you started the clock while the warm-up's work was still queued, so the first timed call "
                   "also paid for it: call sync() before starting the clock too.")
    readings = [seconds for *_, seconds in device.reads]
    for scale, unit in ((1.0, "s"), (1e9, "ns")):
        need(not min(readings) * scale - 1 <= got <= max(readings) * scale + 1,
             f"you returned {got:.6g}, a reading of the clock (a point in time, counted from an arbitrary start), "
             "not a duration: subtract the reading taken before the call, time.perf_counter() - start.")
    need(got >= 0, f"you returned {got:.4g} s, a negative time: a duration is the later reading minus the earlier "
                   "one, time.perf_counter() - start.")
    need(not close(got, want * 1e9, 1e-3), f"you returned {got:.4g}, the median in nanoseconds (perf_counter_ns): "
                                           "divide by 1e9 to return seconds.")
    need(not close(got, want * 1e3, 1e-3), f"you returned {got:.4g}, the median in milliseconds: return seconds, as "
                                           "time.perf_counter() counts them.")
    if close(got, want, 1e-3):
        return f"{want:g} s"
    if close(got, statistics.mean(timed) + q, 1e-3):
        raise Incorrect(f"{case}, you returned the mean of the {repeats} timed calls ({got:g} s): one slow call drags "
                        "it up. Return the median, statistics.median(...).")
    everything = durations[:warmup + repeats]
    if warmup and any(close(got, f(everything) + q, 1e-3) for f in (statistics.median, statistics.mean)):
        raise Incorrect(f"{case}, you returned {got:g} s: the warm-up calls were timed with the others. Time only "
                        "the calls after the warm-up.")
    raise Incorrect(f"{case}, the timed calls took {', '.join(f'{d:g}' for d in timed)} s on the fake device (plus "
                    f"{q * 1000:g} ms each to queue); you returned {got:g} s, expected their median, {want:g} s.")


def _check_time_on_device(time_on_device: object) -> str:
    """Warm-up untimed, sync() before each clock reading, perf_counter, the median; on three fake runs."""
    need(callable(time_on_device), "`time_on_device` should be a function time_on_device(fn, sync, repeats, warmup).")
    medians = [_run_on_device(time_on_device, durations, repeats, warmup) for durations, repeats, warmup in [
        ([100.0, 100.0, 1.0, 2.0, 30.0, 3.0, 4.0], 5, 2),  # 2 slow warm-up calls, then one slow timed call
        ([50.0, 50.0, 50.0, 2.0, 40.0, 4.0], 3, 3),
        ([3.0, 30.0, 1.0], 3, 0),
    ]]
    return (f"untimed warm-up calls, the clock read only after sync(), and the median of the timed calls "
            f"({', '.join(medians)} on three fake runs): a slow call does not drag it.")


q1 = _ex.problem(
    _check_time_on_device, names=("time_on_device",), title="Timing a device that runs asynchronously",
    task="On a GPU, `fn()` only queues the work and returns at once; `torch.cuda.synchronize()` waits until the "
         "work is done. Write `time_on_device(fn, sync, repeats=5, warmup=2)`: call `fn()` `warmup` times untimed, "
         "then time `repeats` calls one by one with `time.perf_counter()`, calling `sync()` wherever the clock "
         "must not run ahead of the device, and return the median in seconds. The check passes a fake device "
         "whose `fn` queues work and whose `sync` waits for it, with clocks it controls, and calls your function "
         "with other values of `warmup` and `repeats` too.",
    starter='def time_on_device(fn, sync, repeats=5, warmup=2):\n'
            '    """The median seconds of `repeats` calls of fn() on an asynchronous device, after `warmup` calls."""\n'
            '    for _ in range(warmup):\n'
            '        ____\n'
            '    seconds = []\n'
            '    for _ in range(repeats):\n'
            '        ____\n'
            '        start = time.perf_counter()\n'
            '        fn()\n'
            '        ____\n'
            '        seconds.append(____)\n'
            '    return ____',
    hint="Ask, at each reading of the clock: could work that fn() queued still be unfinished? A reading taken "
         "then is wrong, at the start of a timed call as at its end. And one slow call should not move the result.",
    solution='def time_on_device(fn, sync, repeats=5, warmup=2):\n'
             '    """The median seconds of `repeats` calls of fn() on an asynchronous device, after `warmup` calls."""\n'
             '    for _ in range(warmup):\n'
             '        fn()\n'
             '    seconds = []\n'
             '    for _ in range(repeats):\n'
             '        sync()                      # nothing left over from earlier work\n'
             '        start = time.perf_counter()\n'
             '        fn()\n'
             '        sync()                      # wait until the device has finished\n'
             '        seconds.append(time.perf_counter() - start)\n'
             '    return statistics.median(seconds)',
)


# q2: the FLOPs of a whole training step -----------------------------------------------------------------------


def _mlp(widths: list[int]) -> nn.Sequential:
    """nn.Linear layers of the given widths with a ReLU between each two."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(widths, widths[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _counted_step(widths: list[int], batch: int) -> int:
    """The FLOPs FlopCounterMode counts for a forward and backward pass of the MLP on inputs without gradients."""
    from torch.utils.flop_counter import FlopCounterMode

    net, X = _mlp(widths), torch.zeros(batch, widths[0])
    with FlopCounterMode(display=False) as counter:
        net(X).sum().backward()
    return counter.get_total_flops()


def _check_step_flops(mlp_step_flops: object) -> str:
    """The learner's count equals FlopCounterMode's for the training steps of four MLPs."""
    need(callable(mlp_step_flops), "`mlp_step_flops` should be a function mlp_step_flops(widths, batch).")
    for widths, batch in [([64, 64, 10], 32), ([3, 5, 7, 2], 4), ([8, 16, 4], 3), ([10, 1], 6)]:
        case = f"For widths {widths} and a batch of {batch}"
        got = number(f"mlp_step_flops({widths}, {batch})",
                     call(mlp_step_flops, list(widths), batch, case=case))
        want = _counted_step(widths, batch)
        products = [2 * n_in * n_out * batch for n_in, n_out in zip(widths, widths[1:])]  # one per layer
        forward, bias = sum(products), sum(n_out * batch for n_out in widths[1:])
        if close(got, want):
            continue
        need(not close(got, forward), f"{case}, you counted {got:,.0f}, the forward pass alone: training also runs "
                                      "the backward pass, which costs about twice as much.")
        need(not close(got, 3 * forward), f"{case}, you counted {got:,.0f} = 3 forward passes, but FlopCounterMode "
                                          f"counts {want:,}: the first layer's input is the batch itself, which needs "
                                          "no gradient, so one product of the backward pass is never computed.")
        need(not close(got, 2 * forward), f"{case}, you counted {got:,.0f} = 2 forward passes: the backward pass of a "
                                          "layer computes two gradients, one for its weights and one for its input.")
        need(len(products) < 2 or not close(got, 3 * forward - products[-1]),
             f"{case}, you left out the input gradient of the last layer; the layer whose input needs no gradient is "
             "the first one, whose input is the batch.")
        need(not any(close(got - want, k * bias) for k in (1, 2, 3)),
             f"{case}, you counted {got:,.0f}, {got - want:,.0f} more than FlopCounterMode: it counts the matrix "
             "products only, not the bias additions.")
        need(not close(got * batch, want), f"{case}, you counted {got:,.0f}, the count for one input: the products "
                                           "grow with the batch.")
        raise Incorrect(f"{case}, you counted {got:,.0f}, but FlopCounterMode counts {want:,}.")
    return ("the same count as FlopCounterMode for four networks: 3 matrix products per layer, less the first "
            "layer's input gradient, which the batch does not need.")


q2 = _ex.problem(
    _check_step_flops, names=("mlp_step_flops",), title="The FLOPs of a training step", transfer=True,
    task="Write `mlp_step_flops(widths, batch)`: the FLOPs that `FlopCounterMode` counts for one training step "
         "(forward and backward pass; the optimizer's update adds none it counts) of an MLP of `nn.Linear` layers "
         "with the given widths, e.g. `[64, 64, 10]` for 64 → 64 → 10 with a ReLU between, on a batch of `batch` "
         "inputs. The check counts the steps of four such networks with `FlopCounterMode`.",
    starter='def mlp_step_flops(widths, batch):\n'
            '    """FLOPs of one forward and backward pass of an MLP with these layer widths, on a batch."""\n'
            '    total = 0\n'
            '    for n_in, n_out in zip(widths, widths[1:]):    # one nn.Linear(n_in, n_out) per pair\n'
            '        total += ____\n'
            '    return ____',
    hint="Section 5 counted one layer's matrix product and said why the CNN's step costs a little under three "
         "forward passes. Count, per layer, the products of the forward and of the backward pass, and ask which "
         "layer's input needs no gradient.",
    solution='def mlp_step_flops(widths, batch):\n'
             '    """FLOPs of one forward and backward pass of an MLP with these layer widths, on a batch."""\n'
             '    total = 0\n'
             '    for n_in, n_out in zip(widths, widths[1:]):    # one nn.Linear(n_in, n_out) per pair\n'
             '        # forward, the weights\' gradient and the input\'s gradient: 3 products of the same size\n'
             '        total += 3 * (2 * n_in * n_out * batch)\n'
             '    # the first layer\'s input is the batch, which needs no gradient: one product fewer\n'
             '    return total - 2 * widths[0] * widths[1] * batch',
)


# q3: a per-class metric in a few tensor operations ------------------------------------------------------------


class _Watched(torch.Tensor):
    """A tensor that counts the PyTorch operations run on it and refuses to become a Python list or array."""

    operations = 0

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        """Count the operation, then run it as usual."""
        _Watched.operations += 1
        return super().__torch_function__(func, types, args, kwargs or {})

    def tolist(self):
        """Refuse: a loop over a Python list is still a Python loop."""
        raise Incorrect("your function turned the labels into a Python list (.tolist()) to loop over them: faster than "
                        "a loop over tensors, but still one Python step per label. Count with tensor operations.")

    def numpy(self, *args, **kwargs):
        """Refuse: the task is about tensor operations."""
        raise Incorrect("your function turned the labels into a NumPy array: count with PyTorch's own operations.")


def _per_class_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, int]]:
    """(description, y_pred, y, num_classes): a small case, a larger one where class 9 never occurs, 50 classes."""
    generator = torch.Generator().manual_seed(0)

    def labels(n: int, classes: int, occurring: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, occurring, (n,), generator=generator)
        noise = torch.randint(0, classes, (n,), generator=generator)
        return torch.where(torch.rand(n, generator=generator) < 0.7, y, noise), y

    small = (torch.tensor([0, 1, 1, 1, 0, 2, 2, 0]), torch.tensor([0, 0, 1, 1, 1, 2, 2, 2]))
    return [("For 8 labels of 4 classes", *small, 4), ("For 400 labels of 10 classes", *labels(400, 10, 9), 10),
            ("For 200 labels of 50 classes", *labels(200, 50, 50), 50)]


def _reference(y_pred: torch.Tensor, y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Per-class accuracy: right answers of each true class over the images of that class (nan where none)."""
    return torch.bincount(y[y_pred == y], minlength=num_classes) / torch.bincount(y, minlength=num_classes)


MAX_OPERATIONS = 30  # the solution runs 5 tensor operations, whatever the number of labels or classes


def _check_per_class(per_class_accuracy: object) -> str:
    """The reference's values, from a handful of tensor operations: no loop over the labels or the classes."""
    need(callable(per_class_accuracy), "`per_class_accuracy` should be a function "
                                       "per_class_accuracy(y_pred, y, num_classes).")
    for case, y_pred, y, num_classes in _per_class_cases():
        want = _reference(y_pred, y, num_classes).double()
        _Watched.operations = 0
        got = call(per_class_accuracy, y_pred.as_subclass(_Watched), y.as_subclass(_Watched), num_classes, case=case)
        operations = _Watched.operations
        need(isinstance(got, torch.Tensor), f"{case}, you returned {type(got).__name__}: return a tensor with one "
                                            "accuracy per class.")
        got = got.as_subclass(torch.Tensor).detach()
        need(operations <= MAX_OPERATIONS or operations < len(y), f"{case}, your function ran {operations} tensor "
             "operations, one or more per label: a Python loop over the labels. Count all the labels at once.")
        need(operations <= MAX_OPERATIONS, f"{case}, your function ran {operations} tensor operations, several per "
                                           "class: a Python loop over the classes. One operation can count every "
                                           "class at once.")
        need(tuple(got.shape) == (num_classes,), f"{case}, you returned shape {list(got.shape)}, expected "
                                                 f"[{num_classes}]: a class that never occurs still gets its entry "
                                                 "(bincount's minlength).")
        need(got.is_floating_point(), f"{case}, you returned {got.dtype} values: accuracies are fractions.")
        got = got.double()
        outside = ((got < 0) | (got > 1)).nonzero().flatten().tolist()
        if outside:
            raise Incorrect(f"{case}, class {outside[0]} got {got[outside[0]].item():g}, but an accuracy is a fraction "
                            "between 0 and 1: `right` should hold one count per class, the images of that class "
                            "predicted right, never more than the class has.")
        overall = (y_pred == y).double().mean()
        need(not torch.allclose(got, overall.expand(num_classes)), f"{case}, every class got {overall:.3f}, the "
                                                                   "overall accuracy: count each class apart.")
        of_all = torch.bincount(y[y_pred == y], minlength=num_classes).double() / len(y)
        need(not torch.allclose(got, of_all), f"{case}, you divided each class's right answers by all {len(y)} "
                                             "images: divide by the images of that class.")
        absent = (torch.bincount(y, minlength=num_classes) == 0).nonzero().flatten().tolist()
        if absent and not torch.isnan(got[absent]).all():
            raise Incorrect(f"{case}, class {absent[-1]} has no images, so its accuracy is 0 / 0, undefined: return "
                            f"nan there, as the division gives; you returned {got[absent[-1]].item():g}, which reads "
                            "as 'every image wrong'.")
        precision = torch.bincount(y[y_pred == y], minlength=num_classes) / torch.bincount(y_pred, minlength=num_classes)
        if not torch.allclose(got, want, equal_nan=True) and torch.allclose(got, precision.double(), equal_nan=True):
            raise Incorrect(f"{case}, you divided by how often each class was predicted (that is precision): divide "
                            "by how many images of each class there are.")
        need(torch.allclose(got, want, equal_nan=True), f"{case}, you returned "
             f"{[round(v, 3) for v in got.tolist()[:10]]}, expected {[round(v, 3) for v in want.tolist()[:10]]}"
             f"{' (the first 10 classes)' if num_classes > 10 else ''}.")
    return (f"the right accuracy for every class, nan where a class has no images, in {operations} tensor "
            "operations for 200 labels of 50 classes: no loop over the labels or the classes.")


q3 = _ex.problem(
    _check_per_class, names=("per_class_accuracy",), title="A per-class metric without a Python loop", transfer=True,
    task="Write `per_class_accuracy(y_pred, y, num_classes)` for predicted and true labels (1-D integer tensors): "
         "a float tensor of shape `[num_classes]` whose entry `c` is the fraction of the images of true class `c` "
         "that were predicted right (`nan` for a class with no images). Use a few tensor operations, no Python "
         "loop over the labels or the classes, and no `.tolist()`. The check compares your values with its own on "
         "three cases, and counts the tensor operations your function runs.",
    starter='def per_class_accuracy(y_pred, y, num_classes):\n'
            '    """Per true class: the fraction of its images predicted right (nan for a class with no images)."""\n'
            '    right = ____    # for each class, how many of its images were predicted right\n'
            '    total = ____    # for each class, how many images it has\n'
            '    return ____',
    hint="Section 4 counted the images of each class with one operation, `torch.bincount`. To count each "
         "class's right answers the same way, which labels would you hand it?",
    solution='def per_class_accuracy(y_pred, y, num_classes):\n'
             '    """Per true class: the fraction of its images predicted right (nan for a class with no images)."""\n'
             '    right = torch.bincount(y[y_pred == y], minlength=num_classes)\n'
             '    total = torch.bincount(y, minlength=num_classes)\n'
             '    return right / total    # 0 / 0 gives nan',
)

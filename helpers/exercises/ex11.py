"""Exercises for notebook 11 (bottlenecks and profiling): timing an asynchronous device, FLOPs of a training step,
a per-class metric without a Python loop."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable

import torch
from torch import nn

from ._core import Exercises, Incorrect
from ._fake_device import FakeDevice, check_clocks, fake_clocks
from ._torch_ops import WatchedTensor
from ._util import call, close, need, number

_ex = Exercises("ex11")
bind = _ex.bind


# q1: timing on a device that runs asynchronously ---------------------------------------------------------------


def _run_on_device(time_on_device: Callable, durations: list[float], repeats: int, warmup: int) -> str:
    """Time the fake device with the learner's function; raise Incorrect saying what went wrong, or pass."""
    case = f"With warmup={warmup} and repeats={repeats}"
    device = FakeDevice(durations)
    with fake_clocks(time_on_device, device):
        got = call(time_on_device, device.fn, device.sync, repeats=repeats, warmup=warmup,
                   case=f"{case} on a fake device")
    need(not (warmup and device.calls == repeats), f"{case}, fn was called {repeats} times, so the warm-up calls "
                                                   "were missing: call fn() `warmup` times, untimed, first.")
    need(device.calls != 7 or warmup + repeats == 7,
         f"{case}, fn was called 7 times, as for the defaults (2 + 5): use the arguments `warmup` and `repeats`, "
         "not fixed numbers.")
    need(device.calls == warmup + repeats, f"{case}, fn was called {device.calls} times, expected {warmup + repeats}: "
                                           f"{warmup} untimed warm-up calls, then {repeats} timed ones.")
    got = number(f"time_on_device(fn, sync, repeats={repeats}, warmup={warmup})", got)
    check_clocks(device, got, warmup)
    readings = [seconds for *_, seconds in device.reads]
    for scale in (1.0, 1e9):  # seconds, or nanoseconds
        need(not min(readings) * scale - 1 <= got <= max(readings) * scale + 1,
             f"you returned {got:.6g}, a reading of the clock (a point in time, counted from an arbitrary start), "
             "not a duration: subtract the reading taken before the call, time.perf_counter() - start.")
    need(got >= 0, f"you returned {got:.4g} s, a negative time: a duration is the later reading minus the earlier "
                   "one, time.perf_counter() - start.")
    timed, q = durations[warmup:warmup + repeats], FakeDevice.QUEUE
    want = statistics.median(timed) + q
    need(not close(got, want * 1e9, 1e-3), f"you returned {got:.4g}, the median in nanoseconds (perf_counter_ns): "
                                           "divide by 1e9 to return seconds.")
    need(not close(got, want * 1e3, 1e-3), f"you returned {got:.4g}, the median in milliseconds: return seconds, as "
                                           "time.perf_counter() counts them.")
    if not close(got, want, 1e-3):
        _name_statistic(case, got, durations, warmup, repeats)
    return f"{want:g} s"


def _name_statistic(case: str, got: float, durations: list[float], warmup: int, repeats: int) -> None:
    """Raise Incorrect naming the statistic of the calls' times that `got`, not their median, is."""
    timed, q = durations[warmup:warmup + repeats], FakeDevice.QUEUE
    want = statistics.median(timed) + q
    if close(got, statistics.mean(timed) + q, 1e-3):
        raise Incorrect(f"{case}, you returned the mean of the {repeats} timed calls ({got:g} s): one slow call drags "
                        "it up. Return the median, statistics.median(...).")
    ordered, half = sorted(timed), repeats // 2
    for middle, which in ((ordered[half - 1], "lower of the two middle times, as torch.median and "
                                              "statistics.median_low give"),
                          (ordered[half], "upper of the two middle times, sorted(seconds)[len(seconds) // 2]")):
        need(repeats % 2 or not close(got, middle + q, 1e-3),
             f"{case}, you returned {got:g} s, the {which}: for an even count the median is "
             f"the mean of the two, {want:g} s, as statistics.median gives.")
    need(repeats < 3 or not close(got, statistics.mean(ordered[1:-1]) + q, 1e-3),
         f"{case}, you returned {got:g} s, the mean without the fastest and the slowest call: the median is the "
         f"middle time, {want:g} s (statistics.median).")
    everything = durations[:warmup + repeats]
    if warmup and any(close(got, f(everything) + q, 1e-3) for f in (statistics.median, statistics.mean)):
        raise Incorrect(f"{case}, you returned {got:g} s: the warm-up calls were timed with the others. Time only "
                        "the calls after the warm-up.")
    raise Incorrect(f"{case}, the timed calls took {', '.join(f'{d:g}' for d in timed)} s on the fake device (plus "
                    f"{q * 1000:g} ms each to queue); you returned {got:g} s, expected their median, {want:g} s.")


def _check_time_on_device(time_on_device: object) -> str:
    """Warm-up untimed, sync() before each clock reading, perf_counter, the median; on four fake runs."""
    need(callable(time_on_device), "`time_on_device` should be a function time_on_device(fn, sync, repeats, warmup).")
    medians = [_run_on_device(time_on_device, durations, repeats, warmup) for durations, repeats, warmup in [
        ([100.0, 100.0, 1.0, 2.0, 30.0, 3.0, 4.0], 5, 2),  # 2 slow warm-up calls, then one slow timed call
        ([50.0, 50.0, 50.0, 2.0, 40.0, 4.0], 3, 3),
        ([3.0, 30.0, 1.0], 3, 0),
        ([50.0, 60.0, 1.0, 40.0, 2.0, 20.0, 3.0, 10.0], 6, 2),  # an even count: the mean of the two middle times
    ]]
    return (f"untimed warm-up calls, the clock read only after sync(), and the median of the timed calls "
            f"({', '.join(medians)} on four fake runs): a slow call does not drag it.")


q1 = _ex.problem(
    _check_time_on_device, names=("time_on_device",), title="Timing a device that runs asynchronously",
    task="On a GPU, `fn()` only queues the work and returns at once; `torch.cuda.synchronize()` waits until the "
         "work is done. Write `time_on_device(fn, sync, repeats=5, warmup=2)`: call `fn()` `warmup` times untimed, "
         "then time `repeats` calls one by one with `time.perf_counter()`, calling `sync()` wherever the clock "
         "must not run ahead of the device, and return the median in seconds (for an even count, the mean of the "
         "two middle times, as `statistics.median` gives). The check passes a fake device "
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


@functools.cache  # the same four networks at every check: count each once
def _counted_step(widths: tuple[int, ...], batch: int) -> int:
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
        want = _counted_step(tuple(widths), batch)
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


def _per_class_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, int]]:
    """(description, y_pred, y, num_classes): two small cases of 4 classes (class 3 never occurs in the first), a
    larger one where class 9 never occurs, 50 classes."""
    generator = torch.Generator().manual_seed(0)

    def labels(n: int, classes: int, occurring: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, occurring, (n,), generator=generator)
        noise = torch.randint(0, classes, (n,), generator=generator)
        return torch.where(torch.rand(n, generator=generator) < 0.7, y, noise), y

    small = (torch.tensor([0, 1, 1, 1, 0, 2, 2, 0]), torch.tensor([0, 0, 1, 1, 1, 2, 2, 2]))
    again = (torch.tensor([3, 0, 1, 1, 2, 2, 0, 2]), torch.tensor([3, 0, 3, 1, 2, 1, 3, 2]))
    return [("For 8 labels of 4 classes", *small, 4), ("Called again, for 8 other labels of 4 classes", *again, 4),
            ("For 400 labels of 10 classes", *labels(400, 10, 9), 10),
            ("For 200 labels of 50 classes", *labels(200, 50, 50), 50)]


MAX_OPERATIONS = 30  # the solution runs 5 tensor operations, whatever the number of labels or classes


def _call_watched(per_class_accuracy: Callable, case: str, y_pred: torch.Tensor, y: torch.Tensor,
                  num_classes: int) -> tuple[torch.Tensor, int]:
    """The learner's result on watched copies of the labels, and the operations it ran; refuse a conversion, a
    changed input, a loop, a result that is not a float tensor of one entry per class."""
    try:
        got = call(per_class_accuracy, *WatchedTensor.watch(y_pred, y), num_classes, case=case)
    except Incorrect as err:
        need("ZeroDivisionError" not in str(err), f"{case}, your code raised ZeroDivisionError: integer division "
                                                  "(`//`) by 0, the count of a class with no images. `//` would also "
                                                  "round every accuracy down to 0 or 1: divide with `/`, which gives "
                                                  "fractions (and nan for 0 / 0).")
        need(not WatchedTensor.converted, f"{err} (after turning a tensor into a Python list or NumPy array)")
        raise
    operations, converted, in_place = WatchedTensor.operations, WatchedTensor.converted, WatchedTensor.in_place
    kind = {"ndarray": "a NumPy array", "list": "a Python list"}.get(type(got).__name__)
    need(not kind, f"{case}, you returned {kind}: return the tensor itself, one accuracy per class.")
    need("tolist" not in converted, "your function turned a tensor into a Python list (.tolist()) to work on it: "
                                    "faster than a loop over tensors, but still one Python step per element. Count "
                                    "with tensor operations.")
    need(not converted, "your function turned a tensor into a NumPy array (.numpy()) to work on it: count with "
                        "PyTorch's own operations.")
    changed = [n for n, t, kept in zip(("y_pred", "y"), WatchedTensor.inputs, (y_pred, y)) if not torch.equal(t, kept)]
    need(not changed, f"{case}, your function changed the `{'` and `'.join(changed)}` it was given"
                      f"{f' ({in_place[0]})' if in_place else ''}: the caller's labels are lost. Compute new tensors "
                      "(y_pred == y, not y_pred.eq_(y); a masked copy, not an assignment into the labels).")
    need(isinstance(got, torch.Tensor), f"{case}, you returned {type(got).__name__}: return a tensor with one "
                                        "accuracy per class.")
    need(operations <= MAX_OPERATIONS or operations < len(y), f"{case}, your function ran {operations} tensor "
         "operations, one or more per label: a Python loop over the labels. Count all the labels at once.")
    need(operations <= MAX_OPERATIONS, f"{case}, your function ran {operations} tensor operations, several per "
                                       "class: a Python loop over the classes. One operation can count every "
                                       "class at once.")
    need(tuple(got.shape) == (num_classes,), f"{case}, you returned shape {list(got.shape)}, expected "
                                             f"[{num_classes}]: a class that never occurs still gets its entry "
                                             "(bincount's minlength).")
    need(got.is_floating_point(), f"{case}, you returned {got.dtype} values: accuracies are fractions.")
    return got.as_subclass(torch.Tensor).detach(), operations


def _diagnose(case: str, got: torch.Tensor, y_pred: torch.Tensor, y: torch.Tensor, tol: float,
              earlier: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Raise Incorrect naming what is wrong with `got`, accuracies (float64) that differ from the right ones."""
    n = len(got)
    right, total = torch.bincount(y[y_pred == y], minlength=n), torch.bincount(y, minlength=n)
    want = (right / total).double()

    def same(values: torch.Tensor) -> bool:
        return torch.allclose(got, values.double(), rtol=tol, atol=tol, equal_nan=True)
    for right_then, total_then in earlier:
        need(len(total_then) != n or not any(same(r / t) for r, t in ((right, total_then), (right_then, total),
                                                                      (right_then, total_then))),
             f"{case}, you returned values that come from an earlier call's labels: your function keeps something "
             "between calls (a cache, a global, a default argument). Compute everything from this call's labels.")
    outside = ((got < 0) | (got > 1)).nonzero().flatten().tolist()
    if outside:
        raise Incorrect(f"{case}, class {outside[0]} got {got[outside[0]].item():g}, but an accuracy is a fraction "
                        "between 0 and 1: `right` should hold one count per class, the images of that class "
                        "predicted right, never more than the class has.")
    overall = (y_pred == y).double().mean()
    need(not same(overall.expand(n)), f"{case}, every class got {overall:.3f}, the overall accuracy: count each "
                                      "class apart.")
    need(not same(right / len(y)), f"{case}, you divided each class's right answers by all {len(y)} images: divide "
                                   "by the images of that class.")
    absent = (total == 0).nonzero().flatten().tolist()
    if absent and not torch.isnan(got[absent]).all():
        raise Incorrect(f"{case}, class {absent[-1]} has no images, so its accuracy is 0 / 0, undefined: return "
                        f"nan there, as the division gives; you returned {got[absent[-1]].item():g}, which reads "
                        "as 'every image wrong'.")
    need(not same(right / torch.bincount(y_pred, minlength=n)),
         f"{case}, you divided by how often each class was predicted (that is precision): divide by how many images "
         "of each class there are.")
    c = int((~torch.isclose(got, want, rtol=tol, atol=tol, equal_nan=True)).nonzero()[0])
    images = f"class {c} has {total[c]} image{'s' * (total[c] != 1)}"
    need(not (want[c] == 0 and got[c].isnan()), f"{case}, {images}, none predicted right: its accuracy is 0 / "
                                                f"{total[c]} = 0, but you returned nan, which is for a class with no "
                                                "images (0 / 0).")
    raise Incorrect(f"{case}, {images}, {right[c]} predicted right: its accuracy is {want[c]:.4g}, you returned "
                    f"{got[c]:.4g}.")


def _check_per_class(per_class_accuracy: object) -> str:
    """The right values, from a handful of tensor operations: no loop over the labels or the classes, no state."""
    need(callable(per_class_accuracy), "`per_class_accuracy` should be a function "
                                       "per_class_accuracy(y_pred, y, num_classes).")
    earlier: list[tuple[torch.Tensor, torch.Tensor]] = []  # (right, total) of each case before
    for case, y_pred, y, num_classes in _per_class_cases():
        got, operations = _call_watched(per_class_accuracy, case, y_pred, y, num_classes)
        tol = max(1e-5, 4 * torch.finfo(got.dtype).eps)  # float16 and bfloat16 hold fewer digits
        right, total = torch.bincount(y[y_pred == y], minlength=num_classes), torch.bincount(y, minlength=num_classes)
        if not torch.allclose(got.double(), (right / total).double(), rtol=tol, atol=tol, equal_nan=True):
            _diagnose(case, got.double(), y_pred, y, tol, earlier)
        earlier.append((right, total))
    return (f"the right accuracy for every class, nan where a class has no images, in {operations} tensor "
            "operations for 200 labels of 50 classes: no loop over the labels or the classes.")


q3 = _ex.problem(
    _check_per_class, names=("per_class_accuracy",), title="A per-class metric without a Python loop", transfer=True,
    task="Write `per_class_accuracy(y_pred, y, num_classes)` for predicted and true labels (1-D integer tensors): "
         "a tensor of floats (any floating dtype) of shape `[num_classes]` whose entry `c` is the fraction of the "
         "images of true class `c` that were predicted right (`nan` for a class with no images). Use a few tensor "
         "operations, no Python loop over the labels or the classes, and no `.tolist()`; leave `y_pred` and `y` "
         "as they are. The check compares your values with its own on four cases, and counts the tensor "
         "operations your function runs.",
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

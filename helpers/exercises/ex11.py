"""Exercises for notebook 11 (bottlenecks and profiling): timing with warm-up and median, FLOPs, no Python loop."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import torch

from ._core import Exercises, Incorrect
from ._util import call, close, need, number

_ex = Exercises("ex11")
bind = _ex.bind


@contextlib.contextmanager
def _fake_clock(fn: Callable) -> Iterator[dict]:
    """Replace time.perf_counter (and a `perf_counter` the learner imported) by a clock the timed calls move."""
    clock = {"now": 1000.0}
    fake = lambda: clock["now"]
    names = [n for n in ("perf_counter",) if n in getattr(fn, "__globals__", {})]
    real, saved = time.perf_counter, {n: fn.__globals__[n] for n in names}
    time.perf_counter = fake
    fn.__globals__.update({n: fake for n in names})
    try:
        yield clock
    finally:
        time.perf_counter = real
        fn.__globals__.update(saved)


def _check_time_median(time_median: object) -> str:
    """Warm-up calls untimed, perf_counter timing, the median, on a fake clock."""
    need(callable(time_median), "`time_median` should be a function time_median(fn, repeats, warmup).")
    durations = [100.0, 100.0, 1.0, 2.0, 30.0]  # two slow warm-up calls, then three timed ones
    calls = []
    with _fake_clock(time_median) as clock:
        def fn() -> None:
            """A call that moves the fake clock by its planned duration."""
            clock["now"] += durations[min(len(calls), len(durations) - 1)]
            calls.append(1)

        got = call(time_median, fn, repeats=3, warmup=2, case="With a fake clock, repeats=3 and warmup=2")
    need(len(calls) == 5, f"fn was called {len(calls)} times, expected 5: 2 warm-up calls, then 3 timed ones.")
    got = number("time_median(fn, repeats=3, warmup=2)", got)
    if close(got, 100.0):
        raise Incorrect("your median includes the warm-up calls (100 s each on the fake clock): time only the calls "
                        "after the warm-up loop.")
    if close(got, 11.0):
        raise Incorrect("you returned the mean of 1, 2 and 30 s (11 s): one slow run drags the mean up. Return the "
                        "median, statistics.median(seconds).")
    if got < 1e-3:
        raise Incorrect(f"you returned {got:.3g} s: your timing did not read time.perf_counter(), the clock the "
                        "check controls (time.time() is the calendar clock, coarse and adjustable).")
    need(close(got, 2.0), f"the timed calls took 1, 2 and 30 s on the fake clock; you returned {got:g}, "
                          "expected the median, 2.")
    return "two untimed warm-up calls, three timed with time.perf_counter, and the median (2 s) of 1, 2 and 30 s."


q1 = _ex.problem(
    _check_time_median, names=("time_median",), title="Timing done right",
    task="Write `time_median(fn, repeats, warmup)`: call `fn()` `warmup` times untimed, then time `repeats` calls "
         "one by one with `time.perf_counter()`, and return the median in seconds. The check gives it a fake "
         "clock with slow warm-up calls and one slow timed call, so it knows the right answer exactly.",
    starter='def time_median(fn, repeats=7, warmup=1):\n'
            '    """The median seconds of `repeats` timed calls of fn(), after `warmup` untimed ones."""\n'
            '    for _ in range(warmup):\n'
            '        ____\n'
            '    seconds = []\n'
            '    for _ in range(repeats):\n'
            '        start = ____\n'
            '        fn()\n'
            '        seconds.append(____)\n'
            '    return ____',
    hint="start = time.perf_counter(); after fn(), time.perf_counter() - start is one call's time. "
         "statistics.median(seconds) ignores a few slow outliers; the mean does not.",
    solution='def time_median(fn, repeats=7, warmup=1):\n'
             '    """The median seconds of `repeats` timed calls of fn(), after `warmup` untimed ones."""\n'
             '    for _ in range(warmup):\n'
             '        fn()\n'
             '    seconds = []\n'
             '    for _ in range(repeats):\n'
             '        start = time.perf_counter()\n'
             '        fn()\n'
             '        seconds.append(time.perf_counter() - start)\n'
             '    return statistics.median(seconds)',
)


def _check_linear_flops(linear_flops: object) -> str:
    """The learner's count equals FlopCounterMode's for four layers."""
    from torch.utils.flop_counter import FlopCounterMode

    need(callable(linear_flops), "`linear_flops` should be a function linear_flops(in_features, out_features, batch).")
    for n_in, n_out, batch in [(64, 64, 32), (64, 10, 32), (3, 7, 5), (1, 1, 1)]:
        case = f"For nn.Linear({n_in}, {n_out}) on a batch of {batch}"
        got = number(f"linear_flops({n_in}, {n_out}, {batch})", call(linear_flops, n_in, n_out, batch, case=case))
        with FlopCounterMode(display=False) as counter:
            torch.nn.Linear(n_in, n_out)(torch.zeros(batch, n_in))
        want = counter.get_total_flops()
        need(not close(got, want / 2), f"{case}, you counted {got:g}, half of FlopCounterMode's {want:,}: a "
                                       "multiply-add is 2 FLOPs, a multiplication and an addition.")
        need(not close(got, want + n_out * batch), f"{case}, you counted {got:g}: FlopCounterMode counts the matrix "
                                                   "product only, without the bias additions.")
        need(close(got, want), f"{case}, you counted {got:g}, FlopCounterMode counts {want:,} = 2 * in * out * batch.")
    return "the same count as FlopCounterMode for every layer: 2 * in * out * batch for the matrix product."


q2 = _ex.problem(
    _check_linear_flops, names=("linear_flops",), title="FLOPs of a Linear layer",
    task="Write `linear_flops(in_features, out_features, batch)`: the FLOPs of the matrix product of "
         "`nn.Linear(in_features, out_features)` on a batch, counted the way `FlopCounterMode` counts them. "
         "The check compares your count with `FlopCounterMode` for four layers.",
    starter='def linear_flops(in_features, out_features, batch):\n'
            '    """FLOPs of the matrix product of nn.Linear(in_features, out_features) on a batch."""\n'
            '    return ____',
    hint="Each output of each sample sums in_features products: in_features multiplications and as many "
         "additions, 2 FLOPs per multiply-add. FlopCounterMode leaves the bias out.",
    solution='def linear_flops(in_features, out_features, batch):\n'
             '    """FLOPs of the matrix product of nn.Linear(in_features, out_features) on a batch."""\n'
             '    return 2 * in_features * out_features * batch',
)


class _NoLoop(torch.Tensor):
    """A tensor that refuses to be looped over element by element in Python."""

    def __iter__(self):
        """Refuse a Python loop over the elements."""
        raise Incorrect("your function loops over the tensor in Python, one element at a time: compare all the "
                        "predictions in one operation, (y_pred == y).")


def _check_vectorised(accuracy_vectorised: object) -> str:
    """The loop's answer, from tensors that refuse to be looped over."""
    need(callable(accuracy_vectorised), "`accuracy_vectorised` should be a function accuracy_vectorised(y_pred, y).")
    generator = torch.Generator().manual_seed(0)
    for n in (1437, 7, 1):
        y = torch.randint(0, 10, (n,), generator=generator)
        y_pred = torch.where(torch.rand(n, generator=generator) < 0.7, y, (y + 1) % 10)
        want = (y_pred == y).float().mean().item()
        got = call(accuracy_vectorised, y_pred.as_subclass(_NoLoop), y.as_subclass(_NoLoop),
                   case=f"For {n} predicted labels")
        need(not isinstance(got, torch.Tensor), "you returned a tensor: return a Python number (.item()).")
        need(not (isinstance(got, int) and got == round(want * n) and n > 1), f"for {n} predicted labels you "
             f"returned {got}, the number of right answers: divide by the number of labels (.float().mean()).")
        need(isinstance(got, float), f"you returned {type(got).__name__}: return the fraction as a Python float.")
        need(close(got, want), f"for {n} predicted labels you returned {got:.4f}, expected {want:.4f}.")
    return "the same accuracy as the loop, from one comparison of all the labels at once: no Python loop."


q3 = _ex.problem(
    _check_vectorised, names=("accuracy_vectorised",), title="No Python loop",
    task="Write `accuracy_vectorised(y_pred, y)` for predicted and true labels (1-D tensors): the fraction of "
         "correct predictions, with no Python loop over the elements. The check compares it with the loop's "
         "answer and refuses any loop over a tensor.",
    starter='def accuracy_vectorised(y_pred, y):\n'
            '    """The fraction of predicted labels equal to the true ones, in one tensor operation."""\n'
            '    return ____',
    hint="y_pred == y compares every pair at once and gives a tensor of True/False; .float().mean() turns it "
         "into the fraction, and .item() into a Python number.",
    solution='def accuracy_vectorised(y_pred, y):\n'
             '    """The fraction of predicted labels equal to the true ones, in one tensor operation."""\n'
             '    return (y_pred == y).float().mean().item()',
)

"""helpers.profiling: warm-up runs are not timed, repeats and medians are right, bad input is refused.

A fake clock makes the times exact (each call of the timed function advances it by a chosen amount),
so no test here depends on how fast the machine is.
"""

import time

import pytest
import torch
from torch import nn

from helpers.profiling import (
    Timing,
    format_seconds,
    model_bytes,
    speedup,
    synchronize,
    time_interleaved,
    time_it,
)


class FakeClock:
    """A clock that only moves when a function made by `step` is called."""

    def __init__(self):
        self.now, self.reads, self.calls = 0.0, 0, []

    def __call__(self):
        self.reads += 1
        return self.now

    def step(self, name, durations):
        """Return a function that records its call and advances the clock by the next duration."""
        durations = iter(durations)

        def fn():
            self.calls.append(name)
            self.now += next(durations)

        return fn


def test_warmup_calls_are_made_but_not_timed():
    clock = FakeClock()
    timing = time_it(clock.step("f", [100.0, 50.0, 1.0, 2.0, 3.0]), repeats=3, warmup=2, clock=clock)
    assert clock.calls == ["f"] * 5
    assert timing.times == (1.0, 2.0, 3.0)
    assert timing.warmup == 2 and timing.repeats == 3
    assert clock.reads == 6  # the clock is read around timed runs only


def test_zero_warmup_times_the_first_call():
    clock = FakeClock()
    timing = time_it(clock.step("f", [9.0, 1.0]), repeats=2, warmup=0, clock=clock)
    assert timing.times == (9.0, 1.0)


def test_number_divides_each_run_by_the_calls_it_made():
    clock = FakeClock()
    timing = time_it(clock.step("f", [1.0, 3.0, 5.0, 7.0]), repeats=2, warmup=0, number=2, clock=clock)
    assert len(clock.calls) == 4
    assert timing.times == (2.0, 6.0)


@pytest.mark.parametrize("repeats", [1, 4, 9])
def test_repeats_gives_that_many_times(repeats):
    clock = FakeClock()
    timing = time_it(clock.step("f", [1.0] * (repeats + 1)), repeats=repeats, clock=clock)
    assert timing.repeats == repeats and len(clock.calls) == repeats + 1


def test_median_quartiles_and_range():
    timing = Timing((5.0, 1.0, 4.0, 2.0, 3.0))
    assert (timing.median, timing.q1, timing.q3, timing.iqr) == (3.0, 2.0, 4.0, 2.0)
    assert (timing.min, timing.max) == (1.0, 5.0)
    even = Timing((4.0, 1.0, 3.0, 2.0))
    assert even.median == 2.5 and even.q1 == pytest.approx(1.75) and even.q3 == pytest.approx(3.25)
    one = Timing((0.5,))
    assert one.median == one.q1 == one.q3 == 0.5 and one.iqr == 0


def test_one_slow_run_moves_the_mean_but_not_the_median():
    timing = Timing((1.0, 1.0, 1.0, 1.0, 100.0))
    assert timing.median == 1.0 and sum(timing.times) / 5 > 20


def test_interleaved_takes_turns_after_warming_each_up():
    clock = FakeClock()
    fns = {"a": clock.step("a", [10.0, 1.0, 1.0, 1.0]), "b": clock.step("b", [10.0, 4.0, 4.0, 4.0])}
    timings = time_interleaved(fns, repeats=3, warmup=1, clock=clock)
    assert clock.calls == ["a", "b", "a", "b", "a", "b", "a", "b"]
    assert list(timings) == ["a", "b"]
    assert timings["a"].times == (1.0,) * 3 and timings["b"].times == (4.0,) * 3
    assert speedup(timings["b"], timings["a"]) == 4.0


def test_real_clock_on_cpu_gives_positive_times_in_order():
    timing = time_it(lambda: sum(range(1000)), repeats=3, warmup=1, device="cpu")
    assert timing.repeats == 3 and all(t > 0 for t in timing.times)
    assert timing.min <= timing.q1 <= timing.median <= timing.q3 <= timing.max
    slept = time_it(lambda: time.sleep(0.002), repeats=2, warmup=0)
    assert slept.min >= 0.002  # perf_counter counts time asleep: it is wall-clock time


def test_synchronize_accepts_cpu_and_none():
    synchronize("cpu")
    synchronize(torch.device("cpu"))
    synchronize(None)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_cuda_is_refused_in_plain_words():
    with pytest.raises(ValueError, match="CUDA is not available"):
        time_it(lambda: None, device="cuda")


def test_str_names_median_middle_half_and_runs():
    text = str(Timing((0.001, 0.002, 0.003)))
    assert text == "median 2 ms (middle half 1.5 ms to 2.5 ms, 3 runs)"
    assert str(Timing((4e-6, 1e-6, 2e-6, 3e-6))) == "median 2.5 µs (middle half 1.75 µs to 3.25 µs, 4 runs)"


@pytest.mark.parametrize(
    "seconds, expected",
    [(1.234, "1.23 s"), (0.00456, "4.56 ms"), (1.23e-5, "12.3 µs"), (8.5e-7, "850 ns"), (0.0, "0 ns"), (75.0, "75 s")],
)
def test_format_seconds_picks_the_unit(seconds, expected):
    assert format_seconds(seconds) == expected


def test_speedup_is_the_ratio_of_medians():
    assert speedup(Timing((10.0, 12.0, 8.0)), Timing((2.0, 2.0, 100.0))) == 5.0


def test_model_bytes_counts_parameters_and_buffers():
    assert model_bytes(nn.Linear(3, 2)) == (3 * 2 + 2) * 4  # float32: 4 bytes each
    assert model_bytes(nn.Linear(3, 2).half()) == (3 * 2 + 2) * 2
    # BatchNorm1d(4): weight, bias (parameters); running_mean, running_var (float) and num_batches_tracked (int64)
    assert model_bytes(nn.BatchNorm1d(4)) == 4 * 4 * 4 + 8
    shared = nn.Linear(3, 2)
    assert model_bytes(nn.Sequential(shared, shared)) == model_bytes(shared)  # a shared layer counts once


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"repeats": 0}, ValueError, "repeats"),
        ({"repeats": 2.5}, TypeError, "repeats"),
        ({"warmup": -1}, ValueError, "warmup"),
        ({"warmup": True}, TypeError, "warmup"),
        ({"number": 0}, ValueError, "number"),
        ({"device": "gpu"}, ValueError, "device"),
        ({"device": 0.5}, TypeError, "device"),
        ({"clock": 3.0}, TypeError, "clock"),
    ],
)
def test_time_it_refuses_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        time_it(lambda: None, **kwargs)


def test_bad_functions_and_values_are_refused():
    with pytest.raises(TypeError, match="fn must be a function"):
        time_it("not a function")
    with pytest.raises(TypeError, match="fns must be a non-empty dict"):
        time_interleaved([lambda: None])
    with pytest.raises(TypeError, match=r"fns\['b'\]"):
        time_interleaved({"a": lambda: None, "b": 3})
    with pytest.raises(TypeError, match="before must be a Timing"):
        speedup(0.5, Timing((1.0,)))
    with pytest.raises(ValueError, match="too fast for the clock"):
        speedup(Timing((1.0,)), Timing((0.0,)))
    with pytest.raises(ValueError, match="non-empty"):
        Timing(())
    with pytest.raises(ValueError, match="negative"):
        Timing((1.0, -0.5))
    with pytest.raises(TypeError, match="each time must be a number"):
        Timing(("fast",))
    with pytest.raises(ValueError, match="seconds must not be negative"):
        format_seconds(-1.0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        model_bytes("model.pt")

"""helpers.exercises.ex11 (notebook 11): starting code, solutions, plausible wrong answers refused with a message, and
other right answers accepted."""

from __future__ import annotations

import statistics
import time

import pytest
from _exercises import ExerciseModule, apply_edit, verdict

LOOP_OVER_LIST = '''def per_class_accuracy(y_pred, y, num_classes):
    right, total = [0] * num_classes, [0] * num_classes
    for p, t in zip(y_pred.tolist(), y.tolist()):
        total[t] += 1
        right[t] += p == t
    return torch.tensor(right) / torch.tensor(total)'''

LOOP_OVER_TENSORS = '''def per_class_accuracy(y_pred, y, num_classes):
    right, total = torch.zeros(num_classes), torch.zeros(num_classes)
    for p, t in zip(y_pred, y):
        total[t] += 1
        right[t] += p == t
    return right / total'''

LOOP_OVER_CLASSES = '''def per_class_accuracy(y_pred, y, num_classes):
    return torch.stack([(y_pred[y == c] == c).float().mean() for c in range(num_classes)])'''

ONE_HOT = '''def per_class_accuracy(y_pred, y, num_classes):
    one_hot = torch.nn.functional.one_hot(y, num_classes)
    right = (one_hot * (y_pred == y).unsqueeze(1)).sum(dim=0)
    return right.float() / one_hot.sum(dim=0)'''

SCATTER_ADD = '''def per_class_accuracy(y_pred, y, num_classes):
    right = torch.zeros(num_classes).scatter_add_(0, y, (y_pred == y).float())
    total = torch.zeros(num_classes).scatter_add_(0, y, torch.ones(len(y)))
    return right / total'''

FORWARD_ONLY = '''def mlp_step_flops(widths, batch):
    return sum(2 * n_in * n_out * batch for n_in, n_out in zip(widths, widths[1:]))'''

MEAN_OF_BLOCK = '''def time_on_device(fn, sync, repeats=5, warmup=2):
    for _ in range(warmup):
        fn()
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync()
    return (time.perf_counter() - start) / repeats'''

IN_NANOSECONDS = '''def time_on_device(fn, sync, repeats=5, warmup=2):
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter_ns()
        fn()
        sync()
        seconds.append((time.perf_counter_ns() - start){scale})
    return statistics.median(seconds)'''

IMPORTED_BY_NAME = '''from time import perf_counter
from statistics import median

def time_on_device(fn, sync, repeats=5, warmup=2):
    for _ in range(warmup):
        fn()
    sync()                      # the warm-up's work done before any clock is read
    seconds = []
    for _ in range(repeats):
        start = perf_counter()
        fn()
        sync()
        seconds.append(perf_counter() - start)
    return median(seconds)'''

HARD_CODED = '''def time_on_device(fn, sync, repeats=5, warmup=2):
    for _ in range(2):
        fn()
    seconds = []
    for _ in range(5):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)'''

SOLUTION_TIMED = "        seconds.append(time.perf_counter() - start)\n"
MEDIAN = "statistics.median(seconds)"

PER_CLASS = """def per_class_accuracy(y_pred, y, num_classes):
    {}
    total = torch.bincount(y, minlength=num_classes)
    return {}"""
CACHED_TOTALS = """_totals = {}
def per_class_accuracy(y_pred, y, num_classes):
    if num_classes not in _totals:
        _totals[num_classes] = torch.bincount(y, minlength=num_classes)
    return torch.bincount(y[y_pred == y], minlength=num_classes) / _totals[num_classes]"""
RIGHT_BY_WEIGHTS = "right = torch.bincount(y, weights=(y_pred == y).float(), minlength=num_classes)"


class TestEx11(ExerciseModule):
    module = "ex11"
    names = {"time": time, "statistics": statistics}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("        sync()                      # wait until the device has finished\n", ""),
         "stopped the clock while the device was still working"),
        ("q1", ("        sync()                      # nothing left over from earlier work\n", ""),
         "warm-up's work was still queued"),
        ("q1", ("statistics.median(seconds)", "sum(seconds) / len(seconds)"), "the mean"),
        ("q1", MEAN_OF_BLOCK, "the mean"),
        ("q1", ("    for _ in range(warmup):\n        fn()\n", ""), "warm-up calls were missing"),
        ("q1", ("time.perf_counter()", "time.time()"), "time.time(), the calendar clock"),
        ("q1", ("time.perf_counter()", "time.monotonic()"), "ticks only every few milliseconds"),
        # found by a learner: the clock's reading instead of a duration; two clocks mixed; the defaults hard-coded
        ("q1", (SOLUTION_TIMED, "        seconds.append(time.perf_counter())\n"), "a reading of the clock"),
        ("q1", (SOLUTION_TIMED, "        seconds.append(time.time() - start)\n"), "two different clocks"),
        ("q1", HARD_CODED, "as for the defaults (2 + 5)"),
        ("q1", ("range(warmup)", "range(2)"), "expected 6: 3 untimed warm-up calls"),
        ("q1", (SOLUTION_TIMED, "        seconds.append(start - time.perf_counter())\n"), "negative"),
        ("q1", IN_NANOSECONDS.format(scale=""), "nanoseconds"),
        ("q1", ("statistics.median(seconds)", "statistics.median(seconds) * 1000"), "milliseconds"),
        # found by a red-team read: middle statistics that agree with the median on odd counts; a CPU-time clock;
        # helpers' time_it, which neither calls sync() nor reads the clock the check controls
        ("q1", (MEDIAN, "sum(sorted(seconds)[1:-1]) / (len(seconds) - 2)"), "without the fastest and the slowest"),
        ("q1", (MEDIAN, "sorted(seconds)[len(seconds) // 2]"), "the upper of the two middle times"),
        ("q1", (MEDIAN, "torch.tensor(seconds, dtype=torch.float64).median().item()"),
         "the lower of the two middle times, as torch.median"),
        ("q1", (MEDIAN, "statistics.median_low(seconds)"), "the lower of the two middle times"),
        ("q1", (MEDIAN, "sorted(seconds)[(len(seconds) - 1) // 2]"), "the lower of the two middle times"),
        ("q1", ("time.perf_counter()", "time.process_time()"), "time.process_time(), which counts only the CPU time"),
        ("q1", ("time.perf_counter()", "time.thread_time()"), "time.thread_time(), which counts only the CPU time"),
        ("q1", "from helpers.profiling import time_it\n\ndef time_on_device(fn, sync, repeats=5, warmup=2):\n"
               "    return time_it(fn, repeats=repeats, warmup=warmup).median",
         "helpers' time_it: it never calls sync()"),
        ("q2", ("total - 2 * widths[0] * widths[1] * batch", "total"), "needs no gradient"),
        ("q2", FORWARD_ONLY, "the forward pass alone"),
        ("q2", FORWARD_ONLY.replace("return sum", "return 2 * sum"), "two gradients"),
        ("q2", ("total - 2 * widths[0] * widths[1] * batch", "total - 2 * widths[-2] * widths[-1] * batch"),
         "the last layer"),
        ("q2", ("3 * (2 * n_in * n_out * batch)", "3 * (2 * n_in * n_out * batch + n_out * batch)"), "bias"),
        ("q2", ("* batch", ""), "grow with the batch"),
        ("q3", (", minlength=num_classes)", ")"), "minlength"),
        ("q3", ("total = torch.bincount(y, minlength", "total = torch.bincount(y_pred, minlength"), "precision"),
        ("q3", ("return right / total", "return right / total.clamp(min=1)"), "no images"),
        ("q3", ("return right / total", "return (y_pred == y).float().mean().expand(num_classes)"),
         "the overall accuracy"),
        ("q3", ("return right / total", "return right / len(y)"), "by all"),
        ("q3", LOOP_OVER_LIST, ".tolist()"),
        ("q3", LOOP_OVER_TENSORS, "one or more per label"),
        # found by a learner: a loop over the classes; one count of right answers for all classes together
        ("q3", LOOP_OVER_CLASSES, "a Python loop over the classes"),
        ("q3", ("right = torch.bincount(y[y_pred == y], minlength=num_classes)", "right = (y_pred == y).sum()"),
         "between 0 and 1"),
        # found by a red-team read: the caller's labels changed in place; state kept between calls; nan for a class
        # with images but none right; the result returned as a NumPy array; integer division
        ("q3", PER_CLASS.format(RIGHT_BY_WEIGHTS.replace("(y_pred == y)", "y_pred.eq_(y)"), "right / total"),
         "changed the `y_pred` it was given (eq_)"),
        ("q3", PER_CLASS.format("y_pred[y_pred != y] = num_classes\n    right = torch.bincount(y_pred, "
                                "minlength=num_classes + 1)[:num_classes]", "right / total"),
         "changed the `y_pred` it was given (__setitem__)"),
        ("q3", CACHED_TOTALS, "an earlier call's labels"),
        ("q3", PER_CLASS.format("right = torch.bincount(y[y_pred == y], minlength=num_classes).float()",
                                "torch.where(right == 0, torch.nan, right / total.clamp(min=1))"),
         "class 17 has 1 image, none predicted right: its accuracy is 0 / 1 = 0, but you returned nan"),
        ("q3", ("return right / total", "return (right / total).numpy()"), "you returned a NumPy array"),
        ("q3", ("return right / total", "return right // total"), "integer division"),
        ("q3", ("return right / total", "return (right / total).tolist()"), "you returned a Python list"),
    ]


# Other right answers, each checked Correct: other clocks' units, names imported from time, other tensor operations.
RIGHT = [
    ("q1", IN_NANOSECONDS.format(scale=" / 1e9")),
    ("q1", IMPORTED_BY_NAME),
    ("q1", (MEDIAN, "(sorted(seconds)[(len(seconds) - 1) // 2] + sorted(seconds)[len(seconds) // 2]) / 2")),
    ("q3", ("return right / total", "return right.double() / total")),
    ("q3", ("return right / total", "return right.float() / total.float()")),
    ("q3", ONE_HOT),
    ("q3", SCATTER_ADD),
    ("q3", ("return right / total", "return (right / total).half()")),  # any floating dtype, compared at its precision
    ("q3", PER_CLASS.format(RIGHT_BY_WEIGHTS, "right / total")),
]


@pytest.mark.parametrize("q, edit", RIGHT, ids=[f"{q}-{i}" for i, (q, _) in enumerate(RIGHT)])
def test_other_right_answers_are_correct(q, edit):
    result = verdict("ex11", q, apply_edit("ex11", q, edit), TestEx11.names)
    assert result.state == "correct", result


def test_a_check_leaves_the_clocks_as_they_were():
    clocks = {name: getattr(time, name) for name in ("perf_counter", "perf_counter_ns", "time", "monotonic",
                                                     "process_time", "thread_time_ns")}
    verdict("ex11", "q1", apply_edit("ex11", "q1", IMPORTED_BY_NAME), TestEx11.names)
    raising = "def time_on_device(fn, sync, repeats=5, warmup=2):\n    raise ValueError('no')"
    verdict("ex11", "q1", raising, TestEx11.names)
    assert all(getattr(time, name) is f for name, f in clocks.items())

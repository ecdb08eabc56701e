"""helpers.exercises.ex11 (notebook 11): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import statistics
import time

from _exercises import ExerciseModule

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
        ("q1", ("time.perf_counter()", "time.time()"), "without reading time.perf_counter()"),
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
        ("q3", LOOP_OVER_LIST, ".tolist()"),
        ("q3", LOOP_OVER_TENSORS, "one per label"),
    ]

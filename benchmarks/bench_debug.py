"""How long helpers.debug.diagnose takes (5 steps) on the line and on the digits CNN; goal: under 1 s each.

Usage: python benchmarks/bench_debug.py [--repeats N]
Prints one line per case: the median, min and max seconds of N runs of diagnose (after one warm-up
run), and the same 5 steps run plainly (interleaved with diagnose's runs), to show what the watching
costs, with the codes the report holds. The cases: the line; helpers.classify.DigitCNN on the whole
training set and on one batch of 64 digits (issue 20's goal), correct and with two of the bugs the
doctor must name (a learning rate that blows the loss up, labels shuffled inside the step), since a
finding's checks cost time too.
`measure(repeats)` returns the numbers as a dict for benchmarks/bench.py.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time

import torch
from torch import nn

import helpers
from helpers.classify import DigitCNN
from helpers.debug import diagnose

STEPS = 5


def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The course's training digits [1437, 1, 8, 8] (random images of that size if the data is missing)."""
    try:
        from helpers.vision import load_digits

        return load_digits("train")
    except (FileNotFoundError, ImportError):
        g = torch.Generator().manual_seed(0)
        return torch.rand(1437, 1, 8, 8, generator=g), torch.randint(0, 10, (1437,), generator=g)


def shuffled_labels_step(model, X, y, loss_fn, optimizer) -> float:
    """A buggy step: the labels are shuffled on their own, so they no longer match X (wrong-target)."""
    return helpers.train_step(model, X, y[torch.randperm(len(y))], loss_fn, optimizer)


def cases() -> dict[str, tuple]:
    """name -> (step, model, loss_fn, optimizer, X, y): the line's 40 training points; the digits CNN."""
    torch.manual_seed(42)
    X_train, y_train, _, _ = helpers.train_test_split(*helpers.make_line_data())
    line = helpers.LinearRegressionModel()
    X_all, y_all = _digits()
    batch = torch.randperm(len(X_all), generator=torch.Generator().manual_seed(0))[:64]
    X_64, y_64 = X_all[batch], y_all[batch]
    cnns = [DigitCNN() for _ in range(4)]
    adam = [torch.optim.Adam(m.parameters()) for m in cnns[:3]] + [torch.optim.Adam(cnns[3].parameters(), lr=1.0)]
    ce = nn.CrossEntropyLoss()
    return {
        "line (LinearRegressionModel, L1, SGD, 40 points)": (
            helpers.train_step, line, nn.L1Loss(), torch.optim.SGD(line.parameters(), lr=0.01), X_train, y_train
        ),
        "digits CNN, full training set [1437, 1, 8, 8] (CrossEntropy, Adam)": (
            helpers.train_step, cnns[0], ce, adam[0], X_all, y_all
        ),
        "digits CNN, one batch [64, 1, 8, 8] (CrossEntropy, Adam)": (
            helpers.train_step, cnns[1], ce, adam[1], X_64, y_64
        ),
        "digits CNN, one batch of 64, labels shuffled in the step (wrong-target)": (
            shuffled_labels_step, cnns[2], ce, adam[2], X_64, y_64
        ),
        "digits CNN, one batch of 64, Adam at lr=1 (loss-exploding)": (
            helpers.train_step, cnns[3], ce, adam[3], X_64, y_64
        ),
    }


def _times(fns: list, repeats: int) -> list[list[float]]:
    """Seconds of `repeats` rounds of calls of each fn, interleaved (so load from elsewhere hits all alike)."""
    for fn in fns:
        fn()  # warm-up
    seconds: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, seconds):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return seconds


def measure(repeats: int = 7, only: int | None = None) -> dict[str, dict[str, float]]:
    """For each case (the first `only` of them, if given): diagnose's median/min/max seconds, the plain steps'
    median, and the report's codes."""
    results = {}
    for name, (step, model, loss_fn, optimizer, X, y) in list(cases().items())[:only]:
        args = (model, loss_fn, optimizer, X, y)
        codes = diagnose(step, *args, steps=STEPS).codes
        plain_model = copy.deepcopy(model)  # the plain runs train a copy: every diagnose starts from the same model
        plain_optimizer = type(optimizer)(plain_model.parameters(), **optimizer.defaults)

        def doctor(step=step, args=args):
            diagnose(step, *args, steps=STEPS)

        def plain(step=step, model=plain_model, X=X, y=y, loss_fn=loss_fn, optimizer=plain_optimizer):
            for _ in range(STEPS):
                step(model, X, y, loss_fn, optimizer)

        watched, steps = _times([doctor, plain], repeats)
        results[name] = {
            "median_s": statistics.median(watched),
            "min_s": min(watched),
            "max_s": max(watched),
            "plain_steps_median_s": statistics.median(steps),
            "clean": not codes,
            "codes": codes,
        }
    return results


def main(argv: list[str]) -> int:
    """Print one line per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    print(
        f"diagnose, {STEPS} steps, median of {args.repeats} runs (torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads):"
    )
    for name, r in measure(args.repeats).items():
        verdict = "under 1 s" if r["median_s"] < 1 else "OVER 1 s"
        print(
            f"  {name}: {r['median_s']:.4f} s (min {r['min_s']:.4f}, max {r['max_s']:.4f}); "
            f"the same steps plainly {r['plain_steps_median_s']:.4f} s; {verdict}; "
            f"report {r['codes'] or 'empty'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

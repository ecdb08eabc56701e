"""How long helpers.debug.diagnose takes (5 steps) on the line and on a digits-size CNN; goal: under 1 s each.

Usage: python benchmarks/bench_debug.py [--repeats N]
Prints one line per case: the median, min and max seconds of N runs of diagnose (after one warm-up
run), and the same 5 steps run plainly with helpers.train_step (interleaved with diagnose's runs), to
show what the watching costs.
`measure(repeats)` returns the numbers as a dict for benchmarks/bench.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from torch import nn

import helpers
from helpers.debug import diagnose

STEPS = 5


def digit_cnn() -> nn.Module:
    """helpers.classify.DigitCNN when it is there, else the same layers written out."""
    try:
        from helpers.classify import DigitCNN

        return DigitCNN()
    except ImportError:
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 16, 10),
        )


def cases() -> dict[str, tuple]:
    """name -> (model, loss_fn, optimizer, X, y): the line's 40 training points; digits-size images."""
    torch.manual_seed(42)
    X_train, y_train, _, _ = helpers.train_test_split(*helpers.make_line_data())
    line = helpers.LinearRegressionModel()
    g = torch.Generator().manual_seed(0)
    X_all, y_all = torch.rand(1437, 1, 8, 8, generator=g), torch.randint(0, 10, (1437,), generator=g)
    cnn_full, cnn_batch = digit_cnn(), digit_cnn()
    return {
        "line (LinearRegressionModel, L1, SGD, 40 points)": (
            line,
            nn.L1Loss(),
            torch.optim.SGD(line.parameters(), lr=0.01),
            X_train,
            y_train,
        ),
        "digits CNN, full training set [1437, 1, 8, 8] (CrossEntropy, Adam)": (
            cnn_full,
            nn.CrossEntropyLoss(),
            torch.optim.Adam(cnn_full.parameters()),
            X_all,
            y_all,
        ),
        "digits CNN, one batch [64, 1, 8, 8] (CrossEntropy, Adam)": (
            cnn_batch,
            nn.CrossEntropyLoss(),
            torch.optim.Adam(cnn_batch.parameters()),
            X_all[:64],
            y_all[:64],
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


def measure(repeats: int = 7) -> dict[str, dict[str, float]]:
    """For each case: diagnose's median/min/max seconds, the plain steps' median, and whether it was clean."""
    results = {}
    for name, (model, loss_fn, optimizer, X, y) in cases().items():
        args = (model, loss_fn, optimizer, X, y)
        clean = not diagnose(helpers.train_step, *args, steps=STEPS)

        def doctor(args=args):
            diagnose(helpers.train_step, *args, steps=STEPS)

        def plain(model=model, X=X, y=y, loss_fn=loss_fn, optimizer=optimizer):
            for _ in range(STEPS):
                helpers.train_step(model, X, y, loss_fn, optimizer)

        watched, steps = _times([doctor, plain], repeats)
        results[name] = {
            "median_s": statistics.median(watched),
            "min_s": min(watched),
            "max_s": max(watched),
            "plain_steps_median_s": statistics.median(steps),
            "clean": clean,
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
            f"report {'empty' if r['clean'] else 'NOT empty'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Exercises for notebook 02 (split and visualize): an ordered split, a shuffled split, and a plot of a split."""

from __future__ import annotations

import torch

import helpers

from ._core import Exercises, Incorrect
from ._util import call, need

_ex = Exercises("ex02")
bind = _ex.bind


def _line(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n distinct inputs in order, with labels on 0.7 x + 0.3 (so a label tells which input it belongs to)."""
    X = torch.arange(n, dtype=torch.float32).unsqueeze(1) / n
    return X, 0.7 * X + 0.3


def _four(out: object, case: str) -> tuple[torch.Tensor, ...]:
    """The split's four tensors, or Incorrect."""
    need(isinstance(out, (tuple, list)) and len(out) == 4 and all(isinstance(t, torch.Tensor) for t in out),
         f"{case}, return four tensors: X_train, y_train, X_test, y_test.")
    return tuple(out)


def _check_parts(parts: tuple[torch.Tensor, ...], X: torch.Tensor, fraction: float, case: str) -> None:
    """Sizes int(fraction * N) and the rest, every row exactly once, each label with its input."""
    X_train, y_train, X_test, y_test = parts
    n_train = int(fraction * len(X))
    need(len(X_train) == len(y_train) and len(X_test) == len(y_test),
         f"{case}, X and y parts differ in length: slice X and y with the same indices.")
    need(len(X_train) == n_train, f"{case}, X_train has {len(X_train)} rows, expected {n_train} = "
                                  f"int({fraction} * {len(X)}).")
    together = torch.cat([X_train, X_test]).flatten().sort().values
    need(len(X_test) == len(X) - n_train and torch.equal(together, X.flatten()),
         f"{case}, the two parts hold {len(X_train) + len(X_test)} rows between them: every one of the {len(X)} "
         "rows belongs to exactly one part (no row lost, none in both).")
    for X_part, y_part, name in [(X_train, y_train, "train"), (X_test, y_test, "test")]:
        need(torch.allclose(y_part, 0.7 * X_part + 0.3), f"{case}, the labels in y_{name} no longer belong to the "
             f"inputs in X_{name} (the pairs broke): index X and y with the same indices.")


def _check_ordered(ordered_split: object) -> str:
    """Sizes, every row once, order kept, pairs kept, on three data sets."""
    need(callable(ordered_split), "`ordered_split` should be a function ordered_split(X, y, train_fraction).")
    for n, fraction in [(50, 0.8), (10, 0.75), (7, 0.5)]:
        X, y = _line(n)
        case = f"For {n} rows and train_fraction={fraction}"
        parts = _four(call(ordered_split, X, y, fraction, case=case), case)
        _check_parts(parts, X, fraction, case)
        need(torch.equal(torch.cat([parts[0], parts[2]]), X), f"{case}, the rows are not in their original "
             "order: an ordered split slices the first rows for training and keeps the rest for testing.")
    return "the right sizes, every row once, pairs kept and the order kept: the test rows lie beyond the training rows."


q1 = _ex.problem(
    _check_ordered, names=("ordered_split",), title="An ordered split",
    task="Write `ordered_split(X, y, train_fraction)`: return `X_train, y_train, X_test, y_test`, the first "
         "`int(train_fraction * len(X))` rows for training and the rest for testing, in their original order. "
         "The check calls it on data of several sizes (try 0.5 on the course's line afterwards, Try it 1): the "
         "sizes, no row lost or repeated, the order, and every label next to its input.",
    starter='def ordered_split(X, y, train_fraction):\n'
            '    """Return X_train, y_train, X_test, y_test: the first train_fraction of the rows, then the rest."""\n'
            '    n_train = ____\n'
            '    return ____',
    hint="n_train = int(train_fraction * len(X)); X[:n_train] is everything before row n_train and X[n_train:] "
         "everything from it on, so together they hold every row exactly once. Slice y the same way.",
    solution='def ordered_split(X, y, train_fraction):\n'
             '    """Return X_train, y_train, X_test, y_test: the first train_fraction of the rows, then the rest."""\n'
             '    n_train = int(train_fraction * len(X))\n'
             '    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]',
)


def _check_shuffled(shuffled_split: object) -> str:
    """One seeded permutation: pairs kept, reproducible, the rows of helpers.train_test_split."""
    need(callable(shuffled_split), "`shuffled_split` should be a function shuffled_split(X, y, train_fraction, seed).")
    for n, fraction, seed in [(50, 0.8, 42), (20, 0.5, 0)]:
        X, y = _line(n)
        case = f"For {n} rows, train_fraction={fraction} and seed={seed}"
        rng = torch.get_rng_state()
        parts = _four(call(shuffled_split, X, y, fraction, seed, case=case), case)
        need(torch.equal(rng, torch.get_rng_state()), "your function changed torch's global random numbers: "
             "pass a torch.Generator seeded with `seed` to torch.randperm(..., generator=...).")
        _check_parts(parts, X, fraction, case)
        need(not torch.equal(torch.cat([parts[0], parts[2]]), X), f"{case}, the rows came out in their original "
             "order: shuffle them with torch.randperm first.")
        again = _four(call(shuffled_split, X, y, fraction, seed, case="Called a second time"), case)
        need(all(torch.equal(a, b) for a, b in zip(parts, again)), f"{case}, two calls gave different splits: "
             "seed a torch.Generator with `seed`.")
        want = helpers.train_test_split(X, y, fraction, shuffle=True, seed=seed)
        need(all(torch.equal(a, b) for a, b in zip(parts, want)), f"{case}, the rows differ from "
             f"helpers.train_test_split(X, y, {fraction}, shuffle=True, seed={seed}): use "
             "idx = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed)).")
    return "one seeded permutation for X and y: pairs kept, reproducible, the same rows as helpers.train_test_split."


q2 = _ex.problem(
    _check_shuffled, names=("shuffled_split",), title="A shuffled split that keeps the pairs",
    task="Write `shuffled_split(X, y, train_fraction, seed)`: like `ordered_split`, but the rows are shuffled "
         "first, by **one** permutation from `torch.randperm` with a generator seeded by `seed`. The check calls "
         "it: sizes, every row once, every label still with its own input, the same split for the same seed, "
         "torch's global random numbers untouched, and the same rows as `helpers.train_test_split`.",
    starter='def shuffled_split(X, y, train_fraction, seed):\n'
            '    """Like ordered_split, after shuffling the rows with one seeded permutation."""\n'
            '    generator = ____\n'
            '    idx = ____\n'
            '    n_train = int(train_fraction * len(X))\n'
            '    train_idx, test_idx = idx[:n_train], idx[n_train:]\n'
            '    return ____',
    hint="generator = torch.Generator().manual_seed(seed) and idx = torch.randperm(len(X), generator=generator). "
         "Index both X and y with train_idx (and both with test_idx): one permutation keeps each pair together.",
    solution='def shuffled_split(X, y, train_fraction, seed):\n'
             '    """Like ordered_split, after shuffling the rows with one seeded permutation."""\n'
             '    generator = torch.Generator().manual_seed(seed)\n'
             '    idx = torch.randperm(len(X), generator=generator)\n'
             '    n_train = int(train_fraction * len(X))\n'
             '    train_idx, test_idx = idx[:n_train], idx[n_train:]\n'
             '    return X[train_idx], y[train_idx], X[test_idx], y[test_idx]',
)


def _find(sets: list, X: torch.Tensor, y: torch.Tensor, name: str) -> object:
    """The scatter collection whose points are (X, y), or Incorrect naming the data."""
    points = torch.cat([X, y], dim=1).double()
    for s in sets:
        offsets = torch.as_tensor(s.get_offsets(), dtype=torch.float64)
        if offsets.shape == points.shape and torch.allclose(offsets, points):
            return s
    raise Incorrect(f"no set of points matches the {name} data: draw it with ax.scatter(X_{name}, y_{name}, ...).")


def _check_plot(plot_split: object) -> str:
    """Two scatter sets matching the data, different markers, a legend, labelled axes."""
    from matplotlib.collections import PathCollection
    from matplotlib.figure import Figure  # a figure outside pyplot: the check draws nothing in the notebook

    need(callable(plot_split), "`plot_split` should be a function plot_split(ax, X_train, y_train, X_test, y_test).")
    X_train, y_train, X_test, y_test = helpers.train_test_split(*helpers.make_line_data(), 0.8)
    ax = Figure(figsize=(6, 4)).subplots()
    call(plot_split, ax, X_train, y_train, X_test, y_test, case="Drawing the 40 / 10 split")
    sets = [c for c in ax.collections if isinstance(c, PathCollection)]
    need(len(sets) == 2, f"the axes hold {len(sets)} set(s) of points, expected 2: training and test, one "
                         "ax.scatter each (and draw into the `ax` you are given).")
    train, test = _find(sets, X_train, y_train, "train"), _find(sets, X_test, y_test, "test")
    same = train.get_paths()[0].vertices.shape == test.get_paths()[0].vertices.shape and (
        (train.get_paths()[0].vertices == test.get_paths()[0].vertices).all())
    need(not same, "both sets use the same marker: colour must never be the only difference, so give the test "
                   "data another marker, e.g. marker='^'.")
    need(ax.get_legend() is not None and len(ax.get_legend().get_texts()) == 2,
         "no legend with the two sets: give each ax.scatter a label=... and call ax.legend().")
    need(ax.get_xlabel() and ax.get_ylabel(), "label the axes: ax.set(xlabel='X', ylabel='y').")
    return (f"two sets of points ({len(X_train)} training, {len(X_test)} test) with their own markers, a legend "
            "and labelled axes.")


q3 = _ex.problem(
    _check_plot, names=("plot_split",), title="A picture of a split",
    task="Write `plot_split(ax, X_train, y_train, X_test, y_test)`: draw into the axes `ax` the training data "
         "(blue circles) and the test data (green triangles), each with a label, a legend, and labelled axes. "
         "Do not call `plt.show()` inside: the check draws into axes of its own and looks at what you drew.",
    starter='def plot_split(ax, X_train, y_train, X_test, y_test):\n'
            '    """Draw training data (blue circles) and test data (green triangles) into ax."""\n'
            '    ax.scatter(X_train, y_train, c=TRAIN, marker="o", s=14, label="Training data")\n'
            '    ax.scatter(____)\n'
            '    ax.set(xlabel=____, ylabel=____)\n'
            '    ____',
    hint="The test data: ax.scatter(X_test, y_test, c=TEST, marker=\"^\", s=30, label=\"Test data\"). A legend "
         "lists every labelled set: ax.legend().",
    solution='def plot_split(ax, X_train, y_train, X_test, y_test):\n'
             '    """Draw training data (blue circles) and test data (green triangles) into ax."""\n'
             '    ax.scatter(X_train, y_train, c=TRAIN, marker="o", s=14, label="Training data")\n'
             '    ax.scatter(X_test, y_test, c=TEST, marker="^", s=30, label="Test data")\n'
             '    ax.set(xlabel="X", ylabel="y")\n'
             '    ax.legend()',
)

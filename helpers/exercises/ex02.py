"""Exercises for notebook 02 (split and visualize): a shuffled three-way split by hand, how many test rows lie
outside the training range when there are several features (transfer), and a forecasting split of rows that
arrive in any order (transfer)."""

from __future__ import annotations

import contextlib
import math
import numbers
import operator
from collections.abc import Iterator

import torch

import helpers

from ._core import Exercises, Incorrect
from ._util import call, need, shape

_ex = Exercises("ex02")
bind = _ex.bind


def _line(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n distinct inputs in order, with labels on 0.7 x + 0.3 (so a label tells which input it belongs to)."""
    X = torch.arange(n, dtype=torch.float32).unsqueeze(1) / n
    return X, 0.7 * X + 0.3


def _parts(out: object, count: int, case: str) -> tuple[torch.Tensor, ...]:
    """The split's tensors, or Incorrect."""
    what = "X_train, y_train, X_val, y_val, X_test, y_test" if count == 6 else "X_train, y_train, X_test, y_test"
    need(isinstance(out, (tuple, list)) and len(out) == count and all(isinstance(t, torch.Tensor) for t in out),
         f"{case}, return {count} tensors: {what}.")
    return tuple(out)


def _order_slip(parts: tuple[torch.Tensor, ...], want: tuple[torch.Tensor, ...], case: str) -> None:
    """Incorrect if the parts are the right tensors returned in another order."""
    if all(torch.equal(a, b) for a, b in zip(parts, want)):
        return
    unused, places = list(range(len(want))), []
    for part in parts:
        match = next((i for i in unused if part.shape == want[i].shape and torch.equal(part, want[i])), None)
        if match is None:
            return  # not a mere reordering: the other checks say what is wrong
        unused.remove(match)
        places.append(match)
    names = "X_train, y_train, X_val, y_val, X_test, y_test" if len(want) == 6 else "X_train, y_train, X_test, y_test"
    if len(want) == 6 and places == [0, 1, 4, 5, 2, 3]:  # pairs kept, validation and test swapped
        raise Incorrect(f"{case}, X_val and y_val hold the rows that belong to the test set, and X_test and y_test "
                        "the validation rows: training gets the first positions of the permutation, validation the "
                        f"ones right after, test the rest; return them as {names}.")
    raise Incorrect(f"{case}, your function returns the right tensors in another order: return them as {names}.")


def _rows_once_pairs_kept(parts: tuple[torch.Tensor, ...], X: torch.Tensor, y: torch.Tensor, names: list[str],
                          case: str) -> None:
    """Every row in exactly one part, and every label still beside its own input."""
    Xs, ys = parts[0::2], parts[1::2]
    for X_part, y_part, name in zip(Xs, ys, names):
        need(len(X_part) == len(y_part), f"{case}, X_{name} and y_{name} differ in length: cut X and y with the "
                                         "same indices.")
        for part, whole, letter in [(X_part, X, "X"), (y_part, y, "y")]:
            need(part.shape[1:] == whole.shape[1:], f"{case}, {letter}_{name} has shape {shape(part)}: its rows "
                 f"should look like the rows of {letter}, shape {shape(whole)} (index, and nothing else: no "
                 "flatten or squeeze).")
    for X_part, y_part, name in zip(Xs, ys, names):
        need(bool(torch.isin(X_part, X).all()) and bool(torch.isin(y_part, y).all()), f"{case}, X_{name} or "
             f"y_{name} holds rows that are not in the X and y your function was given: use its arguments X and y, "
             "not the notebook's variables of the same names.")
    together = torch.cat(Xs).flatten().sort().values
    distinct = len(together.unique())
    need(torch.equal(together, X.flatten()), f"{case}, the parts hold {len(together)} rows between them, but "
         f"{len(X) - distinct} of the {len(X)} rows of X are in no part and {len(together) - distinct} are in "
         "more than one: every row belongs to exactly one part (none lost, none in two).")
    for X_part, y_part, name in zip(Xs, ys, names):
        need(torch.allclose(y_part, 0.7 * X_part + 0.3), f"{case}, the labels in y_{name} no longer belong to the "
             f"inputs in X_{name} (the pairs broke): index X and y with the same indices.")


@contextlib.contextmanager
def _helpers_refused() -> Iterator[None]:
    """While the learner's split runs, helpers' own splits answer Incorrect: the exercise is to write one."""
    saved = {name: getattr(helpers, name) for name in ("train_test_split", "train_val_test_split")}

    def refuse(*args: object, **kwargs: object) -> None:
        raise Incorrect("your function calls helpers' split, the very thing the check compares with: write the "
                        "permutation and the three cuts yourself.")

    try:
        for name in saved:
            setattr(helpers, name, refuse)
        yield
    finally:
        for name, fn in saved.items():
            setattr(helpers, name, fn)


def _check_three_way(three_way_split: object) -> str:
    """Sizes, every row once, pairs kept, seeded and reproducible, the rows of helpers.train_val_test_split."""
    need(callable(three_way_split), "`three_way_split` should be a function three_way_split(X, y, train_fraction, "
                                    "val_fraction, seed).")
    for n, train_fraction, val_fraction, seed in [(50, 0.6, 0.2, 42), (9, 0.7, 0.2, 3), (10, 0.5, 0.3, 0)]:
        X, y = _line(n)
        case = f"For {n} rows, train_fraction={train_fraction}, val_fraction={val_fraction}, seed={seed}"
        want = helpers.train_val_test_split(X, y, train_fraction, val_fraction, shuffle=True, seed=seed)
        rng = torch.get_rng_state()
        with _helpers_refused():
            parts = _parts(call(three_way_split, X, y, train_fraction, val_fraction, seed, case=case), 6, case)
        changed_rng = not torch.equal(rng, torch.get_rng_state())
        _order_slip(parts, want, case)
        sizes = [int(train_fraction * n), int(val_fraction * n)]
        sizes.append(n - sum(sizes))
        for part, size, name in zip(parts[0::2], sizes, ["train", "val", "test"]):
            need(len(part) == size, f"{case}, X_{name} has {len(part)} rows, expected {size} (train: int(train_fraction"
                                    " * N), validation: int(val_fraction * N), test: the rest).")
        _rows_once_pairs_kept(parts, X, y, ["train", "val", "test"], case)
        need(not changed_rng, "your function changed torch's global random numbers: give torch.randperm a "
                              "torch.Generator seeded with `seed`.")
        need(not torch.equal(torch.cat(parts[0::2]), X), f"{case}, the rows came out in their original order: "
             "shuffle them first.")
        again = _parts(call(three_way_split, X, y, train_fraction, val_fraction, seed, case="Called a second time"), 6,
                       case)
        need(all(torch.equal(a, b) for a, b in zip(parts, again)), f"{case}, two calls gave different splits: "
             "seed a torch.Generator with `seed`.")
        if not all(torch.equal(a, b) for a, b in zip(parts, want)):
            raise Incorrect(f"{case}, the rows differ from helpers.train_val_test_split(X, y, {train_fraction}, "
                            f"{val_fraction}, shuffle=True, seed={seed}): take one permutation of len(X) from a "
                            "generator seeded with `seed`; training gets its first positions, validation the ones "
                            "right after, test the rest.")
    return "three sets of the right sizes, every row in one of them, pairs kept, and the rows helpers picks."


q1 = _ex.problem(
    _check_three_way, names=("three_way_split",), title="A shuffled three-way split, by hand",
    task="The notebook wrote a shuffled *two*-way split by hand and left the three-way one to `helpers`. Write "
         "`three_way_split(X, y, train_fraction, val_fraction, seed)`: shuffle the rows with one permutation "
         "(`torch.randperm` with a generator seeded by `seed`), then give `int(train_fraction * len(X))` rows to "
         "training, the next `int(val_fraction * len(X))` to validation and the rest to test. Return `X_train, "
         "y_train, X_val, y_val, X_test, y_test`. The check calls it for several sizes and seeds and compares with "
         "`helpers.train_val_test_split(..., shuffle=True, seed=seed)`.",
    starter='def three_way_split(X, y, train_fraction, val_fraction, seed):\n'
            '    """Shuffle the rows with one seeded permutation, then cut training, validation and test (the rest)."""\n'
            '    n_train, n_val = int(train_fraction * len(X)), int(val_fraction * len(X))\n'
            '    idx = ____\n'
            '    train_idx, val_idx, test_idx = ____, ____, ____\n'
            '    return ____',
    hint="One permutation, cut into three consecutive pieces: the first n_train positions, then the n_val after "
         "them (a slice needs its start *and* its end there), then whatever remains. Index X and y with the same "
         "piece each time.",
    solution='def three_way_split(X, y, train_fraction, val_fraction, seed):\n'
             '    """Shuffle the rows with one seeded permutation, then cut training, validation and test (the rest)."""\n'
             '    n_train, n_val = int(train_fraction * len(X)), int(val_fraction * len(X))\n'
             '    idx = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))\n'
             '    train_idx, val_idx, test_idx = idx[:n_train], idx[n_train:n_train + n_val], idx[n_train + n_val:]\n'
             '    return X[train_idx], y[train_idx], X[val_idx], y[val_idx], X[test_idx], y[test_idx]',
)

# three features with ranges [0, 1], [10, 20] and [-5, 5]; test rows chosen so that each plausible slip counts
# differently: one range over all features, "all features outside", features counted, bounds counted as outside,
# the lower bound forgotten
_TRAIN3 = torch.tensor([[0.0, 10.0, -5.0], [1.0, 20.0, 5.0], [0.5, 15.0, 0.0], [0.2, 12.0, 2.0]])
_TEST3 = torch.tensor([[0.5, 15.0, 0.0], [1.5, 15.0, 0.0], [0.5, 9.0, 0.0], [0.5, 15.0, 6.0], [1.5, 25.0, 6.0],
                       [1.0, 20.0, -5.0], [5.0, 12.0, 3.0], [-1.0, 30.0, 0.0]])


def _slips(X_train: torch.Tensor, X_test: torch.Tensor) -> dict[str, int]:
    """What plausible wrong answers would count, each with the message that explains it."""
    low, high = X_train.min(0).values, X_train.max(0).values
    below, above = X_test < low, X_test > high
    return {
        "each feature has its own range: take the smallest and largest training value per column (over the "
        "rows), not one over the whole table.": int(((X_test < X_train.min()) | (X_test > X_train.max())).any(1).sum()),
        "a row is outside when *any* one of its features is outside its range, not only when all are.":
            int((below | above).all(1).sum()),
        "you counted the features that lie outside, not the rows: a row counts once, however many of its "
        "features are outside.": int((below | above).sum()),
        "a test value equal to the smallest or largest training value lies inside the range.":
            int(((X_test <= low) | (X_test >= high)).any(1).sum()),
        "a value below the smallest training value is outside too, not only one above the largest.":
            int(above.any(1).sum()),
    }


def _returned_number(out: object, case: str, n_test: int) -> tuple[float, bool]:
    """The value count_outside returned, if it is one number (a Python or NumPy number, a one-element tensor), and
    whether it is a float (as a fraction would be)."""
    if isinstance(out, torch.Tensor):
        need(out.numel() == 1, f"{case}, you returned a tensor of shape {shape(out)}, one value for each of the "
                               f"{n_test} test rows: count the rows that are outside and return that count, an int.")
        return float(out.item()), out.is_floating_point()
    need(not isinstance(out, bool), f"{case}, you returned {out}, a truth value: return how many rows are "
                                    "outside, an int.")
    need(isinstance(out, numbers.Real), f"{case}, you returned a {type(out).__name__}, not a number: return how "
                                        "many test rows are outside, an int.")
    return float(out), not isinstance(out, numbers.Integral)


def _need_int(out: object, case: str) -> None:
    """The right count must come back as a Python int (or a NumPy integer), not a tensor or a float."""
    need(not isinstance(out, torch.Tensor), f"{case}, you returned the count as a tensor, {out!r}: return a Python "
                                            "int, with int(...) or .item().")
    try:
        operator.index(out)
    except TypeError:
        raise Incorrect(f"{case}, you returned {out!r}, a {type(out).__name__}: a count is a whole number, return "
                        "an int (int(...)).") from None


def _check_count_outside(count_outside: object) -> str:
    """The right count on one-feature data (ordered and shuffled) and on a three-feature table."""
    need(callable(count_outside), "`count_outside` should be a function count_outside(X_train, X_test).")
    X, y = _line(50)
    shuffled = helpers.train_test_split(X, y, 0.8, shuffle=True, seed=42)
    cases = [("the notebook's ordered 40 / 10 split", X[:40], X[40:]),
             ("the notebook's shuffled 40 / 10 split (seed 42)", shuffled[0], shuffled[2]),
             ("a table of 3 features", _TRAIN3, _TEST3), ("3 features, every test row inside", _TRAIN3, _TRAIN3[2:])]
    for what, X_train, X_test in cases:
        case = f"For {what}"
        try:
            out = call(count_outside, X_train, X_test, case=case)
        except Incorrect as err:
            if "return_types" in str(err):  # low = X_train.min(dim=0): a (values, indices) pair, not a tensor
                raise Incorrect(f"{case}, your code raised {str(err).split('raised ', 1)[-1]} min(dim=0) and "
                                "max(dim=0) return two things, the values and the positions where they were found: "
                                "take the values with `.values`.") from None
            raise
        want = int(((X_test < X_train.min(0).values) | (X_test > X_train.max(0).values)).any(1).sum())
        got, is_float = _returned_number(out, case, len(X_test))
        if got == want:
            _need_int(out, case)
            continue
        need(not (is_float and math.isclose(got, want / len(X_test))), f"{case}, you returned {got:g}, the "
             f"fraction of the {len(X_test)} test rows that are outside: return how many rows are outside, a count.")
        rows = f"{got:g} row" + ("" if got == 1 else "s")
        for message, slip in _slips(X_train, X_test).items():
            if got == slip:
                raise Incorrect(f"{case}, you counted {rows}; expected {want}: {message}")
        raise Incorrect(f"{case}, you counted {rows} outside the training range; expected {want}.")
    return ("the right count with one feature and with three: each feature has its own range, and a row is "
            "outside as soon as one of its features is.")


q2 = _ex.problem(
    _check_count_outside, names=("count_outside",), title="Outside the training range, with several features",
    transfer=True,
    task="With one feature, the notebook compared the smallest and largest x of each set. Real data has many "
         "features. Write `count_outside(X_train, X_test)` for tensors of shape `[N, F]` (F features): a test row "
         "is *outside* when at least one of its features is below that feature's smallest training value or above "
         "its largest. Return how many test rows are outside, as a Python `int` (not a tensor, not a float). The "
         "check tries the notebook's two splits and a table of three features.",
    starter='def count_outside(X_train, X_test):\n'
            '    """How many test rows have at least one feature outside that feature\'s training range."""\n'
            '    low = ____      # the smallest training value of each feature\n'
            '    high = ____     # the largest training value of each feature\n'
            '    outside = ____  # one True/False per test row\n'
            '    return ____',
    hint="Reduce over the rows (dimension 0) to get one low and one high per feature; comparing the whole "
         "X_test with them lines each column up with its own bounds (broadcasting). Then reduce over the features "
         "of each row: is any of them outside? Finally count the rows.",
    solution='def count_outside(X_train, X_test):\n'
             '    """How many test rows have at least one feature outside that feature\'s training range."""\n'
             '    low = X_train.min(dim=0).values\n'
             '    high = X_train.max(dim=0).values\n'
             '    outside = ((X_test < low) | (X_test > high)).any(dim=1)\n'
             '    return int(outside.sum())',
)


def _bowl(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n distinct x in a shuffled order, labels on a curve that falls and rises (sorting by y is not sorting by x)."""
    X = torch.arange(n, dtype=torch.float32).unsqueeze(1) / n
    X = X[torch.randperm(n, generator=torch.Generator().manual_seed(seed))]
    return X, (X - 0.5) ** 2 + 0.3


def _check_forecast(forecast_split: object) -> str:
    """Rows in any order: sorted by x, smallest for training, largest for testing, pairs kept."""
    need(callable(forecast_split), "`forecast_split` should be a function forecast_split(X, y, train_fraction).")
    X_line, y_line = _line(50)
    for what, (X, y), fraction in [("the notebook's line, rows already in order", (X_line, y_line), 0.8),
                                   ("20 rows in a shuffled order", _bowl(20, 0), 0.75),
                                   ("7 rows in a shuffled order", _bowl(7, 1), 0.5)]:
        case = f"For {what}, train_fraction={fraction}"
        X_copy, order = X.clone(), X[:, 0].argsort()
        n_train = int(fraction * len(X))
        want = (X[order][:n_train], y[order][:n_train], X[order][n_train:], y[order][n_train:])
        X_train, y_train, X_test, y_test = parts = _parts(call(forecast_split, X, y, fraction, case=case), 4, case)
        need(torch.equal(X, X_copy), f"{case}, your function changed the X it was given: sort a copy (indexing "
                                     "with an order makes one).")
        _order_slip(parts, want, case)
        for part, name in [(X_train, "X_train"), (y_train, "y_train"), (X_test, "X_test"), (y_test, "y_test")]:
            need(part.ndim == 2, f"{case}, {name} has shape {shape(part)}: indexing with an [N, 1] tensor of "
                                 "positions adds a dimension. Sort by the first column, a flat [N].")
        need(len(X_train) == n_train, f"{case}, X_train has {len(X_train)} rows, expected {n_train} = "
                                      f"int({fraction} * {len(X)}).")
        together = torch.cat([X_train, X_test]).flatten().sort().values
        need(torch.equal(together, X.flatten().sort().values) and len(y_train) + len(y_test) == len(X),
             f"{case}, the parts do not hold every row exactly once.")
        for X_part, y_part, name in [(X_train, y_train, "train"), (X_test, y_test, "test")]:
            need(torch.allclose(y_part, (X_part - 0.5) ** 2 + 0.3) or torch.allclose(y_part, 0.7 * X_part + 0.3),
                 f"{case}, the labels in y_{name} no longer belong to the inputs in X_{name}: sort X and y with "
                 "the same order of rows.")
        need(X_train.min() < X_test.max(), f"{case}, training got the largest x and test the smallest: a forecast "
                                           "learns from the past (small x) and is tested on the future.")
        need(X_train.max() < X_test.min(), f"{case}, some test x lie inside the training range ({X_train.min():.2f} "
             f"to {X_train.max():.2f}): the rows must be put in order of x before the cut"
             + (", and sorting by y is not sorting by x." if torch.equal(X_train, X[y[:, 0].argsort()][:n_train])
                else "."))
        need(all(torch.equal(p, p.sort(0).values) for p in (X_train, X_test)), f"{case}, the rows of each part "
             "should be in increasing order of x.")
    return "any order in, a forecasting split out: the smallest x to train on, the largest to test, pairs kept."


q3 = _ex.problem(
    _check_forecast, names=("forecast_split",), title="A forecasting split of rows in any order", transfer=True,
    task="The notebook's ordered split tested extrapolation only because its rows were already sorted by x. Rows "
         "from a real source (a database, a web form) arrive in any order. Write `forecast_split(X, y, "
         "train_fraction)` for one-feature data: put the rows in increasing order of x, then the first "
         "`int(train_fraction * len(X))` rows (the smallest x) for training and the rest (the largest) for testing. "
         "Return `X_train, y_train, X_test, y_test`. The check uses the notebook's sorted line and shuffled rows "
         "of a curve.",
    starter='def forecast_split(X, y, train_fraction):\n'
            '    """Sort the rows by x, then the smallest x for training and the largest for testing."""\n'
            '    order = ____\n'
            '    X, y = ____\n'
            '    n_train = int(train_fraction * len(X))\n'
            '    return ____',
    hint="You need the *positions* that would sort the x values (not the sorted values themselves), taken from "
         "the one feature column as a flat tensor; then index X and y with those same positions, and cut.",
    solution='def forecast_split(X, y, train_fraction):\n'
             '    """Sort the rows by x, then the smallest x for training and the largest for testing."""\n'
             '    order = X[:, 0].argsort()\n'
             '    X, y = X[order], y[order]\n'
             '    n_train = int(train_fraction * len(X))\n'
             '    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]',
)

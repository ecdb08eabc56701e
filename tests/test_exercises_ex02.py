"""helpers.exercises.ex02 (notebook 02): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import pytest

from _exercises import ExerciseModule, exercise_module, verdict

SPLIT = "train_idx, val_idx, test_idx = idx[:n_train], idx[n_train:n_train + n_val], idx[n_train + n_val:]"
OUTSIDE = "outside = ((X_test < low) | (X_test > high)).any(dim=1)"
SOLUTION = exercise_module("ex02").q1.solution_code
FORECAST = 'def forecast_split(X, y, train_fraction):\n    """Sort, then cut."""\n'


class TestEx02(ExerciseModule):
    module = "ex02"
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        # the slip of writing the validation slice's end as a size
        ("q1", (SPLIT, "train_idx, val_idx, test_idx = idx[:n_train], idx[n_train:n_val], idx[n_train + n_val:]"),
         "X_val has 0 rows, expected 10"),
        ("q1", (SPLIT, "train_idx, val_idx, test_idx = idx[:n_train], idx[n_train:n_train + n_val], idx[n_train:]"),
         "X_test has 20 rows, expected 10"),
        ("q1", ("n_train, n_val = int(train_fraction * len(X)), int(val_fraction * len(X))",
                "n_train, n_val = round(train_fraction * len(X)), round(val_fraction * len(X))"),
         "X_val has 2 rows, expected 1"),
        ("q1", ("y[train_idx], X[val_idx], y[val_idx]", "y[train_idx.flip(0)], X[val_idx], y[val_idx]"),
         "the pairs broke"),
        ("q1", ("torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))",
                "torch.randperm(len(X))"), "global random numbers"),
        ("q1", ("torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))", "torch.arange(len(X))"),
         "original order"),
        # test before validation: sizes right on the notebook's 60 / 20 / 20, rows not those of helpers
        ("q1", (SPLIT, "train_idx, test_idx, val_idx = idx[:n_train], idx[n_train:len(X) - n_val], "
                       "idx[len(X) - n_val:]"), "validation the ones right after"),
        ("q1", "def three_way_split(X, y, train_fraction, val_fraction, seed):\n"
               "    return helpers.train_val_test_split(X, y, train_fraction, val_fraction, shuffle=True, seed=seed)",
         "calls helpers' split"),
        # found by a learner: y shuffled by a second permutation (from the global generator): the pairs break first
        ("q1", "def three_way_split(X, y, train_fraction, val_fraction, seed):\n"
               "    n_train, n_val = int(train_fraction * len(X)), int(val_fraction * len(X))\n"
               "    idx = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))\n"
               "    idy = torch.randperm(len(y))\n"
               "    a, b = n_train, n_train + n_val\n"
               "    return X[idx[:a]], y[idy[:a]], X[idx[a:b]], y[idy[a:b]], X[idx[b:]], y[idy[b:]]",
         "the pairs broke"),
        # found by a learner: the right six tensors, returned in another order
        ("q1", ("return X[train_idx], y[train_idx], X[val_idx], y[val_idx], X[test_idx], y[test_idx]",
                "return X[train_idx], X[val_idx], X[test_idx], y[train_idx], y[val_idx], y[test_idx]"),
         "the right tensors in another order"),
        # found by a red-team read: the same rows, one part's labels flattened (not broken pairs)
        ("q1", ("y[test_idx]", "y[test_idx].flatten()"), "y_test has shape [10]: its rows should look like the rows "
                                                         "of y, shape [50, 1]"),
        # found by a red-team read: the notebook's X and y used instead of the arguments
        ("q1", "X_line = torch.arange(0, 1, 0.02).unsqueeze(1)\n" + SOLUTION.replace(
            "    return X[train_idx]", "    X, y = X_line, 0.7 * X_line + 0.3\n    return X[train_idx]"),
         "not in the X and y your function was given: use its arguments"),
        # rows repeated: the message counts what is lost and what is doubled
        ("q1", ("test_idx = idx[:n_train], idx[n_train:n_train + n_val], idx[n_train + n_val:]",
                "test_idx = idx[:n_train], idx[n_train:n_train + n_val], idx[n_train - 10:n_train]"),
         "10 of the 50 rows of X are in no part and 10 are in more than one"),
        # agree with the right answer on the notebook's one-feature data
        ("q2", ("low = X_train.min(dim=0).values\n    high = X_train.max(dim=0).values",
                "low = X_train.min()\n    high = X_train.max()"), "each feature has its own range"),
        ("q2", (OUTSIDE, "outside = ((X_test < low) | (X_test > high)).all(dim=1)"), "*any* one of its features"),
        ("q2", (OUTSIDE + "\n    return int(outside.sum())",
                "outside = (X_test < low) | (X_test > high)\n    return int(outside.sum())"),
         "counted the features"),
        ("q2", (OUTSIDE, "outside = ((X_test <= low) | (X_test >= high)).any(dim=1)"), "lies inside the range"),
        ("q2", (OUTSIDE, "outside = (X_test > high).any(dim=1)"), "below the smallest training value"),
        ("q2", ("return int(outside.sum())", "return outside"), "you returned a tensor of shape [10], one value"),
        # found by a red-team read: the right count, but not an int
        ("q2", ("return int(outside.sum())", "return outside.sum()"), "as a tensor, tensor(10): return a Python int"),
        ("q2", ("return int(outside.sum())", "return sum(outside)"), "as a tensor"),
        ("q2", ("return int(outside.sum())", "return float(outside.sum())"), "10.0, a float: a count is a whole"),
        ("q2", ("return int(outside.sum())", "return outside.nonzero().flatten().tolist()"),
         "you returned a list, not a number"),
        ("q2", ("return int(outside.sum())", "return outside.float().mean().item()"),
         "you returned 1, the fraction of the 10 test rows that are outside"),
        # found by a learner: min(dim=0) gives (values, indices); the comparison then raises a TypeError
        ("q2", ("low = X_train.min(dim=0).values", "low = X_train.min(dim=0)"), "take the values with `.values`"),
        ("q2", "def count_outside(X_train, X_test):\n    return 1", "you counted 1 row outside the training range"),
        # right on the notebook's sorted rows
        ("q3", FORECAST + "    n_train = int(train_fraction * len(X))\n"
                          "    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]", "put in order of x"),
        ("q3", ("order = X[:, 0].argsort()", "order = y[:, 0].argsort()"), "sorting by y is not sorting by x"),
        ("q3", ("order = X[:, 0].argsort()", "order = X.argsort(dim=0)"), "adds a dimension"),
        ("q3", ("    order = X[:, 0].argsort()\n    X, y = X[order], y[order]\n",
                "    X, order = X.sort(dim=0)\n    y = y[order]\n"), "y_train has shape [40, 1, 1]"),
        ("q3", ("order = X[:, 0].argsort()", "order = X[:, 0].argsort(descending=True)"), "training got the largest"),
        ("q3", ("    order = X[:, 0].argsort()\n    X, y = X[order], y[order]\n",
                "    X, y = X.sort(dim=0).values, y.sort(dim=0).values\n"), "sort X and y with the same order"),
        # found by a learner: the right four tensors, returned in another order
        ("q3", ("return X[:n_train], y[:n_train], X[n_train:], y[n_train:]",
                "return X[:n_train], X[n_train:], y[:n_train], y[n_train:]"), "the right tensors in another order"),
        ("q3", FORECAST + "    X.copy_(X[X[:, 0].argsort()])\n    n_train = int(train_fraction * len(X))\n"
                          "    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]", "changed the X it was given"),
    ]


CO = "def count_outside(X_train, X_test):\n    low, high = X_train.min(dim=0).values, X_train.max(dim=0).values\n"


@pytest.mark.parametrize("tail", [
    "    return outside.sum().item()",
    "    return int(torch.count_nonzero(outside))",
    "    return sum(bool(row) for row in outside)",
    "    import numpy as np\n    return np.int64(outside.sum())",  # a NumPy integer is an int too
])
def test_other_right_answers_to_count_outside_are_accepted(tail):
    code = CO + "    outside = ((X_test < low) | (X_test > high)).any(dim=1)\n" + tail
    assert verdict("ex02", "q2", code, {}).state == "correct"

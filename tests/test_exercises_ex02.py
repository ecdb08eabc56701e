"""helpers.exercises.ex02 (notebook 02): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

from _exercises import ExerciseModule

SPLIT = "train_idx, val_idx, test_idx = idx[:n_train], idx[n_train:n_train + n_val], idx[n_train + n_val:]"
OUTSIDE = "outside = ((X_test < low) | (X_test > high)).any(dim=1)"
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
        # agree with the right answer on the notebook's one-feature data
        ("q2", ("low = X_train.min(dim=0).values\n    high = X_train.max(dim=0).values",
                "low = X_train.min()\n    high = X_train.max()"), "each feature has its own range"),
        ("q2", (OUTSIDE, "outside = ((X_test < low) | (X_test > high)).all(dim=1)"), "*any* one of its features"),
        ("q2", (OUTSIDE + "\n    return int(outside.sum())",
                "outside = (X_test < low) | (X_test > high)\n    return int(outside.sum())"),
         "counted the features"),
        ("q2", (OUTSIDE, "outside = ((X_test <= low) | (X_test >= high)).any(dim=1)"), "lies inside the range"),
        ("q2", (OUTSIDE, "outside = (X_test > high).any(dim=1)"), "below the smallest training value"),
        ("q2", ("return int(outside.sum())", "return outside"), "should be a number"),
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

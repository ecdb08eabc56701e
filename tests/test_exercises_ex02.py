"""helpers.exercises.ex02 (notebook 02): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

from _exercises import ExerciseModule


class TestEx02(ExerciseModule):
    module = "ex02"
    min_wrong = 2  # raised to 4 as issue 21 reworks these exercises
    names = {"TRAIN": "#0072B2", "TEST": "#009E73"}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("int(train_fraction * len(X))", "round(train_fraction * len(X))"), "expected 7 = int(0.75 * 10)"),
        ("q1", ("X[n_train:], y[n_train:]", "X[n_train + 1:], y[n_train + 1:]"), "no row lost"),
        ("q1", ("X[n_train:], y[n_train:]", "X[n_train:], y[:len(X) - n_train]"), "pairs broke"),
        ("q2", ("y[train_idx], X[test_idx], y[test_idx]", "y[train_idx.flip(0)], X[test_idx], y[test_idx]"),
         "pairs broke"),
        ("q2", ("torch.randperm(len(X), generator=generator)", "torch.randperm(len(X))"), "global random"),
        ("q2", ("torch.randperm(len(X), generator=generator)", "torch.arange(len(X))"), "original order"),
        ("q3", ('marker="^"', 'marker="o"'), "same marker"),
        ("q3", ("    ax.legend()", "    pass"), "no legend"),
        ("q3", ('    ax.scatter(X_test, y_test, c=TEST, marker="^", s=30, label="Test data")\n', ""), "expected 2"),
    ]

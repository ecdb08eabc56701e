"""helpers.exercises.ex05 (notebook 05): starting code, solutions, and wrong answers refused with a message."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _exercises import ExerciseModule, verdict

import helpers

EVALUATE = '''def evaluate(model, X):
{}    with torch.inference_mode():
        y_pred = model(X)
{}    return y_pred
'''
FLIP = "    model.train(not model.training)\n"  # flips the mode: an eval-mode model predicts in training mode
P_ZERO = """    for layer in model.modules():
        if isinstance(layer, nn.Dropout):
            layer.p = 0.0
"""
LOOP = '''        for X, y in batches:
            total += (model(X) - y).abs().sum().item()
            count += len(y)
    return total / count'''
CHOOSE = "    best = min(range(len(models)), key=lambda i: val_maes[i])\n"
VAL = "val_maes = [helpers.mae(helpers.predict(m, val_data[0]), val_data[1]) for m in models]"
TEST = "test_mae = helpers.mae(helpers.predict(models[best], test_data[0]), test_data[1])"
FLIP_EACH = '''def choose_and_report(models, val_data, test_data):
    def ev(m, X):
        m.train(not m.training)
        with torch.inference_mode():
            out = m(X)
        m.train(not m.training)
        return out
    val_maes = [helpers.mae(ev(m, val_data[0]), val_data[1]) for m in models]
    best = val_maes.index(min(val_maes))
    return best, helpers.mae(ev(models[best], test_data[0]), test_data[1])
'''


def _notebook_names() -> dict:
    """What notebook 05 defines before its exercises, besides torch, nn and helpers: globals a wrong answer uses."""
    torch.manual_seed(42)
    X_train, y_train, X_val, y_val, X_test, y_test = helpers.train_val_test_split(*helpers.make_line_data(), 0.8, 0.1)
    return {"model": helpers.LinearRegressionModel(), "X_train": X_train, "y_train": y_train, "X_val": X_val,
            "y_val": y_val, "X_test": X_test, "y_test": y_test}


class TestEx05(ExerciseModule):
    module = "ex05"
    names = _notebook_names()
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("    model.eval()\n", ""), "dropout layer on"),
        ("q1", ("torch.inference_mode()", "torch.no_grad()"), "not an inference tensor"),
        ("q1", ("    with torch.inference_mode():\n        y_pred = model(X)", "    y_pred = model(X)"),
         "carries a graph"),
        ("q1", ("model.train(was_training)", "model.train()"), "left in training mode"),
        ("q1", ("    model.eval()\n    with torch.inference_mode():\n        y_pred = model(X)\n",
                "    with torch.inference_mode():\n        y_pred = model(X)\n    model.eval()\n"),
         "dropout layer on"),
        ("q1", ("return y_pred", "return y_pred.tolist()"), "should be a tensor"),
        ("q1", ("    with torch.inference_mode():\n        y_pred = model(X)", "    y_pred = model(X).detach()"),
         "cut off afterwards (.detach())"),
        ("q1", ("torch.inference_mode()", "torch.set_grad_enabled(False)"), "torch.set_grad_enabled(False)"),
        ("q1", EVALUATE.format(P_ZERO, ""), "you set the dropout layers' p from 0.5 to 0.0"),
        ("q1", EVALUATE.format(FLIP, FLIP), "switched it into training mode"),  # right only for a training model
        ("q1", ("    return y_pred", "    return y_pred.clone()"), "an operation after the `with` block"),
        ("q1", EVALUATE.format("    model.training = False\n", ""), "dropout layer on"),  # the model's flag alone
        ("q2", (LOOP, '''        maes = [(model(X) - y).abs().mean().item() for X, y in batches]
    return sum(maes) / len(maes)'''), "averaged the batches' MAEs"),
        ("q2", (LOOP, '''        for X, y in batches:
            mae = (model(X) - y).abs().mean().item()
    return mae'''), "last batch's MAE only"),
        ("q2", ("    model.eval()\n", ""), "dropout layer on"),
        ("q2", ("(model(X) - y).abs().sum()", "(model(X) - y).pow(2).sum()"), "mean squared error"),
        ("q2", ("return total / count", "return total"), "not a mean"),
        ("q2", ("count += len(y)", "count += 1"), "number of batches"),
        ("q2", ("return total / count", "return torch.tensor(total / count)"), "returned a tensor"),
        ("q2", ("    with torch.inference_mode():\n", "    if True:\n"), "carry a graph"),
        ("q2", ("(model(X) - y).abs().sum()", "(model(X) - y).sum()"), "signed errors"),
        ("q2", (LOOP, LOOP.replace(".abs()", "").replace("return total / count", "return abs(total / count)")),
         "absolute value of the averaged"),
        ("q2", ("return total / count", "return total / (len(batches) * len(batches[0][1]))"),
         "times the size of the first batch"),
        ("q2", (LOOP, '''        errors = torch.cat([(model(X) - y).abs() for X, y in batches])
    return errors.median().item()'''), "median"),
        ("q2", ("(model(X) - y)", "(model(X).squeeze(1) - y)"), "broadcast to [N, N]"),
        ("q2", ("    model.eval()\n", FLIP), "switched it into training mode"),  # right for a training model
        ("q2", ("    return total / count", "    model.train()\n    return total / count"), "left in training mode"),
        ("q2", ("    model.eval()\n", P_ZERO), "you set the dropout layers' p"),
        ("q2", ("count += len(y)", "count += X.numel()"), "X.numel()"),  # right with one feature only
        ("q3", (VAL, VAL.replace("val_data", "test_data")), "best on the *test* set"),
        ("q3", (CHOOSE, "    best = max(range(len(models)), key=lambda i: val_maes[i])\n"), "highest validation"),
        ("q3", (TEST, "test_mae = val_maes[best]"), "validation MAE"),
        ("q3", (TEST, "test_mae = min(helpers.mae(helpers.predict(m, test_data[0]), test_data[1]) for m in models)"),
         "best test MAE of all"),
        ("q3", ("return best, test_mae", "return models[best], test_mae"), "index of the chosen model"),
        # the test set added to the validation MAE: it takes part in the choice
        ("q3", (CHOOSE, "    test_maes = [helpers.mae(helpers.predict(m, test_data[0]), test_data[1])\n"
                        "                 for m in models]\n"
                        "    best = min(range(len(models)), key=lambda i: val_maes[i] + test_maes[i])\n"),
         "best on the *test* set"),
        ("q3", ("return best, test_mae", "return best + 1, test_mae"), "one more than the position"),
        ("q3", (VAL, VAL.replace("helpers.mae", "helpers.mse")), "lowest validation *MSE*"),
        ("q3", ("return best, test_mae", "return best, torch.tensor(test_mae)"), "is a tensor"),
        ("q3", ("helpers.mae(helpers.predict(m, val_data[0]), val_data[1])",
                "(m(val_data[0]) - val_data[1]).abs().mean().item()"), "training mode"),
        ("q3", ("return best, test_mae", "return torch.tensor(best), test_mae"), "the index you returned is a tensor"),
        # the notebook's own split instead of the arguments: right on the notebook's data only
        ("q3", (VAL, "val_maes = [helpers.mae(helpers.predict(m, X_val), y_val) for m in models]"),
         "the notebook's validation split"),
        ("q3", (TEST, "test_mae = helpers.mae(helpers.predict(models[best], X_test), y_test)"),
         "the notebook's test split"),
        ("q3", FLIP_EACH, "switched it into training mode"),  # right for models that arrive in training mode
        ("q3", (VAL, "val_maes = [(helpers.predict(m, val_data[0]).squeeze() - val_data[1]).abs().mean().item()\n"
                     "                for m in models]"), "labels of shape [N, 1]"),
        ("q3", (VAL, "val_maes = [(helpers.predict(m, val_data[0]) - val_data[1]).abs().max().item() for m in models]"),
         ".max() of the errors"),
    ]


ARGMIN = '''def choose_and_report(models, val_data, test_data):
    val_maes = [helpers.mae(helpers.predict(m, val_data[0]), val_data[1]) for m in models]
    best = {}
    return best, helpers.mae(helpers.predict(models[best], test_data[0]), test_data[1])
'''


@pytest.mark.parametrize("answer", [
    ARGMIN.format("np.argmin(val_maes)"),          # an np.int64
    ARGMIN.format("int(torch.argmin(torch.tensor(val_maes)))"),
    ARGMIN.format("val_maes.index(min(val_maes))"),
])
def test_right_ways_to_choose_are_accepted(answer):
    assert verdict("ex05", "q3", answer, {"np": np}).state == "correct"


CHILDREN = "    for layer in model.children():\n        layer.eval()\n"  # every layer in eval mode, not the model


@pytest.mark.parametrize("answer", [
    "def evaluate(model, X):\n    return helpers.predict(model, X)",  # helpers.predict puts back the model's mode
    "def evaluate(model, X):\n    model.eval()\n    with torch.inference_mode():\n        return model(X)",
    EVALUATE.format(CHILDREN, ""),
])
def test_right_ways_to_evaluate_are_accepted(answer):
    assert verdict("ex05", "q1", answer, {}).state == "correct"


@pytest.mark.parametrize("edit", [
    ("    model.eval()\n", CHILDREN),  # dropout is off: what matters is how every layer behaves
    # each batch's MAE weighted by the numbers in X: with F features per point the factor F cancels
    ("total += (model(X) - y).abs().sum().item()\n            count += len(y)",
     "total += (model(X) - y).abs().mean().item() * X.numel()\n            count += X.numel()"),
])
def test_right_ways_to_average_over_batches_are_accepted(edit):
    from _exercises import apply_edit

    assert verdict("ex05", "q2", apply_edit("ex05", "q2", edit), {}).state == "correct"

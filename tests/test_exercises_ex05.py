"""helpers.exercises.ex05 (notebook 05): starting code, solutions, and wrong answers refused with a message."""

from __future__ import annotations

import numpy as np
import pytest
from _exercises import ExerciseModule, verdict

LOOP = '''        for X, y in batches:
            total += (model(X) - y).abs().sum().item()
            count += len(y)
    return total / count'''
CHOOSE = "    best = min(range(len(models)), key=lambda i: val_maes[i])\n"


class TestEx05(ExerciseModule):
    module = "ex05"
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("    model.eval()\n", ""), "dropout layer was still active"),
        ("q1", ("torch.inference_mode()", "torch.no_grad()"), "not an inference tensor"),
        ("q1", ("    with torch.inference_mode():\n        y_pred = model(X)", "    y_pred = model(X)"),
         "carries a graph"),
        ("q1", ("model.train(was_training)", "model.train()"), "came back in training mode"),
        ("q1", ("    model.eval()\n    with torch.inference_mode():\n        y_pred = model(X)\n",
                "    with torch.inference_mode():\n        y_pred = model(X)\n    model.eval()\n"),
         "dropout layer was still active"),
        ("q1", ("return y_pred", "return y_pred.tolist()"), "should be a tensor"),
        ("q1", ("    with torch.inference_mode():\n        y_pred = model(X)", "    y_pred = model(X).detach()"),
         "cut off afterwards (.detach())"),
        ("q1", ("torch.inference_mode()", "torch.set_grad_enabled(False)"), "torch.set_grad_enabled(False)"),
        ("q2", (LOOP, '''        maes = [(model(X) - y).abs().mean().item() for X, y in batches]
    return sum(maes) / len(maes)'''), "averaged the batches' MAEs"),
        ("q2", (LOOP, '''        for X, y in batches:
            mae = (model(X) - y).abs().mean().item()
    return mae'''), "last batch's MAE only"),
        ("q2", ("    model.eval()\n", ""), "eval mode"),
        ("q2", ("(model(X) - y).abs().sum()", "(model(X) - y).pow(2).sum()"), "mean squared error"),
        ("q2", ("return total / count", "return total"), "not a mean"),
        ("q2", ("count += len(y)", "count += 1"), "number of batches"),
        ("q2", ("return total / count", "return torch.tensor(total / count)"), "returned a tensor"),
        ("q2", ("    with torch.inference_mode():\n", "    if True:\n"), "carry a graph"),
        ("q2", ("(model(X) - y).abs().sum()", "(model(X) - y).sum()"), "signed errors"),
        ("q2", ("return total / count", "return total / (len(batches) * len(batches[0][1]))"),
         "times the size of the first batch"),
        ("q2", (LOOP, '''        errors = torch.cat([(model(X) - y).abs() for X, y in batches])
    return errors.median().item()'''), "median"),
        ("q2", ("(model(X) - y)", "(model(X).squeeze(1) - y)"), "broadcast to [N, N]"),
        ("q3", ("val_maes = [helpers.mae(helpers.predict(m, val_data[0]), val_data[1]) for m in models]",
                "val_maes = [helpers.mae(helpers.predict(m, test_data[0]), test_data[1]) for m in models]"),
         "best on the *test* set"),
        ("q3", (CHOOSE, "    best = max(range(len(models)), key=lambda i: val_maes[i])\n"), "highest validation"),
        ("q3", ("test_mae = helpers.mae(helpers.predict(models[best], test_data[0]), test_data[1])",
                "test_mae = val_maes[best]"), "validation MAE"),
        ("q3", ("test_mae = helpers.mae(helpers.predict(models[best], test_data[0]), test_data[1])",
                "test_mae = min(helpers.mae(helpers.predict(m, test_data[0]), test_data[1]) for m in models)"),
         "best test MAE of all"),
        ("q3", ("return best, test_mae", "return models[best], test_mae"), "index of the chosen model"),
        # the test set added to the validation MAE: it takes part in the choice
        ("q3", (CHOOSE, "    test_maes = [helpers.mae(helpers.predict(m, test_data[0]), test_data[1])\n"
                        "                 for m in models]\n"
                        "    best = min(range(len(models)), key=lambda i: val_maes[i] + test_maes[i])\n"),
         "best on the *test* set"),
        ("q3", ("return best, test_mae", "return best + 1, test_mae"), "one more than the position"),
        ("q3", ("val_maes = [helpers.mae(helpers.predict(m, val_data[0]), val_data[1]) for m in models]",
                "val_maes = [helpers.mse(helpers.predict(m, val_data[0]), val_data[1]) for m in models]"),
         "lowest validation *MSE*"),
        ("q3", ("return best, test_mae", "return best, torch.tensor(test_mae)"), "is a tensor"),
        ("q3", ("helpers.mae(helpers.predict(m, val_data[0]), val_data[1])",
                "(m(val_data[0]) - val_data[1]).abs().mean().item()"), "training mode"),
    ]


ARGMIN = '''def choose_and_report(models, val_data, test_data):
    val_maes = [helpers.mae(helpers.predict(m, val_data[0]), val_data[1]) for m in models]
    best = {}
    return best, helpers.mae(helpers.predict(models[best], test_data[0]), test_data[1])
'''


@pytest.mark.parametrize("answer", [
    ARGMIN.format("np.argmin(val_maes)"),          # an np.int64
    ARGMIN.format("torch.argmin(torch.tensor(val_maes))"),  # a 0-d tensor
    ARGMIN.format("val_maes.index(min(val_maes))"),
])
def test_right_ways_to_choose_are_accepted(answer):
    assert verdict("ex05", "q3", answer, {"np": np}).state == "correct"


@pytest.mark.parametrize("answer", [
    "def evaluate(model, X):\n    return helpers.predict(model, X)",  # helpers.predict puts back the model's mode
    "def evaluate(model, X):\n    model.eval()\n    with torch.inference_mode():\n        return model(X)",
])
def test_right_ways_to_evaluate_are_accepted(answer):
    assert verdict("ex05", "q1", answer, {}).state == "correct"

"""helpers.exercises.ex05 (notebook 05): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

from _exercises import ExerciseModule

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
    ]

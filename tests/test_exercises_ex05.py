"""helpers.exercises.ex05 (notebook 05): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

from _exercises import ExerciseModule


class TestEx05(ExerciseModule):
    module = "ex05"
    min_wrong = 2  # raised to 4 as issue 21 reworks these exercises
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("    model.eval()\n", ""), "dropout layer was still active"),
        ("q1", ("torch.inference_mode()", "torch.no_grad()"), "not an inference tensor"),
        ("q1", ("    with torch.inference_mode():\n        return model(X)", "    return model(X)"),
         "carries a graph"),
        ("q2", ("(y_pred - y).abs().mean().item()", "(y_pred - y).mean().item()"), "opposite sign cancelled"),
        ("q2", ("(y_pred - y).pow(2).mean().item()", "(y_pred - y).abs().mean().item() + 0"), "square the errors"),
        ("q2", ("(y_pred - y).abs().mean().item()", "(y_pred - y).abs().mean()"), "returned a tensor"),
        ("q3", ("return y - y_pred", "return y_pred - y"), "wrong sign"),
        ("q3", ("y_pred = helpers.predict(model, X)", "y_pred = model(X)"), "carries a graph"),
    ]

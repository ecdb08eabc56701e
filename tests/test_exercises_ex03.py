"""helpers.exercises.ex03 (notebook 03): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

from _exercises import ExerciseModule


class TestEx03(ExerciseModule):
    module = "ex03"
    min_wrong = 2  # raised to 4 as issue 21 reworks these exercises
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("nn.Parameter(torch.randn(1), requires_grad=True)", "torch.randn(1, requires_grad=True)"),
         "has no parameters"),
        ("q1", ("self.weights * x + self.bias", "self.weights * x"), "bias is missing"),
        ("q1", ("        super().__init__()\n", ""), "Module.__init__() call"),
        ("q2", ("    with torch.no_grad():\n        model.weights.fill_(0.7)\n        model.bias.fill_(0.3)",
                        "    model.weights.fill_(0.7)\n    model.bias.fill_(0.3)"), "torch.no_grad()"),
        ("q2", ("    with torch.no_grad():\n        model.weights.fill_(0.7)\n        model.bias.fill_(0.3)",
                        ("    model.weights = nn.Parameter(torch.tensor([0.7]))\n"
                        "    model.bias = nn.Parameter(torch.tensor([0.3]))")), "new objects"),
        ("q3", "grad_w, grad_b = 0.84, 1.0", "the mean of the x values"),
        ("q3", "grad_w, grad_b = 5.0, 4.2", "swapped"),
    ]

"""helpers.exercises.ex03 (notebook 03): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

from _exercises import ExerciseModule

FORWARD = "return self.a * x**2 + self.b * x + self.c"
SHAPES = 'shapes = {"hidden.weight": [4, 3], "hidden.bias": [4], "out.weight": [1, 4], "out.bias": [1]}'
FILL = "    with torch.no_grad():\n        w.fill_(weight)\n        b.fill_(bias)"


class TestEx03(ExerciseModule):
    module = "ex03"
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("nn.Parameter(torch.randn(1))", "torch.randn(1, requires_grad=True)"), "has no parameters"),
        # the values are right: only the graph shows that such a model could never be trained
        ("q1", (FORWARD, "return self.a.item() * x**2 + self.b.item() * x + self.c.item()"), "carries no graph"),
        ("q1", (FORWARD, "return float(self.a) * x**2 + self.b * x + self.c"), "`a` gets no gradient"),
        ("q1", (FORWARD, "return (self.a * x**2 + self.b * x + self.c).detach()"), "carries no graph"),
        ("q1", (FORWARD, "return self.a * x**2 + self.b * x"), "the + c is missing"),
        ("q1", (FORWARD, "return self.a * x * 2 + self.b * x + self.c"), "x squared is x ** 2"),
        ("q1", (FORWARD, "return self.b * x**2 + self.a * x + self.c"), "a and b are swapped"),
        ("q1", ("        super().__init__()\n", ""), "Module.__init__() call"),
        ("q1", ("self.c = nn.Parameter(torch.randn(1))", "self.c = nn.Parameter(torch.randn(1), requires_grad=False)"),
         "`c` does not require gradients"),
        ("q1", ("nn.Parameter(torch.randn(1))", "nn.Parameter(torch.zeros(1))"), "start at the same numbers"),
        ("q2", (SHAPES, 'shapes = {"hidden.weight": [3, 4], "hidden.bias": [4], "out.weight": [4, 1], '
                        '"out.bias": [1]}'), "[out_features, in_features]"),
        ("q2", (SHAPES, 'shapes = {"weight": [4, 3], "bias": [4]}'), "attribute name, a dot"),
        ("q2", (SHAPES, 'shapes = {"hidden.weight": [4, 3], "out.weight": [1, 4]}'), "one weight and one bias"),
        ("q2", (SHAPES, 'shapes = {"hidden.weight": [4, 3], "hidden.bias": [4, 1], "out.weight": [1, 4], '
                        '"out.bias": [1, 1]}'), "a bias is flat"),
        ("q2", ("n_params = 4 * 3 + 4 + 1 * 4 + 1", "n_params = 4 * 3 + 1 * 4"), "counts the weights only"),
        ("q2", ("n_params = 4 * 3 + 4 + 1 * 4 + 1", "n_params = 4"), "counts tensors"),
        ("q3", (FILL, "    w.fill_(weight)\n    b.fill_(bias)"), "Do it inside `with torch.no_grad():`"),
        # right for the hand-written model, the one the notebook's Try it sets
        ("q3", "def set_line(model, weight, bias):\n    with torch.no_grad():\n        model.weights.fill_(weight)\n"
               "        model.bias.fill_(bias)", "LinearRegressionModelV2 and set_line(model, 0.7, 0.3), your code raised"),
        ("q3", "def set_line(model, weight, bias):\n    for name, value in zip(['weights', 'bias'], [weight, bias]):\n"
               "        setattr(model, name, nn.Parameter(torch.tensor([value])))", "other parameter objects"),
        ("q3", (FILL, "    w.data = torch.tensor([weight])\n    b.data = torch.tensor([bias])"), "changed shape"),
        ("q3", ("w, b = model.parameters()", "b, w = model.parameters()"), "swapped"),
        ("q3", (FILL, "    with torch.no_grad():\n        w.clone().fill_(weight)\n        b.clone().fill_(bias)"),
         "made on a copy"),
        ("q3", (FILL, "    torch.set_grad_enabled(False)\n    w.fill_(weight)\n    b.fill_(bias)"),
         "gradients stayed switched off"),
    ]

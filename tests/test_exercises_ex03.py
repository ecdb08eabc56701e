"""helpers.exercises.ex03 (notebook 03): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import pytest

from _exercises import ExerciseModule, exercise_module, verdict

FORWARD = "return self.a * x**2 + self.b * x + self.c"
SHAPES = 'shapes = {"hidden.weight": [4, 3], "hidden.bias": [4], "out.weight": [1, 4], "out.bias": [1]}'
SOLUTION_Q1 = exercise_module("ex03").q1.solution_code
FILL = "    with torch.no_grad():\n        w.fill_(weight)\n        b.fill_(bias)"


# the notebook's own classes (cells 5 and 19): other class objects than helpers', with the same parameters
NOTEBOOK_CLASSES = '''
class LinearRegressionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1, dtype=torch.float), requires_grad=True)
        self.bias = nn.Parameter(torch.randn(1, dtype=torch.float), requires_grad=True)

    def forward(self, x):
        return self.weights * x + self.bias

class LinearRegressionModelV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear_layer = nn.Linear(in_features=1, out_features=1)

    def forward(self, x):
        return self.linear_layer(x)
'''
BY_CLASS = '''
def set_line(model, weight, bias):
    with torch.no_grad():
        if isinstance(model, {0}LinearRegressionModel):
            model.weights.fill_(weight)
            model.bias.fill_(bias)
        elif isinstance(model, {0}LinearRegressionModelV2):
            model.linear_layer.weight.fill_(weight)
            model.linear_layer.bias.fill_(bias)
'''



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
        ("q1", (FORWARD, "return self.a.detach() * x**2 + self.b * x + self.c"), "`a` gets no gradient"),
        ("q1", (FORWARD, "return self.a * x**2 + self.b * x"), "the + c is missing"),
        ("q1", (FORWARD, "return self.a * x * 2 + self.b * x + self.c"), "x squared is x ** 2"),
        ("q1", (FORWARD, "return self.b * x**2 + self.a * x + self.c"), "a and b are swapped"),
        ("q1", ("        super().__init__()\n", ""), "Module.__init__() call"),
        ("q1", ("self.c = nn.Parameter(torch.randn(1))", "self.c = nn.Parameter(torch.randn(1), requires_grad=False)"),
         "`c` does not require gradients"),
        ("q1", ("nn.Parameter(torch.randn(1))", "nn.Parameter(torch.zeros(1))"), "start at the same numbers"),
        # found by a red-team read: starts that are not torch.randn(1) as it comes
        ("q1", ("nn.Parameter(torch.randn(1))", "nn.Parameter(torch.rand(1))"), "start from torch.rand(1), uniform"),
        ("q1", ("nn.Parameter(torch.randn(1))", "nn.Parameter(torch.randn(1) * 0.01)"),
         "not scaled, shifted or made positive"),
        ("q1", ("nn.Parameter(torch.randn(1))", "nn.Parameter(torch.randn(1).abs())"), "three torch.randn(1) draws"),
        ("q1", ("nn.Parameter(torch.randn(1))", "nn.Parameter(torch.randn(1, dtype=torch.float64))"),
         "`a` is torch.float64"),
        ("q1", ("        super().__init__()\n", "        super().__init__()\n        torch.manual_seed(42)\n"),
         "without setting a seed inside __init__"),
        # found by a red-team read: starts drawn once, shared by every model
        ("q1", "A, B, C = (nn.Parameter(torch.randn(1)) for _ in range(3))\n" + SOLUTION_Q1.replace(
            "        self.a = nn.Parameter(torch.randn(1))\n        self.b = nn.Parameter(torch.randn(1))\n"
            "        self.c = nn.Parameter(torch.randn(1))", "        self.a, self.b, self.c = A, B, C"),
         "share the same parameter objects"),
        ("q1", "class QuadModel(nn.Module):\n    a = nn.Parameter(torch.randn(1))\n"
               "    b = nn.Parameter(torch.randn(1))\n    c = nn.Parameter(torch.randn(1))\n\n"
               "    def forward(self, x):\n        " + FORWARD,
         "a, b, c are nn.Parameters written in the class body"),
        # found by a red-team read: forward squares the caller's x in place
        ("q1", (FORWARD, "out = self.b * x + self.c\n        x **= 2\n        return out + self.a * x"),
         "forward changed the x it was given"),
        ("q1", (FORWARD, "x *= x\n        return self.a * x + self.b * x.sqrt() + self.c"),
         "forward changed the x it was given"),
        ("q2", (SHAPES, 'shapes = {"hidden.weight": [3, 4], "hidden.bias": [4], "out.weight": [4, 1], '
                        '"out.bias": [1]}'), "[out_features, in_features]"),
        ("q2", (SHAPES, 'shapes = {"weight": [4, 3], "bias": [4]}'), "attribute name, a dot"),
        ("q2", (SHAPES, 'shapes = {"hidden.weight": [4, 3], "out.weight": [1, 4]}'), "one weight and one bias"),
        ("q2", (SHAPES, 'shapes = {"hidden.weight": [4, 3], "hidden.bias": [4, 1], "out.weight": [1, 4], '
                        '"out.bias": [1, 1]}'), "a bias is flat"),
        ("q2", ("n_params = 4 * 3 + 4 + 1 * 4 + 1", "n_params = 4 * 3 + 1 * 4"), "counts the weights only"),
        ("q2", ("n_params = 4 * 3 + 4 + 1 * 4 + 1", "n_params = 4"), "counts tensors"),
        # found by a red-team read: a count that is not an int, a size that is not a number, keys not joined by a dot
        ("q2", ("n_params = 4 * 3 + 4 + 1 * 4 + 1", "n_params = 21.0"), "is a float: a count of numbers is a whole"),
        ("q2", ("n_params = 4 * 3 + 4 + 1 * 4 + 1", "n_params = torch.tensor(21)"), "is a tensor"),
        ("q2", ('"out.weight": [1, 4], "out.bias": [1]', '"out.weight": [True, 4], "out.bias": [True]'),
         "holds a truth value"),
        ("q2", (SHAPES, 'shapes = {"hidden_weight": [4, 3], "hidden_bias": [4], "out_weight": [1, 4], '
                        '"out_bias": [1]}'), "4 keys, the right number, but 'hidden_bias', "),
        ("q2", (SHAPES, 'shapes = {"TwoLayer.hidden.weight": [4, 3], "TwoLayer.hidden.bias": [4], '
                        '"TwoLayer.out.weight": [1, 4], "TwoLayer.out.bias": [1]}'), "nothing before or after"),
        # found by a red-team read: the class given changed, the answer consistent with the change
        ("q2", ("self.hidden = nn.Linear(3, 4)\n        self.out = nn.Linear(4, 1)",
                "self.hidden = nn.Linear(4, 3)\n        self.out = nn.Linear(3, 1)"), "is not the one given"),
        ("q3", (FILL, "    w.fill_(weight)\n    b.fill_(bias)"), "Do it inside `with torch.no_grad():`"),
        # right for the hand-written model, the one the notebook's Try it sets
        ("q3", "def set_line(model, weight, bias):\n    with torch.no_grad():\n        model.weights.fill_(weight)\n"
               "        model.bias.fill_(bias)", "LinearRegressionModelV2 and set_line(model, 0.7, 0.3), your code raised"),
        ("q3", "def set_line(model, weight, bias):\n    for name, value in zip(['weights', 'bias'], [weight, bias]):\n"
               "        setattr(model, name, nn.Parameter(torch.tensor([value])))", "other parameter objects"),
        # .data hides the change from autograd (PyTorch advises against it); a new tensor swapped in even more so
        ("q3", (FILL, "    w.data = torch.tensor([weight])\n    b.data = torch.tensor([bias])"),
         "behind autograd's back"),
        ("q3", (FILL, "    w.data.fill_(weight)\n    b.data.fill_(bias)"), "behind autograd's back"),
        ("q3", ("w, b = model.parameters()", "b, w = model.parameters()"), "swapped"),
        ("q3", (FILL, "    with torch.no_grad():\n        w.clone().fill_(weight)\n        b.clone().fill_(bias)"),
         "made on a copy"),
        ("q3", (FILL, "    torch.set_grad_enabled(False)\n    w.fill_(weight)\n    b.fill_(bias)"),
         "gradients stayed switched off"),
        # found by a red-team read: a parameter forgotten is not a change behind autograd's back
        ("q3", (FILL, "    with torch.no_grad():\n        w.fill_(weight)"), "the bias was never set"),
        ("q3", (FILL, "    with torch.no_grad():\n        b.fill_(bias)"), "the weight was never set"),
        ("q3", (FILL, "    with torch.no_grad():\n        w.zero_().add_(weight)"), "the bias was never set"),
        ("q3", NOTEBOOK_CLASSES + "def set_line(model, weight, bias):\n    with torch.no_grad():\n"
               "        if hasattr(model, 'linear_layer'):\n            model.linear_layer.weight.fill_(weight)\n"
               "        else:\n            model.weights.fill_(weight)\n            model.bias.fill_(bias)",
         "For a LinearRegressionModelV2 and set_line(model, 0.7, 0.3), the bias was never set"),
        # found by a red-team read: right for one pair of classes only
        ("q3", NOTEBOOK_CLASSES + BY_CLASS.format(""),
         "works for models of this notebook's classes but not for those of helpers' classes"),
        ("q3", NOTEBOOK_CLASSES + BY_CLASS.format("helpers."),
         "works for models of helpers' classes but not for those of the classes this notebook defines"),
        ("q3", NOTEBOOK_CLASSES + "def set_line(model, weight, bias):\n    with torch.no_grad():\n"
               "        if isinstance(model, LinearRegressionModel):\n            model.weights.fill_(weight)\n"
               "            model.bias.fill_(bias)\n        else:\n"
               "            model.linear_layer.weight.fill_(weight)\n            model.linear_layer.bias.fill_(bias)",
         "helpers.LinearRegressionModel and set_line(model, 0.7, 0.3), your code raised AttributeError"),
        # found by a red-team read: the values rounded, a made-up gradient left behind
        ("q3", ("w.fill_(weight)\n        b.fill_(bias)", "w.fill_(round(weight, 2))\n        b.fill_(round(bias, 2))"),
         "set_line(model, 0.123456, -0.001), the weight became 0.12 and the bias -0: the numbers you were given"),
        ("q3", ("w.fill_(weight)\n        b.fill_(bias)", "w.fill_(round(weight, 4))\n        b.fill_(round(bias, 4))"),
         "rounded. Set them as they are"),
        ("q3", (FILL, FILL + "\n    w.grad, b.grad = torch.ones_like(w), torch.ones_like(b)"),
         "has a gradient (.grad)"),
    ]


@pytest.mark.parametrize("answer", [
    "def set_line(model, weight, bias):\n    with torch.no_grad():\n"  # by class name: both pairs of classes
    "        if type(model).__name__ == 'LinearRegressionModel':\n"
    "            model.weights.fill_(weight)\n            model.bias.fill_(bias)\n"
    "        else:\n            model.linear_layer.weight.fill_(weight)\n"
    "            model.linear_layer.bias.fill_(bias)",
    "def set_line(model, weight, bias):\n    w, b = model.parameters()\n    with torch.no_grad():\n"
    "        w.zero_().add_(weight)\n        b.mul_(0).add_(bias)",
    "def set_line(model, weight, bias):\n    for v, value in zip(model.state_dict().values(), (weight, bias)):\n"
    "        v.fill_(value)",  # detached views of the parameters: autograd sees the change (load_state_dict's way)
    "def set_line(model, weight, bias):\n    w, b = model.parameters()\n    with torch.inference_mode():\n"
    "        w.fill_(weight)\n        b.fill_(bias)",
    "def set_line(model, weight, bias):\n    w, b = model.parameters()\n    with torch.no_grad():\n"
    "        w.copy_(torch.full_like(w, weight))\n        b.copy_(torch.full_like(b, bias))",
])
def test_right_answers_to_set_line_are_accepted(answer):
    result = verdict("ex03", "q3", NOTEBOOK_CLASSES + answer, {})
    assert result.state == "correct", result


def test_set_line_says_which_classes_it_used():
    own = "def set_line(model, weight, bias):\n    with torch.no_grad():\n        model.weights.fill_(weight)\n" \
          "        model.bias.fill_(bias)"
    assert "For a LinearRegressionModelV2 and" in verdict("ex03", "q3", NOTEBOOK_CLASSES + own, {}).message
    assert "For a helpers.LinearRegressionModelV2 and" in verdict("ex03", "q3", own, {}).message

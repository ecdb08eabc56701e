"""helpers.exercises.ex03 (notebook 03): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import pytest

from _exercises import ExerciseModule, verdict

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
        ("q1", (FORWARD, "return self.a.detach() * x**2 + self.b * x + self.c"), "`a` gets no gradient"),
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
        # .data hides the change from autograd (PyTorch advises against it); a new tensor swapped in even more so
        ("q3", (FILL, "    w.data = torch.tensor([weight])\n    b.data = torch.tensor([bias])"),
         "behind autograd's back"),
        ("q3", (FILL, "    w.data.fill_(weight)\n    b.data.fill_(bias)"), "behind autograd's back"),
        ("q3", ("w, b = model.parameters()", "b, w = model.parameters()"), "swapped"),
        ("q3", (FILL, "    with torch.no_grad():\n        w.clone().fill_(weight)\n        b.clone().fill_(bias)"),
         "made on a copy"),
        ("q3", (FILL, "    torch.set_grad_enabled(False)\n    w.fill_(weight)\n    b.fill_(bias)"),
         "gradients stayed switched off"),
    ]


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


@pytest.mark.parametrize("answer", [
    BY_CLASS.format(""),  # found refused by a learner: isinstance against the notebook's own classes
    BY_CLASS.format("helpers."),  # the same against helpers' classes, while the notebook defines its own
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

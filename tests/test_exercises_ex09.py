"""helpers.exercises.ex09 (notebook 09): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import pytest

from _exercises import ExerciseModule, verdict

_TRAIN_MODE = '''def freeze_backbone(model):
    model.backbone.requires_grad_(False)


def train_mode(model):
{body}
'''

_RESULT = "(predicted[of_class] == c).float().mean().item()"
_CLASSIFIER = '''def make_classifier(channels, height, width, num_classes, hidden=32):
    return nn.Sequential(nn.Flatten(), nn.Linear(channels * height * width, hidden), {middle},
                         nn.Linear(hidden, num_classes){end})
'''


def _classifier(middle="nn.ReLU()", end=""):
    """A whole make_classifier answer with its middle layer(s) and anything after the last Linear layer."""
    return _CLASSIFIER.format(middle=middle, end=end)


class TestEx09(ExerciseModule):
    module = "ex09"
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        # q1: each agrees with the right answer on some case (one image per class, or a square table)
        ("q1", (_RESULT, "(predicted[of_class] == c).sum().item()"), "number of right answers per class"),
        ("q1", (_RESULT, "(predicted == y).float().mean().item()"), "the accuracy over all images"),
        ("q1", (_RESULT, "(y[predicted == c] == c).float().mean().item()"), "*predicted* as that class"),
        ("q1", ("logits.argmax(dim=1)", "logits.argmax(dim=0)"), "the argmax ran over the images"),
        ("q1", ("predicted = logits.argmax(dim=1)\n    result = []\n    for c in range(num_classes):\n"
                "        of_class = y == c\n        result.append((predicted[of_class] == c).float().mean().item())",
                "predicted = logits.argmax()\n    result = []\n    for c in range(num_classes):\n"
                "        result.append((predicted == c).float().mean().item())"), "argmax() without dim"),
        ("q1", (_RESULT, "(predicted[of_class] == c).sum().item() / len(y)"), "divided by all the images"),
        ("q1", (_RESULT, "(predicted == c).float().mean().item()"), "share of *all* images predicted"),
        ("q1", (_RESULT, "((predicted[of_class] == c).sum() // of_class.sum()).item()"), "integer division"),
        ("q1", (_RESULT, "round((predicted[of_class] == c).float().mean().item(), 3)"), "Did you round?"),
        ("q1", (_RESULT, "(predicted[of_class] == c).mean()"), ".float()"),
        # q2: each right for the notebook's 8x8 digits and 10 classes, or with the default hidden size, or trains
        ("q2", ("nn.Linear(channels * height * width, hidden)", "nn.Linear(64, hidden)"), "needs that many inputs"),
        ("q2", ("nn.Linear(hidden, num_classes)", "nn.Linear(hidden, 10)"), "expected logits [12, 4]"),
        ("q2", ("nn.ReLU(),", "nn.Identity(),"), "collapse into one"),
        ("q2", _classifier(middle="nn.BatchNorm1d(hidden)"), "nn.BatchNorm1d is no non-linearity"),
        ("q2", _classifier(middle="nn.Dropout(0.5)"), "nn.Dropout is no non-linearity"),
        ("q2", ("nn.Linear(hidden, num_classes),", "nn.Linear(hidden, num_classes), nn.Softmax(dim=1),"),
         "ends in nn.Softmax"),
        ("q2", _classifier(middle="nn.Softmax(dim=1)"), "sits between the layers"),
        ("q2", _classifier(end=", nn.ReLU()"), "applies a ReLU: every logit is 0 or more"),
        ("q2", _classifier(middle="nn.ReLU"), "you passed the class nn.ReLU itself"),
        ("q2", _classifier(middle="torch.relu"), "relu is a function"),
        ("q2", ("nn.Linear(channels * height * width, hidden),\n        nn.ReLU(),\n        nn.Linear(hidden, ",
                "nn.Linear(channels * height * width, 32),\n        nn.ReLU(),\n        nn.Linear(32, "),
         "no layer has 5 outputs"),
        ("q2", ("nn.Linear(channels * height * width, hidden)", "nn.Linear(height * width, hidden)"), "raised"),
        ("q2", ("nn.Flatten(),", "nn.Flatten(start_dim=0),"), "flattens the batch dimension too"),
        ("q2", _classifier(end=", nn.Sigmoid()"), "applies a sigmoid"),
        ("q2", "class Classifier(nn.Module):\n"  # a softmax no layer shows, in the forward
               "    def __init__(self, c, h, w, k, hidden):\n        super().__init__()\n"
               "        self.net = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, hidden), nn.ReLU(), "
               "nn.Linear(hidden, k))\n\n"
               "    def forward(self, x):\n        return torch.softmax(self.net(x), dim=1)\n\n\n"
               "def make_classifier(channels, height, width, num_classes, hidden=32):\n"
               "    return Classifier(channels, height, width, num_classes, hidden)\n", "applies softmax"),
        # q3: each freezes something, as the notebook's cell does, and still lets the backbone change
        ("q3", ("    model.train()\n    model.backbone.eval()", "    model.train()"), "running mean and variance"),
        ("q3", ("model.backbone.requires_grad_(False)", "model.backbone.eval()"), "changed the backbone's weights"),
        ("q3", ("    model.train()\n    model.backbone.eval()", "    model.eval()"), "head is in eval mode"),
        ("q3", ("model.backbone.requires_grad_(False)", "model.requires_grad_(False)"), "no parameter can learn"),
        ("q3", ("model.backbone.requires_grad_(False)", "model.head.requires_grad_(False)"), "the other way round"),
        ("q3", _TRAIN_MODE.format(body="    model.backbone.eval()\n    model.train()"), "running mean and variance"),
        ("q3", _TRAIN_MODE.format(body="    model.backbone.eval()"), "head is in eval mode"),
        ("q3", _TRAIN_MODE.format(body="    model.train()\n    model.backbone[1].momentum = 0.0"),
         "ran in training mode"),
        ("q3", _TRAIN_MODE.format(body="    model.train()\n    model.backbone[1].track_running_stats = False"),
         "ran in training mode"),
        # gradients zeroed by hooks: the weights stay under Adam without weight decay, yet nothing is frozen
        ("q3", ("    model.backbone.requires_grad_(False)", "    for p in model.backbone.parameters():\n"
                "        p.register_hook(lambda g: torch.zeros_like(g))"), "still require gradients"),
        # state kept between calls: right for the only model the notebook freezes
        ("q3", "FROZEN = []\n\n\n" + _TRAIN_MODE.format(body="    model.train()\n    FROZEN[0].eval()").replace(
            "    model.backbone.requires_grad_(False)\n",
            "    model.backbone.requires_grad_(False)\n    FROZEN.append(model.backbone)\n"),
         "changed the modes of another model"),
        ("q3", "FROZEN = []\n\n\n" + _TRAIN_MODE.format(body="    model.train()\n    FROZEN[-1].eval()").replace(
            "    model.backbone.requires_grad_(False)\n",
            "    model.backbone.requires_grad_(False)\n    FROZEN.append(model.backbone)\n"),
         "changed the modes of another model"),
        ("q3", ("    model.backbone.eval()", "    model.backbone.eval()\n    model.head[0].p = 0.0"),
         "set the head's dropout p from 0.3 to 0.0"),
        ("q3", ("    model.backbone.eval()", "    model.backbone.eval()\n    model.head[0].eval()"),
         "the head's dropout ran in eval mode"),
        ("q3", ("model.backbone.requires_grad_(False)", "torch.set_grad_enabled(False)"), "switched autograd off"),
    ]


_PER_CLASS = '''def accuracy_per_class(logits, y, num_classes):
    predicted = logits.argmax(dim=1)
    return {result}
'''


@pytest.mark.parametrize("result", [
    "[(predicted[y == c] == c).float().mean() for c in range(num_classes)]",  # one-element tensors
    "[(predicted[y == c] == c).sum() / len(y[y == c]) for c in range(num_classes)]",
    "torch.stack([(predicted[y == c] == c).float().mean() for c in range(num_classes)])",  # one tensor
    "[(predicted[y == c] == c).sum().item() / (y == c).sum().item() for c in range(num_classes)]",
    "[(logits[y == c].argmax(dim=1) == c).double().mean().item() for c in range(num_classes)]",
])
def test_right_ways_to_count_per_class_are_accepted(result):
    assert verdict("ex09", "q1", _PER_CLASS.format(result=result), {}).state == "correct"


@pytest.mark.parametrize("middle", ["nn.Sigmoid()", "nn.Softplus()", "nn.ReLU(), nn.Dropout(0.5)", "nn.Tanh()",
                                    "nn.GELU()", "nn.LeakyReLU(0.1)", "nn.ReLU(inplace=True)"])
def test_any_non_linearity_is_accepted_and_named(middle):
    result = verdict("ex09", "q2", _classifier(middle=middle), {})
    assert result.state == "correct" and middle.split("(")[0] in result.message, result


@pytest.mark.parametrize(("answer", "named"), [
    # a LazyLinear draws its weights after the last Linear layer's: GELU and SiLU give small logits of both signs
    (_classifier(middle="nn.GELU()").replace("nn.Linear(channels * height * width, hidden)", "nn.LazyLinear(hidden)"),
     "nn.GELU"),
    (_classifier(middle="nn.SiLU()").replace("nn.Linear(channels * height * width, hidden)", "nn.LazyLinear(hidden)"),
     "nn.SiLU"),
    ("class Act(nn.Module):\n    def forward(self, x):\n        return torch.relu(x)\n\n\n"
     + _classifier(middle="Act()"), "your module Act"),
    ("import math\n\n\nclass MLP(nn.Module):\n    def __init__(self, n_in, hidden, n_out):\n"
     "        super().__init__()\n        self.fc1, self.fc2 = nn.Linear(n_in, hidden), nn.Linear(hidden, n_out)\n\n"
     "    def forward(self, x):\n        return self.fc2(torch.tanh(self.fc1(x.flatten(1))))\n\n\n"
     "def make_classifier(channels, height, width, num_classes, hidden=32):\n"
     "    return MLP(math.prod((channels, height, width)), hidden, num_classes)\n", "in your model's forward"),
])
def test_lazy_and_custom_models_are_accepted_and_named(answer, named):
    result = verdict("ex09", "q2", answer, {})
    assert result.state == "correct" and named in result.message and "nn.MLP" not in result.message, result

"""helpers.exercises.ex09 (notebook 09): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

from _exercises import ExerciseModule

_TRAIN_MODE = '''def freeze_backbone(model):
    model.backbone.requires_grad_(False)


def train_mode(model):
{body}
'''


class TestEx09(ExerciseModule):
    module = "ex09"
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        # q1: each agrees with the right answer on some case (one image per class, or a square table)
        ("q1", ("(predicted[of_class] == c).float().mean().item()", "(predicted[of_class] == c).sum().item()"),
         "number of right answers per class"),
        ("q1", ("(predicted[of_class] == c).float().mean().item()", "(predicted == y).float().mean().item()"),
         "the accuracy over all images"),
        ("q1", ("(predicted[of_class] == c).float().mean().item()", "(y[predicted == c] == c).float().mean().item()"),
         "*predicted* as that class"),
        ("q1", ("logits.argmax(dim=1)", "logits.argmax(dim=0)"), "the argmax ran over the images"),
        ("q1", ("(predicted[of_class] == c).float().mean().item()",
                "(predicted[of_class] == c).sum().item() / len(y)"), "expected"),
        # q2: each right for the notebook's 8x8 digits and 10 classes, or learns, or has the right shape
        ("q2", ("nn.Linear(channels * height * width, hidden)", "nn.Linear(64, hidden)"), "needs that many inputs"),
        ("q2", ("nn.Linear(hidden, num_classes)", "nn.Linear(hidden, 10)"), "expected logits [12, 4]"),
        ("q2", ("nn.ReLU(),", "nn.Identity(),"), "collapse into one linear layer"),
        ("q2", ("nn.Linear(hidden, num_classes),", "nn.Linear(hidden, num_classes), nn.Softmax(dim=1),"),
         "softmax layer"),
        ("q2", ("nn.Linear(channels * height * width, hidden)", "nn.Linear(height * width, hidden)"), "raised"),
        # q3: each freezes something, as the notebook's cell does, and still lets the backbone change
        ("q3", ("    model.train()\n    model.backbone.eval()", "    model.train()"), "running mean and variance"),
        ("q3", ("model.backbone.requires_grad_(False)", "model.backbone.eval()"), "changed the backbone's weights"),
        ("q3", ("    model.train()\n    model.backbone.eval()", "    model.eval()"), "head is in eval mode"),
        ("q3", ("model.backbone.requires_grad_(False)", "model.requires_grad_(False)"), "no parameter can learn"),
        ("q3", _TRAIN_MODE.format(body="    model.backbone.eval()\n    model.train()"), "running mean and variance"),
        ("q3", _TRAIN_MODE.format(body="    model.backbone.eval()"), "head is in eval mode"),
    ]

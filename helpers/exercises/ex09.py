"""Exercises for notebook 09 (images from folders): accuracy per class, a classifier for any image size, and a
frozen backbone whose batch norm keeps its statistics."""

from __future__ import annotations

import torch
from torch import nn

from ._core import Exercises, Incorrect
from ._util import call, close, need, shape

_ex = Exercises("ex09")
bind = _ex.bind


def _per_class_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, int]]:
    """Cases where per-class accuracy differs from the overall one, from precision, and from argmax over dim 0."""
    return [
        ("4 images of 4 classes, logits of shape [4, 4]",
         torch.tensor([[0.0, 5, 1, 0], [3, 4, 0, 1], [1, 0, 2, 0], [0, 0, 9, 1]]), torch.tensor([0, 1, 2, 3]), 4),
        ("6 images of 3 classes (3, 2 and 1 images)",
         torch.tensor([[3.0, 1, 0], [2, 1, 0], [0, 0, 1], [0, 2, 1], [1, 3, 0], [0, 1, 2]]),
         torch.tensor([0, 0, 0, 1, 1, 2]), 3),
        ("5 images of 2 classes, one class always predicted",
         torch.tensor([[2.0, 1], [3, 0], [1, 0], [4, 1], [0, 1]]), torch.tensor([0, 0, 1, 1, 1]), 2),
    ]


def _reference(logits: torch.Tensor, y: torch.Tensor, num_classes: int) -> list[float]:
    """For each class, the fraction of its images predicted right (recall)."""
    pred = logits.argmax(dim=1)
    return [(pred[y == c] == c).float().mean().item() for c in range(num_classes)]


def _check_per_class(accuracy_per_class: object) -> str:
    """One fraction per class: right answers among that class's images."""
    need(callable(accuracy_per_class), "`accuracy_per_class` should be a function accuracy_per_class(logits, y, "
                                       "num_classes).")
    for name, logits, y, k in _per_class_cases():
        case = f"for {name}"
        got = call(accuracy_per_class, logits, y, k, case=case[0].upper() + case[1:])
        if isinstance(got, torch.Tensor):
            got = got.tolist()
        need(isinstance(got, (list, tuple)) and len(got) == k, f"{case} you returned {got!r}: return a list of "
                                                               f"{k} numbers, one per class.")
        need(all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in got),
             f"{case} you returned {got!r}: each entry should be a Python number.")
        want = _reference(logits, y, k)
        if close(torch.tensor(got), torch.tensor(want)):
            continue
        pred = logits.argmax(dim=1)
        counts = [float((pred[y == c] == c).sum()) for c in range(k)]
        precision = [(y[pred == c] == c).float().mean().item() if (pred == c).any() else float("nan")
                     for c in range(k)]
        overall = (pred == y).float().mean().item()
        rounded = [round(v, 3) for v in want]
        if close(torch.tensor(got), torch.tensor(counts)):
            raise Incorrect(f"{case} you returned {got}, the number of right answers per class: divide each by how "
                            f"many images that class has, to get {rounded}.")
        if all(close(v, overall) for v in got):
            raise Incorrect(f"{case} every class got {overall:.3f}, the accuracy over all images: count each class "
                            f"on its own images only, {rounded}.")
        if torch.allclose(torch.tensor(got, dtype=torch.float64), torch.tensor(precision, dtype=torch.float64),
                          atol=1e-5, equal_nan=True):
            raise Incorrect(f"{case} you returned {[round(v, 3) for v in got]}: for each class, the share of the "
                            "images *predicted* as that class that were right. Take instead the images that truly "
                            f"are that class (y == c), and the share of them predicted right: {rounded}.")
        if logits.shape[0] == logits.shape[1] and close(torch.tensor(got), torch.tensor(
                _reference(logits.T, y, k))):
            raise Incorrect(f"{case} you returned {[round(v, 3) for v in got]}: the argmax ran over the images; take "
                            "it over the classes, dim=1 (one row per image).")
        raise Incorrect(f"{case} you returned {[round(v, 3) for v in got]}, expected {rounded}.")
    return "one fraction per class, each over that class's own images: classes of different sizes, square logits."


q1 = _ex.problem(
    _check_per_class, names=("accuracy_per_class",), title="Accuracy for each class",
    task="Write `accuracy_per_class(logits, y, num_classes)`: a list with one number per class c, the fraction of "
         "the images whose true class is c that the model predicts as c (one row of the confusion matrix, read as "
         "a share). The check uses classes with different numbers of images, and logits with as many images as "
         "classes. Every class has at least one image.",
    starter='def accuracy_per_class(logits, y, num_classes):\n'
            '    """For each class c: the fraction of the images of class c whose largest logit is at c."""\n'
            '    predicted = ____            # one class per image\n'
            '    result = []\n'
            '    for c in range(num_classes):\n'
            '        of_class = ____         # which images truly are a c\n'
            '        result.append(____)\n'
            '    return result',
    hint="A boolean tensor such as (y == c) picks the images of one class out of any tensor of the same length. "
         "Among those images only, what share was predicted as c?",
    solution='def accuracy_per_class(logits, y, num_classes):\n'
             '    """For each class c: the fraction of the images of class c whose largest logit is at c."""\n'
             '    predicted = logits.argmax(dim=1)\n'
             '    result = []\n'
             '    for c in range(num_classes):\n'
             '        of_class = y == c\n'
             '        result.append((predicted[of_class] == c).float().mean().item())\n'
             '    return result',
)


def _is_affine(model: nn.Module, x: torch.Tensor) -> bool:
    """True if model(2x) == 2 model(x) - model(0): a model with no non-linearity (two Linear layers collapse)."""
    with torch.no_grad():
        return close(model(2 * x), 2 * model(x) - model(torch.zeros_like(x)), 1e-4)


def _check_classifier(make_classifier: object) -> str:
    """Logits of the right shape for three image sizes, no softmax, a non-linearity, and it learns."""
    need(callable(make_classifier), "`make_classifier` should be a function make_classifier(channels, height, width, "
                                    "num_classes).")
    for c, h, w, k in [(3, 5, 7, 4), (1, 8, 8, 10), (2, 4, 6, 3)]:
        case = f"For make_classifier({c}, {h}, {w}, {k})"
        torch.manual_seed(0)
        model = call(make_classifier, c, h, w, k, case=case)
        need(isinstance(model, nn.Module), f"{case} you returned {type(model).__name__}: return an nn.Module.")
        softmax = [m for m in model.modules() if isinstance(m, (nn.Softmax, nn.LogSoftmax))]
        need(not softmax, "the model ends in a softmax layer: nn.CrossEntropyLoss applies softmax itself, so the "
                          "model must return raw scores (logits).")
        X = torch.rand(12, c, h, w, generator=torch.Generator().manual_seed(1))
        try:
            logits = call(model, X, case=f"{case}, on a batch of images of shape [12, {c}, {h}, {w}]")
        except Incorrect as err:
            hint = (f" (after nn.Flatten() each image is {c} x {h} x {w} = {c * h * w} numbers: the first Linear "
                    "layer needs that many inputs)") if "mat1 and mat2" in str(err) else ""
            raise Incorrect(f"{err}{hint}") from None
        need(isinstance(logits, torch.Tensor) and logits.shape == (12, k), f"{case}, a batch [12, {c}, {h}, {w}] gave "
             f"{shape(logits) if isinstance(logits, torch.Tensor) else logits}, expected logits [12, {k}]: one row "
             "per image, one logit per class (flatten first; the last layer has num_classes outputs).")
        need(not _is_affine(model, X), "the model has no non-linearity between its Linear layers, so they collapse "
                                       "into one linear layer: put an nn.ReLU() between them.")
    y, losses = torch.arange(12) % 3, []
    model.train()
    for _ in range(25):  # plain gradient descent, by hand (an optimizer would import more than the check needs)
        loss = nn.functional.cross_entropy(model(X), y)
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                if p.grad is not None:
                    p -= 0.5 * p.grad
        losses.append(loss.item())
    need(losses[-1] < losses[0] / 2, f"25 steps of gradient descent on 12 images took the loss only from "
                                     f"{losses[0]:.3f} to {losses[-1]:.3f}: a working classifier learns them fast.")
    return "logits of the right shape for three image sizes, no softmax, a ReLU between the layers, and it learns."


q2 = _ex.problem(
    _check_classifier, names=("make_classifier",), title="A classifier for any image size", transfer=True,
    task="Complete `make_classifier(channels, height, width, num_classes, hidden=32)`: an MLP that takes images "
         "`[N, channels, height, width]` (colour images have 3 channels) and returns `num_classes` logits per "
         "image. The check builds it for three image sizes and class counts, looks for a softmax and for a "
         "non-linearity, and trains it on 12 images.",
    starter='def make_classifier(channels, height, width, num_classes, hidden=32):\n'
            '    """An MLP for images [N, channels, height, width]: num_classes logits per image, no softmax."""\n'
            '    return nn.Sequential(\n'
            '        nn.Flatten(),\n'
            '        nn.Linear(____, hidden),\n'
            '        ____,\n'
            '        nn.Linear(hidden, ____),\n'
            '    )',
    hint="How many numbers does one image become after nn.Flatten()? Multiply its dimensions, leaving out the batch "
         "one. And what keeps two Linear layers from being one?",
    solution='def make_classifier(channels, height, width, num_classes, hidden=32):\n'
             '    """An MLP for images [N, channels, height, width]: num_classes logits per image, no softmax."""\n'
             '    return nn.Sequential(\n'
             '        nn.Flatten(),\n'
             '        nn.Linear(channels * height * width, hidden),\n'
             '        nn.ReLU(),\n'
             '        nn.Linear(hidden, num_classes),\n'
             '    )',
)


class _Net(nn.Module):
    """A small network with a `backbone` (a convolution and batch norm) and a `head` (dropout, a linear layer)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(16, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features, then logits."""
        return self.head(self.backbone(x))


def _check_freeze(freeze_backbone: object, train_mode: object) -> str:
    """Two epochs of training: the backbone's weights and batch-norm statistics stay, the head learns with dropout."""
    need(callable(freeze_backbone) and callable(train_mode), "`freeze_backbone` and `train_mode` should be functions "
                                                             "of the model.")
    torch.manual_seed(0)
    net = _Net()
    bn = net.backbone[1]
    with torch.no_grad():  # a backbone as a first task left it: statistics away from the fresh 0 and 1
        bn.running_mean.fill_(0.5)
        bn.running_var.fill_(2.0)
    call(freeze_backbone, net, case="For freeze_backbone(model)")
    trainable = [p for p in net.parameters() if p.requires_grad]
    need(trainable, "no parameter can learn any more: freeze model.backbone only, so that model.head learns.")
    need(all(p.requires_grad for p in net.head.parameters()), "the head is frozen too: freeze model.backbone only.")
    weights = [p.detach().clone() for p in net.backbone.parameters()]
    stats = [b.clone() for b in net.backbone.buffers()]
    head = [p.detach().clone() for p in net.head.parameters()]
    optimizer = torch.optim.Adam(trainable, lr=0.01)
    X, y = torch.rand(8, 1, 6, 6, generator=torch.Generator().manual_seed(1)), torch.arange(8) % 3
    for _ in range(2):  # two epochs of one step, each started by train_mode, after an evaluation in eval mode
        net.eval()
        call(train_mode, net, case="For train_mode(model) at the start of an epoch")
        need(net.head.training, "after train_mode(model) the head is in eval mode: its dropout would not drop. "
                                "Start with model.train(), then change the backbone only.")
        loss = nn.functional.cross_entropy(net(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    need(all(torch.equal(p, q) for p, q in zip(net.backbone.parameters(), weights)),
         "two training steps changed the backbone's weights: they are not frozen. requires_grad_(False) on "
         "model.backbone stops gradients (eval() alone does not).")
    if not all(torch.equal(b, s) for b, s in zip(net.backbone.buffers(), stats)):
        raise Incorrect("the backbone's weights stayed, but its batch norm's running mean and variance changed: in "
                        "training mode batch norm updates its statistics from every batch, frozen or not. After "
                        "model.train(), put model.backbone back in eval mode.")
    need(any(not torch.equal(p, q) for p, q in zip(net.head.parameters(), head)),
         "two training steps did not change the head: it should still learn.")
    return ("two epochs later the backbone's weights and batch-norm statistics are unchanged, and the head learned, "
            "its dropout in training mode.")


q3 = _ex.problem(
    _check_freeze, names=("freeze_backbone", "train_mode"), title="Freeze a backbone that has batch norm",
    transfer=True,
    task="A different network: `model.backbone` (a convolution, `nn.BatchNorm2d`, ReLU, pooling) and `model.head` "
         "(dropout, a linear layer). Write `freeze_backbone(model)`, which stops the backbone's parameters from "
         "learning, and `train_mode(model)`, which a training loop calls at the start of every epoch instead of "
         "`model.train()`: the head trains (dropout on), while the frozen backbone's batch norm keeps its running "
         "statistics. The check runs two epochs and compares the backbone's weights and statistics before and "
         "after.",
    starter='def freeze_backbone(model):\n'
            '    """Stop model.backbone\'s parameters from learning."""\n'
            '    ____\n'
            '\n'
            '\n'
            'def train_mode(model):\n'
            '    """Call at the start of each epoch instead of model.train(): the head trains, the backbone stays put."""\n'
            '    model.train()\n'
            '    ____',
    hint="Two different switches: one decides whether a parameter gets gradients, the other how layers such as "
         "dropout and batch norm behave. model.train() sets the second for every sub-module at once; what must "
         "happen to the backbone right after it?",
    solution='def freeze_backbone(model):\n'
             '    """Stop model.backbone\'s parameters from learning."""\n'
             '    model.backbone.requires_grad_(False)\n'
             '\n'
             '\n'
             'def train_mode(model):\n'
             '    """Call at the start of each epoch instead of model.train(): the head trains, the backbone stays put."""\n'
             '    model.train()\n'
             '    model.backbone.eval()',
)

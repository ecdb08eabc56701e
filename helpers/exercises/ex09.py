"""Exercises for notebook 09 (images from folders): accuracy from logits, an MLP without softmax, frozen layers."""

from __future__ import annotations

import torch
from torch import nn

from helpers.classify import DigitCNN, accuracy

from ._core import Exercises, Incorrect
from ._util import call, close, need, shape

_ex = Exercises("ex09")
bind = _ex.bind


def _check_accuracy(fraction_correct: object) -> str:
    """The fraction right, as the course's accuracy computes it, on edge cases."""
    need(callable(fraction_correct), "`fraction_correct` should be a function fraction_correct(logits, y).")
    cases = [("4 images, 3 classes, 3 right", torch.tensor([[2.0, 1, 0], [0, 3, 1], [1, 0, 2], [0, 1, 0.5]]),
              torch.tensor([0, 1, 2, 0])),
             ("3 images, 3 classes, where the largest logit of each column is not of each row",
              torch.tensor([[0.0, 5, 1], [3, 4, 0], [1, 0, 2]]), torch.tensor([1, 1, 2])),
             ("2 images, every prediction wrong", torch.tensor([[0.0, 1], [1, 0]]), torch.tensor([0, 1])),
             ("1 image, right", torch.tensor([[0.1, 0.2, 0.9, 0.3]]), torch.tensor([2]))]
    for name, logits, y in cases:
        got = call(fraction_correct, logits, y, case=f"For {name}")
        want = accuracy(logits, y)
        need(not isinstance(got, torch.Tensor), "you returned a tensor: return a Python number (.item()).")
        if isinstance(got, (int, float)) and close(got, want * len(y)) and not close(got, want):
            raise Incorrect(f"for {name} you returned {got:g}, the number of right answers: divide by the number "
                            "of images (.float().mean() does both).")
        need(isinstance(got, float), f"for {name} you returned {got!r}: return the fraction as a Python float.")
        if logits.shape[0] == logits.shape[1] and close(got, (logits.argmax(dim=0) == y).float().mean().item()):
            need(close(got, want), f"for {name} you returned {got:.3f}, expected {want:.3f}: take the argmax over "
                                   "the classes, dim=1 (one row per image), not over the images.")
        need(close(got, want), f"for {name} you returned {got:.3f}, expected {want:.3f}.")
    return "it agrees with the reference: some right, all wrong, a single image, and square logits (argmax over dim=1)."


q1 = _ex.problem(
    _check_accuracy, names=("fraction_correct",), title="Accuracy from logits",
    task="Write `fraction_correct(logits, y)`: the fraction of images whose largest logit is at the true class, "
         "as a Python number. The check compares it with the course's `accuracy` on a few cases, one of them "
         "with as many images as classes.",
    starter='def fraction_correct(logits, y):\n'
            '    """The fraction of images whose largest logit is at the true class, as a Python number."""\n'
            '    predicted = ____      # one class per image\n'
            '    return ____',
    hint="logits has one row per image and one column per class: logits.argmax(dim=1) picks a class per image; "
         "(predicted == y).float().mean().item() is the fraction right.",
    solution='def fraction_correct(logits, y):\n'
             '    """The fraction of images whose largest logit is at the true class, as a Python number."""\n'
             '    predicted = logits.argmax(dim=1)\n'
             '    return (predicted == y).float().mean().item()',
)


def _check_mlp(make_mlp: object) -> str:
    """Logits [N, 10] for [N, 1, 8, 8], no softmax, and 10 images learnt by heart."""
    need(callable(make_mlp), "`make_mlp` should be a function make_mlp() that returns a model.")
    torch.manual_seed(0)
    model = call(make_mlp, case="Calling make_mlp()")
    need(isinstance(model, nn.Module), f"make_mlp() returned {type(model).__name__}: return an nn.Module.")
    softmax = [m for m in model.modules() if isinstance(m, (nn.Softmax, nn.LogSoftmax))]
    need(not softmax, "the model ends in a softmax layer: nn.CrossEntropyLoss applies softmax itself, so the "
                      "model must return raw scores (logits). Apply softmax outside the model, for pictures.")
    X, y = torch.rand(10, 1, 8, 8, generator=torch.Generator().manual_seed(0)), torch.arange(10)
    try:
        logits = call(model, X, case="For a batch of images of shape [10, 1, 8, 8]")
    except Incorrect as err:
        flat = "mat1 and mat2" in str(err)
        raise Incorrect(f"{err}{' (flatten each image first: nn.Flatten())' if flat else ''}") from None
    need(isinstance(logits, torch.Tensor) and logits.shape == (10, 10), "for a batch of images [10, 1, 8, 8] the "
         f"model should give logits [10, 10], got {shape(logits) if isinstance(logits, torch.Tensor) else logits}.")
    need(not close(logits.sum(dim=1), torch.ones(10), 1e-3), "every row of the outputs adds up to 1: those are "
         "probabilities. Return logits; nn.CrossEntropyLoss applies softmax itself.")
    loss_fn, optimizer = nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(60):
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    need(loss.item() < 0.1, f"after 60 steps on 10 images the loss is still {loss.item():.3f}: a working MLP "
                            "learns 10 images by heart.")
    return "[N, 1, 8, 8] in, 10 logits out, no softmax, and it learns 10 images by heart in 60 steps."


q2 = _ex.problem(
    _check_mlp, names=("make_mlp",), title="An MLP that returns logits",
    task="Complete `make_mlp()`: an MLP that takes digit images `[N, 1, 8, 8]` and returns 10 logits per image, "
         "with no softmax. The check calls it on a batch, looks for a softmax, and trains it on 10 images, "
         "which it must learn by heart (the sanity check of notebook 10).",
    starter='def make_mlp():\n'
            '    """An MLP for 8x8 digit images: [N, 1, 8, 8] in, 10 logits per image out, no softmax."""\n'
            '    return nn.Sequential(\n'
            '        ____,                 # [N, 1, 8, 8] -> [N, 64]\n'
            '        nn.Linear(64, 64),\n'
            '        nn.ReLU(),\n'
            '        ____,                 # one logit per digit\n'
            '    )',
    hint="nn.Flatten() turns each [1, 8, 8] image into 64 numbers; the last layer is nn.Linear(64, 10), and "
         "nothing after it.",
    solution='def make_mlp():\n'
             '    """An MLP for 8x8 digit images: [N, 1, 8, 8] in, 10 logits per image out, no softmax."""\n'
             '    return nn.Sequential(\n'
             '        nn.Flatten(),         # [N, 1, 8, 8] -> [N, 64]\n'
             '        nn.Linear(64, 64),\n'
             '        nn.ReLU(),\n'
             '        nn.Linear(64, 10),    # one logit per digit\n'
             '    )',
)


def _check_freeze(freeze_features: object) -> str:
    """Frozen convolutions, a trainable head, checked by a training step."""
    need(callable(freeze_features), "`freeze_features` should be a function freeze_features(model).")
    torch.manual_seed(0)
    model = DigitCNN(num_classes=5, channels=4, hidden=8)
    call(freeze_features, model, case="For a DigitCNN")
    need(not any(p.requires_grad for p in model.features.parameters()), "the convolutions still require "
         "gradients, so they would keep learning: model.features.requires_grad_(False). (model.eval() only "
         "changes how dropout behaves.)")
    need(all(p.requires_grad for p in model.classifier.parameters()), "the head is frozen too: freeze only "
         "model.features, so that model.classifier can learn the new classes.")
    features = [p.detach().clone() for p in model.features.parameters()]
    head = [p.detach().clone() for p in model.classifier.parameters()]
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    X, y = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(1)), torch.arange(8) % 5
    model.train()
    loss = nn.CrossEntropyLoss()(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    need(all(torch.equal(p, q) for p, q in zip(model.features.parameters(), features)),
         "a training step changed the convolutions: they are not frozen.")
    need(any(not torch.equal(p, q) for p, q in zip(model.classifier.parameters(), head)),
         "a training step did not change the head: it should still learn.")
    return "after a training step the convolutions are unchanged and the head has learned: a frozen base, a new head."


q3 = _ex.problem(
    _check_freeze, names=("freeze_features",), title="Freeze the convolutions",
    task="Write `freeze_features(model)` for a `DigitCNN`: freeze its convolutions (`model.features`) so that "
         "only the head (`model.classifier`) learns. The check calls it, then takes a training step and looks "
         "at which weights moved.",
    starter='def freeze_features(model):\n'
            '    """Freeze a DigitCNN\'s convolutions (model.features) so that only the head learns."""\n'
            '    ____',
    hint="module.requires_grad_(False) switches gradients off for every parameter of a module; call it on "
         "model.features only.",
    solution='def freeze_features(model):\n'
             '    """Freeze a DigitCNN\'s convolutions (model.features) so that only the head learns."""\n'
             '    model.features.requires_grad_(False)',
)

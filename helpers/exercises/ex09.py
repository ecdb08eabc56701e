"""Exercises for notebook 09 (images from folders): accuracy per class, a classifier for any image size, and a
frozen backbone whose batch norm keeps its statistics."""

from __future__ import annotations

import torch
from torch import nn

from ._backbone import check_trained, frozen_net
from ._classifier import (build, check_logits_free, check_no_softmax_layer, flatten_note, is_affine,
                          linear_outputs, non_linearities)
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


class _Traced(torch.Tensor):
    """Logits that record the dim of every argmax / max taken over them (None: over all values, flattened)."""

    dims: list = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN206 - torch's protocol
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in ("argmax", "max") and args and isinstance(args[0], _Traced):
            cls.dims.append(kwargs.get("dim", args[1] if len(args) > 1 else None))
        return super().__torch_function__(func, types, args, kwargs)


def _argmax_dims(fn: object, logits: torch.Tensor, y: torch.Tensor, k: int) -> list:
    """The dims the learner's function took argmax (or max) over, on logits that record them."""
    _Traced.dims = []
    try:
        fn(logits.as_subclass(_Traced), y, k)
    except Exception:  # noqa: BLE001 - only the recorded dims matter here
        pass
    return list(_Traced.dims)


def _numbers(got: object, case: str, k: int) -> list[float]:
    """The learner's result as k Python floats: a list or tensor of numbers (one-element tensors count as numbers)."""
    if isinstance(got, torch.Tensor):
        got = got.tolist() if got.dim() == 1 else got
    need(isinstance(got, (list, tuple)) and len(got) == k, f"{case} you returned {got!r}: return a list of {k} "
                                                           "numbers, one per class.")
    values = []
    for v in got:
        if isinstance(v, torch.Tensor) and v.numel() == 1 and v.dtype != torch.bool:
            v = v.item()
        need(isinstance(v, (int, float)) and not isinstance(v, bool), f"{case} you returned {got!r}: each entry "
                                                                        "should be one number, the class's fraction.")
        values.append(float(v))
    return values


def _show(values: list[float]) -> str:
    """Fractions with enough digits to tell a rounded one from the right one."""
    return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"


def _counts(logits: torch.Tensor, y: torch.Tensor, k: int) -> list[float]:
    """Right answers per class."""
    pred = logits.argmax(dim=1)
    return [float((pred[y == c] == c).sum()) for c in range(k)]


def _sizes(y: torch.Tensor, k: int) -> list[float]:
    """Images per class."""
    return [float((y == c).sum()) for c in range(k)]


def _precision(logits: torch.Tensor, y: torch.Tensor, k: int) -> list[float]:
    """For each class, the share right among the images predicted as it (nan where none was)."""
    pred = logits.argmax(dim=1)
    return [(y[pred == c] == c).float().mean().item() if (pred == c).any() else float("nan") for c in range(k)]


# plausible wrong answers, each as a rule over (logits, y, k), and what to say when every case matches it
_WRONG_RULES = [
    (_counts, "the number of right answers per class: divide each by how many images that class has"),
    (lambda lg, y, k: [float(n // s) for n, s in zip(_counts(lg, y, k), _sizes(y, k))],
     "whole numbers, as integer division (//) rounds down. Divide with /"),
    (lambda lg, y, k: [n / len(y) for n in _counts(lg, y, k)],
     "right answers of each class divided by all the images. Divide by the images of that class only"),
    (lambda lg, y, k: [(lg.argmax(dim=1) == y).float().mean().item()] * k,
     "the accuracy over all images, for every class: count each class on its own images only"),
    (_precision, "for each class, the share of the images *predicted* as that class that were right. Take instead "
                 "the images that truly are that class (y == c), and the share of them predicted right"),
    (lambda lg, y, k: [0.0 if v != v else v for v in _precision(lg, y, k)],
     "for each class, the share of the images *predicted* as that class that were right. Take instead the images "
     "that truly are that class (y == c), and the share of them predicted right"),
    (lambda lg, y, k: [(lg.argmax(dim=1) == c).float().mean().item() for c in range(k)],
     "for each class, the share of *all* images predicted as it. Count only among the images that truly are that "
     "class (y == c)"),
]


def _same(a: list[float], b: list[float]) -> bool:
    """Two lists of fractions agree (nan where both have nan)."""
    return torch.allclose(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64), atol=1e-5,
                          equal_nan=True)


def _diagnose(fn: object, got: list[float], logits: torch.Tensor, y: torch.Tensor, k: int, case: str) -> None:
    """Name what a wrong list of per-class fractions is, when the learner's answers on every case fit one rule."""
    want = _reference(logits, y, k)
    dims = _argmax_dims(fn, logits, y, k)
    if dims and all(d is None for d in dims):
        raise Incorrect(f"{case} you returned {_show(got)}: argmax() without dim runs over all the values of the "
                        f"logits [{logits.shape[0]}, {logits.shape[1]}] at once, flattened, and gives one index. Take "
                        "it over the classes, dim=1: one predicted class per image.")
    if dims and all(d in (0, -2) for d in dims):
        raise Incorrect(f"{case} you returned {_show(got)}: the argmax ran over the images (dim=0), one index per "
                        "class; take it over the classes, dim=1 (one row per image).")
    answers = []  # the learner's answer on every case that gives one
    for _, lg, yy, kk in _per_class_cases():
        try:
            answers.append((_numbers(fn(lg, yy, kk), case, kk), lg, yy, kk))
        except Exception:  # noqa: BLE001 - a case that fails tells nothing here
            continue
    if all(max(abs(a - r) for a, r in zip(ans, _reference(lg, yy, kk))) <= 5e-3 for ans, lg, yy, kk in answers):
        raise Incorrect(f"{case} you returned {_show(got)}, the right fractions are {_show(want)}: off by up to "
                        f"{max(abs(g - w) for g, w in zip(got, want)):.2g}. Did you round? Return them as they are.")
    for rule, what in _WRONG_RULES:
        if all(_same(ans, rule(lg, yy, kk)) for ans, lg, yy, kk in answers):
            raise Incorrect(f"{case} you returned {_show(got)}: {what}. The right fractions: {_show(want)}.")
    raise Incorrect(f"{case} you returned {_show(got)}, expected {_show(want)}.")


def _check_per_class(accuracy_per_class: object) -> str:
    """One fraction per class: right answers among that class's images."""
    need(callable(accuracy_per_class), "`accuracy_per_class` should be a function accuracy_per_class(logits, y, "
                                       "num_classes).")
    for name, logits, y, k in _per_class_cases():
        case = f"for {name}"
        try:
            got = call(accuracy_per_class, logits, y, k, case=case[0].upper() + case[1:])
        except Incorrect as err:
            if "Got: Bool" in str(err):  # mean() of booleans
                raise Incorrect(f"{err} (.mean() needs numbers: turn the booleans into floats first, .float())") \
                    from None
            raise
        got = _numbers(got, case, k)
        if close(torch.tensor(got), torch.tensor(_reference(logits, y, k))):
            continue
        _diagnose(accuracy_per_class, got, logits, y, k, case)
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


def _check_classifier(make_classifier: object) -> str:
    """Logits of the right shape for three image sizes and two hidden sizes, no softmax, and a non-linearity."""
    need(callable(make_classifier), "`make_classifier` should be a function make_classifier(channels, height, width, "
                                    "num_classes, hidden=32).")
    for c, h, w, k, hidden in [(3, 5, 7, 4, None), (1, 8, 8, 10, None), (2, 4, 6, 3, 5)]:
        kwargs = {} if hidden is None else {"hidden": hidden}
        case = f"For make_classifier({c}, {h}, {w}, {k}{'' if hidden is None else f', hidden={hidden}'})"
        torch.manual_seed(0)
        model = build(make_classifier, (c, h, w, k), kwargs, case)
        need(isinstance(model, nn.Module), f"{case} you returned {type(model).__name__}: return an nn.Module.")
        check_no_softmax_layer(model)
        X = torch.rand(12, c, h, w, generator=torch.Generator().manual_seed(1))
        model.eval()  # dropout off: what is left must still not be a straight line
        try:
            with linear_outputs(model) as outputs:
                logits = call(model, X, case=f"{case}, on a batch of images of shape [12, {c}, {h}, {w}]")
        except Incorrect as err:
            hint = flatten_note(model, 12, c, h, w) or (
                f" (after nn.Flatten() each image is {c} x {h} x {w} = {c * h * w} numbers: the first Linear layer "
                "needs that many inputs)" if "mat1 and mat2" in str(err) else "")
            raise Incorrect(f"{err}{hint}") from None
        need(isinstance(logits, torch.Tensor) and logits.shape == (12, k), f"{case}, a batch [12, {c}, {h}, {w}] gave "
             f"{shape(logits) if isinstance(logits, torch.Tensor) else logits}, expected logits [12, {k}]: one row "
             "per image, one logit per class (flatten first; the last layer has num_classes outputs)."
             + flatten_note(model, 12, c, h, w))
        check_logits_free(logits, outputs)
        layers = list(model.modules())
        linears = [m for m in layers if isinstance(m, nn.Linear)]
        if hidden is not None:
            sizes = ", ".join(f"Linear({m.in_features}, {m.out_features})" for m in linears)
            need(any(m.out_features == hidden for m in linears), f"{case}, your model's layers are {sizes}: no "
                 f"layer has {hidden} outputs. Use the argument hidden for the size of the hidden layer.")
        if is_affine(model, X):
            fake = sorted({type(m).__name__ for m in layers
                           if isinstance(m, (nn.Dropout, nn.BatchNorm1d, nn.Identity))})
            why = (f" ({', '.join('nn.' + n for n in fake)} {'is' if len(fake) == 1 else 'are'} no non-linearity: in "
                   "eval mode it only scales and shifts, or passes values through)") if fake else ""
            raise Incorrect("in eval mode your model is one straight linear map from pixels to logits: its Linear "
                            f"layers collapse into one{why}. Put an activation such as nn.ReLU() between them.")
    return ("logits of the right shape for three image sizes and for hidden=5, no softmax, and a non-linearity "
            f"between the layers ({non_linearities(model)}).")


q2 = _ex.problem(
    _check_classifier, names=("make_classifier",), title="A classifier for any image size", transfer=True,
    task="Complete `make_classifier(channels, height, width, num_classes, hidden=32)`: an MLP that takes images "
         "`[N, channels, height, width]` (colour images have 3 channels) and returns `num_classes` logits per "
         "image, with `hidden` units in its hidden layer. The check builds it for three image sizes and class "
         "counts and two hidden sizes, looks for a softmax, checks the logits' shape, and checks that the model is "
         "not a straight linear map in eval mode: any non-linearity will do.",
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


def _check_freeze(freeze_backbone: object, train_mode: object) -> str:
    """Two models frozen, then each trained for two epochs: each call works on the model it is given."""
    need(callable(freeze_backbone) and callable(train_mode), "`freeze_backbone` and `train_mode` should be functions "
                                                             "of the model.")
    first, second = frozen_net(freeze_backbone, 0), frozen_net(freeze_backbone, 1)
    check_trained(first, second, train_mode)
    check_trained(second, first, train_mode)
    return ("two epochs later the backbone's weights and batch-norm statistics are unchanged, and the head learned, "
            "its dropout in training mode; on two models frozen one after the other.")


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

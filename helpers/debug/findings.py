"""Turning what the watch recorded into findings: each check names what was seen, the likely cause, the fix."""

import math

import torch

from .gradients import _no_graph
from .losses import _from_losses, _too_slow
from .report import Finding
from .targets import _wrong_target
from .updates import _all_frozen, _from_updates
from .watch import _shape, _Watch


def findings_of(w: _Watch, X: torch.Tensor, y: torch.Tensor) -> list[Finding]:
    """Every problem the records show, one finding per code, the most basic first."""
    error = next((log.error for log in w.logs if log.error is not None), None)
    found = _foreign(w)
    if error is not None:
        found.append(_from_error(w, error, X, y))
    found += _from_records(w, X, y)
    if error is None and (not w.foreign or any(w.in_optimizer)):  # with none of its parameters held, _foreign says it
        found += _from_updates(w)
    found += _from_losses(w, X, y)
    if not found and error is None:
        found += [f for f in (_too_slow(w),) if f is not None]
    if {"swapped-arguments", "missing-log-softmax"} & {f.code for f in found}:  # they explain a loss below 0
        found = [f for f in found if f.code != "loss-below-zero"]
    unique: dict[str, Finding] = {}
    for finding in found:
        unique.setdefault(finding.code, finding)
    return list(unique.values())


def _summary(w: _Watch, X: torch.Tensor, y: torch.Tensor, what: str) -> str:
    """'X is ..., y is ..., the parameters are ...' for `what` = 'dtype' or 'device'."""
    params = ", ".join(sorted({str(getattr(p, what)) for p in w.params})) or "none"
    return f"X is {getattr(X, what)}, y is {getattr(y, what)}, the parameters are {params}."


def _foreign(w: _Watch) -> list[Finding]:
    """The optimizer holds tensors that are not this model's parameters."""
    if not w.foreign:
        return []
    return [
        Finding(
            "no-update",
            f"The optimizer holds other parameters: {w.foreign} of its tensors are not parameters of this model, "
            "so optimizer.step() changes them, not the model.",
            "the optimizer was made for another model (for example the model's cell was re-run after the optimizer's).",
            "create the optimizer after the model, from it: optimizer = torch.optim.SGD(model.parameters(), lr=...).",
        )
    ]


# Errors the step raised ------------------------------------------------------------------------------

_HINTS = {  # words in an error the checks below do not place -> (likely cause, fix)
    "between 0 and 1": (
        "BCELoss needs probabilities, and the model gives raw scores (logits).",
        "use nn.BCEWithLogitsLoss() on the raw scores (it applies the sigmoid itself).",
    ),
    "in-place operation": (
        "a parameter was changed in place while autograd records (p -= lr * p.grad outside no_grad).",
        "let optimizer.step() update the parameters, or do it under `with torch.no_grad():`.",
    ),
    "second time": (
        "the step calls backward() twice on one graph, or reuses a loss computed outside the step.",
        "compute y_pred and the loss inside the step, every step, and call backward() once.",
    ),
    "more than 1 value per channel": (
        "batch norm needs more than one sample per batch in training mode.",
        "train on batches of 2 or more samples (drop_last=True in the DataLoader).",
    ),
    "inference tensors": (
        "X or y was made under torch.inference_mode(), and autograd cannot use such tensors.",
        "make the data outside inference_mode, or pass X.clone() and y.clone().",
    ),
}


def _from_error(w: _Watch, error: Exception, X: torch.Tensor, y: torch.Tensor) -> Finding:
    """One finding for the error the step raised: a known kind gets its own code, others 'step-error'."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    low, seen = text.lower(), f"The step raised {type(error).__name__}: {text}"
    if "has no attribute 'backward'" in low:
        return _no_graph(
            w, seen + ".", "the loss became a plain number (.item() or float()), which has no graph and no backward()."
        )
    if "does not require grad" in low:
        return _all_frozen(w) if not any(p.requires_grad for p in w.params) else _no_graph(w, seen + ".")
    if "only for scalar outputs" in low:
        shapes = {_shape(c.out) for c in w.calls() if c.out is not None}
        return Finding(
            "loss-not-scalar",
            f"{seen}. The loss had shape {', '.join(sorted(shapes)) or '?'}, not one number.",
            "the loss function returns one value per sample (reduction='none'), so backward() has no single "
            "number to start from.",
            "reduce the loss to one number before backward(): loss.mean(), or keep the default reduction='mean'.",
        )
    swapped = _swapped(w, seen + ". ")
    if swapped is not None:
        return swapped
    floats = any(isinstance(c.target, torch.Tensor) and c.target.is_floating_point() for c in w.calls())
    if "target dtype" in low or (w.kind in ("ce", "nll") and "long" in low and (floats or y.is_floating_point())):
        return Finding(
            "target-dtype",
            f"{seen}. y is {y.dtype}.",
            "class labels must be integers (torch.long); float targets are read as class probabilities only "
            "when they have the prediction's shape.",
            "convert the labels once: y = y.long().",
        )
    hint = next((hint for word, hint in _HINTS.items() if word in low), None)
    if hint is not None:
        return Finding("step-error", seen + ".", *hint)
    if "device" in low or "cuda" in low:
        return _mismatch(w, "device", seen + ".", X, y)
    if "dtype" in low or "scalar type" in low or "input type" in low:
        return _mismatch(w, "dtype", seen + ".", X, y)
    if any(word in low for word in ("shape", "size", "channels", "dimension", "target tensor expected", "multi-target")):
        outputs = sorted({str(shape) for log in w.logs for shape, _ in log.outputs})
        return Finding(
            "shape-mismatch",
            f"{seen}. X has shape {_shape(X)}, y {_shape(y)}, "
            f"the model's output {', '.join(outputs) or 'was never made'}.",
            "the data does not fit the model (a first layer's in_features against X's columns, the number of "
            "channels, a missing nn.Flatten) or y's length differs from X's.",
            "print X.shape, model(X).shape and y.shape and make them agree with the layers and with each other.",
        )
    return Finding(
        "step-error",
        seen + ".",
        "an error diagnose does not know; read the message and the line it points to.",
        "run the step once by itself to see the full traceback.",
    )


def _mismatch(w: _Watch, what: str, seen: str, X: torch.Tensor, y: torch.Tensor) -> Finding:
    """dtype-mismatch or device-mismatch: the error quoted (if any), what a layer saw, everyone's dtype or device."""
    seen = " ".join(part for part in (seen, w.layer_mismatch.get(what, ""), _summary(w, X, y, what)) if part)
    if what == "dtype":
        return Finding(
            "dtype-mismatch",
            seen,
            "data made with NumPy is float64 (torch.from_numpy keeps it) while layers are float32, "
            "or integer data was not converted.",
            "convert the data once: X = X.float() (and y = y.float() for regression), "
            "or torch.tensor(array, dtype=torch.float32).",
        )
    return Finding(
        "device-mismatch",
        seen,
        "the model and the data were moved to different devices (.to(device) on one of them only).",
        "put both on one device: model.to(device); X, y = X.to(device), y.to(device).",
    )


# What the loss and the forward passes saw ------------------------------------------------------------


def _from_records(w: _Watch, X: torch.Tensor, y: torch.Tensor) -> list[Finding]:
    """Findings from the layers' inputs, the loss's inputs and the model's mode."""
    found = [_mismatch(w, what, "", X, y) for what in ("dtype", "device") if what in w.layer_mismatch]
    swapped = _swapped(w)
    if swapped is not None:  # the checks of what the loss got would misread the two arguments
        return [*found, swapped] + [f for f in (_eval_mode(w),) if f is not None]
    checks = (_loss_shapes, _softmax_first, _log_softmax_missing, _eval_mode)
    found += [f for f in (check(w) for check in checks) if f is not None]
    return found + [f for f in (_wrong_target(w, X, y),) if f is not None]


def _swapped(w: _Watch, seen: str = "") -> Finding | None:
    """swapped-arguments: a loss whose two arguments are not interchangeable got the target first."""
    if w.kind == "other" or w.symmetric:
        return None
    for c in w.calls():
        p, t = c.pred, c.target
        if not (isinstance(p, torch.Tensor) and isinstance(t, torch.Tensor)):
            continue
        if (c.target_grad and not c.pred_grad) or (not p.is_floating_point() and t.is_floating_point()):
            first = "requires grad" if c.pred_grad else "does not require grad (the targets?)"
            second = "requires grad (the model's output?)" if c.target_grad else "does not require grad"
            return Finding(
                "swapped-arguments",
                f"{seen}{w.loss_name} got its arguments the other way round: where the prediction belongs, a "
                f"{p.dtype} tensor of shape {_shape(p)} that {first}; where the target belongs, a {t.dtype} tensor "
                f"of shape {_shape(t)} that {second}.",
                "the loss was called as loss_fn(y, y_pred). Loss functions take the prediction first and the target "
                "second; for MSE or L1 the order does not matter, but cross-entropy and BCE treat the two "
                "differently: they fail on integer labels in the prediction's place, and with float targets "
                "there their value can fall below 0 without limit.",
                "loss = loss_fn(y_pred, y): the prediction first, the target second.",
            )
    return None


def _loss_shapes(w: _Watch) -> Finding | None:
    """The loss compared predictions and targets of different shapes by broadcasting."""
    for c in w.calls():
        if (
            not (isinstance(c.pred, torch.Tensor) and isinstance(c.target, torch.Tensor))
            or c.pred.shape == c.target.shape
        ):
            continue
        if w.kind in ("ce", "nll") or (w.kind == "other" and not c.target.is_floating_point()):
            continue  # class labels: [N] against [N, C] is right
        try:
            both = list(torch.broadcast_shapes(c.pred.shape, c.target.shape))
        except RuntimeError:
            continue  # the loss raised; the error's finding says so
        return Finding(
            "shape-mismatch",
            f"The loss got predictions of shape {_shape(c.pred)} and targets of shape {_shape(c.target)}; broadcasting "
            f"made both {both}, so it compared every prediction with every target.",
            "the model outputs one column ([N, 1]) while y is flat ([N]), or the other way round.",
            "give them one shape: y = y.unsqueeze(1) (or y_pred = y_pred.squeeze(1)) before the loss.",
        )
    return None


def _softmax_first(w: _Watch) -> Finding | None:
    """CrossEntropyLoss fed probabilities (rows in [0, 1] that sum to 1) instead of logits."""
    for c in w.calls():
        p = c.pred
        if (
            w.kind != "ce"
            or not isinstance(p, torch.Tensor)
            or not p.is_floating_point()
            or p.dim() < 2
            or p.shape[1] < 2
            or p.device.type == "meta"
        ):
            continue
        if p.min() >= 0 and p.max() <= 1 and torch.allclose(p.sum(1), torch.ones((), dtype=p.dtype), atol=1e-3):
            classes = p.shape[1]
            return Finding(
                "softmax-before-cross-entropy",
                "CrossEntropyLoss got predictions between 0 and 1 whose rows sum to 1: probabilities, not raw scores.",
                "softmax is applied before the loss; CrossEntropyLoss applies log-softmax itself, so it takes the "
                f"probabilities for raw scores: with {classes} classes the loss cannot fall below "
                f"log(1 + {classes - 1}/e) = {math.log(1 + (classes - 1) / math.e):.3f}, and learning crawls.",
                "return raw scores (logits) from the model; use softmax only to show probabilities.",
            )
    return None


def _log_softmax_missing(w: _Watch) -> Finding | None:
    """NLLLoss fed positive numbers: log-probabilities are never above 0."""
    for c in w.calls():
        p = c.pred
        if (
            w.kind == "nll"
            and isinstance(p, torch.Tensor)
            and p.is_floating_point()
            and p.device.type != "meta"
            and p.max() > 1e-6
        ):
            return Finding(
                "missing-log-softmax",
                f"NLLLoss got predictions above 0 (the largest is {p.max().item():.3g}); "
                "log-probabilities are never above 0.",
                "NLLLoss expects log_softmax outputs; on raw scores the loss can fall below 0 without limit.",
                "apply torch.log_softmax(y_pred, dim=1) before NLLLoss, or use nn.CrossEntropyLoss on the raw scores.",
            )
    return None


def _eval_mode(w: _Watch) -> Finding | None:
    """The model (or its dropout / batch norm) was in eval mode during forward passes that train."""
    training = [f for log in w.logs for f in log.forwards if f[0] and not f[1]]
    in_eval = [f for f in training if f[2]]
    names = sorted({name for f in in_eval for name in f[2]})
    if "the model" not in names:  # the model trains, and only chosen layers were put in eval mode on purpose
        return None  # (e.g. batch norm kept at its pretrained statistics while fine-tuning)
    sensitive = [n for n in names if n != "the model"]
    effect = (
        "so its dropout and batch-norm layers act as in testing (no dropout; stored statistics, not the batch's)."
        if sensitive
        else "this model has no dropout or batch norm, so nothing changes yet; it will once you add them."
    )
    layers = (f" So were its layers that act differently in training: {', '.join(sensitive[:5])}." if sensitive
              else "")
    return Finding(
        "eval-mode",
        f"The model was in eval mode (model.training was False) during {len(in_eval)} of {len(training)} training "
        f"forward passes.{layers}",
        "the step calls model.eval(), or never calls model.train() after an evaluation left the model in eval "
        f"mode; {effect}",
        "call model.train() at the start of every training step, and model.eval() only to evaluate.",
    )

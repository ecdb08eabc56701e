"""Debugging a training step: `diagnose` runs it on copies, watches, and reports what went wrong.

report = diagnose(my_step, model, loss_fn, optimizer, X, y)
report            # in a notebook: a table of code, what was seen, likely cause, fix
print(report)     # the same as text; report.codes lists the codes (see CODES)
"""

import warnings
from collections.abc import Callable

import torch
from torch import nn

from .._checks import check_int, check_tensor
from ..training import _check_model_parts
from .findings import findings_of
from .report import Finding, Report
from .watch import _Watch

__all__ = ["CODES", "Finding", "Report", "diagnose"]

CODES = {
    "grads-accumulate": "gradients add up across steps (optimizer.zero_grad() missing)",
    "grads-cleared": "the gradients were cleared between loss.backward() and optimizer.step() (zero_grad misplaced)",
    "grads-zeroed": "the gradients were set to 0 between loss.backward() and optimizer.step() by something other than "
    "zero_grad (clipping with max_norm=0 or clip_value=0)",
    "zero-gradients": "every gradient was exactly 0: the loss does not depend on the parameters (loss * 0)",
    "no-graph": "no gradient reached the parameters: the loss has no path back to them (no_grad, inference_mode, "
    ".detach() in the step or in forward, .item())",
    "no-update": "the parameters did not change (no optimizer.step(), no backward(), another model's optimizer, "
    "everything frozen, lr 0)",
    "optimizer-not-used": "the optimizer passed in never stepped while another one changed the parameters "
    "(an optimizer re-created inside the step)",
    "repeated-step": "optimizer.step() ran more than once in one training step",
    "wrong-order": "optimizer.step() ran before loss.backward()",
    "frozen": "some trainable parameters never changed (not in the optimizer, not used in forward, cut from the graph, "
    "or 0 gradients)",
    "loss-exploding": "the loss rose to 10 times its start or more at some step, under any optimizer (learning rate "
    "too high: the finding names it)",
    "loss-increasing": "the loss grew at every step, to more than 1.5 times its start (learning rate too high?)",
    "lr-too-low": "the updates lowered the loss by a tiny fraction of it while the gradients were far from 0 "
    "(learning rate far too low: the finding names it)",
    "loss-below-zero": "a loss that is never below 0 (cross-entropy, BCE, MSE, L1) went below 0",
    "loss-ignored": "the parameters got gradients, but none through the loss function's output (the data term "
    "multiplied by 0, or backward() on a penalty alone)",
    "not-finite": "the loss or the parameters became NaN or inf",
    "wrong-target": "the loss compared the predictions with something other than y (labels shuffled on their own, "
    "X reordered on its own, the inputs X, another tensor)",
    "swapped-arguments": "the loss function got the target first and the prediction second: loss_fn(y, y_pred)",
    "shape-mismatch": "prediction and target shapes differ so the loss broadcasts, or the data does not fit the model",
    "eval-mode": "the model was in eval mode during training forward passes",
    "dtype-mismatch": "the data and the parameters differ in dtype (float64 data, integer data)",
    "device-mismatch": "the data and the parameters are on different devices",
    "loss-not-scalar": "backward() got a loss with more than one number (reduction='none')",
    "softmax-before-cross-entropy": "CrossEntropyLoss got probabilities instead of raw scores (logits)",
    "missing-log-softmax": "NLLLoss got raw scores instead of log-probabilities",
    "target-dtype": "CrossEntropyLoss or NLLLoss got float class labels instead of torch.long",
    "model-not-called": "the step never used the model it was given (a global variable instead?)",
    "step-error": "the step raised an error of another kind; the finding quotes it",
}


def diagnose(
    step: Callable,
    model: nn.Module,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 5,
) -> Report:
    """Run `step(model, X, y, loss_fn, optimizer)` `steps` times on copies and report what went wrong.

    `step` has the signature of `helpers.train_step` and returns the loss (a float or a tensor; when it
    returns nothing, the loss function's first output in each step is used). The step runs on deep
    copies of the model, the optimizer (with its state) and a loss module, under a forked random-number
    generator, so your objects, their `.grad` and your random stream do not change; X and y are passed
    as they are. Hooks record forward passes (input, mode, output shape, each layer's input dtype and
    device), what the loss sees (its prediction and target, compared with y) and the gradient that reaches
    its output, every fresh gradient, zero_grad() calls and gradient clipping, the gradients and parameters
    optimizer.step() uses and how far it moves them, how often it steps, and any other optimizer that steps.
    An error the step raises becomes a finding instead of a traceback, and the steps stop there.

    Returns a `Report`: a list of `Finding`s (`.code`, `.message`; the codes are listed in CODES), empty
    when nothing looks wrong; like a list it is truthy when it holds findings. Needs `steps >= 2` to see
    gradients accumulate and `steps >= 3` to call a rising loss a trend.
    """
    if not callable(step):
        raise TypeError(
            f"step must be callable like helpers.train_step(model, X, y, loss_fn, optimizer), got {type(step).__name__}"
        )
    _check_model_parts(model, loss_fn, optimizer)
    X, y = check_tensor("X", X), check_tensor("y", y, min_dim=0)
    steps = check_int("steps", steps, minimum=1)
    cuda = sorted({t.device.index or 0 for t in [X, y, *model.parameters()] if t.device.type == "cuda"})
    with torch.random.fork_rng(devices=cuda), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        watch = _Watch(model, loss_fn, optimizer)
        watch.run(step, X, y, steps)
    broadcast = [w for w in caught if "target size" in str(w.message)]
    for w in {str(w.message): w for w in caught if w not in broadcast}.values():  # pass the step's own warnings on
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    losses = [log.value for log in watch.logs if log.value is not None]
    return Report(findings_of(watch, X, y), losses, len(watch.logs))

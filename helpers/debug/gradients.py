"""What happened to the gradients: none reached the parameters, all were 0, cleared or zeroed before the step,
accumulated, none came from the loss function, or missing for some parameters only."""

import math

import torch

from .report import Finding
from .watch import _Watch

ORDER_FIX = (
    "the order is: y_pred = model(X); loss = loss_fn(y_pred, y); optimizer.zero_grad(); loss.backward(); "
    "optimizer.step()."
)


def _no_graph(w: _Watch, seen: str, cause: str | None = None) -> Finding:
    """no-graph: no gradient reached the parameters; the records tell how the graph was lost (unless `cause`)."""
    return Finding(
        "no-graph",
        f"{seen} The loss has no gradient path to the parameters.",
        cause or _graph_lost(w),
        "compute y_pred = model(X) and loss = loss_fn(y_pred, y) with autograd on (no no_grad or "
        "inference_mode in a training step, no .detach() in forward), call loss.backward() on that loss, and use "
        ".item() only to print.",
    )


def _graph_lost(w: _Watch) -> str:
    """How the graph was lost, from the forward passes, the loss's inputs and what backward reached."""
    forwards, calls = [f for log in w.logs for f in log.forwards], w.calls()
    outputs = [g for log in w.logs for _, g in log.outputs]
    if any(f[1] for f in forwards):
        return "the forward pass ran under torch.inference_mode(), which records no graph."
    if any(not f[0] for f in forwards):
        return "the forward pass ran under torch.no_grad(), which records no graph."
    if outputs and not any(outputs):
        return (
            "the model's forward returns an output cut from the graph (a .detach(), .item() or torch.no_grad() "
            "inside forward), so no gradient can flow back to the layers."
        )
    if calls and not any(c.pred_grad for c in calls):
        return (
            "the prediction was cut from its graph before the loss (.detach(), .item(), .numpy() or "
            "torch.tensor(...) on it)."
        )
    if calls and not any(c.requires_grad for c in calls):
        return "the loss was computed under torch.no_grad() or detached afterwards."
    if any(log.loss_reached and not log.output_reached for log in w.logs):
        return "the prediction was detached and then made to require grad again, so backward() stops before the model."
    if any(log.output_reached for log in w.logs):
        return (
            "backward() reached the model's output but none of its layers: inside forward, the output was detached "
            "(and made to require grad again)."
        )
    return (
        "backward() was called on a tensor rebuilt from a number (torch.tensor(loss.item(), requires_grad=True)) "
        "or detached, not on the loss computed from the model."
    )


def _zero_gradients(w: _Watch) -> Finding:
    """zero-gradients: backward() ran and every gradient was exactly 0: the loss does not depend on the parameters."""
    steps = len(w.logs)
    return Finding(
        "zero-gradients",
        f"loss.backward() reached the parameters, but every gradient was exactly 0 in all {steps} "
        f"step{'s' * (steps != 1)} (losses do not move).",
        "the loss is a constant as far as the parameters go: it was multiplied by 0, or computed so that the "
        "prediction cancels out (y_pred - y_pred, a clamp that cuts everything off), so there is nothing to learn.",
        "compute the loss from the prediction and the targets, loss = loss_fn(model(X), y), with no factor 0; "
        "after loss.backward(), p.grad.abs().max() should be above 0 for the parameters.",
    )


def _loss_ignored(w: _Watch) -> Finding | None:
    """loss-ignored: the parameters got gradients, but none came through the loss function's output."""
    for k, log in enumerate(w.logs, 1):
        calls = [c for c in log.losses if c.requires_grad]
        if not calls or log.loss_grad or not any(g.any() for g in log.fresh.values()):
            continue
        how = ("it got a gradient of 0: it was multiplied by 0" if log.loss_reached
               else "backward() never reached it: backward() was called on another tensor")
        return Finding(
            "loss-ignored",
            f"At step {k}, loss.backward() gave the parameters gradients, but none came from the output of the "
            f"loss function ({w.loss_name}): {how}.",
            "the model learns only from the other terms of what was backpropagated (a penalty, a regulariser) and "
            "nothing from the data: a data term weighted by 0 (loss * 0.0 + penalty), or backward() on the penalty "
            "alone. The loss can still fall, because the penalty falls.",
            "backpropagate the data term with a weight above 0, together with the others: "
            "loss = loss_fn(y_pred, y) + weight * penalty; loss.backward().",
        )
    return None


def _cleared(w: _Watch) -> Finding | None:
    """grads-cleared (zero_grad between backward() and step()) or grads-zeroed (set to 0 otherwise, e.g. clipping
    with a threshold of 0): backward() made gradients, but they were None or 0 when optimizer.step() ran."""
    for k, log in enumerate(w.logs, 1):
        if not log.stepped or log.at_step is None:
            continue
        made = [i for i, g in log.fresh.items() if g.any()]
        left = [log.at_step[i] for i in made]
        if not made or not all(g is None or not g.any() for g in left):
            continue
        seen = f"At step {k}, loss.backward() computed gradients, but when optimizer.step() ran they were "
        if all(g is None for g in left):
            return _cleared_finding(seen + "None.", "so step() had nothing to apply (it skips parameters whose "
                                    ".grad is None).")
        if log.cleared:
            return _cleared_finding(seen + "all zeros, after a zero_grad() call in between.",
                                    "so step() applied gradients of 0 (zero_grad(set_to_none=False) fills them "
                                    "with zeros).")
        return _zeroed(seen + "all zeros, and no zero_grad() ran in between.", log.clips)
    return None


def _cleared_finding(seen: str, effect: str) -> Finding:
    """grads-cleared: zero_grad ran between loss.backward() and optimizer.step()."""
    return Finding(
        "grads-cleared",
        seen,
        f"the gradients were cleared between loss.backward() and optimizer.step() (zero_grad in the wrong place), "
        f"{effect}",
        ORDER_FIX,
    )


def _zeroed(seen: str, clips: list) -> Finding:
    """grads-zeroed: something other than zero_grad set every gradient to 0 after backward(), e.g. clipping to 0."""
    zero = [(name, t) for name, t in clips if isinstance(t, (int, float)) and t <= 0]
    if zero:
        name, threshold = zero[0]
        if name == "clip_grad_norm_":
            seen += f" The step called nn.utils.clip_grad_norm_ with max_norm={threshold!r}."
            cause = (f"clip_grad_norm_ with max_norm={threshold!r} scales the gradients down until their total norm "
                     "is 0, so they are all 0 and step() has nothing to apply: max_norm is the largest total norm "
                     "the gradients may keep, not an amount to take off.")
        else:
            seen += f" The step called nn.utils.clip_grad_value_ with clip_value={threshold!r}."
            cause = (f"clip_grad_value_ with clip_value={threshold!r} clamps every gradient entry into "
                     f"[-{threshold!r}, {threshold!r}], so they are all 0 and step() has nothing to apply: "
                     "clip_value is the largest size an entry may keep, not an amount to take off.")
    else:
        cause = ("a line between loss.backward() and optimizer.step() set the gradients to 0 (gradient clipping "
                 "with a threshold of 0, p.grad.zero_() or p.grad *= 0), so step() has nothing to apply.")
    return Finding(
        "grads-zeroed",
        seen,
        cause,
        "clip with a threshold above 0 (max_norm=1.0 is a common choice) or drop the line that zeroes the gradients; "
        "after clipping, some p.grad.abs().max() should still be above 0.",
    )


def _accumulation(w: _Watch) -> Finding | None:
    """grads-accumulate: at some update the gradient was this step's plus the one left from the step before.

    Both are compared up to one common factor, so gradients clipped by their total norm are read right too."""
    for k, log in enumerate(w.logs):
        if log.at_step is None or not log.fresh or (k and not w.logs[k - 1].stepped):
            continue  # after a call that did not step, what is left was never applied: accumulating on purpose
        pairs = [(log.at_step[i], fresh, log.leftover[i]) for i, fresh in log.fresh.items()]
        pairs = [(g.double().flatten(), f.double().flatten(), left.double().flatten())
                 for g, f, left in pairs if g is not None and left is not None]
        if not pairs:
            continue
        g, fresh, left = (torch.cat(parts) for parts in zip(*pairs))
        fresh_sq = fresh.pow(2).sum().item()
        clean, acc = _misfit(g, fresh), _misfit(g, fresh + left)
        if clean > 1e-10 * fresh_sq and acc <= 1e-4 * clean:
            return Finding(
                "grads-accumulate",
                f"At step {k + 1} the gradient the optimizer used was that step's gradient plus the one left from "
                f"step {k} (norm {(fresh + left).norm():.3g} instead of {math.sqrt(fresh_sq):.3g}).",
                "optimizer.zero_grad() is missing, so each loss.backward() adds to the old gradients, and every "
                "update applies the gradients of earlier batches again.",
                "call optimizer.zero_grad() in every step, before loss.backward(). (Accumulating the gradients of "
                "several batches on purpose is the one exception: then step() and zero_grad() run together every "
                "few batches, and diagnose finds nothing wrong with that.)",
            )
    return None


def _frozen(w: _Watch, trainable: list[int], changed: set[int], got_grad: set[int]) -> Finding | None:
    """frozen: some parameters that should learn never changed (not in the optimizer, no gradient, or a 0 one)."""
    idle = [i for i in trainable if i not in changed]
    held = [i for i in idle if w.in_optimizer[i]]
    groups = {
        "not held": [i for i in idle if not w.in_optimizer[i]],
        "never ran": [i for i in held if i not in got_grad and _layer(w.names[i]) not in w.ran],
        "cut off": [i for i in held if i not in got_grad and _layer(w.names[i]) in w.ran],
        "zero": [i for i in held if i in got_grad and not any(log.fresh[i].any() for log in w.logs if i in log.fresh)],
    }
    words = {
        "not held": ("the optimizer does not hold {} (made from part of the model, or before layers were added)",
                     "build the optimizer from model.parameters()"),
        "never ran": ("no gradient reached {}: their layer never ran (made in __init__ but not used in forward?)",
                      "use every layer in forward() (or delete it)"),
        "cut off": ("no gradient reached {}, although their layer ran: its output was cut from the graph on the way "
                    "to the loss (.detach() or torch.no_grad() inside forward)", "keep forward free of .detach()"),
        "zero": ("the gradients of {} were all 0 (their output is multiplied by 0, or passes a ReLU that never fires)",
                 "make sure every layer's output counts in the prediction"),
    }
    found = {kind: [w.names[i] for i in ids] for kind, ids in groups.items() if ids}
    if not found:
        return None
    count = sum(len(names) for names in found.values())
    return Finding(
        "frozen",
        f"{count} of {len(trainable)} trainable parameter tensors never changed, while the others did.",
        "; ".join(words[kind][0].format(", ".join(names[:5])) for kind, names in found.items()) + ".",
        "; ".join(words[kind][1] for kind in found) + ".",
    )


def _layer(name: str) -> str:
    """The name of the module that holds a parameter: '0.weight' -> '0', 'weights' -> '' (the model itself)."""
    return name.rpartition(".")[0]


def _misfit(g: torch.Tensor, v: torch.Tensor) -> float:
    """How far g is from c * v for the best factor c in (0, 1] (1 unless g was scaled down, as clipping does)."""
    vv = v.pow(2).sum()
    c = (g * v).sum() / vv if vv > 0 else torch.ones((), dtype=g.dtype)
    c = c.clamp(min=1e-12, max=1.0)
    return (g - c * v).pow(2).sum().item()

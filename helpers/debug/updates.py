"""Did the parameters learn? Findings about gradients and updates: accumulation, no update, no graph, frozen."""

import math

import torch

from .report import Finding
from .watch import _Watch

_ORDER_FIX = (
    "the order is: y_pred = model(X); loss = loss_fn(y_pred, y); optimizer.zero_grad(); loss.backward(); "
    "optimizer.step()."
)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """True when two parameters hold the same values (False when that cannot be read, e.g. on 'meta')."""
    return a.device.type != "meta" and a.shape == b.shape and torch.equal(a.detach(), b.detach().to(a.device))


def _from_updates(w: _Watch) -> list[Finding]:
    """Findings about gradients and updates, for steps that ran without an error."""
    trainable = [i for i, p in enumerate(w.params) if p.requires_grad]
    if not trainable:
        return [_all_frozen(w)]
    got_grad = {i for log in w.logs for i in log.fresh}
    changed = {i for i in trainable if not _same(w.params[i], w.original[i])}
    late = any(log.late for log in w.logs)
    if not got_grad and not changed and not late and not any(log.forwards for log in w.logs):
        return [
            Finding(
                "model-not-called",
                "The step never called the model it was given, and none of that model's parameters got a gradient.",
                "the step uses variables from outside (a global `model`, `optimizer` or `loss_fn`) instead of its "
                "arguments; diagnose could not watch it, and it may have changed those global objects.",
                "inside the step, use only its arguments: step(model, X, y, loss_fn, optimizer).",
            )
        ]
    if not got_grad and not late and any(log.backwards for log in w.logs):
        return [_no_graph(w, "backward() ran, but no parameter received a gradient.")]
    if late:
        return [
            Finding(
                "wrong-order",
                "optimizer.step() ran before loss.backward(): the gradients arrived after the update.",
                "the steps are out of order, so each update uses the previous step's gradients, or none.",
                _ORDER_FIX,
            )
        ]
    found = [f for f in (_accumulation(w),) if f is not None]
    if not changed:
        found.append(_no_update(w, got_grad))
    else:
        found += [f for f in (_frozen(w, trainable, changed, got_grad),) if f is not None]
    return found


def _all_frozen(w: _Watch) -> Finding:
    """no-update: the model has no parameter that requires a gradient."""
    what = "every parameter has requires_grad=False (frozen)" if w.params else "the model has no parameters"
    return Finding(
        "no-update",
        f"Nothing can learn: {what}.",
        f"{what}, so no gradient is computed and nothing changes.",
        "unfreeze what should learn: for p in model.parameters(): p.requires_grad_(True).",
    )


def _no_graph(w: _Watch, seen: str, cause: str | None = None) -> Finding:
    """no-graph: the loss is not connected to the parameters; the records tell how (unless `cause` is given)."""
    return Finding(
        "no-graph",
        f"{seen} The loss has no gradient path to the parameters.",
        cause or _graph_lost(w),
        "compute y_pred = model(X) and loss = loss_fn(y_pred, y) with autograd on (no no_grad or "
        "inference_mode in a training step), call loss.backward() on that loss, and use .item() only to print.",
    )


def _graph_lost(w: _Watch) -> str:
    """How the graph was lost, from the forward passes, the loss's inputs and what backward reached."""
    forwards, calls = [f for log in w.logs for f in log.forwards], w.calls()
    if any(f[1] for f in forwards):
        return "the forward pass ran under torch.inference_mode(), which records no graph."
    if any(not f[0] for f in forwards):
        return "the forward pass ran under torch.no_grad(), which records no graph."
    if calls and not any(c.pred_grad for c in calls) and any(g for log in w.logs for _, g in log.outputs):
        return (
            "the prediction was cut from its graph before the loss (.detach(), .item(), .numpy() or "
            "torch.tensor(...) on it)."
        )
    if calls and not any(c.requires_grad for c in calls):
        return "the loss was computed under torch.no_grad() or detached afterwards."
    if any(log.loss_reached and not log.output_reached for log in w.logs):
        return "the prediction was detached and then made to require grad again, so backward() stops before the model."
    return (
        "backward() was called on a tensor rebuilt from a number (torch.tensor(loss.item(), requires_grad=True)) "
        "or detached, not on the loss computed from the model."
    )


def _accumulation(w: _Watch) -> Finding | None:
    """grads-accumulate: at some update the gradient was this step's plus the one left from the step before."""
    for k, log in enumerate(w.logs):
        if log.at_step is None or not log.fresh:
            continue
        clean = acc = fresh_sq = 0.0
        for i, fresh in log.fresh.items():
            g, left = log.at_step[i], log.leftover[i]
            if g is None or left is None:
                continue
            clean += (g - fresh).double().pow(2).sum().item()
            acc += (g - fresh - left).double().pow(2).sum().item()
            fresh_sq += fresh.double().pow(2).sum().item()
        if clean > 1e-10 * fresh_sq and acc <= 1e-4 * clean:
            norm = math.sqrt(sum(g.double().pow(2).sum().item() for g in log.at_step if g is not None))
            return Finding(
                "grads-accumulate",
                f"At step {k + 1} the gradient the optimizer used was that step's gradient plus the one left from "
                f"step {k} (norm {norm:.3g} instead of {math.sqrt(fresh_sq):.3g}).",
                "optimizer.zero_grad() is missing, so each loss.backward() adds to the old gradients.",
                "call optimizer.zero_grad() in every step, before loss.backward().",
            )
    return None


def _no_update(w: _Watch, got_grad: set[int]) -> Finding:
    """no-update: nothing changed; the records tell why."""
    steps = len(w.logs)
    cleared = any(log.stepped and log.fresh and all(g is None or not g.any() for g in log.at_step) for log in w.logs)
    if not any(log.stepped for log in w.logs):
        cause, fix = (
            "optimizer.step() was never called (or another optimizer's).",
            "call optimizer.step() after loss.backward().",
        )
    elif not got_grad:
        cause, fix = (
            "loss.backward() was never called, so there were no gradients to apply.",
            "call loss.backward() before optimizer.step().",
        )
    elif cleared:
        cause, fix = (
            "the gradients were cleared between loss.backward() and optimizer.step() (zero_grad in the wrong place).",
            _ORDER_FIX,
        )
    elif all(float(g.get("lr", 1.0)) == 0 for g in w.optimizer.param_groups):
        cause, fix = "the learning rate is 0.", "use a learning rate above 0, e.g. lr=0.01."
    else:
        cause = (
            "the updates were too small to change float32 numbers (a tiny learning rate?) or the gradients were all 0."
        )
        fix = "check the optimizer's lr, and print p.grad after loss.backward()."
    return Finding("no-update", f"The parameters did not change in {steps} step{'s' * (steps != 1)}.", cause, fix)


def _frozen(w: _Watch, trainable: list[int], changed: set[int], got_grad: set[int]) -> Finding | None:
    """frozen: some parameters that should learn never changed (not in the optimizer, or no gradient)."""
    idle = [i for i in trainable if i not in changed]
    not_held = [w.names[i] for i in idle if not w.in_optimizer[i]]
    unused = [w.names[i] for i in idle if w.in_optimizer[i] and i not in got_grad]
    if not (not_held or unused):
        return None
    causes = []
    if not_held:
        causes.append(
            f"the optimizer does not hold {', '.join(not_held[:5])} "
            "(made from part of the model, or before layers were added)"
        )
    if unused:
        causes.append(
            f"no gradient reached {', '.join(unused[:5])} (a layer made in __init__ but not used in forward?)"
        )
    return Finding(
        "frozen",
        f"{len(not_held) + len(unused)} of {len(trainable)} trainable parameter tensors never changed, "
        "while the others did.",
        "; ".join(causes) + ".",
        "build the optimizer from model.parameters(), and use every layer in forward() (or delete it).",
    )

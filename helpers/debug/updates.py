"""Did the parameters learn, and through the optimizer passed in? Findings about the updates: none, out of order,
by another optimizer, more than one per step; the gradients' own findings come from gradients.py."""

import torch

from .gradients import ORDER_FIX, _accumulation, _cleared, _frozen, _loss_ignored, _no_graph, _zero_gradients
from .losses import _rate
from .report import Finding
from .watch import _Watch


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
        return [_no_graph(w, "backward() ran, but no gradient reached the parameters.")]
    if late:
        return [
            Finding(
                "wrong-order",
                "optimizer.step() ran before loss.backward(): the gradients arrived after the update.",
                "the steps are out of order, so each update uses the previous step's gradients, or none.",
                ORDER_FIX,
            )
        ]
    if got_grad and not any(g.any() for log in w.logs for g in log.fresh.values()):
        return [_zero_gradients(w)]
    checks = (_accumulation, _cleared, _not_used, _repeated, _loss_ignored)
    found = [f for f in (check(w) for check in checks) if f is not None]
    if not changed and not any(f.code in ("grads-cleared", "grads-zeroed", "optimizer-not-used") for f in found):
        if not _converged(w):
            found.append(_no_update(w, got_grad))
    elif changed:
        found += [f for f in (_frozen(w, trainable, changed, got_grad),) if f is not None]
    return found


def _converged(w: _Watch) -> bool:
    """Every step ran and every gradient was tiny: the model sits at a minimum, so updates too small to see are fine."""
    grads = [g for log in w.logs for g in log.fresh.values()]
    return all(log.stepped for log in w.logs) and bool(grads) and max(g.abs().max().item() for g in grads) <= 1e-5


def _all_frozen(w: _Watch) -> Finding:
    """no-update: the model has no parameter that requires a gradient."""
    what = "every parameter has requires_grad=False (frozen)" if w.params else "the model has no parameters"
    return Finding(
        "no-update",
        f"Nothing can learn: {what}.",
        f"{what}, so no gradient is computed and nothing changes.",
        "unfreeze what should learn: for p in model.parameters(): p.requires_grad_(True).",
    )


def _no_update(w: _Watch, got_grad: set[int]) -> Finding:
    """no-update: nothing changed; the records tell why."""
    steps = len(w.logs)
    if not any(log.stepped for log in w.logs) and any(log.strangers for log in w.logs):
        cause, fix = (
            "another optimizer stepped, one that holds none of this model's parameters (a global `optimizer` "
            "made for another model, or for an earlier copy of this one?).",
            "in the step, use its argument: optimizer.step(); create the optimizer after the model, from it.",
        )
    elif not any(log.stepped for log in w.logs):
        cause, fix = "optimizer.step() was never called.", "call optimizer.step() after loss.backward()."
    elif not got_grad:
        cause, fix = (
            "loss.backward() was never called, so there were no gradients to apply.",
            "call loss.backward() before optimizer.step().",
        )
    elif all(float(g.get("lr", 1.0)) == 0 for g in w.optimizer.param_groups):
        cause, fix = "the learning rate is 0.", "use a learning rate above 0, e.g. lr=0.01."
    else:
        cause = f"the updates were too small to change float32 numbers: the learning rate is far too low ({_rate(w)})."
        fix = "raise the learning rate (multiply it by 10 until the loss falls over a few steps on one batch)."
    return Finding("no-update", f"The parameters did not change in {steps} step{'s' * (steps != 1)}.", cause, fix)


def _not_used(w: _Watch) -> Finding | None:
    """optimizer-not-used: the optimizer passed in never stepped, while another one updated this model's parameters."""
    others = [o for log in w.logs for o in log.others]
    if not others or any(log.stepped for log in w.logs):
        return None
    mine, theirs = type(w.optimizer).__name__, "/".join(sorted({type(o).__name__ for o in others}))
    distinct = len({id(o) for o in others})  # the logs keep every one alive, so ids are not reused
    fresh = distinct == len(others) > 1
    seen = (
        f"The optimizer passed in ({mine}) never stepped, yet the parameters changed: "
        + (f"a new {theirs} optimizer updated them at each of {distinct} steps." if fresh else
           f"another optimizer ({theirs}) updated them.")
    )
    cause = (
        "the step makes its own optimizer (opt = torch.optim.Adam(model.parameters()) inside the step), so the one "
        "passed in is never used, and each new optimizer starts empty: Adam's running averages and SGD's momentum "
        "are thrown away after every step, and the learning rate or scheduler set on yours is ignored."
        if fresh
        else "the step updates the parameters with an optimizer other than its argument, so the learning rate and "
        "the state of the one passed in are ignored."
    )
    fix = (
        "create the optimizer once, before the training loop, pass it in, and call optimizer.zero_grad() and "
        "optimizer.step() on that argument inside the step."
    )
    return Finding("optimizer-not-used", seen, cause, fix)


def _repeated(w: _Watch) -> Finding | None:
    """repeated-step: optimizer.step() ran more than once within one call of the step."""
    counts = [log.steps for log in w.logs]
    most = max(counts, default=0)
    if most <= 1:
        return None
    return Finding(
        "repeated-step",
        f"optimizer.step() ran {most} times within one training step (step {counts.index(most) + 1}); once is right.",
        "the update is applied more than once per batch (a line copied twice, or step() called both in the step "
        "and in the loop around it): with plain SGD that multiplies the learning rate, and Adam or momentum move "
        "their state on as if they had seen more batches.",
        "call optimizer.step() once per training step, right after loss.backward() (a function that trains on "
        "several batches on purpose is not one step: give diagnose the step for one batch).",
    )

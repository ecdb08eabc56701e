"""Findings from the loss values and the size of the updates: NaN or inf, a loss below 0, a loss that blows up or
climbs at every step, updates too small to lower it (a learning rate far too low)."""

import itertools
import math

import torch

from .report import Finding
from .watch import _finite, _Watch

BELOW_ZERO = -1e-4  # cross-entropy, BCE, MSE, L1 are never below 0; this leaves room for rounding
SLOW = 1e-5  # an update that lowers the loss by less than this fraction of it, to first order, makes no progress
STEEP = 1e-2  # ... while |gradient| * |parameters| is at least this fraction of the loss: far from a minimum
EXPLODED = 10.0  # a loss that reaches this many times its first value has blown up (noise stays far below)
CLIMBED = 1.5  # a loss that rises at every step to this many times its first value is climbing


def _from_losses(w: _Watch, X: torch.Tensor, y: torch.Tensor) -> list[Finding]:
    """loss-below-zero (for a loss that cannot be), not-finite (NaN or inf), loss-exploding (far above its start at any
    step), loss-increasing (a steady climb)."""
    values = [(k + 1, log.value) for k, log in enumerate(w.logs) if log.value is not None]
    shown = ", ".join(f"{v:.4g}" for _, v in values)
    bad = next(((k, v) for k, v in values if not math.isfinite(v)), None)
    before = [(k, v) for k, v in values if bad is None or k < bad[0]]
    rising = len(before) >= 2 and all(b > a for (_, a), (_, b) in itertools.pairwise(before))
    blown = _blown_up(before)
    below = next(((k, v) for k, v in values if v < BELOW_ZERO), None)  # -inf too
    if below is not None and w.kind != "other" and (bad is None or below[0] <= bad[0]):
        return [_below_zero(w, below, shown)]  # also when it fell on to -inf: the fall below 0 is the first sign
    if bad is not None or not all(_finite(p) for p in w.params):
        return [_not_finite(w, bad, shown, X, y, rising or blown is not None)]
    if blown is not None:
        (_, first), (k, value) = before[0], blown
        return [
            Finding(
                "loss-exploding",
                f"The loss rose from {first:.4g} at step 1 to {value:.4g} at step {k}, {value / first:.3g} times "
                f"its start (losses: {shown}).",
                _too_high(w, "each update overshoots the minimum so far that the loss lands far above where it began"),
                _lower_lr(w),
            )
        ]
    first, last = before[0][1] if before else 0.0, before[-1][1] if before else 0.0
    if len(before) >= 3 and rising and first > 0 and last > CLIMBED * first:
        return [
            Finding(
                "loss-increasing",
                f"The loss grew at every step, from {first:.4g} to {last:.4g} (losses: {shown}).",
                _too_high(w, "each update overshoots the minimum, a little further every time"),
                _lower_lr(w) + " A hand-written update is p -= lr * p.grad.",
            )
        ]
    return []


def _below_zero(w: _Watch, below: tuple[int, float], shown: str) -> Finding:
    """loss-below-zero: a loss function that is never below 0 (cross-entropy, BCE, MSE, L1) went below it."""
    return Finding(
        "loss-below-zero",
        f"The loss went below 0: {below[1]:.4g} at step {below[0]} (losses: {shown}), but {w.loss_name}, the loss "
        "function passed in, is never below 0.",
        "the loss is not computed as that loss function expects: its arguments the other way round (loss_fn(y, "
        "y_pred), so the model's outputs become the targets), targets that are not class probabilities (negative, "
        "or above 1), or a hand-written loss that can go negative (a mean of differences without abs() or a "
        "square). Minimising such a loss pushes it down without limit instead of fitting y.",
        "compute the loss as loss = loss_fn(y_pred, y): the prediction first, the target second; a loss written "
        "by hand must be 0 for a perfect prediction and above 0 for any other.",
    )


def _too_slow(w: _Watch) -> Finding | None:
    """lr-too-low: every update lowered the loss by a tiny fraction of it while the gradients were far from 0."""
    logs = [log for log in w.logs if log.value is not None]
    if not logs or not all(log.progress is not None and log.value > 0 for log in logs):
        return None
    grads = [g for log in logs for g in log.at_step if g is not None and g.numel()]
    if max((float(g.abs().max()) for g in grads), default=0.0) <= 1e-5:
        return None  # at a minimum, as far as float32 can tell: small updates are all there is to make
    rates = [log.progress / log.value for log in logs]
    steep = min(log.potential / log.value for log in logs)
    if max(rates) >= SLOW or steep < STEEP:
        return None
    return Finding(
        "lr-too-low",
        f"Each update lowered the loss by at most {max(rates):.2g} of its value (the gradient times the change "
        f"of the parameters), although the gradients were far from 0: at that pace 1,000 steps would lower the "
        f"loss by about {min(1.0, 1000 * max(rates)):.1%} (losses: {', '.join(f'{log.value:.4g}' for log in logs)}).",
        f"the learning rate is far too low for this model and data ({_rate(w)}): the updates are tiny compared "
        "with the parameters, so training barely moves.",
        "raise the learning rate: multiply it by 10 until the loss falls clearly over a few steps on one batch "
        "(Adam's default, lr=0.001, is a safe start), and stop before it blows up.",
    )


def _blown_up(before: list[tuple[int, float]]) -> tuple[int, float] | None:
    """The highest (step, loss) when it is EXPLODED times the first loss or more, else None (also when the first
    is not above 0)."""
    if len(before) < 2 or before[0][1] <= 0:
        return None
    first, (k, peak) = before[0][1], max(before[1:], key=lambda kv: kv[1])
    return (k, peak) if peak >= EXPLODED * first and peak > 1e-6 else None


def _rate(w: _Watch) -> str:
    """The optimizer's class and learning rate(s), from its param_groups: 'Adam with lr=1'."""
    rates = " and ".join(f"{lr:g}" for lr in w.lrs) or "?"
    return f"{type(w.optimizer).__name__} with lr={rates}"


def _too_high(w: _Watch, how: str) -> str:
    """The likely cause of a growing loss: the learning rate named, or the step's own update."""
    if not any(log.stepped for log in w.logs):
        return (
            "the step updates the parameters without the optimizer passed in, and its update is too large or goes "
            "the wrong way (it adds the gradient instead of subtracting it)."
        )
    return f"the learning rate is too high for this model and data ({_rate(w)}): {how}."


def _lower_lr(w: _Watch) -> str:
    """What to try: a learning rate 10 times smaller, then smaller again."""
    top = max(w.lrs, default=0.0)
    smaller = f"lr={top / 10:g}" if top > 0 else "a learning rate 10 times smaller"
    return (
        f"lower the learning rate: try {smaller}, and keep dividing by 10 until the loss falls over a few steps on "
        "one batch (Adam's default, lr=0.001, is a safe start)."
    )


def _not_finite(w: _Watch, bad: tuple[int, float] | None, shown: str, X: torch.Tensor, y: torch.Tensor,
                grew: bool) -> Finding:
    """not-finite: the loss or the parameters became NaN or inf; the data, the start or the trend tells why."""
    seen = f"The loss became {bad[1]} at step {bad[0]}" if bad else "The parameters became NaN or inf"
    if not (_finite(X) and _finite(y)):
        cause, fix = (
            "X or y contains NaN or inf values.",
            "clean the data first: check torch.isfinite(X).all() and torch.isfinite(y).all().",
        )
    elif not all(_finite(p) for p in w.original):
        cause, fix = (
            "the model's parameters were NaN or inf before training.",
            "create the model again (and look for what made them so).",
        )
    elif grew:
        cause = _too_high(w, "the loss grew until it overflowed")
        fix = _lower_lr(w)
    else:
        cause = (
            "an operation produced NaN or inf (log of 0, division by 0, sqrt of a negative number, "
            "exp of a large number)."
        )
        fix = "run one step under `with torch.autograd.detect_anomaly():` to find the operation."
    return Finding("not-finite", f"{seen} (losses: {shown}).", cause, fix)

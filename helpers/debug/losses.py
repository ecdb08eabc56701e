"""Findings from the loss values themselves: NaN or inf, a loss that blows up, a loss that climbs at every step."""

import itertools
import math

import torch

from .report import Finding
from .watch import _finite, _Watch

EXPLODED = 10.0  # a loss that reaches this many times its first value has blown up (noise stays far below)
CLIMBED = 1.5  # a loss that rises at every step to this many times its first value is climbing


def _from_losses(w: _Watch, X: torch.Tensor, y: torch.Tensor) -> list[Finding]:
    """not-finite (NaN or inf), loss-exploding (far above its start at any step), loss-increasing (a steady climb)."""
    values = [(k + 1, log.value) for k, log in enumerate(w.logs) if log.value is not None]
    shown = ", ".join(f"{v:.4g}" for _, v in values)
    bad = next(((k, v) for k, v in values if not math.isfinite(v)), None)
    before = [(k, v) for k, v in values if bad is None or k < bad[0]]
    rising = len(before) >= 2 and all(b > a for (_, a), (_, b) in itertools.pairwise(before))
    blown = _blown_up(before)
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

"""Check gradient clipping: what clip_grad_norm_(max_norm=1.0) leaves, and what a learner's clipping did instead."""

from __future__ import annotations

import math

import torch

from ._core import Incorrect
from ._util import need

__all__ = ["check_clipped", "clipped", "parallel", "same_grads", "total_norm"]


def total_norm(grads: list[torch.Tensor]) -> float:
    """The total norm of some gradients, as one long vector (0 when there are none)."""
    return float(torch.stack([g.detach().double().pow(2).sum() for g in grads]).sum().sqrt()) if grads else 0.0


def clipped(grads: list[torch.Tensor]) -> list[torch.Tensor]:
    """The gradients as clip_grad_norm_(max_norm=1.0) leaves them."""
    return [g * min(1.0, 1.0 / (total_norm(grads) + 1e-6)) for g in grads]


def same_grads(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    """True if two lists of gradients agree tensor by tensor."""
    return all(torch.allclose(x, y, rtol=1e-4, atol=1e-7) for x, y in zip(a, b))


def parallel(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    """True if gradients `a` are gradients `b` all scaled by one factor (one direction)."""
    u, v = (torch.cat([g.detach().double().flatten() for g in gs]) for gs in (a, b))
    return float((u - v * (u @ v / (v @ v))).norm()) <= 1e-4 * float(u.norm())


def check_clipped(g: list[torch.Tensor], f: list[torch.Tensor], after: float) -> None:
    """Gradients `f` of total norm above 1 must reach optimizer.step() as `g`: all scaled together to total norm 1."""
    norm, unclipped = total_norm(g), total_norm(f)
    if norm <= 1.0 + 1e-4:
        need(norm >= 1.0 - 1e-3, f"optimizer.step() got gradients of total norm {norm:.3g}: gradients larger than 1 "
                                 "should be scaled down to norm 1 exactly (max_norm=1.0), not further.")
        need(parallel(g, f), "the gradients reached optimizer.step() with total norm 1, but not as this batch's "
                             "gradients all scaled by one factor: clip_grad_norm_ keeps their direction.")
        return
    need(not math.isclose(after, 1.0, rel_tol=1e-3),
         f"optimizer.step() used gradients of total norm {norm:.3g}: you clip after optimizer.step(), when the update "
         "has already used them. Clip between loss.backward() and optimizer.step().")
    if same_grads(g, [t.clamp(-1, 1) for t in f]):
        raise Incorrect(f"every gradient entry was cut into [-1, 1], but their total norm was still {norm:.3g}: "
                        "clipping entries one by one (clip_grad_value_, clamp) turns the gradients' direction; "
                        "clip_grad_norm_ with max_norm=1.0 scales them all together.")
    if same_grads(g, [t * min(1.0, 1.0 / total_norm([t])) for t in f]):
        raise Incorrect(f"each gradient tensor reached optimizer.step() with a norm of at most 1, but together their "
                        f"total norm was {norm:.3g}: clip them all at once, "
                        "nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0), not one by one.")
    scaled = sum(total_norm([a]) < total_norm([b]) * (1 - 1e-4) for a, b in zip(g, f))
    kept = sum(same_grads([a], [b]) for a, b in zip(g, f))
    if scaled and kept and scaled + kept == len(f):
        raise Incorrect(f"you clipped only some of the parameters: of the {len(f)} gradient tensors, {scaled} reached "
                        f"optimizer.step() scaled down and {kept} unclipped, so their total norm was {norm:.3g}. Clip "
                        "all of them together: nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).")
    need(parallel(g, f), f"optimizer.step() got gradients of total norm {norm:.3g}, not this batch's gradients "
                         "scaled by one factor: clip with nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).")
    if norm < unclipped * (1 - 1e-4):
        need(abs(max(float(t.abs().max()) for t in g) - 1.0) > 1e-4,
             f"you scaled all the gradients together until their largest entry was 1 (norm_type=float('inf')?), "
             f"which left their total norm at {norm:.3g}: the total norm is the 2-norm of all entries as one vector, "
             "clip_grad_norm_'s default norm_type=2.")
        raise Incorrect(f"the gradients were scaled down from total norm {unclipped:.3g} to {norm:.3g}, not to 1: "
                        "use max_norm=1.0.")
    raise Incorrect(f"optimizer.step() got the gradients unclipped (total norm {norm:.3g}): clip them after "
                    "loss.backward() (before it there is nothing to clip) and before optimizer.step(), with "
                    "nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).")

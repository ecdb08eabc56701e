"""ex13 q3's machinery: run a learner's gradient-accumulation step on a watched copy of a small net, compare it with
one step on all the samples at once, and name the likely mistake."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from ._util import call, close, need

__all__ = ["OUTPUTS", "Run", "accumulation_case", "check_run", "explain_step", "run_learner", "step_on"]

OUTPUTS = 4  # the small net's outputs: a number no case's count of micro-batches or of samples equals
FEATURES = 3  # its inputs: neither a count of micro-batches nor of samples either


def accumulation_case(seed: int, sizes: tuple[int, ...]) -> tuple[nn.Module, list[tuple[torch.Tensor, torch.Tensor]]]:
    """A small net and micro-batches of the given sizes."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(FEATURES, 4), nn.Tanh(), nn.Linear(4, OUTPUTS))
    X, y = torch.randn(sum(sizes), FEATURES), torch.randn(sum(sizes), OUTPUTS)
    return net, list(zip(X.split(list(sizes)), y.split(list(sizes))))


def step_on(net: nn.Module, X: torch.Tensor, y: torch.Tensor, scale: float = 1.0,
            loss_fn: nn.Module | None = None) -> list[torch.Tensor]:
    """A copy of net after one SGD(0.1) step on loss_fn(X, y) (MSE unless given) times scale; returns its parameters."""
    copy_ = copy.deepcopy(net)
    ((loss_fn or nn.MSELoss())(copy_(X), y) * scale).backward()
    with torch.no_grad():
        return [p - 0.1 * p.grad for p in copy_.parameters()]


@dataclass
class Run:
    """What a learner's step did to its copy of the net: parameters after, values returned, optimizer steps taken,
    and for each forward pass of the model whether it was in training mode and how many samples it got."""

    params: list[torch.Tensor] = field(default_factory=list)
    out: list[object] = field(default_factory=list)
    steps: int = 0
    forwards: list[tuple[bool, int]] = field(default_factory=list)


def run_learner(accumulated_step: object, net: nn.Module, batches: list, calls: int, case: str,
                loss_fn: nn.Module | None = None, training: bool = True,
                stale: list[torch.Tensor] | None = None) -> Run:
    """Call the learner's step `calls` times on a copy of net that arrives in training mode or not, holding the
    gradients `stale` or none, with its optimizer's steps and its forward passes watched."""
    run, model = Run(), copy.deepcopy(net)
    model.train(training)
    for p, g in zip(model.parameters(), stale or ()):
        p.grad = g.clone()
    model.register_forward_pre_hook(lambda m, args: run.forwards.append(
        (all(sub.training for sub in m.modules()), len(args[0]) if args and isinstance(args[0], torch.Tensor) else 0)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def count_step(*_: object) -> None:
        run.steps += 1

    optimizer.register_step_post_hook(count_step)  # torch calls it after each optimizer.step()
    run.out = [call(accumulated_step, model, optimizer, loss_fn or nn.MSELoss(), batches, case=case)
               for _ in range(calls)]
    run.params = [p.detach() for p in model.parameters()]
    return run


def check_run(run: Run, batches: list, case: str, arrived_training: bool, calls: int = 1) -> None:
    """One optimizer step a call, forward passes in training mode, one micro-batch at a time."""
    need(run.steps == calls, f"{case}, optimizer.step() ran {run.steps} times: call it once, after every micro-batch "
                             "has added its gradient.")
    mode = ("the forward passes ran in evaluation mode: you switched the model with model.eval(). A training step "
            "runs in training mode (dropout on, batch norm updating its statistics): call model.train()."
            if arrived_training else "the model arrived in evaluation mode (as after an evaluation) and your forward "
            "passes ran in it: call model.train() at the start of the step, so that dropout and batch norm behave as "
            "in training.")
    need(all(on for on, _ in run.forwards), f"{case}, {mode}")
    largest, biggest = max((k for _, k in run.forwards), default=0), max(len(X) for X, _ in batches)
    need(largest <= biggest, f"{case}, your model got a batch of {largest} samples at once, where the largest "
         f"micro-batch holds {biggest}: the whole batch does not fit in memory, which is why it was split. Pass one "
         "micro-batch at a time through the model, and let backward() add its gradient to .grad.")


def _ratio(got: list[torch.Tensor], want: list[torch.Tensor], start: list[torch.Tensor]) -> float | None:
    """s if the learner's update is s times the right one (for every parameter), else None."""
    moved = torch.cat([(g - p).flatten() for g, p in zip(got, start)]).double()
    right = torch.cat([(w - p).flatten() for w, p in zip(want, start)]).double()
    s = float(moved @ right / (right @ right))
    return s if close(moved, s * right) else None


def _scaled(s: float, sizes: list[int], case: str) -> str:
    """The update is s times the right one: name the likely cause."""
    total = sum(sizes)
    if len(sizes) > 1 and close(s, len(sizes)):
        return (f"{case}, the step is {len(sizes)} times too large: the gradients of the micro-batches' mean losses "
                "add up; scale each loss by its share of the samples before backward().")
    if close(s, OUTPUTS):
        return (f"{case}, the step is {OUTPUTS} times too large, as many times as y has columns: the squared errors "
                f"were added over the {OUTPUTS} outputs, where loss_fn averages over every number of y. Compute each "
                "micro-batch's loss with loss_fn.")
    if close(s, total):
        return (f"{case}, the step is {total} times too large, as many times as there are samples: you weighted each "
                f"micro-batch's loss by len(X) without dividing by the number of samples in all ({total}).")
    if close(s, FEATURES):
        return (f"{case}, the step is {FEATURES} times too large, as many times as X has columns: X.numel() counts "
                "the numbers in X, not its samples; weight each loss by len(X), its number of rows.")
    counted = total / s
    if abs(counted - round(counted)) < 1e-4:
        counted = round(counted)
        cause = (f"{sizes[0]}, the first micro-batch's size, times {len(sizes)} micro-batches: right only when they "
                 "are all the same size" if counted == sizes[0] * len(sizes) else "a number fixed in advance")
        return (f"{case}, your step is {s:.4g} times the right one, as if the micro-batches held {counted} samples in "
                f"all ({cause}); they hold {total}: add up their sizes, sum(len(X) for X, _ in micro_batches).")
    return f"{case}, your step is {s:.4g} times the right one, a step on all {total} samples at once."


def explain_step(net: nn.Module, batches: list, got: list[torch.Tensor], case: str) -> str:
    """Why the learner's step (not one on all the samples at once) went wrong, as far as it can be told."""
    sizes = [len(Xb) for Xb, _ in batches]
    X, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    start = [p.detach() for p in net.parameters()]
    if all(close(g, p) for g, p in zip(got, start)):
        return (f"{case}, your step left the parameters as they were: call optimizer.step() after the loop, once "
                ".grad holds the gradients of every micro-batch (a step before them has nothing to apply).")
    s = _ratio(got, step_on(net, X, y), start)
    if s is not None:
        return _scaled(s, sizes, case)
    last_X, last_y = batches[-1]
    if len(sizes) > 1 and any(all(close(g, w) for g, w in zip(got, step_on(net, last_X, last_y, scale)))
                              for scale in (1.0, len(last_X) / len(X))):
        return (f"{case}, only the last micro-batch counted: zero the gradients once, before the loop, so that the "
                "micro-batches' gradients add up in .grad.")
    equal = [step_on(net, Xb, yb, 1 / len(sizes)) for Xb, yb in batches]
    if len(set(sizes)) > 1 and all(close(g, sum(e[i] for e in equal) - (len(sizes) - 1) * p)
                                   for i, (g, p) in enumerate(zip(got, start))):
        return (f"{case}, you divided each loss by the number of micro-batches: right only when they are the same "
                "size. Weight each micro-batch's loss by len(X) / (the number of samples in all).")
    return f"{case}, the parameters after your step differ from one SGD step on all {len(X)} samples."

"""Exercises for notebook 13 (distributed training): which samples a rank reads, averaging gradients across ranks,
and gradient accumulation (the same averaging in one process).

Every check runs in-process: no process group, no torchrun; ranks are simulated by lists of models.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from ._accumulation import accumulation_case, check_run, explain_step, run_learner, step_on
from ._core import Exercises, Incorrect
from ._rank_share import explain_shares, sampler
from ._util import call, close, need, number

_ex = Exercises("ex13")
bind = _ex.bind


# q1 · which indices a rank reads --------------------------------------------------------------------------------


def _as_indices(value: object, case: str) -> list[int]:
    """The learner's answer as a list of Python ints (a list, tuple or 1-D tensor of whole numbers)."""
    if isinstance(value, torch.Tensor) and value.dim() == 1 and not value.is_floating_point():
        return value.tolist()
    need(isinstance(value, (list, tuple)), f"{case}, you returned {type(value).__name__}: return a list of indices.")
    need(all(isinstance(i, int) and not isinstance(i, bool) for i in value),
         f"{case}, you returned {value!r}: the indices should be whole numbers (ints).")
    return list(value)


# (n, world_size, shuffle, seed, epoch, drop_last): sizes that divide and sizes that do not, padding longer than
# the data, drop_last on and off (on a size that divides too: nothing to cut), shuffles with other seeds and epochs
_Q1_CASES = [(10, 3, False, 0, 0, False), (12, 3, False, 0, 0, False), (10, 3, False, 0, 0, True),
             (8, 2, True, 0, 0, False), (8, 2, True, 0, 1, False), (12, 3, True, 5, 1, True),
             (11, 4, True, 3, 2, False), (11, 4, True, 3, 2, True), (2, 5, False, 0, 0, False),
             (3, 5, True, 1, 4, False), (3, 5, False, 0, 0, True), (8, 2, True, 2, 3, True)]


def _check_rank_indices(rank_indices: object) -> str:
    """Every rank of every case equal to DistributedSampler's own indices."""
    need(callable(rank_indices), "`rank_indices` should be a function "
                                 "rank_indices(n, world_size, rank, shuffle, seed, epoch, drop_last).")
    for n, world_size, shuffle, seed, epoch, drop_last in _Q1_CASES:
        want = [sampler(n, world_size, r, shuffle, seed, epoch, drop_last) for r in range(world_size)]
        got = []
        for r in range(world_size):
            case = f"For n={n}, world_size={world_size}, rank={r}"
            got.append(_as_indices(call(rank_indices, n, world_size, r, shuffle, seed, epoch, drop_last, case=case),
                                   case))
        if got != want:
            raise Incorrect(explain_shares(n, world_size, shuffle, seed, epoch, drop_last, got, want))
    return (f"the same indices as DistributedSampler for every rank of {len(_Q1_CASES)} cases: shares that divide and "
            "shares that are padded (even past the data's length), cut with drop_last, shuffled by seed + epoch.")


q1 = _ex.problem(
    _check_rank_indices, names=("rank_indices",), title="Which samples a rank reads",
    task="Write `rank_indices(n, world_size, rank, shuffle, seed, epoch, drop_last)`: the indices that "
         "`DistributedSampler` gives `rank` in `epoch`, for a dataset of `n` samples (section 2 shows its behaviour). "
         "The check compares your function with `DistributedSampler` itself, for every rank, for sizes that divide by "
         "the world size and sizes that do not (one with more ranks than samples), with and without `drop_last`, "
         "in order and shuffled with other seeds and epochs.",
    starter='def rank_indices(n, world_size, rank, shuffle, seed, epoch, drop_last):\n'
            '    """The indices DistributedSampler(num_replicas=world_size, rank=rank, ...) gives in `epoch`."""\n'
            '    if shuffle:\n'
            '        order = ____          # a permutation of range(n), the same on every rank\n'
            '    else:\n'
            '        order = list(range(n))\n'
            '    if drop_last:\n'
            '        order = ____          # cut to a multiple of world_size\n'
            '    else:\n'
            '        total = ____          # n rounded up to a multiple of world_size\n'
            '        order = ____          # padded to `total` indices\n'
            '    return ____               # this rank\'s share',
    hint="The permutation comes from torch.randperm with a generator seeded with seed + epoch (.tolist() makes it a "
         "list). Padding repeats the order from its start, and may need more than one repetition when there are more "
         "ranks than samples. Rank r then takes every world_size-th index, starting at position r: a slice with a "
         "step.",
    solution='def rank_indices(n, world_size, rank, shuffle, seed, epoch, drop_last):\n'
             '    """The indices DistributedSampler(num_replicas=world_size, rank=rank, ...) gives in `epoch`."""\n'
             '    if shuffle:\n'
             '        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()\n'
             '    else:\n'
             '        order = list(range(n))\n'
             '    if drop_last:\n'
             '        order = order[:n // world_size * world_size]\n'
             '    else:\n'
             '        total = math.ceil(n / world_size) * world_size\n'
             '        order = (order * math.ceil(total / n))[:total]\n'
             '    return order[rank::world_size]',
)


# q2 · averaging gradients across ranks ---------------------------------------------------------------------------


def _ranks(world_size: int, seed: int) -> tuple[list[nn.Module], list[list[torch.Tensor]], torch.Tensor, torch.Tensor]:
    """`world_size` identical copies of a small net, each with the gradient of its own batch of 5 samples.

    Returns the copies, their own gradients, and all the samples (X, y) together."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    X, y = torch.randn(5 * world_size, 3), torch.randn(5 * world_size, 2)
    models = [copy.deepcopy(net) for _ in range(world_size)]
    for r, model in enumerate(models):
        nn.functional.mse_loss(model(X[5 * r:5 * (r + 1)]), y[5 * r:5 * (r + 1)]).backward()
    return models, [[p.grad.clone() for p in m.parameters()] for m in models], X, y


def _check_average(average_gradients: object) -> str:
    """Every copy ends with the mean gradient of all copies, for every parameter, its parameters untouched."""
    need(callable(average_gradients), "`average_gradients` should be a function average_gradients(models).")
    for world_size, seed in ((3, 0), (2, 1), (4, 2)):
        models, own, X, _ = _ranks(world_size, seed)
        before = [[p.detach().clone() for p in m.parameters()] for m in models]
        call(average_gradients, models, case=f"For {world_size} simulated ranks")
        need(all(torch.equal(p, q) for m, b in zip(models, before) for p, q in zip(m.parameters(), b)),
             "the parameters changed: average the gradients (p.grad), not the parameters; the optimizer step "
             "comes after.")
        named = [list(m.named_parameters()) for m in models]
        need(all(p.grad is not None for params in named for _, p in params),
             "a parameter has no gradient left: set p.grad to the mean, do not delete it.")
        mean = [sum(g[i] for g in own) / world_size for i in range(len(own[0]))]
        grads = [[p.grad for _, p in params] for params in named]
        if all(close(g, mean[i]) for row in grads for i, g in enumerate(row)):
            shared = next((i for i in range(len(mean)) if len({row[i].data_ptr() for row in grads}) < world_size), None)
            need(shared is None, f"For {world_size} ranks, the copies' `{named[0][shared or 0][0]}.grad` share one "
                 "tensor: in separate processes every rank holds its own, and here a later in-place change on one "
                 "copy (clipping, p.grad.zero_()) would change them all. Give every copy a tensor of its own.")
            continue
        where = f"For {world_size} ranks"
        need(not all(close(g, world_size * mean[i]) for row in grads for i, g in enumerate(row)),
             f"{where}, every rank holds the sum of the ranks' gradients, {world_size} times their mean: divide the "
             "sum by the number of ranks.")
        need(not all(close(g, own[0][i]) for row in grads for i, g in enumerate(row)),
             f"{where}, every rank holds rank 0's own gradient: that is a broadcast of rank 0's gradient, not the "
             "average over all the ranks.")
        r, i = next((r, i) for r, row in enumerate(grads) for i, g in enumerate(row) if not close(g, mean[i]))
        name = named[r][i][0]
        need(not close(grads[r][i], own[r][i]), f"{where}, rank {r}'s `{name}` still holds its own gradient: every "
             "rank, and every parameter (biases too), must end with the average over the ranks.")
        raise Incorrect(f"{where}, rank {r}'s `{name}` is not the mean of the {world_size} ranks' gradients.")
    return ("every rank holds the mean of all the ranks' gradients, for every parameter: with batches of equal size, "
            f"the gradient of all {len(X)} samples at once, as DDP's all-reduce gives it.")


q2 = _ex.problem(
    _check_average, names=("average_gradients",), title="Average the gradients, as DDP does",
    task="Simulate DDP's all-reduce in one process: `models` is a list of identical copies of a model (one per "
         "rank), each holding in `.grad` the gradient of its own batch. Write `average_gradients(models)` so that "
         "afterwards every copy holds, for every parameter, the mean of that parameter's gradients over all the "
         "copies, in a tensor of its own (as separate processes would). The check uses 2, 3 and 4 simulated "
         "ranks of a small two-layer network.",
    starter='def average_gradients(models):\n'
            '    """Give every model the mean over all models of each parameter\'s gradient."""\n'
            '    for params in zip(*(model.parameters() for model in models)):  # one parameter, in every model\n'
            '        mean = ____\n'
            '        for p in params:\n'
            '            ____',
    hint="Inside the loop, params holds the same parameter of every copy; their gradients are in p.grad. The mean is "
         "their sum divided by the number of copies, and every copy (not only the first) gets it; clone it so that "
         "the copies do not share one tensor, as separate processes would not.",
    solution='def average_gradients(models):\n'
             '    """Give every model the mean over all models of each parameter\'s gradient."""\n'
             '    for params in zip(*(model.parameters() for model in models)):  # one parameter, in every model\n'
             '        mean = sum(p.grad for p in params) / len(params)\n'
             '        for p in params:\n'
             '            p.grad = mean.clone()',
)


# q3 · transfer: gradient accumulation, the same averaging in one process ------------------------------------------


# (seed, sizes of the micro-batches, whether the model arrives in training mode)
_Q3_CASES = ((0, (8, 8), True), (1, (6, 6, 4), True), (2, (3, 9), False), (3, (5,), True))


def _whole(batches: list) -> tuple[torch.Tensor, torch.Tensor]:
    """All the micro-batches' samples together."""
    return torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])


def _mean_loss(net: nn.Module, batches: list, params: list[torch.Tensor] | None = None) -> float:
    """The mean squared error over all the samples of net (with the parameters `params`, if given)."""
    net = copy.deepcopy(net)
    with torch.no_grad():
        for p, q in zip(net.parameters(), params or ()):
            p.copy_(q)
        return nn.functional.mse_loss(net(_whole(batches)[0]), _whole(batches)[1]).item()


def _check_loss(loss: object, want: float, previous: float | None, case: str, n: int,
                after: Callable[[], float]) -> float:
    """The returned loss: a Python number, the mean over all n samples before the step (not `after` it), nothing
    carried over from the `previous` call."""
    need(not isinstance(loss, torch.Tensor), f"{case}, you returned a tensor: return the loss as a Python number "
                                             "(.item()).")
    got = number("the returned loss", loss)
    if not close(got, want):
        need(not close(got, after()), f"{case}, you returned {got:.5f}, the loss after the step; the loss before it is "
             f"{want:.5f}: add up the micro-batches' shares of the loss as they go through the model, before the "
             "update.")
        if previous is not None and close(got, previous + want):
            raise Incorrect(f"{case}, you returned {got:.5f}: this step's loss ({want:.5f}) plus the {previous:.5f} "
                            "that the previous call returned. The running total carried over from one call to the "
                            "next (a mutable default argument, or a variable outside the function?): start it at 0.0 "
                            "inside the function, on every call.")
        raise Incorrect(f"{case}, you returned {got:.5f}; the mean loss over all {n} samples, before the step, is "
                        f"{want:.5f}.")
    return got


def _check_accumulation(accumulated_step: object) -> str:
    """One step equal to a step on all samples, for equal and unequal micro-batches, gradients zeroed first."""
    need(callable(accumulated_step), "`accumulated_step` should be a function "
                                     "accumulated_step(model, optimizer, loss_fn, micro_batches).")
    previous = None
    for seed, sizes, training in _Q3_CASES:
        net, batches = accumulation_case(seed, sizes)
        X, y = _whole(batches)
        case = f"For micro-batches of {', '.join(map(str, sizes))} samples"
        run = run_learner(accumulated_step, net, batches, 1, case, training=training)
        check_run(run, batches, case, training)
        if not all(close(g, w) for g, w in zip(run.params, step_on(net, X, y))):
            raise Incorrect(explain_step(net, batches, run.params, case))
        previous = _check_loss(run.out[0], _mean_loss(net, batches), previous, case, len(X),
                               lambda: _mean_loss(net, batches, run.params))
    net, batches = accumulation_case(5, (6, 2))
    X, y = _whole(batches)
    run = run_learner(accumulated_step, net, batches, 1, "With loss_fn = nn.L1Loss()", nn.L1Loss())
    need(all(close(g, w) for g, w in zip(run.params, step_on(net, X, y, loss_fn=nn.L1Loss()))),
         "With loss_fn = nn.L1Loss() (a mean too), your step differs from one step on all the samples, though it was "
         "right with nn.MSELoss(): compute each micro-batch's loss with loss_fn, not with a formula of your own.")
    net, batches = accumulation_case(4, (4, 4))
    X, y = _whole(batches)
    run = run_learner(accumulated_step, net, batches, 2, "Called twice")
    check_run(run, batches, "Called twice", True, calls=2)
    after_one, first = copy.deepcopy(net), step_on(net, X, y)
    with torch.no_grad():
        for p, q in zip(after_one.parameters(), first):
            p.copy_(q)
    need(all(close(g, w) for g, w in zip(run.params, step_on(after_one, X, y))),
         "called twice, the second step also used the first call's gradients: zero them at the start of the step.")
    _check_loss(run.out[1], _mean_loss(after_one, batches), number("the returned loss", run.out[0]),
                "Called twice, the second time", len(X), lambda: _mean_loss(net, batches, run.params))
    net, batches = accumulation_case(6, (5, 3))
    X, y = _whole(batches)
    stale = [torch.full_like(p, 0.5) for p in net.parameters()]
    run = run_learner(accumulated_step, net, batches, 1, "With a model holding old gradients", stale=stale)
    want = step_on(net, X, y)
    need(not all(close(g, w - 0.1 * s) for g, w, s in zip(run.params, want, stale)), "With a model that arrived "
         "holding gradients (left by an earlier backward(): a validation pass, a step that zeroed nothing), your step "
         "added the micro-batches' gradients to them: zero the gradients at the start of the step, before the "
         "micro-batches add theirs (zeroing after the step leaves the first step exposed).")
    if not all(close(g, w) for g, w in zip(run.params, want)):
        raise Incorrect(explain_step(net, batches, run.params, "With a model that arrived holding gradients"))
    return ("one optimizer step equal to a step on all the samples at once, for micro-batches of equal and of unequal "
            "sizes and for two loss functions: each loss weighted by its share, the gradients added up in .grad, "
            "zeroed at the start of each step, the model in training mode, one micro-batch at a time through it.")


q3 = _ex.problem(
    _check_accumulation, names=("accumulated_step",), title="One process, many micro-batches", transfer=True,
    task="A batch of 32 is too large for your memory, so you split it into micro-batches and add up their gradients "
         "before one optimizer step: *gradient accumulation*, the averaging of this lesson inside one process. Write "
         "`accumulated_step(model, optimizer, loss_fn, micro_batches)`: `micro_batches` is a list of `(X, y)`, "
         "possibly of different sizes; do one optimizer step whose update equals one step on all their samples "
         "together (with `loss_fn` a mean, like `nn.MSELoss()`), and return the loss over all the samples, before the "
         "step, as a Python number. The check compares with a step on the whole batch, for micro-batches of equal and "
         "of unequal sizes and with two loss functions; it hands your step models that arrive in evaluation mode or "
         "still holding old gradients, calls it twice, and watches that one micro-batch at a time goes through the "
         "model.",
    starter='def accumulated_step(model, optimizer, loss_fn, micro_batches):\n'
            '    """One optimizer step on all the samples of micro_batches, one micro-batch at a time."""\n'
            '    model.train()\n'
            '    ____                                   # fresh gradients for this step\n'
            '    total = sum(len(X) for X, _ in micro_batches)\n'
            '    whole_loss = 0.0\n'
            '    for X, y in micro_batches:\n'
            '        loss = ____                        # its share of the mean over all samples\n'
            '        ____                               # its gradient, added to .grad\n'
            '        whole_loss += loss.item()\n'
            '    ____                                   # one update\n'
            '    return whole_loss',
    hint="backward() adds to .grad; it does not replace it. The loss of the whole batch is the mean over all its "
         "samples, so a micro-batch's mean loss must count in proportion to how many samples it holds (section 1's "
         "batches of 20 and 12 show why a plain average of the means is not enough). Zero once, step once.",
    solution='def accumulated_step(model, optimizer, loss_fn, micro_batches):\n'
             '    """One optimizer step on all the samples of micro_batches, one micro-batch at a time."""\n'
             '    model.train()\n'
             '    optimizer.zero_grad()                  # fresh gradients for this step\n'
             '    total = sum(len(X) for X, _ in micro_batches)\n'
             '    whole_loss = 0.0\n'
             '    for X, y in micro_batches:\n'
             '        loss = loss_fn(model(X), y) * len(X) / total  # its share of the mean over all samples\n'
             '        loss.backward()                    # its gradient, added to .grad\n'
             '        whole_loss += loss.item()\n'
             '    optimizer.step()                       # one update\n'
             '    return whole_loss',
)

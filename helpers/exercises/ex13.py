"""Exercises for notebook 13 (distributed training): which samples a rank reads, averaging gradients across ranks,
and gradient accumulation (the same averaging in one process).

Every check runs in-process: no process group, no torchrun; ranks are simulated by lists of models.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.utils.data import DistributedSampler

from ._core import Exercises, Incorrect
from ._util import call, close, need, number

_ex = Exercises("ex13")
bind = _ex.bind


# q1 · which indices a rank reads --------------------------------------------------------------------------------


def _sampler(n: int, world_size: int, rank: int, shuffle: bool, seed: int, epoch: int, drop_last: bool) -> list[int]:
    """What DistributedSampler itself gives this rank in this epoch."""
    sampler = DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed,
                                 drop_last=drop_last)
    sampler.set_epoch(epoch)
    return list(sampler)


def _as_indices(value: object, case: str) -> list[int]:
    """The learner's answer as a list of Python ints (a list, tuple or 1-D tensor of whole numbers)."""
    if isinstance(value, torch.Tensor) and value.dim() == 1 and not value.is_floating_point():
        return value.tolist()
    need(isinstance(value, (list, tuple)), f"{case}, you returned {type(value).__name__}: return a list of indices.")
    need(all(isinstance(i, int) and not isinstance(i, bool) for i in value),
         f"{case}, you returned {value!r}: the indices should be whole numbers (ints).")
    return list(value)


# (n, world_size, shuffle, seed, epoch, drop_last): sizes that divide and sizes that do not, padding longer than
# the data, drop_last on and off, shuffles with other seeds and epochs
_Q1_CASES = [(10, 3, False, 0, 0, False), (12, 3, False, 0, 0, False), (10, 3, False, 0, 0, True),
             (8, 2, True, 0, 0, False), (8, 2, True, 0, 1, False), (11, 4, True, 3, 2, False),
             (11, 4, True, 3, 2, True), (2, 5, False, 0, 0, False), (3, 5, True, 1, 4, False),
             (3, 5, False, 0, 0, True)]


def _explain_q1(n: int, world_size: int, shuffle: bool, seed: int, epoch: int, drop_last: bool,
                got: list[list[int]], want: list[list[int]]) -> str:
    """Say what went wrong for one case, comparing all ranks' answers with DistributedSampler's."""
    case = (f"For {n} samples, world_size={world_size}, shuffle={shuffle}, seed={seed}, epoch={epoch}, "
            f"drop_last={drop_last}")
    flat_got, flat_want = sorted(i for g in got for i in g), sorted(i for w in want for i in w)
    sizes = [len(g) for g in got]
    if drop_last and flat_got != flat_want and len(set(sizes)) == 1 and sizes[0] == math.ceil(n / world_size):
        return (f"{case}, each rank got {sizes[0]} indices: with drop_last=True the order is cut to a multiple of "
                f"world_size ({len(want[0])} each), not padded.")
    if len(set(sizes)) > 1:
        return (f"{case}, the ranks got {sizes} indices: every rank must get the same number ({len(want[0])}), "
                "or the ranks would not take the same number of steps. Pad the order by repeating it from the start"
                + (" (as many times as needed: here the padding is longer than the order itself)." if n < world_size
                   else "."))
    if shuffle and flat_got == flat_want:
        base = _sampler(n, world_size, 0, shuffle, seed, 0, drop_last)
        if epoch and got[0] == base and want[0] != base:
            return (f"{case}, rank 0 got {got[0]}, the order of epoch 0: the generator is seeded with seed + epoch, "
                    "so that each epoch has its own order.")
    if not shuffle or flat_got == flat_want:
        order = [i for position in range(len(flat_want)) for i in [want[position % world_size][position // world_size]]]
        size = len(want[0])
        if got == [order[r * size:(r + 1) * size] for r in range(world_size)]:
            return (f"{case}, rank 0 got {got[0]}, a block of consecutive positions: DistributedSampler deals the "
                    f"order out in turn, rank r taking positions r, r + world_size, r + 2 * world_size, ...")
    if shuffle and all(g == _sampler(n, world_size, r, False, seed, epoch, drop_last) for r, g in enumerate(got)):
        return f"{case}, rank 0 got {got[0]}, in order: with shuffle=True, shuffle the order first."
    r = next(r for r in range(world_size) if got[r] != want[r])  # the first rank that differs
    if shuffle and r > 0 and got[r] == _sampler(n, world_size, r, shuffle, seed + r, epoch, drop_last):
        return (f"{case}, rank {r} got {got[r]}; DistributedSampler gives {want[r]}: rank {r} shuffled with a seed of "
                "its own. Every rank must draw the same permutation (from seed + epoch, without the rank), or the "
                "ranks' shares overlap and leave samples out.")
    if shuffle:
        return (f"{case}, rank {r} got {got[r]}; DistributedSampler gives {want[r]}. Draw the order with "
                "torch.randperm(n, generator=...), from a torch.Generator seeded with seed + epoch.")
    return (f"{case}, rank {r} got {got[r]}; DistributedSampler gives {want[r]}. The padding repeats the order from "
            "its start.")


def _check_rank_indices(rank_indices: object) -> str:
    """Every rank of every case equal to DistributedSampler's own indices."""
    need(callable(rank_indices), "`rank_indices` should be a function "
                                 "rank_indices(n, world_size, rank, shuffle, seed, epoch, drop_last).")
    for n, world_size, shuffle, seed, epoch, drop_last in _Q1_CASES:
        want = [_sampler(n, world_size, r, shuffle, seed, epoch, drop_last) for r in range(world_size)]
        got = []
        for r in range(world_size):
            case = f"For n={n}, world_size={world_size}, rank={r}"
            got.append(_as_indices(call(rank_indices, n, world_size, r, shuffle, seed, epoch, drop_last, case=case),
                                   case))
        if got != want:
            raise Incorrect(_explain_q1(n, world_size, shuffle, seed, epoch, drop_last, got, want))
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


_OUTPUTS = 4  # the small net's outputs: a number no case's count of micro-batches equals


def _accumulation_case(seed: int, sizes: tuple[int, ...]) -> tuple[nn.Module, list[tuple[torch.Tensor, torch.Tensor]]]:
    """A small net and micro-batches of the given sizes."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, _OUTPUTS))
    X, y = torch.randn(sum(sizes), 3), torch.randn(sum(sizes), _OUTPUTS)
    return net, list(zip(X.split(list(sizes)), y.split(list(sizes))))


def _step_on(net: nn.Module, X: torch.Tensor, y: torch.Tensor, scale: float = 1.0,
             loss_fn: nn.Module | None = None) -> list[torch.Tensor]:
    """A copy of net after one SGD(0.1) step on loss_fn(X, y) (MSE unless given) times scale; returns its parameters."""
    copy_ = copy.deepcopy(net)
    ((loss_fn or nn.MSELoss())(copy_(X), y) * scale).backward()
    with torch.no_grad():
        return [p - 0.1 * p.grad for p in copy_.parameters()]


def _run_learner(accumulated_step: object, net: nn.Module, batches: list, calls: int, case: str,
                 loss_fn: nn.Module | None = None) -> tuple:
    """Call the learner's step `calls` times on a copy of net; return (parameters, returned values, steps taken)."""
    model = copy.deepcopy(net)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    steps, step = [], optimizer.step
    optimizer.step = lambda *a, **k: (steps.append(1), step(*a, **k))[1]  # count the optimizer's steps
    out = [call(accumulated_step, model, optimizer, loss_fn or nn.MSELoss(), batches, case=case) for _ in range(calls)]
    return [p.detach() for p in model.parameters()], out, len(steps)


def _explain_step(net: nn.Module, batches: list, got: list[torch.Tensor], case: str) -> str:
    """Why the learner's step (not one on all the samples at once) went wrong, as far as it can be told."""
    sizes = [len(Xb) for Xb, _ in batches]
    X, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    if all(close(g, w) for g, w in zip(got, _step_on(net, X, y, len(sizes)))):
        return (f"{case}, the step is {len(sizes)} times too large: the gradients of the micro-batches' mean losses "
                "add up; scale each loss by its share of the samples before backward().")
    if all(close(g, w) for g, w in zip(got, _step_on(net, X, y, _OUTPUTS))):
        return (f"{case}, the step is {_OUTPUTS} times too large, as many times as y has columns: the squared errors "
                f"were added over the {_OUTPUTS} outputs, where loss_fn averages over every number of y. Compute each "
                "micro-batch's loss with loss_fn.")
    last_X, last_y = batches[-1]
    if len(sizes) > 1 and any(all(close(g, w) for g, w in zip(got, _step_on(net, last_X, last_y, scale)))
                              for scale in (1.0, len(last_X) / len(X))):
        return (f"{case}, only the last micro-batch counted: zero the gradients once, before the loop, so that the "
                "micro-batches' gradients add up in .grad.")
    equal = [_step_on(net, Xb, yb, 1 / len(sizes)) for Xb, yb in batches]
    if len(set(sizes)) > 1 and all(close(g, sum(e[i] for e in equal) - (len(sizes) - 1) * p.detach())
                                   for i, (g, p) in enumerate(zip(got, net.parameters()))):
        return (f"{case}, you divided each loss by the number of micro-batches: right only when they are the same "
                "size. Weight each micro-batch's loss by len(X) / (the number of samples in all).")
    return f"{case}, the parameters after your step differ from one SGD step on all {len(X)} samples."


def _check_accumulation(accumulated_step: object) -> str:
    """One step equal to a step on all samples, for equal and unequal micro-batches, gradients zeroed first."""
    need(callable(accumulated_step), "`accumulated_step` should be a function "
                                     "accumulated_step(model, optimizer, loss_fn, micro_batches).")
    for seed, sizes in ((0, (8, 8)), (1, (6, 6, 4)), (2, (3, 9)), (3, (5,))):
        net, batches = _accumulation_case(seed, sizes)
        X, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
        case = f"For micro-batches of {', '.join(map(str, sizes))} samples"
        got, out, steps = _run_learner(accumulated_step, net, batches, 1, case)
        need(steps == 1, f"{case}, optimizer.step() ran {steps} times: call it once, after every micro-batch has "
                         "added its gradient.")
        need(all(close(g, w) for g, w in zip(got, _step_on(net, X, y))), _explain_step(net, batches, got, case))
        loss = out[0]
        need(not isinstance(loss, torch.Tensor), f"{case}, you returned a tensor: return the loss as a Python number "
                                                 "(.item()).")
        want = nn.functional.mse_loss(net(X), y).item()
        need(close(number("the returned loss", loss), want), f"{case}, you returned {number('loss', loss):.5f}; "
             f"the mean loss over all {len(X)} samples, before the step, is {want:.5f}.")
    net, batches = _accumulation_case(5, (6, 2))
    X, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    got, _, _ = _run_learner(accumulated_step, net, batches, 1, "With loss_fn = nn.L1Loss()", nn.L1Loss())
    need(all(close(g, w) for g, w in zip(got, _step_on(net, X, y, loss_fn=nn.L1Loss()))),
         "With loss_fn = nn.L1Loss() (a mean too), your step differs from one step on all the samples, though it was "
         "right with nn.MSELoss(): compute each micro-batch's loss with loss_fn, not with a formula of your own.")
    net, batches = _accumulation_case(4, (4, 4))
    X, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    got, _, _ = _run_learner(accumulated_step, net, batches, 2, "Called twice")
    after_one, first = copy.deepcopy(net), _step_on(net, X, y)
    with torch.no_grad():
        for p, q in zip(after_one.parameters(), first):
            p.copy_(q)
    need(all(close(g, w) for g, w in zip(got, _step_on(after_one, X, y))),
         "called twice, the second step also used the first call's gradients: zero them at the start of the step.")
    return ("one optimizer step equal to a step on all the samples at once, for micro-batches of equal and of unequal "
            "sizes and for two loss functions: each loss weighted by its share, the gradients added up in .grad, "
            "zeroed once per step.")


q3 = _ex.problem(
    _check_accumulation, names=("accumulated_step",), title="One process, many micro-batches", transfer=True,
    task="A batch of 32 is too large for your memory, so you split it into micro-batches and add up their gradients "
         "before one optimizer step: *gradient accumulation*, the averaging of this lesson inside one process. Write "
         "`accumulated_step(model, optimizer, loss_fn, micro_batches)`: `micro_batches` is a list of `(X, y)`, "
         "possibly of different sizes; do one optimizer step whose update equals one step on all their samples "
         "together (with `loss_fn` a mean, like `nn.MSELoss()`), and return the loss over all the samples, before the "
         "step, as a Python number. The check compares with a step on the whole batch, for micro-batches of equal and "
         "of unequal sizes and with two loss functions, and calls your step twice.",
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

"""helpers.exercises.ex13 (notebook 13): starting code, solutions, plausible wrong answers refused with a message."""

from __future__ import annotations

import math

from _exercises import ExerciseModule

# q1: which samples a rank reads
NO_PADDING = ("order = (order * math.ceil(total / n))[:total]", "order = order")
PAD_ONCE = ("order = (order * math.ceil(total / n))[:total]", "order = order + order[:total - n]")
PAD_WITH_LAST = ("order = (order * math.ceil(total / n))[:total]", "order = order + [order[-1]] * (total - n)")
BLOCKS = ("return order[rank::world_size]",
          "size = len(order) // world_size\n    return order[rank * size:(rank + 1) * size]")
NO_EPOCH = ("manual_seed(seed + epoch)", "manual_seed(seed)")
UNSEEDED = ("torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch))", "torch.randperm(n)")
DROP_IGNORED = ("        order = order[:n // world_size * world_size]\n    else:\n", "        pass\n    if True:\n")
NO_SHUFFLE = ("torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()", "list(range(n))")
SEED_WITH_RANK = ("manual_seed(seed + epoch)", "manual_seed(seed + epoch + rank)")  # rank 0 agrees, rank 1 does not

# q2: averaging gradients across simulated ranks
SUM = ("sum(p.grad for p in params) / len(params)", "sum(p.grad for p in params)")
FIRST_ONLY = ("        for p in params:\n", "        for p in params[:1]:\n")
BROADCAST = ("p.grad = mean.clone()", "p.grad = params[0].grad.clone()")
PARAMETERS = ("        mean = sum(p.grad for p in params) / len(params)\n        for p in params:\n"
              "            p.grad = mean.clone()",
              "        mean = sum(p.detach() for p in params) / len(params)\n        for p in params:\n"
              "            p.data = mean.clone()")
WEIGHTS_ONLY = ("        for p in params:\n", "        for p in (params if params[0].dim() > 1 else ()):\n")
BY_PARAMETER_COUNT = ("/ len(params)", "/ len(list(models[0].parameters()))")
SHARED = ("p.grad = mean.clone()", "p.grad = mean")  # the right numbers, one tensor for every copy

# q3 (transfer): gradient accumulation
UNSCALED = ("loss_fn(model(X), y) * len(X) / total", "loss_fn(model(X), y)")
BY_COUNT = ("loss_fn(model(X), y) * len(X) / total", "loss_fn(model(X), y) / len(micro_batches)")
ZERO_INSIDE = ("        loss.backward()   ", "        optimizer.zero_grad()\n        loss.backward()   ")
STEP_INSIDE = ("        whole_loss += loss.item()\n    optimizer.step()  ",
               "        whole_loss += loss.item()\n        optimizer.step()\n    pass  ")
NO_ZERO = ("    optimizer.zero_grad()                  # fresh gradients for this step\n", "")
TENSOR = ("whole_loss += loss.item()", "whole_loss = whole_loss + loss")
SUM_OVER_OUTPUTS = ("loss_fn(model(X), y) * len(X) / total", "((model(X) - y) ** 2).sum() / total")
OWN_MSE = ("loss_fn(model(X), y) * len(X) / total", "((model(X) - y) ** 2).mean() * len(X) / total")  # right for MSE


class TestEx13(ExerciseModule):
    module = "ex13"
    names = {"math": math}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", NO_PADDING, "must get the same number"),
        ("q1", PAD_ONCE, "longer than the order itself"),
        ("q1", PAD_WITH_LAST, "repeats the order from its start"),
        ("q1", BLOCKS, "deals the order out in turn"),
        ("q1", NO_EPOCH, "seeded with seed + epoch"),
        ("q1", UNSEEDED, "torch.Generator seeded with seed + epoch"),
        ("q1", DROP_IGNORED, "not padded"),
        ("q1", NO_SHUFFLE, "shuffle the order first"),
        ("q1", SEED_WITH_RANK, "rank 1 shuffled with a seed of its own"),
        ("q2", SUM, "divide the sum by the number of ranks"),
        ("q2", FIRST_ONLY, "rank 1's `0.weight` still holds its own gradient"),
        ("q2", BROADCAST, "broadcast"),
        ("q2", PARAMETERS, "the parameters changed"),
        ("q2", WEIGHTS_ONLY, "`0.bias` still holds its own gradient"),
        ("q2", BY_PARAMETER_COUNT, "is not the mean"),
        ("q2", SHARED, "share one tensor"),
        ("q3", UNSCALED, "times too large"),
        ("q3", BY_COUNT, "divided each loss by the number of micro-batches"),
        ("q3", ZERO_INSIDE, "only the last micro-batch counted"),
        ("q3", STEP_INSIDE, "optimizer.step() ran 2 times"),
        ("q3", NO_ZERO, "the second step also used the first call's gradients"),
        ("q3", TENSOR, "you returned a tensor"),
        ("q3", SUM_OVER_OUTPUTS, "as many times as y has columns"),
        ("q3", OWN_MSE, "nn.L1Loss()"),
    ]

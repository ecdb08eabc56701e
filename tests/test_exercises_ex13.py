"""helpers.exercises.ex13 (notebook 13): starting code, solutions, plausible wrong answers refused with a message."""

from __future__ import annotations

import math

from _exercises import ExerciseModule, exercise_module

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
CUT = "order[:n // world_size * world_size]"
CUT_REMAINDER = (CUT, "order[:-(n % world_size)]")  # right unless n divides: then [:-0] keeps nothing
CUT_UNGUARDED = (CUT, "order[:math.ceil((n - world_size) / world_size) * world_size]")  # the sampler's, without `if`
CUT_A_BLOCK_MORE = (CUT, "order[:n - n % world_size - (world_size if n % world_size == 0 else 0)]")
CUT_PER_RANK = (CUT, "order[:n // world_size]")
CUT_REPEATED = (CUT, "order[:len(order) // world_size] * world_size")
TOTAL = "total = math.ceil(n / world_size) * world_size"
PAD_A_BLOCK_MORE = (TOTAL, "total = (n // world_size + 1) * world_size")  # right unless n divides
PAD_WITH_RANGE = ("order = (order * math.ceil(total / n))[:total]", "order = order + list(range(total - n))")
NEXT_RANK = ("return order[rank::world_size]", "return order[(rank + 1) % world_size::world_size]")
SORTED = ("return order[rank::world_size]", "return sorted(order[rank::world_size])")

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
Q3 = exercise_module("ex13").q3.solution_code
ZERO = "    optimizer.zero_grad()                  # fresh gradients for this step\n"
STEP = "    optimizer.step()                       # one update\n"
ZERO_AFTER = Q3.replace(ZERO, "").replace(STEP, STEP + ZERO)  # wrong only if the model arrives holding .grad
EVAL = ("    model.train()\n", "    model.eval()\n")
NO_TRAIN = ("    model.train()\n", "")  # wrong only if the model arrives in eval mode
WHOLE_BATCH = ("    for X, y in micro_batches:\n",  # one micro-batch: all of them joined, the memory it was to save
               "    for X, y in [(torch.cat([X for X, _ in micro_batches]),\n"
               "                  torch.cat([y for _, y in micro_batches]))]:\n")
CARRIED = (Q3.replace("micro_batches):", "micro_batches, running=[0.0]):").replace("    whole_loss = 0.0\n", "")
           .replace("whole_loss += loss.item()", "running[0] += loss.item()").replace("return whole_loss",
                                                                                      "return running[0]"))
NOT_DIVIDED = ("loss_fn(model(X), y) * len(X) / total", "loss_fn(model(X), y) * len(X)")
FIXED_TOTAL = ("loss_fn(model(X), y) * len(X) / total", "loss_fn(model(X), y) * len(X) / 32")
FIRST_SIZE = ("total = sum(len(X) for X, _ in micro_batches)", "total = len(micro_batches[0][0]) * len(micro_batches)")
STEP_FIRST = Q3.replace(STEP, "").replace(ZERO, STEP + ZERO)  # the step comes before the gradients
LOSS_AFTER = ("    return whole_loss",
              "    return sum(loss_fn(model(X), y).item() * len(X) for X, y in micro_batches) / total")
NUMEL = ("loss_fn(model(X), y) * len(X) / total", "loss_fn(model(X), y) * X.numel() / total")


class TestEx13(ExerciseModule):
    module = "ex13"
    names = {"math": math}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", NO_PADDING, "must get the same number"),
        ("q1", PAD_ONCE, "longer than the order itself"),
        ("q1", PAD_WITH_LAST, "you padded with [9, 9], where DistributedSampler repeats the order from its start"),
        ("q1", CUT_REMAINDER, "each rank got no index: 12 divides by 3: drop_last=True has nothing to cut"),
        ("q1", CUT_UNGUARDED, "each rank got 3 indices: 12 divides by 3: drop_last=True has nothing to cut"),
        ("q1", CUT_A_BLOCK_MORE, "12 divides by 3: drop_last=True has nothing to cut"),
        ("q1", CUT_PER_RANK, "each rank got 1 index; DistributedSampler gives 3: drop_last=True cuts the order"),
        ("q1", CUT_REPEATED, "an index is read twice"),
        ("q1", PAD_A_BLOCK_MORE, "each rank got 5 indices: 12 divides by 3: no padding, 4 each"),
        ("q1", PAD_WITH_RANGE, "(your shuffle is right), its padding is not"),
        ("q1", NEXT_RANK, "rank 0 got [1, 4, 7, 0], the share of rank 1"),
        ("q1", SORTED, "the right indices sorted"),
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
        ("q3", ZERO_AFTER, "arrived holding gradients"),
        ("q3", EVAL, "you switched the model with model.eval()"),
        ("q3", NO_TRAIN, "the model arrived in evaluation mode"),
        ("q3", WHOLE_BATCH, "your model got a batch of 16 samples at once"),
        ("q3", CARRIED, "plus the 1.11084 that the previous call returned"),
        ("q3", NOT_DIVIDED, "16 times too large, as many times as there are samples"),
        ("q3", FIXED_TOTAL, "as if the micro-batches held 32 samples in all (a number fixed in advance)"),
        ("q3", FIRST_SIZE, "6, the first micro-batch's size, times 3 micro-batches"),
        ("q3", STEP_FIRST, "your step left the parameters as they were"),
        ("q3", LOSS_AFTER, "the loss after the step"),
        ("q3", NUMEL, "as many times as X has columns"),
    ]

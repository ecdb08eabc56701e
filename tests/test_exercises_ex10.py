"""helpers.exercises.ex10 (notebook 10): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

import math

from _exercises import ExerciseModule

TRAIN_STEP_COPY = '''def fixed_step(model, X, y, loss_fn, optimizer):
    model.train()
    y_pred = model(X)
    loss = loss_fn(y_pred, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()'''

ALWAYS_NORM_ONE = '''def fixed_step(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters()))
    for p in model.parameters():
        p.grad /= norm                  # "clipping" that also scales small gradients up
    optimizer.step()
    return loss.item()'''

PARAMETERS_MOVED = '''def test_step_uses_the_optimizer_once(step, model):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    X, y = torch.rand(16, 3), torch.rand(16, 1)
    before = [p.detach().clone() for p in model.parameters()]
    for _ in range(2):
        step(model, X, y, nn.MSELoss(), optimizer)
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters())), "nothing moved"'''

LOSS_WENT_DOWN = '''def test_step_uses_the_optimizer_once(step, model):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    X, y = torch.rand(16, 3), torch.rand(16, 1)
    losses = [step(model, X, y, nn.MSELoss(), optimizer) for _ in range(3)]
    assert losses[-1] < losses[0]'''

PER_TENSOR = '''def fixed_step(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    for p in model.parameters():
        nn.utils.clip_grad_norm_([p], max_norm=1.0)
    optimizer.step()
    return loss.item()'''

FIRST = 'len(optimizer.state) == len(list(model.parameters()))'
SECOND = 'optimizer.state[p].get("step") == 2'
CLIP = "nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)"
LOSS = "loss = loss_fn(y_pred, y)"
ZERO_GRAD_LAST = '''def fixed_step(model, X, y, loss_fn, optimizer):
    model.train()
    loss = loss_fn(model(X), y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    optimizer.zero_grad()               # cleared for the next call, but never before this call's backward()
    return loss.item()'''

CACHED_TARGET = '''def fixed_step(model, X, y, loss_fn, optimizer):
    model.train()
    target = fixed_step.__dict__.setdefault("y", y)   # the y of the first call, kept
    loss = loss_fn(model(X), target)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    return loss.item()'''

CACHED_OPTIMIZER = '''def fixed_step(model, X, y, loss_fn, optimizer):
    opt = fixed_step.__dict__.setdefault("opt", optimizer)   # the optimizer of the first call, kept
    model.train()
    loss = loss_fn(model(X), y)
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()
    return loss.item()'''

FIRST_PARAMETER_ONLY = '''def test_step_uses_the_optimizer_once(step, model):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    X, y = torch.rand(16, 3), torch.rand(16, 1)
    for _ in range(2):
        step(model, X, y, nn.MSELoss(), optimizer)
    assert next(model.parameters()) in optimizer.state, "the optimizer passed in holds no state for some parameters"
    for p in model.parameters():
        assert optimizer.state[p].get("step", 2) == 2, "not 2"'''

SOLUTION_RETURN = "    return -torch.log(p[y]).mean().item()"
ENTROPY = "    p = p[p > 0]\n    return -(p * torch.log(p)).sum().item()"
HALF = "    p = counts / counts.sum()           # each class's frequency\n"


class TestEx10(ExerciseModule):
    module = "ex10"
    names = {"math": math}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        # q1: the step as given, with only its blank filled in: the doctor names the first bug
        ("q1", ("    model.train()\n    y_pred = model(X)\n    loss = loss_fn(y_pred, y)\n    optimizer.zero_grad()\n"
                "    loss.backward()\n", "    model.eval()\n    y_pred = model(X)\n"
                "    loss = loss_fn(y_pred, y[torch.randperm(len(y))])\n    loss.backward()\n    optimizer.zero_grad()\n"),
         "`eval-mode`"),
        ("q1", ("loss = loss_fn(y_pred, y)", "loss = loss_fn(y_pred, y[torch.randperm(len(y))])"), "`wrong-target`"),
        ("q1", ("    optimizer.zero_grad()\n    loss.backward()\n", "    loss.backward()\n    optimizer.zero_grad()\n"),
         "`grads-cleared`"),
        ("q1", ("    optimizer.zero_grad()\n", ""), "`grads-accumulate`"),
        ("q1", ("    model.train()\n", ""), "`eval-mode`"),
        ("q1", ("max_norm=1.0", "max_norm=0.0"), "`grads-zeroed`"),  # the doctor names the clipping, not zero_grad
        ("q1", TRAIN_STEP_COPY, "got the gradients unclipped"),
        ("q1", ("    loss.backward()\n    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n",
                "    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n    loss.backward()\n"),
         "before it there is nothing to clip"),
        ("q1", ("    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n    optimizer.step()\n",
                "    optimizer.step()\n    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n"),
         "you clip after optimizer.step()"),
        ("q1", PER_TENSOR, "not one by one"),
        ("q1", ("nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)",
                "nn.utils.clip_grad_value_(model.parameters(), 1.0)"), "clipping entries one by one"),
        ("q1", ALWAYS_NORM_ONE, "only shrinks gradients"),
        ("q1", ("max_norm=1.0", "max_norm=0.5"), "not further"),
        ("q1", ("max_norm=1.0", "max_norm=10.0"), "not to 1"),
        ("q1", ("return loss.item()", "return loss"), "returns a tensor"),
        # q1: a loss of its own, or loss_fn misused: the same numbers as MSE on this batch, not with another loss
        ("q1", (LOSS, "loss = nn.MSELoss()(y_pred, y)"), "never called the loss function it was given"),
        ("q1", (LOSS, "loss = nn.functional.mse_loss(y_pred, y)"), "never called the loss function it was given"),
        ("q1", (LOSS, "loss = nn.L1Loss()(y_pred, y)"), "never called the loss function it was given"),
        ("q1", (LOSS, "loss = loss_fn(y, y_pred)"), "called loss_fn(y, y_pred)"),
        ("q1", (LOSS, "loss = loss_fn(y_pred, y) / len(y)"), "divided by the batch size 32"),
        ("q1", (LOSS, "loss = 10 * loss_fn(y_pred, y)"), "(10 times that)"),
        ("q1", ("return loss.item()", "return loss_fn(model(X), y).item()"), "a later call of loss_fn"),
        ("q1", CACHED_TARGET, "not the y this call was given"),
        ("q1", CACHED_OPTIMIZER, "never ran on the optimizer passed to this call"),
        # q1: gradients of an earlier backward() on the model, cleared only after the update
        ("q1", ZERO_GRAD_LAST, "zero_grad() comes only after optimizer.step()"),
        # q1: some parameters clipped, or clipped by another norm
        ("q1", (CLIP, "nn.utils.clip_grad_norm_(next(model.parameters()), max_norm=1.0)"),
         "of the 4 gradient tensors, 1"),
        ("q1", (CLIP, "nn.utils.clip_grad_norm_([p for n, p in model.named_parameters() if 'weight' in n], "
                      "max_norm=1.0)"), "clipped only some of the parameters"),
        ("q1", (CLIP, "nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0, norm_type=float('inf'))"),
         "until their largest entry was 1"),
        ("q1", (CLIP + "\n    optimizer.step()\n", "optimizer.step()\n    optimizer.zero_grad()\n"),
         "got the gradients unclipped"),
        # q2: tests that cannot tell a misused optimizer from a good one, or catch it only by crashing
        ("q2", (SECOND, 'optimizer.state[p].get("step") >= 2'), "calls optimizer.step() twice"),
        ("q2", (SECOND, 'optimizer.state[p].get("step") <= 2'), "before loss.backward()"),
        ("q2", (SECOND, 'optimizer.state[p]["step"] > 0'), "calls optimizer.step() twice"),
        ("q2", (SECOND, "p.grad is not None"), "clears the gradients after the update"),
        ("q2", (FIRST, "len(optimizer.state) == 0"), "failed the correct"),
        ("q2", (FIRST, "len(optimizer.state) == 4"), "6 parameter tensors"),
        ("q2", (FIRST, "True"), "The first assert must catch it"),
        ("q2", (FIRST, "len(optimizer.param_groups) == 1"), "The first assert must catch it"),
        ("q2", (FIRST, "len(optimizer.state) > 0"), "runs the first layer under no_grad"),
        ("q2", (SECOND, 'optimizer.state[p].get("step") == 4'), "failed the correct"),
        ("q2", PARAMETERS_MOVED, "makes a new Adam"),
        ("q2", LOSS_WENT_DOWN, "makes a new Adam"),
        # q2: counts that hold on plain Linear networks only, or for some parameters, or on average
        ("q2", (FIRST, "len(optimizer.state) == len(model.state_dict())"), "batch-norm layer"),
        ("q2", (FIRST, "len(optimizer.state) == 2 * len([m for m in model.modules() if isinstance(m, nn.Linear)])"),
         "batch-norm layer"),
        ("q2", (FIRST, "next(model.parameters()) in optimizer.state"), "runs the last layer on detached weights"),
        ("q2", FIRST_PARAMETER_ONLY, "passed a step that runs the last layer on detached weights"),
        ("q2", (SECOND, 'any(s.get("step") == 2 for s in optimizer.state.values())'), "a second time in each call"),
        ("q2", (SECOND, 'optimizer.state[list(model.parameters())[-1]].get("step") == 2'), "a second time"),
        ("q2", (SECOND, 'sum(s["step"] for s in optimizer.state.values()) == 2 * len(optimizer.state)'),
         "2 on average"),
        ("q2", (SECOND, 'optimizer.state[p].get("step") == len(list(model.parameters())) / 2'),
         "each with a count of exactly 2 steps"),
        # q3: the loss of a model that predicts only the class frequencies
        ("q3", (SOLUTION_RETURN, "    return math.log(len(counts))"), "weight each class by how often"),
        ("q3", ("torch.log(p[y])", "torch.log2(p[y])"), "in bits"),
        ("q3", (SOLUTION_RETURN, "    return -torch.log(p).mean().item()"), "mean over the samples"),
        ("q3", (SOLUTION_RETURN, "    p = p[p > 0]\n    return -torch.log(p).mean().item()"), "mean over the samples"),
        ("q3", (SOLUTION_RETURN, "    return -(p * torch.log(p)).sum().item()"), "0 * log(0) is nan"),
        ("q3", (HALF, "    p = counts.float()\n"), "mean over the samples"),
        ("q3", ("counts / counts.sum()", "counts // len(y)"), "integer division"),
        ("q3", (SOLUTION_RETURN, ENTROPY.replace(".sum()", ".mean()")), "mean over the samples"),
        ("q3", (SOLUTION_RETURN, "    return math.log(10)"), "mean over the samples"),
    ]

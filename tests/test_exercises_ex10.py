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

PARAMETERS_MOVED = '''def test_step_uses_the_optimizer_once(step):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    X, y = torch.rand(16, 3), torch.rand(16, 1)
    before = [p.detach().clone() for p in model.parameters()]
    for _ in range(2):
        step(model, X, y, nn.MSELoss(), optimizer)
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters())), "nothing moved"'''

LOSS_WENT_DOWN = '''def test_step_uses_the_optimizer_once(step):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    X, y = torch.rand(16, 3), torch.rand(16, 1)
    losses = [step(model, X, y, nn.MSELoss(), optimizer) for _ in range(3)]
    assert losses[-1] < losses[0]'''

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
        ("q1", TRAIN_STEP_COPY, "clip them to norm 1"),
        ("q1", ("    loss.backward()\n    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n",
                "    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n    loss.backward()\n"),
         "Clipping before backward()"),
        ("q1", ALWAYS_NORM_ONE, "only shrinks gradients"),
        ("q1", ("max_norm=1.0", "max_norm=0.5"), "not further"),
        ("q1", ("return loss.item()", "return loss"), "returns a tensor"),
        # q2: tests that cannot tell a misused optimizer from a good one
        ("q2", ('optimizer.state[p].get("step") == 2', 'optimizer.state[p].get("step") >= 2'),
         "calls optimizer.step() twice"),
        ("q2", ('optimizer.state[p].get("step") == 2', 'p.grad is not None'), "clears the gradients after the update"),
        ("q2", ("len(optimizer.state) == len(list(model.parameters()))", "len(optimizer.state) == 0"),
         "failed the correct"),
        ("q2", PARAMETERS_MOVED, "makes a new Adam"),
        ("q2", LOSS_WENT_DOWN, "makes a new Adam"),
        ("q2", ('optimizer.state[p].get("step") == 2', 'optimizer.state[p].get("step") == 4'), "failed the correct"),
        # q3: the loss of a model that predicts only the class frequencies
        ("q3", ("    return -(p * torch.log(p)).sum().item()", "    return math.log(len(p))"),
         "weight each class by how often"),
        ("q3", ("torch.log(p)", "torch.log2(p)"), "in bits"),
        ("q3", ("    return -(p * torch.log(p)).sum().item()", "    return -torch.log(p).mean().item()"),
         "mean over the samples"),
        ("q3", (HALF, "    p = counts.float()\n"), "mean over the samples"),
        ("q3", ("    return -(p * torch.log(p)).sum().item()", "    return -(p * torch.log(p)).mean().item()"),
         "mean over the samples"),
        ("q3", ("    return -(p * torch.log(p)).sum().item()", "    return math.log(10)"), "mean over the samples"),
    ]

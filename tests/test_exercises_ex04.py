"""helpers.exercises.ex04 (notebook 04): starting code, solutions, and plausible wrong answers refused with a message."""

from __future__ import annotations

from _exercises import ExerciseModule


class TestEx04(ExerciseModule):
    module = "ex04"
    min_wrong = 2  # raised to 4 as issue 21 reworks these exercises
    names = {}  # what the notebook defines before its exercises, besides torch, nn and helpers
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("    optimizer.zero_grad()        # 3. zero the gradients\n", ""), "gradients doubled"),
        ("q1", ("    model.train()                # 0. training mode\n", ""), "eval mode"),
        ("q1", ("    optimizer.step()             # 5. update the parameters\n", ""), "optimizer.step() called"),
        ("q1", ("return loss.item()", "return loss"), "returned a tensor"),
        ("q2", "lr_mse = 0.1", "Too small a step"),
        ("q2", "lr_mse = 1.0", "blew up"),
        ("q3", ("model(X) - y", "y - model(X)"), "opposite sign"),
        ("q3", ("(torch.sign(e) * X).mean()", "(torch.sign(e) * X).sum()"), "times autograd's"),
        ("q3", ("    return grad_w, grad_b", "    nn.L1Loss()(model(X), y).backward()\n"
                        "    return model.weights.grad, model.bias.grad"), "you called backward()"),
    ]

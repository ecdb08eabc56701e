"""Exercises for notebook 10 (testing and debugging): fix a step with three bugs and keep its clipping, a test that
catches a misused optimizer, and the loss a model that ignores its input gets stuck at."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn

import helpers

from ._broken_steps import (step_before_backward, step_extra_first_layer_update, step_first_layer_without_graph,
                            step_last_layer_left_out, step_new_adam, step_twice, step_without_update,
                            step_zero_grad_last, uneven_step)
from ._clipping import check_clipped, clipped, same_grads, total_norm
from ._core import Exercises, Incorrect
from ._steps import RecordingLoss, StepLog, stale_gradients
from ._util import call, close, need, number

_ex = Exercises("ex10")
bind = _ex.bind


# q1: find the bugs in a step the notebook never showed, and keep what it is for -------------------------------


def _patient(dropout: float, scale: float) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A small regression MLP, left in eval mode as an evaluation leaves it, with 32 rows of 3 features."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 1))
    X = torch.randn(32, 3)
    return model.eval(), X, scale * (X @ torch.tensor([[2.0], [-1.0], [0.5]]))


def _classifier() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A small 3-class classifier in eval mode, with 24 rows of 4 features and their class labels."""
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(4, 12), nn.ReLU(), nn.Linear(12, 3)).eval(), torch.randn(24, 4), torch.arange(24) % 3


def _run(fixed_step: object, model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: nn.Module, case: str,
         stale: bool = False) -> dict:
    """Run the learner's step once (its model carrying old gradients if `stale`): what it returned and gave loss_fn,
    the gradients optimizer.step() used and their norm afterwards, and this batch's own loss and gradient."""
    reference = copy.deepcopy(model).train()
    value = loss(reference(X), y)
    value.backward()
    old = stale_gradients(model) if stale else [torch.zeros_like(p) for p in model.parameters()]
    optimizer, seen, loss_fn = torch.optim.SGD(model.parameters(), lr=0.01), [], RecordingLoss(loss)
    log = StepLog(model, optimizer)
    optimizer.register_step_pre_hook(lambda *_: seen.append(
        [torch.zeros_like(p) if p.grad is None else p.grad.detach().clone() for p in model.parameters()]))
    out = call(fixed_step, model, X, y, loss_fn, optimizer, case=case)
    need(seen, f"{case}, optimizer.step() never ran on the optimizer passed to this call: does your step use "
               "another one (a global, or one kept from an earlier call)? Update with the optimizer it is given.")
    return {"out": out, "calls": loss_fn.calls, "grads": seen[0], "events": log.events, "old": old,
            "after": total_norm([p.grad for p in model.parameters() if p.grad is not None]),
            "loss": value.item(), "fresh": [p.grad for p in reference.parameters()]}


def _loss_and_return(r: dict, y: torch.Tensor, case: str) -> None:
    """The step computes loss_fn(y_pred, y) with this call's y, and returns that loss as a Python number."""
    need(r["calls"], f"{case}, your step never called the loss function it was given: it computed a loss of its own "
                     "(nn.MSELoss()? F.mse_loss?), so it trains with that one whatever loss_fn it gets. Write "
                     "loss = loss_fn(y_pred, y).")
    for y_pred, target, _ in r["calls"]:
        need(y_pred.requires_grad or not target.requires_grad,
             f"{case}, your step called loss_fn(y, y_pred): the prediction comes first and the target second, "
             "loss_fn(y_pred, y). MSE gives the same number either way; cross-entropy and most other losses do not.")
        need(target.numel() == y.numel() and torch.equal(target.detach().double().flatten().sort().values,
                                                         y.double().flatten().sort().values),
             f"{case}, loss_fn compared the predictions with a target that is not the y this call was given (one "
             "kept from an earlier call, or a global?): use the argument y, loss_fn(y_pred, y).")
    out, want = r["out"], r["loss"]
    need(out is not None, "your step returns nothing: return loss.item(), the loss as a Python number.")
    need(not isinstance(out, torch.Tensor), "your step returns a tensor: return loss.item(), a Python number.")
    need(isinstance(out, float), f"your step returned a {type(out).__name__}: return loss.item(), a Python number.")
    if math.isclose(out, want, rel_tol=1e-5):
        return
    if any(math.isclose(out, v, rel_tol=1e-6) for _, _, v in r["calls"][1:]):
        raise Incorrect(f"{case}, your step returned {out:.4g}, the value of a later call of loss_fn (after the "
                        f"update?), not the loss of the forward pass it trained on ({want:.4g}): return loss.item() "
                        "of that loss.")
    if math.isclose(out * len(y), want, rel_tol=1e-4):
        raise Incorrect(f"{case}, your step returned {out:.4g}, the loss loss_fn(y_pred, y) = {want:.4g} divided by "
                        f"the batch size {len(y)}: loss_fn already averages over the batch. Backpropagate and return "
                        "loss_fn(y_pred, y) as it is.")
    raise Incorrect(f"{case}, your step returned {out:.4g}, but loss_fn(y_pred, y) on this batch is {want:.4g} "
                    f"({out / want:.3g} times that): the loss you backpropagate and return is loss = loss_fn(y_pred, "
                    "y) itself, not scaled or changed; return loss.item().")


def _old_gradients_cleared(r: dict, case: str) -> None:
    """On a model that arrives with old gradients, step() must use this batch's gradient alone, clipped."""
    g, f = r["grads"], r["fresh"]
    if same_grads(g, clipped(f)):
        return
    if same_grads(g, clipped([a + b for a, b in zip(f, r["old"])])):
        events = r["events"]
        where = ("zero_grad() comes only after optimizer.step() in your step" if "zero_grad" in events
                 else "your step never clears the gradients")
        raise Incorrect(f"{case}, {where}, so backward() added this batch's gradient to the old one in .grad (the "
                        "check left one there, as an earlier backward() leaves it) and the update used the sum. "
                        "Clear them at the start: optimizer.zero_grad() before loss.backward().")
    raise Incorrect(f"{case}, the gradients optimizer.step() used were not this batch's gradient of loss_fn(y_pred, "
                    "y), clipped to total norm 1: zero_grad(), backward(), clip_grad_norm_, step().")


def _check_fixed_step(fixed_step: object) -> str:
    """The doctor finds nothing; the step uses loss_fn and returns its loss; the gradients reach step() clipped to
    norm 1 when larger, unchanged when smaller, and without the old gradients a model arrives with."""
    need(callable(fixed_step), "`fixed_step` should be a function fixed_step(model, X, y, loss_fn, optimizer).")
    model, X, y = _patient(dropout=0.2, scale=10.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    report = helpers.debug.diagnose(fixed_step, model, nn.MSELoss(), optimizer, X, y)
    if report:
        f = report[0]
        raise Incorrect(f"the training doctor still finds `{f.code}`: {f.seen} Likely cause: {f.cause}")
    model, X, y = _patient(dropout=0.0, scale=10.0)  # no dropout: the step's loss and gradient can be recomputed
    r = _run(fixed_step, model, X, y, nn.MSELoss(), "On a batch with large gradients")
    _loss_and_return(r, y, "On a batch with large gradients")
    check_clipped(r["grads"], r["fresh"], r["after"])
    model, X, y = _patient(dropout=0.0, scale=0.01)
    r = _run(fixed_step, model, X, y, nn.MSELoss(), "On a batch with small gradients")
    _loss_and_return(r, y, "On a batch with small gradients")
    norm, unclipped = total_norm(r["grads"]), total_norm(r["fresh"])
    if not same_grads(r["grads"], r["fresh"]):
        raise Incorrect(f"gradients of total norm {unclipped:.3g} reached optimizer.step() with norm {norm:.3g}: "
                        "clipping only shrinks gradients whose norm is above max_norm and leaves smaller ones alone, "
                        "as nn.utils.clip_grad_norm_ does.")
    case = "On a classifier trained with cross-entropy that arrives with old gradients in .grad"
    model, X, y = _classifier()
    r = _run(fixed_step, model, X, y, nn.CrossEntropyLoss(), case, stale=True)
    _loss_and_return(r, y, case)
    _old_gradients_cleared(r, case)
    return ("the doctor finds nothing, the step trains on loss_fn(y_pred, y) and returns it as a number, and the "
            "gradients of this batch alone are clipped to norm 1 only when they are larger.")


_CLIPPED = '''def fixed_step(model, X, y, loss_fn, optimizer):
    """One training step that clips the gradients' total norm to 1 before each update."""
    model.eval()
    y_pred = model(X)
    loss = loss_fn(y_pred, y[torch.randperm(len(y))])
    loss.backward()
    optimizer.zero_grad()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    return ____'''

q1 = _ex.problem(
    _check_fixed_step, names=("fixed_step",), title="Three bugs in a clipped step", transfer=True,
    task="The step in the cell below is meant to clip the gradients before every update, a common guard against "
         "the blow-ups of bug 6: `nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)` scales all the "
         "gradients down together when their total norm (the norm of all of them as one long vector) is above 1, "
         "and leaves them alone otherwise. But the step has three bugs of kinds this notebook showed, and it returns "
         "nothing yet. Find them (give it to `diagnose`, or check by hand), fix them, and keep the clipping. The "
         "check runs it on a small network left in eval mode, with large and with small gradients, and on a small "
         "classifier trained with cross-entropy that arrives with gradients left in `.grad` by an earlier "
         "`backward()`.",
    starter=_CLIPPED,
    hint="Three lines are wrong: the mode the step trains in, what the loss compares the predictions with, and where "
         "the gradients are cleared. Clipping must see the gradients, so it sits between backward() and step().",
    solution='''def fixed_step(model, X, y, loss_fn, optimizer):
    """One training step that clips the gradients' total norm to 1 before each update."""
    model.train()
    y_pred = model(X)
    loss = loss_fn(y_pred, y)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    return loss.item()''',
)


# q2: a test that catches a misused optimizer -----------------------------------------------------------------


def _networks() -> list[tuple[nn.Module, int]]:
    """Networks from 3 features to 1 output, and their numbers of parameter tensors: 4, 6, and 5 with a batch-norm
    layer (whose state_dict also holds 3 buffers) after a Linear without bias."""
    torch.manual_seed(0)
    small = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    deeper = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    normed = nn.Sequential(nn.Linear(3, 8, bias=False), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    return [(small, 4), (deeper, 6), (normed, 5)]


_NO_STATE = "holds no state"  # words of the first assert's message, as the starting code gives it


def _failure(test: Callable, step: object, model: nn.Module) -> BaseException | None:
    """What the learner's test raised for `step` (a failed test), or None if it passed."""
    try:
        test(step, model)
    except Exception as err:  # noqa: BLE001 - pytest counts any error in a test as a failure
        if "____" in str(err) or "Blank" in type(err).__name__:
            raise
        return err
    return None


def _passes_correct_steps(test: Callable) -> None:
    """The learner's test passes correct steps on three networks, one with a batch-norm layer."""
    (small, _), (deeper, _), (normed, _) = _networks()
    for step, what, model, about in [
            (helpers.train_step, "the correct helpers.train_step", deeper, "6 parameter tensors"),
            (step_zero_grad_last, "a correct step that clears the gradients after the update", small,
             "4 parameter tensors"),
            (helpers.train_step, "the correct helpers.train_step", normed,
             "5 parameter tensors and a batch-norm layer (its state_dict also holds 3 buffers)")]:
        err = _failure(test, step, model)
        need(err is None, f"your test failed {what} on a network with {about} ({type(err).__name__}: {err}), though "
                          "there Adam holds a state for every parameter, each with a count of exactly 2 steps: a "
                          "test must pass working code, on any model.")


def _fails_misused_optimizers(test: Callable) -> None:
    """The learner's test fails seven steps that misuse the optimizer; those that leave parameters without a state
    fail at its first assert."""
    for step, what in [(step_new_adam, "makes a new Adam inside the step"),
                       (step_without_update, "never calls optimizer.step()"),
                       (step_first_layer_without_graph, "runs the first layer under no_grad (Adam never "
                                                        "updates that layer)"),
                       (step_last_layer_left_out, "runs the last layer on detached weights (Adam never updates "
                                                  "that layer)")]:
        err = _failure(test, step, _networks()[0][0])
        need(err is not None, f"your test passed a step that {what}: after two calls the Adam passed in must hold "
                              "a state for every parameter of the model.")
        need(isinstance(err, AssertionError) and _NO_STATE in str(err),
             f"your test let a step that {what} pass its first assert and failed it only later, with "
             f"{type(err).__name__}: {err}. The first assert must catch it, with its message that the optimizer "
             "holds no state for some parameters: check that optimizer.state has an entry for every parameter of "
             "the model.")
    for step, what in [(step_twice, "calls optimizer.step() twice (Adam counts 4 steps)"),
                       (step_before_backward, "calls optimizer.step() before loss.backward() (Adam counts 1 step)"),
                       (step_extra_first_layer_update, "updates the first layer a second time in each call (Adam "
                                                       "counts 4 steps for it, 2 for the other layers)"),
                       (uneven_step(), "updates only the first layer, twice, in its first call (Adam counts 3 "
                                       "steps for that layer and 1 for the others, 2 on average)")]:
        need(_failure(test, step, _networks()[0][0]) is not None,
             f"your test passed a step that {what}: after two calls the step count of every parameter's state must "
             "be exactly 2.")


def _check_optimizer_test(test_step_uses_the_optimizer_once: object) -> str:
    """The learner's test passes correct steps on three networks (one with batch norm) and fails seven that misuse
    the optimizer; those that leave parameters without a state fail at its first assert."""
    test = test_step_uses_the_optimizer_once
    need(callable(test), "`test_step_uses_the_optimizer_once` should be a function of two arguments, step and model.")
    _passes_correct_steps(test)
    _fails_misused_optimizers(test)
    return ("it passes correct steps on any network and fails a re-created optimizer, a missing step(), a layer "
            "left out, a double step(), a step() before backward() and updates that reach some layers more often, "
            "from nothing but the optimizer's state.")


q2 = _ex.problem(
    _check_optimizer_test, names=("test_step_uses_the_optimizer_once",), transfer=True,
    title="A test that catches a misused optimizer",
    task="Bugs 7 and 8 leave a trace in `optimizer.state`: Adam keeps a state for each parameter it has updated, "
         "with a count of its steps. Complete the pytest-style test `test_step_uses_the_optimizer_once(step, "
         "model)`: pytest would pass in the model (a fixture), and the check passes several networks, one with a "
         "batch-norm layer. After two calls of `step` with the Adam made in the test, the first assert checks that "
         "this Adam holds a state for every parameter of the model, and the second that each state's step count is "
         "exactly 2. The check runs your test on correct steps (it must pass) and on steps that misuse the "
         "optimizer, some of them in only some layers (it must fail; those that leave parameters without a state "
         "must fail at the first assert, whose message says so).",
    starter='''def test_step_uses_the_optimizer_once(step, model):
    """Two calls of step(model, X, y, loss_fn, optimizer) must be two steps of the optimizer passed in."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    X, y = torch.rand(16, 3), torch.rand(16, 1)   # the model takes 3 features and predicts 1 number
    for _ in range(2):
        step(model, X, y, nn.MSELoss(), optimizer)
    assert ____, "the optimizer passed in holds no state for some parameters: was it used?"
    for p in model.parameters():
        assert ____, f"Adam counted {int(optimizer.state[p].get('step', 0))} steps, not 2"''',
    hint="optimizer.state maps each parameter the optimizer has updated to that parameter's state: compare how many "
         "entries it holds with how many parameters the model has (not with a number of your own: the models "
         "differ). A step that updates too often or too rarely must fail too, so the count must be 2, no more and "
         "no less, for each parameter on its own.",
    solution='''def test_step_uses_the_optimizer_once(step, model):
    """Two calls of step(model, X, y, loss_fn, optimizer) must be two steps of the optimizer passed in."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    X, y = torch.rand(16, 3), torch.rand(16, 1)   # the model takes 3 features and predicts 1 number
    for _ in range(2):
        step(model, X, y, nn.MSELoss(), optimizer)
    assert len(optimizer.state) == len(list(model.parameters())), (
        "the optimizer passed in holds no state for some parameters: was it used?")
    for p in model.parameters():
        assert optimizer.state[p].get("step") == 2, (
            f"Adam counted {int(optimizer.state[p].get('step', 0))} steps, not 2")''',
)


# q3: where a model that ignores its input gets stuck ----------------------------------------------------------


def _stuck(y: torch.Tensor) -> float:
    """The cross-entropy of the best constant prediction: logits log(frequency) for every row, checked in torch."""
    counts = torch.bincount(y).double()
    logits = torch.log(counts / counts.sum()).expand(len(y), -1)
    return nn.functional.cross_entropy(logits, y).item()


def _check_stuck_loss(stuck_loss: object) -> str:
    """The entropy of the labels' frequencies, on balanced, skewed and gappy labels."""
    need(callable(stuck_loss), "`stuck_loss` should be a function stuck_loss(y) of class labels y.")
    cases = [torch.tensor([0, 1, 2, 3] * 4), torch.tensor([0] * 9 + [1]), torch.tensor([0, 0, 2, 2, 2, 5]),
             torch.tensor([3, 3, 3, 3])]
    for y in cases:
        got = number("stuck_loss(y)", call(stuck_loss, y.clone(), case=f"For y = {y.tolist()}"))
        want, present = _stuck(y), len(torch.unique(y))
        if close(got, want, 1e-4):
            continue
        if math.isnan(got) and bool((torch.bincount(y) == 0).any()):
            raise Incorrect(f"for y = {y.tolist()} your loss is nan: some classes below the largest label never "
                            "occur, their frequency is 0, and 0 * log(0) is nan in torch. Average -log(frequency) "
                            "over the samples (each sample's own class occurs), or keep only the classes that occur.")
        if not math.isfinite(got):
            raise Incorrect(f"for y = {y.tolist()} your loss is {got}, although every class up to the largest label "
                            "occurs: some frequency came out as 0 (integer division // rounds down to 0?), and "
                            "log(0) is -inf. Divide with /.")
        if close(got, math.log(present), 1e-4):
            raise Incorrect(f"for y = {y.tolist()} you returned log({present}), the loss when {present} classes are "
                            "equally common; here they are not: weight each class by how often it occurs.")
        if want > 0 and close(got, want / math.log(2), 1e-4):
            raise Incorrect("your loss is in bits (log base 2); cross-entropy uses the natural log, torch.log.")
        raise Incorrect(f"for y = {y.tolist()} you returned {got:.4f}, but predicting each class's frequency gives a "
                        f"cross-entropy of {want:.4f}: the mean over the samples of -log(frequency of the true class).")
    return "the entropy of the labels: where a model that cannot use its input, or whose labels are shuffled, stalls."


q3 = _ex.problem(
    _check_stuck_loss, names=("stuck_loss",), title="Where a model that ignores its input gets stuck", transfer=True,
    task="With its labels shuffled on their own (bug 9), a model cannot use its input; the best it can learn is how "
         "common each class is, the same probabilities for every row. Write `stuck_loss(y)`: the cross-entropy of "
         "that prediction for class labels `y`, the loss where such a run stalls. The check tries labels that are "
         "equally common, skewed, with classes missing, and all alike.",
    starter='''def stuck_loss(y):
    """Cross-entropy of predicting, for every row, how common each class is in y."""
    counts = torch.bincount(y)          # how often each class occurs (0 for a class that never does)
    p = ____                            # each class's frequency
    return ____                         # the mean over the samples of -log(frequency of the sample's class)''',
    hint="A sample of class c contributes -log(p_c), and a fraction p_c of the samples are of class c. Only when all "
         "C classes are equally common does that come to log(C). Indexing p with the labels gives each sample's "
         "own frequency.",
    solution='''def stuck_loss(y):
    """Cross-entropy of predicting, for every row, how common each class is in y."""
    counts = torch.bincount(y)          # how often each class occurs (0 for a class that never does)
    p = counts / counts.sum()           # each class's frequency
    return -torch.log(p[y]).mean().item()''',
)

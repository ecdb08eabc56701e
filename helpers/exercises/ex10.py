"""Exercises for notebook 10 (testing and debugging): fix a step with three bugs and keep its clipping, a test that
catches a misused optimizer, and the loss a model that ignores its input gets stuck at."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._steps import StepLog, stale_gradients
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


class _Loss(nn.Module):
    """The loss_fn handed to the learner's step: `loss`, recording each call's prediction, target and value."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss, self.calls = loss, []

    def forward(self, y_pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss, recorded."""
        value = self.loss(y_pred, target)
        self.calls.append((y_pred, target, float(value.detach().sum())))
        return value


def _total(grads: list[torch.Tensor]) -> float:
    """The total norm of some gradients, as one long vector (0 when there are none)."""
    return float(torch.stack([g.detach().double().pow(2).sum() for g in grads]).sum().sqrt()) if grads else 0.0


def _clip(grads: list[torch.Tensor]) -> list[torch.Tensor]:
    """The gradients as clip_grad_norm_(max_norm=1.0) leaves them."""
    return [g * min(1.0, 1.0 / (_total(grads) + 1e-6)) for g in grads]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    """True if two lists of gradients agree tensor by tensor."""
    return all(torch.allclose(x, y, rtol=1e-4, atol=1e-7) for x, y in zip(a, b))


def _parallel(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    """True if gradients `a` are gradients `b` all scaled by one factor (one direction)."""
    u, v = (torch.cat([g.detach().double().flatten() for g in gs]) for gs in (a, b))
    return float((u - v * (u @ v / (v @ v))).norm()) <= 1e-4 * float(u.norm())


def _run(fixed_step: object, model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: nn.Module, case: str,
         stale: bool = False) -> dict:
    """Run the learner's step once (its model carrying old gradients if `stale`): what it returned and gave loss_fn,
    the gradients optimizer.step() used and their norm afterwards, and this batch's own loss and gradient."""
    reference = copy.deepcopy(model).train()
    value = loss(reference(X), y)
    value.backward()
    old = stale_gradients(model) if stale else [torch.zeros_like(p) for p in model.parameters()]
    optimizer, seen, loss_fn = torch.optim.SGD(model.parameters(), lr=0.01), [], _Loss(loss)
    log = StepLog(model, optimizer)
    optimizer.register_step_pre_hook(lambda *_: seen.append(
        [torch.zeros_like(p) if p.grad is None else p.grad.detach().clone() for p in model.parameters()]))
    out = call(fixed_step, model, X, y, loss_fn, optimizer, case=case)
    need(seen, f"{case}, optimizer.step() never ran on the optimizer passed to this call: does your step use "
               "another one (a global, or one kept from an earlier call)? Update with the optimizer it is given.")
    return {"out": out, "calls": loss_fn.calls, "grads": seen[0], "events": log.events, "old": old,
            "after": _total([p.grad for p in model.parameters() if p.grad is not None]),
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


def _large_gradients_clipped(g: list[torch.Tensor], f: list[torch.Tensor], after: float) -> None:
    """Gradients `f` of total norm above 1 must reach optimizer.step() as `g`: all scaled together to total norm 1."""
    norm, unclipped = _total(g), _total(f)
    if norm <= 1.0 + 1e-4:
        need(norm >= 1.0 - 1e-3, f"optimizer.step() got gradients of total norm {norm:.3g}: gradients larger than 1 "
                                 "should be scaled down to norm 1 exactly (max_norm=1.0), not further.")
        need(_parallel(g, f), "the gradients reached optimizer.step() with total norm 1, but not as this batch's "
                              "gradients all scaled by one factor: clip_grad_norm_ keeps their direction.")
        return
    need(not math.isclose(after, 1.0, rel_tol=1e-3),
         f"optimizer.step() used gradients of total norm {norm:.3g}: you clip after optimizer.step(), when the update "
         "has already used them. Clip between loss.backward() and optimizer.step().")
    if _same(g, [t.clamp(-1, 1) for t in f]):
        raise Incorrect(f"every gradient entry was cut into [-1, 1], but their total norm was still {norm:.3g}: "
                        "clipping entries one by one (clip_grad_value_, clamp) turns the gradients' direction; "
                        "clip_grad_norm_ with max_norm=1.0 scales them all together.")
    if _same(g, [t * min(1.0, 1.0 / _total([t])) for t in f]):
        raise Incorrect(f"each gradient tensor reached optimizer.step() with a norm of at most 1, but together their "
                        f"total norm was {norm:.3g}: clip them all at once, "
                        "nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0), not one by one.")
    scaled = sum(_total([a]) < _total([b]) * (1 - 1e-4) for a, b in zip(g, f))
    kept = sum(_same([a], [b]) for a, b in zip(g, f))
    if scaled and kept and scaled + kept == len(f):
        raise Incorrect(f"you clipped only some of the parameters: of the {len(f)} gradient tensors, {scaled} reached "
                        f"optimizer.step() scaled down and {kept} unclipped, so their total norm was {norm:.3g}. Clip "
                        "all of them together: nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).")
    need(_parallel(g, f), f"optimizer.step() got gradients of total norm {norm:.3g}, not this batch's gradients "
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


def _old_gradients_cleared(r: dict, case: str) -> None:
    """On a model that arrives with old gradients, step() must use this batch's gradient alone, clipped."""
    g, f = r["grads"], r["fresh"]
    if _same(g, _clip(f)):
        return
    if _same(g, _clip([a + b for a, b in zip(f, r["old"])])):
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
    _large_gradients_clipped(r["grads"], r["fresh"], r["after"])
    model, X, y = _patient(dropout=0.0, scale=0.01)
    r = _run(fixed_step, model, X, y, nn.MSELoss(), "On a batch with small gradients")
    _loss_and_return(r, y, "On a batch with small gradients")
    norm, unclipped = _total(r["grads"]), _total(r["fresh"])
    if not _same(r["grads"], r["fresh"]):
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


def _step_new_adam(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                   optimizer: torch.optim.Optimizer) -> float:
    """Broken: a new Adam at every call; the one passed in is never used."""
    return helpers.train_step(model, X, y, loss_fn, torch.optim.Adam(model.parameters(), lr=0.01))


def _step_twice(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                optimizer: torch.optim.Optimizer) -> float:
    """Broken: optimizer.step() twice per call."""
    loss = helpers.train_step(model, X, y, loss_fn, optimizer)
    optimizer.step()
    return loss


def _step_without_update(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                         optimizer: torch.optim.Optimizer) -> float:
    """Broken: no optimizer.step()."""
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def _step_first_layer_without_graph(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                                    optimizer: torch.optim.Optimizer) -> float:
    """Broken: the first layer runs under no_grad, so it never gets a gradient and Adam never updates it."""
    model.train()
    with torch.no_grad():
        hidden = model[0](X)
    loss = loss_fn(model[1:](hidden), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _step_before_backward(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                          optimizer: torch.optim.Optimizer) -> float:
    """Broken: optimizer.step() first, so each update uses the gradients of the call before (none at the first)."""
    model.train()
    optimizer.step()
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    return loss.item()


def _step_zero_grad_last(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                         optimizer: torch.optim.Optimizer) -> float:
    """Correct, in another order: the gradients are cleared after the update, ready for the next call."""
    model.train()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


def _step_last_layer_left_out(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                              optimizer: torch.optim.Optimizer) -> float:
    """Broken: the last layer runs on detached weights, so it never gets a gradient and Adam never updates it."""
    model.train()
    last = model[-1]
    loss = loss_fn(nn.functional.linear(model[:-1](X), last.weight.detach(), last.bias.detach()), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _step_extra_first_layer_update(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                                   optimizer: torch.optim.Optimizer) -> float:
    """Broken: a second step() for a penalty on the first layer alone, so Adam counts 4 steps there, 2 elsewhere."""
    loss = helpers.train_step(model, X, y, loss_fn, optimizer)
    optimizer.zero_grad()  # the other layers' gradients become None: this step() skips them
    model[0](X).pow(2).mean().backward()
    optimizer.step()
    return loss


def _uneven_step() -> object:
    """Broken (a fresh one for each run of the test): its first call updates only the first layer, twice; its second
    updates every layer once: after two calls Adam counts 3 steps for the first layer and 1 for the others."""
    calls = []

    def step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
             optimizer: torch.optim.Optimizer) -> float:
        calls.append(1)
        if len(calls) > 1:
            return helpers.train_step(model, X, y, loss_fn, optimizer)
        model.train()
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        for p in model[1:].parameters():
            p.grad = None
        optimizer.step()
        optimizer.step()
        return loss.item()
    return step


def _networks() -> list[tuple[nn.Module, int]]:
    """Networks from 3 features to 1 output, and their numbers of parameter tensors: 4, 6, and 5 with a batch-norm
    layer (whose state_dict also holds 3 buffers) after a Linear without bias."""
    torch.manual_seed(0)
    small = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    deeper = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    normed = nn.Sequential(nn.Linear(3, 8, bias=False), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    return [(small, 4), (deeper, 6), (normed, 5)]


_NO_STATE = "holds no state"  # words of the first assert's message, as the starting code gives it


def _check_optimizer_test(test_step_uses_the_optimizer_once: object) -> str:
    """The learner's test passes correct steps on three networks (one with batch norm) and fails seven that misuse
    the optimizer; those that leave parameters without a state fail at its first assert."""
    test = test_step_uses_the_optimizer_once
    need(callable(test), "`test_step_uses_the_optimizer_once` should be a function of two arguments, step and model.")

    def failure(step: object, model: nn.Module) -> BaseException | None:
        """What the learner's test raised for `step` (a failed test), or None if it passed."""
        try:
            test(step, model)
        except Exception as err:  # noqa: BLE001 - pytest counts any error in a test as a failure
            if "____" in str(err) or "Blank" in type(err).__name__:
                raise
            return err
        return None

    (small, _), (deeper, _), (normed, _) = _networks()
    for step, what, model, about in [
            (helpers.train_step, "the correct helpers.train_step", deeper, "6 parameter tensors"),
            (_step_zero_grad_last, "a correct step that clears the gradients after the update", small,
             "4 parameter tensors"),
            (helpers.train_step, "the correct helpers.train_step", normed,
             "5 parameter tensors and a batch-norm layer (its state_dict also holds 3 buffers)")]:
        err = failure(step, model)
        need(err is None, f"your test failed {what} on a network with {about} ({type(err).__name__}: {err}), though "
                          "there Adam holds a state for every parameter, each with a count of exactly 2 steps: a "
                          "test must pass working code, on any model.")
    for step, what in [(_step_new_adam, "makes a new Adam inside the step"),
                       (_step_without_update, "never calls optimizer.step()"),
                       (_step_first_layer_without_graph, "runs the first layer under no_grad (Adam never "
                                                         "updates that layer)"),
                       (_step_last_layer_left_out, "runs the last layer on detached weights (Adam never updates "
                                                   "that layer)")]:
        err = failure(step, _networks()[0][0])
        need(err is not None, f"your test passed a step that {what}: after two calls the Adam passed in must hold "
                              "a state for every parameter of the model.")
        need(isinstance(err, AssertionError) and _NO_STATE in str(err),
             f"your test let a step that {what} pass its first assert and failed it only later, with "
             f"{type(err).__name__}: {err}. The first assert must catch it, with its message that the optimizer "
             "holds no state for some parameters: check that optimizer.state has an entry for every parameter of "
             "the model.")
    for step, what in [(_step_twice, "calls optimizer.step() twice (Adam counts 4 steps)"),
                       (_step_before_backward, "calls optimizer.step() before loss.backward() (Adam counts 1 step)"),
                       (_step_extra_first_layer_update, "updates the first layer a second time in each call (Adam "
                                                        "counts 4 steps for it, 2 for the other layers)"),
                       (_uneven_step(), "updates only the first layer, twice, in its first call (Adam counts 3 "
                                        "steps for that layer and 1 for the others, 2 on average)")]:
        need(failure(step, _networks()[0][0]) is not None,
             f"your test passed a step that {what}: after two calls the step count of every parameter's state must "
             "be exactly 2.")
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

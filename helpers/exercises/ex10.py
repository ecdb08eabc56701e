"""Exercises for notebook 10 (testing and debugging): fix a step with three bugs and keep its clipping, a test that
catches a misused optimizer, and the loss a model that ignores its input gets stuck at."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
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


def _total(grads: list[torch.Tensor]) -> float:
    """The total norm of some gradients, as one long vector (0 when there are none)."""
    return float(torch.stack([g.detach().pow(2).sum() for g in grads]).sum().sqrt()) if grads else 0.0


def _norms_at_step(fixed_step: object, model: nn.Module, X: torch.Tensor, y: torch.Tensor, case: str) -> dict:
    """Run the learner's step once: what it returned; when step() ran, the gradients' total norm, their largest
    tensor norm and entry; their total norm after the call; and the total norm of the unclipped gradients."""
    reference = copy.deepcopy(model).train()
    nn.MSELoss()(reference(X), y).backward()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    seen: list[dict] = []

    def record(*_: object) -> None:
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        seen.append({"norm": _total(grads), "tensor": max((_total([g]) for g in grads), default=0.0),
                     "entry": max((float(g.abs().max()) for g in grads), default=0.0)})

    optimizer.register_step_pre_hook(record)
    out = call(fixed_step, model, X, y, nn.MSELoss(), optimizer, case=case)
    need(seen, f"{case}, optimizer.step() never ran: the update is the step's last line.")
    after = _total([p.grad for p in model.parameters() if p.grad is not None])
    return {"out": out, **seen[0], "after": after, "unclipped": _total([p.grad for p in reference.parameters()])}


def _large_gradients_clipped(n: dict) -> None:
    """Gradients of total norm above 1 must reach optimizer.step() scaled to total norm 1, and no further."""
    shrunk = n["norm"] < n["unclipped"] * (1 - 1e-4)
    if n["norm"] > 1.0 + 1e-4:
        if n["after"] <= 1.0 + 1e-4:
            raise Incorrect(f"optimizer.step() used gradients of total norm {n['norm']:.3g}: you clip after "
                            "optimizer.step(), when the update has already used them. Clip between loss.backward() "
                            "and optimizer.step().")
        if shrunk and n["tensor"] <= 1.0 + 1e-4:
            raise Incorrect(f"each gradient tensor reached optimizer.step() with a norm of at most 1, but together "
                            f"their total norm was {n['norm']:.3g}: clip them all at once, "
                            "nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0), not one by one.")
        if shrunk and n["entry"] <= 1.0 + 1e-4:
            raise Incorrect(f"every gradient entry was cut into [-1, 1], but their total norm was still "
                            f"{n['norm']:.3g}: clip_grad_value_ cuts entries one by one (and turns the gradients' "
                            "direction); clip_grad_norm_ with max_norm=1.0 scales them all together.")
        if shrunk:
            raise Incorrect(f"the gradients were scaled down from total norm {n['unclipped']:.3g} to "
                            f"{n['norm']:.3g}, not to 1: use max_norm=1.0.")
        raise Incorrect(f"optimizer.step() got the gradients unclipped (total norm {n['norm']:.3g}): clip them after "
                        "loss.backward() (before it there is nothing to clip) and before optimizer.step(), with "
                        "nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).")
    need(n["norm"] >= 1.0 - 1e-3, f"optimizer.step() got gradients of total norm {n['norm']:.3g}: gradients larger "
                                  "than 1 should be scaled down to norm 1 exactly (max_norm=1.0), not further.")


def _check_fixed_step(fixed_step: object) -> str:
    """The doctor finds nothing; it returns the loss as a number; the gradients reach step() clipped to norm 1."""
    need(callable(fixed_step), "`fixed_step` should be a function fixed_step(model, X, y, loss_fn, optimizer).")
    model, X, y = _patient(dropout=0.2, scale=10.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    report = helpers.debug.diagnose(fixed_step, model, nn.MSELoss(), optimizer, X, y)
    if report:
        f = report[0]
        raise Incorrect(f"the training doctor still finds `{f.code}`: {f.seen} Likely cause: {f.cause}")
    model, X, y = _patient(dropout=0.0, scale=10.0)  # no dropout: the loss before the step can be recomputed
    with torch.no_grad():
        before = nn.MSELoss()(model(X), y).item()
    n = _norms_at_step(fixed_step, model, X, y, "On a batch with large gradients")
    out = n["out"]
    need(not isinstance(out, torch.Tensor), "your step returns a tensor: return loss.item(), a Python number.")
    need(isinstance(out, float) and math.isclose(out, before, rel_tol=1e-5),
         f"your step returned {out!r}, but the loss of its forward pass was {before:.4f}: return loss.item().")
    _large_gradients_clipped(n)
    model, X, y = _patient(dropout=0.0, scale=0.01)
    n = _norms_at_step(fixed_step, model, X, y, "On a batch with small gradients")
    if n["unclipped"] < 1 and not math.isclose(n["norm"], n["unclipped"], rel_tol=1e-4):
        raise Incorrect(f"gradients of total norm {n['unclipped']:.3g} reached optimizer.step() with norm "
                        f"{n['norm']:.3g}: clipping only shrinks gradients whose norm is above max_norm and leaves "
                        "smaller ones alone, as nn.utils.clip_grad_norm_ does.")
    return ("the doctor finds nothing, the loss comes back as a number, and the gradients are clipped to norm 1 only "
            "when they are larger.")


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
         "check runs it on a small network left in eval mode, with large and with small gradients.",
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


def _networks() -> list[tuple[nn.Module, int]]:
    """Networks from 3 features to 1 output, with 4 and with 6 parameter tensors, and their numbers of tensors."""
    torch.manual_seed(0)
    small = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    deeper = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    return [(small, 4), (deeper, 6)]


_NO_STATE = "holds no state"  # words of the first assert's message, as the starting code gives it


def _check_optimizer_test(test_step_uses_the_optimizer_once: object) -> str:
    """The learner's test passes correct steps on networks of two sizes and fails five that misuse the optimizer;
    those that leave parameters without a state fail at its first assert."""
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

    small, deeper = _networks()
    for step, what, (model, size) in [(helpers.train_step, "the correct helpers.train_step", deeper),
                                      (_step_zero_grad_last, "a correct step that clears the gradients after the "
                                                             "update", small)]:
        err = failure(step, model)
        need(err is None, f"your test failed {what} on a network with {size} parameter tensors "
                          f"({type(err).__name__}: {err}): a test must pass working code, on any model.")
    for step, what in [(_step_new_adam, "makes a new Adam inside the step"),
                       (_step_without_update, "never calls optimizer.step()"),
                       (_step_first_layer_without_graph, "runs the first layer under no_grad (Adam never "
                                                         "updates that layer)")]:
        err = failure(step, _networks()[0][0])
        need(err is not None, f"your test passed a step that {what}: after two calls the Adam passed in must hold "
                              "a state for every parameter of the model.")
        need(isinstance(err, AssertionError) and _NO_STATE in str(err),
             f"your test let a step that {what} pass its first assert and failed it only later, with "
             f"{type(err).__name__}: {err}. The first assert must catch it, with its message that the optimizer "
             "holds no state for some parameters: check that optimizer.state has an entry for every parameter of "
             "the model.")
    for step, what in [(_step_twice, "calls optimizer.step() twice (Adam counts 4 steps)"),
                       (_step_before_backward, "calls optimizer.step() before loss.backward() (Adam counts 1 step)")]:
        need(failure(step, _networks()[1][0]) is not None,
             f"your test passed a step that {what}: after two calls each state's step count must be exactly 2.")
    return ("it passes correct steps on any network and fails a re-created optimizer, a missing step(), a layer "
            "left out, a double step() and a step() before backward(), from nothing but the optimizer's state.")


q2 = _ex.problem(
    _check_optimizer_test, names=("test_step_uses_the_optimizer_once",), transfer=True,
    title="A test that catches a misused optimizer",
    task="Bugs 7 and 8 leave a trace in `optimizer.state`: Adam keeps a state for each parameter it has updated, "
         "with a count of its steps. Complete the pytest-style test `test_step_uses_the_optimizer_once(step, "
         "model)`: pytest would pass in the model (a fixture), and the check passes networks of two sizes. After "
         "two calls of `step` with the Adam made in the test, the first assert checks that this Adam holds a state "
         "for every parameter of the model, and the second that each state's step count is exactly 2. The check "
         "runs your test on two correct steps (it must pass) and on five that misuse the optimizer (it must fail; "
         "those that leave parameters without a state must fail at the first assert, whose message says so).",
    starter='''def test_step_uses_the_optimizer_once(step, model):
    """Two calls of step(model, X, y, loss_fn, optimizer) must be two steps of the optimizer passed in."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    X, y = torch.rand(16, 3), torch.rand(16, 1)   # the model takes 3 features and predicts 1 number
    for _ in range(2):
        step(model, X, y, nn.MSELoss(), optimizer)
    assert ____, "the optimizer passed in holds no state for some parameters: was it used?"
    for p in model.parameters():
        assert ____, f"Adam counted {optimizer.state[p].get('step')} steps, not 2"''',
    hint="optimizer.state maps each parameter the optimizer has updated to that parameter's state: compare how many "
         "entries it holds with how many parameters the model has (not with a number of your own: the models "
         "differ). A step that updates too often or too rarely must fail too, so the count must be 2, no more and "
         "no less.",
    solution='''def test_step_uses_the_optimizer_once(step, model):
    """Two calls of step(model, X, y, loss_fn, optimizer) must be two steps of the optimizer passed in."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    X, y = torch.rand(16, 3), torch.rand(16, 1)   # the model takes 3 features and predicts 1 number
    for _ in range(2):
        step(model, X, y, nn.MSELoss(), optimizer)
    assert len(optimizer.state) == len(list(model.parameters())), (
        "the optimizer passed in holds no state for some parameters: was it used?")
    for p in model.parameters():
        assert optimizer.state[p].get("step") == 2, f"Adam counted {optimizer.state[p].get('step')} steps, not 2"''',
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

"""Notebook 06's run with a learning-rate schedule: the check's own runs, what a checkpoint of one must restore, and
whether a resumed run is that run (model, momentum buffers, rate, scheduler), loaded and not stepped."""

from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Iterator

import torch
from torch import nn

import helpers

from ._core import Incorrect
from ._util import need, replaced

__all__ = ["check_loaded_run", "check_scheduler", "counted_steps", "make_run", "move_on", "references", "restored",
           "same_params", "snapshot", "train"]


def make_run(seed: int) -> tuple[nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """A seeded LinearRegressionModel, SGD with momentum, and a StepLR that halves the rate every 4 epochs."""
    torch.manual_seed(seed)
    model = helpers.LinearRegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return model, optimizer, torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)


def train(run: tuple, X: torch.Tensor, y: torch.Tensor, epochs: int) -> None:
    """Full-batch L1 epochs, the scheduler stepping after each."""
    model, optimizer, scheduler = run
    for _ in range(epochs):
        helpers.train_step(model, X, y, nn.L1Loss(), optimizer)
        scheduler.step()


@functools.cache
def references() -> tuple[tuple, list[torch.Tensor], tuple]:
    """The check's own runs, made once: the states after 10 epochs, the parameters after 20 epochs without a break,
    and the states of a second run after 3 epochs of 2 batches, its scheduler stepped once per batch."""
    X, y = helpers.make_line_data()
    run, second = make_run(42), make_run(7)
    train(run, X, y, 10)
    at_10 = tuple(copy.deepcopy(obj.state_dict()) for obj in run)
    train(run, X, y, 10)
    for _ in range(3):
        for half in (slice(0, None, 2), slice(1, None, 2)):
            helpers.train_step(second[0], X[half], y[half], nn.L1Loss(), second[1])
            second[2].step()
    return at_10, [p.detach().clone() for p in run[0].parameters()], tuple(obj.state_dict() for obj in second)


def restored(seed: int, states: tuple) -> tuple:
    """A run built from `seed`, then given the model's, the optimizer's and the scheduler's `states`."""
    run = make_run(seed)
    for obj, state in zip(run, states):
        obj.load_state_dict(copy.deepcopy(state))
    return run


def snapshot(run: tuple) -> dict:
    """Copies of what a checkpoint of `run` must restore: parameters, momentum buffers, rates, scheduler state."""
    model, optimizer, scheduler = run
    return {"params": [p.detach().clone() for p in model.parameters()],
            "weights": {k: v.clone() for k, v in model.state_dict().items()},
            "buffers": [s["momentum_buffer"].clone() for s in optimizer.state.values()],
            "lr": [g["lr"] for g in optimizer.param_groups], "scheduler": copy.deepcopy(scheduler.state_dict())}


def move_on(run: tuple) -> None:
    """Change a saved run after saving it, as training would (its parameters, momentum buffers and scheduler): a
    checkpoint must not follow it."""
    model, optimizer, scheduler = run
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
        for state in optimizer.state.values():
            state["momentum_buffer"].mul_(2.0)
    scheduler.step()


@contextlib.contextmanager
def counted_steps(scheduler: torch.optim.lr_scheduler.LRScheduler) -> Iterator[list]:
    """Count the calls of scheduler.step() made inside the block."""
    calls, real = [], scheduler.step

    def step(*args: object, **kwargs: object) -> object:
        """scheduler.step, counted."""
        calls.append(1)
        return real(*args, **kwargs)

    with replaced(scheduler, "step", step):
        yield calls


def same_params(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    """True if two lists of tensors hold the same numbers."""
    return len(a) == len(b) and all(torch.equal(p, q) for p, q in zip(a, b))


def check_loaded_run(resumed: tuple, snap: dict, original: tuple) -> None:
    """The model and the optimizer after resume_run must be the saved ones (the original has trained on since)."""
    model, optimizer, _ = resumed
    params = [p.detach() for p in model.parameters()]
    need(not same_params(params, [p.detach() for p in make_run(0)[0].parameters()]),
         "after resume_run the model still has the parameters it was built with: load the model's state_dict "
         "too, model.load_state_dict(...), not only the optimizer's.")
    memory = ("resume_run must read the file, not live tensors kept in memory (a state_dict holds references to "
              "the model's own tensors until it is saved).")
    if not same_params(params, snap["params"]):
        need(not same_params(params, [p.detach() for p in original[0].parameters()]), "after resume_run the model "
             f"has the parameters the saved model has *now* (the check changed them after saving): {memory}")
        raise Incorrect("after resume_run the model's parameters differ from the saved ones: resume_run changed them "
                        "after loading them. resume_run only loads; the training loop takes the next steps.")
    need(optimizer.state_dict()["state"], "after resume_run the optimizer has no momentum buffers: load its "
         "state_dict too, optimizer.load_state_dict(...); without it the run restarts its momentum from zero.")
    buffers = [s["momentum_buffer"] for s in optimizer.state.values()]
    if not same_params(buffers, snap["buffers"]):
        need(not same_params(buffers, [s["momentum_buffer"] for s in original[1].state.values()]),
             "after resume_run the optimizer has the momentum buffers the saved optimizer has *now* (the check "
             f"changed them after saving): {memory}")
        raise Incorrect("after resume_run the optimizer's momentum buffers differ from the saved ones: load "
                        "optimizer.state_dict() as it was saved, and change nothing after loading it.")


def check_scheduler(resumed: tuple, snap: dict, stepped: int, in_file: bool) -> None:
    """The resumed scheduler must be the saved one, loaded, not stepped, and the optimizer's rate restored."""
    optimizer, scheduler = resumed[1:]
    want = snap["scheduler"]
    got, epochs = scheduler.last_epoch, want["last_epoch"]
    times = "time" if stepped == 1 else "times"
    if stepped and got == epochs + stepped:
        raise Incorrect(f"after resume_run the scheduler counts {got} epochs, not {epochs}: it was loaded and then "
                        f"stepped {stepped} more {times}. resume_run only loads; the training loop calls "
                        "scheduler.step() once per epoch, and the next call would count that epoch twice.")
    lrs = [g["lr"] for g in optimizer.param_groups]
    rate = f", now {lrs} where the run was at {snap['lr']}" if lrs != snap["lr"] else ""
    need(not stepped, f"resume_run called scheduler.step() {stepped} {times} instead of loading the scheduler's "
         f"state: replaying steps is not loading (each step also sets the optimizer's rate{rate}; and a schedule "
         "that depends on the losses cannot be replayed). Save scheduler.state_dict() and load it with "
         "scheduler.load_state_dict(...).")
    need(lrs == snap["lr"], f"after resume_run the optimizer's learning rate is {lrs}, while the run it resumes "
         f"was at {snap['lr']}: load the optimizer's whole state_dict (its param_groups hold the current rate).")
    need(got != 0 or not in_file, f"after resume_run the scheduler given to it still counts 0 epochs, though the "
         "file holds the scheduler's state: load it into that scheduler, scheduler.load_state_dict(...) on the "
         "argument (not on a new scheduler).")
    need(got == epochs, f"after resume_run the scheduler counts {got} epochs, not {epochs}: without its state_dict it "
                        "halves the rate at the wrong epochs. Save and load scheduler.state_dict() as well.")
    partial = ("setting last_epoch alone leaves the rest of the fresh scheduler's state behind (and other schedulers "
               "keep more state still). Save scheduler.state_dict() whole and load it with "
               "scheduler.load_state_dict(...).")
    need(scheduler.get_last_lr() == want["_last_lr"], f"after resume_run the scheduler counts the right epoch, but "
         f"scheduler.get_last_lr() reports {scheduler.get_last_lr()}, while the run it resumes is at "
         f"{want['_last_lr']}: {partial}")
    ours = scheduler.state_dict()
    wrong = [key for key in want if ours.get(key) != want[key]]
    if wrong:
        raise Incorrect(f"after resume_run the scheduler counts the right epoch, but its state_dict's entry "
                        f"{wrong[0]!r} differs from the saved one's: {partial}")
    need(in_file, "after resume_run the scheduler is right, but the file save_run wrote does not hold its "
                  "state_dict: it came from memory (a variable of this session, gone when the notebook restarts). "
                  "Save scheduler.state_dict() in the checkpoint.")

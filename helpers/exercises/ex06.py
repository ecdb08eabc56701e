"""Exercises for notebook 06 (save and load): weights and settings in one safe file, a checkpoint with a scheduler."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._files import (check_loads, check_weights_in_file, holds_items, holds_tensor, no_allow_list, safe_file,
                     temporary_folder, watched_loads)
from ._util import call, need, replaced

_ex = Exercises("ex06")
bind = _ex.bind


@dataclasses.dataclass
class RunSettings:
    """The settings of a training run (the check's own dataclass: no notebook has allowed it)."""

    lr: float
    epochs: int
    loss: str


_BUNDLES = [(helpers.LinearRegressionModel, RunSettings(lr=0.5, epochs=200, loss="MSE")),
            (helpers.LinearRegressionModelV2, RunSettings(lr=0.01, epochs=100, loss="L1")),
            (helpers.LinearRegressionModel, RunSettings(lr=0.1, epochs=50, loss="Huber"))]


@contextlib.contextmanager
def _watched_load_state_dict(model: nn.Module) -> Iterator[list]:
    """Record each load_state_dict call on `model`: its strict argument and the keys it reported missing."""
    calls, real = [], model.load_state_dict

    def load_state_dict(state_dict: Mapping, *args: object, **kwargs: object) -> object:
        """model.load_state_dict, recording strict and the missing keys."""
        result = real(state_dict, *args, **kwargs)
        calls.append((kwargs.get("strict", args[0] if args else True), list(getattr(result, "missing_keys", []))))
        return result

    with replaced(model, "load_state_dict", load_state_dict):
        yield calls


def _save_bundles(save_bundle: object, folder: Path) -> list[dict]:
    """Save each bundle in an empty folder of its own; read each file; then change each saved model's weights."""
    bundles = []
    for i, (Model, config) in enumerate(_BUNDLES):
        case, path = f"For a {Model.__name__} and {config}", folder / f"bundle{i + 1}" / "bundle.pt"
        path.parent.mkdir()
        torch.manual_seed(i + 1)
        model = Model()
        weights = {k: v.clone() for k, v in model.state_dict().items()}
        call(save_bundle, path, model, config, case=f"{case}, save_bundle")
        state = safe_file(path, "save_bundle", {
            "RunSettings": "Store the settings as a plain dict, dataclasses.asdict(config): a dict of numbers "
                           "and strings needs no allow-list.",
            Model.__name__: "Save model.state_dict(), numbers only, not the model object."}, (Mapping, list, tuple))
        check_weights_in_file(state, weights, "save_bundle", "save model.state_dict() in it, next to the settings.")
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)  # the saved model trains on: a bundle must not follow it
        bundles.append({"Model": Model, "config": config, "case": case, "path": path, "weights": weights,
                        "state": state, "model": model})
    return bundles


def _weights_mistake(got: dict, bundle: dict, others: list[dict], loads: list) -> Incorrect:
    """What went wrong when the model given to load_bundle does not hold the saved weights."""
    case, now = bundle["case"], bundle["model"].state_dict()
    if all(torch.equal(got[k], now[k]) for k in now):
        return Incorrect(f"{case}, the model given to load_bundle got the weights the saved model has *now* (the "
                         "check changed them after saving), not those saved: load_bundle must read the weights from "
                         "the file, not from the model or from a reference to its tensors kept in memory.")
    for other in others:
        if other["Model"] is bundle["Model"] and all(torch.equal(got[k], w) for k, w in other["weights"].items()):
            return Incorrect(f"{case}, the model given to load_bundle got the weights of another bundle (the one "
                             "saved last), not those in the file at `path`: load_bundle must read the file it is "
                             "given, not something save_bundle kept in memory.")
    if not loads:
        return Incorrect(f"{case}, the model given to load_bundle predicts differently from the saved one, and "
                         "load_bundle never called load_state_dict on it: copy the weights into that very model, "
                         "model.load_state_dict(...) (loading into a new model or a notebook variable, or assigning "
                         "p = q in a loop, leaves it as it was).")
    for strict, missing in loads:
        if strict is False and missing:
            return Incorrect(f"{case}, load_bundle called load_state_dict(..., strict=False), which loaded nothing "
                             f"into {', '.join(missing)}: the names in the file do not match the model's, and "
                             "strict=False hid the mismatch. Keep strict loading, and save model.state_dict() with "
                             "the model's own names.")
    return Incorrect(f"{case}, the model given to load_bundle predicts differently from the saved one: copy the "
                     "weights in with model.load_state_dict(...).")


def _check_settings(loaded: object, bundle: dict, others: list[dict]) -> None:
    """load_bundle must return the settings as a dict, and they must come from the file."""
    case, want = bundle["case"], dataclasses.asdict(bundle["config"])
    need(isinstance(loaded, dict), f"load_bundle returned {type(loaded).__name__}: return the settings as a dict, "
                                   f"here {want}.")
    in_file = holds_items(bundle["state"], want)
    need(in_file or loaded != want, f"{case}, load_bundle returned the right settings, but the file save_bundle "
         "wrote does not hold them: they came from memory (a variable of this session, gone when the notebook "
         "restarts). Save them in the file, next to the weights.")
    if loaded == want:
        return
    need(in_file, f"{case}, load_bundle returned {loaded}, and the file save_bundle wrote does not hold the settings "
                  f"{want}: save them in the file (dataclasses.asdict(config)) and return what load_bundle reads "
                  "there.")
    for other in others:
        need(loaded != dataclasses.asdict(other["config"]), f"{case}, load_bundle returned {loaded}, the settings "
             "of another bundle (the one saved last), not those in the file at `path`: read them from the file it "
             "is given.")
    raise Incorrect(f"{case}, load_bundle returned {loaded}: return the settings, {want}.")


def _check_bundle(save_bundle: object, load_bundle: object) -> str:
    """Three bundles saved, each file read by the check, then each loaded into a fresh model of its class."""
    need(callable(save_bundle) and callable(load_bundle), "`save_bundle` and `load_bundle` should be functions "
         "save_bundle(path, model, config) and load_bundle(path, model).")
    with no_allow_list(), temporary_folder() as folder:
        bundles = _save_bundles(save_bundle, folder)
        for bundle in bundles:
            others = [b for b in bundles if b is not bundle]
            torch.manual_seed(0)
            fresh = bundle["Model"]()
            with watched_loads() as seen, _watched_load_state_dict(fresh) as loads:
                loaded = call(load_bundle, bundle["path"], fresh, case=f"{bundle['case']}, load_bundle")
            check_loads(seen, "load_bundle")
            got = fresh.state_dict()
            if not all(torch.equal(got[k], w) for k, w in bundle["weights"].items()):
                raise _weights_mistake(got, bundle, others, loads)
            _check_settings(loaded, bundle, others)
    return ("weights and settings in one file that pickles no class of its own: it loads with weights_only=True in any "
            "session, with no allow-list, because the settings travel as a plain dict.")


q1 = _ex.problem(
    _check_bundle, names=("save_bundle", "load_bundle"), title="Weights and settings in one safe file",
    transfer=True,
    task="A model is more useful with the settings it was trained with. Write `save_bundle(path, model, config)`, "
         "which saves the model's weights and `config` (a dataclass of settings, like `TrainingConfig`) together in "
         "**one** file, the file at `path` and nothing beside it, that loads with `weights_only=True` **without** "
         "any allow-list, and `load_bundle(path, model)`, which loads the weights from that file into `model` "
         "safely and returns the settings as a dict. The check uses a dataclass of its own and two kinds of model: "
         "it saves three bundles, reads each file itself with an empty allow-list (whatever this session has "
         "allowed), changes the saved models' weights, and only then loads each bundle into a fresh model.",
    starter='def save_bundle(path, model, config):\n'
            '    """Save the model\'s weights and the settings in one file that loads with weights_only=True."""\n'
            '    ____\n'
            '\n'
            '\n'
            'def load_bundle(path, model):\n'
            '    """Load a bundle made by save_bundle into model, safely; return the settings as a dict."""\n'
            '    bundle = ____\n'
            '    ____\n'
            '    return ____',
    hint="weights_only=True refuses any class it has not been told about, your dataclass included; it accepts "
         "tensors, numbers, strings, lists and dicts. The dataclasses module can turn a dataclass into one of those.",
    solution='def save_bundle(path, model, config):\n'
             '    """Save the model\'s weights and the settings in one file that loads with weights_only=True."""\n'
             '    torch.save({"model": model.state_dict(), "config": dataclasses.asdict(config)}, path)\n'
             '\n'
             '\n'
             'def load_bundle(path, model):\n'
             '    """Load a bundle made by save_bundle into model, safely; return the settings as a dict."""\n'
             '    bundle = torch.load(path, weights_only=True)\n'
             '    model.load_state_dict(bundle["model"])\n'
             '    return bundle["config"]',
)


def _run(seed: int) -> tuple[nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """A seeded LinearRegressionModel, SGD with momentum, and a StepLR that halves the rate every 4 epochs."""
    torch.manual_seed(seed)
    model = helpers.LinearRegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return model, optimizer, torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)


def _train(run: tuple, X: torch.Tensor, y: torch.Tensor, epochs: int) -> None:
    """Full-batch L1 epochs, the scheduler stepping after each."""
    model, optimizer, scheduler = run
    for _ in range(epochs):
        helpers.train_step(model, X, y, nn.L1Loss(), optimizer)
        scheduler.step()


_RUN_SUSPECTS = {"StepLR": "Save scheduler.state_dict(), plain numbers, not the scheduler object.",
                 "SGD": "Save optimizer.state_dict(), not the optimizer object.",
                 "LinearRegressionModel": "Save model.state_dict(), not the model object."}


def _snapshot(run: tuple) -> dict:
    """Copies of what a checkpoint of `run` must restore: parameters, momentum buffers, rates, scheduler state."""
    model, optimizer, scheduler = run
    return {"params": [p.detach().clone() for p in model.parameters()],
            "weights": {k: v.clone() for k, v in model.state_dict().items()},
            "buffers": [s["momentum_buffer"].clone() for s in optimizer.state.values()],
            "lr": [g["lr"] for g in optimizer.param_groups], "scheduler": copy.deepcopy(scheduler.state_dict())}


@contextlib.contextmanager
def _counted_steps(scheduler: torch.optim.lr_scheduler.LRScheduler) -> Iterator[list]:
    """Count the calls of scheduler.step() made inside the block."""
    calls, real = [], scheduler.step

    def step(*args: object, **kwargs: object) -> object:
        """scheduler.step, counted."""
        calls.append(1)
        return real(*args, **kwargs)

    with replaced(scheduler, "step", step):
        yield calls


def _same_params(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    """True if two lists of tensors hold the same numbers."""
    return len(a) == len(b) and all(torch.equal(p, q) for p, q in zip(a, b))


def _check_loaded_run(resumed: tuple, snap: dict, original: tuple) -> None:
    """The model and the optimizer after resume_run must be the saved ones (the original has trained on since)."""
    model, optimizer, _ = resumed
    params = [p.detach() for p in model.parameters()]
    need(not _same_params(params, [p.detach() for p in _run(0)[0].parameters()]),
         "after resume_run the model still has the parameters it was built with: load the model's state_dict "
         "too, model.load_state_dict(...), not only the optimizer's.")
    memory = ("resume_run must read the file, not live tensors kept in memory (a state_dict holds references to "
              "the model's own tensors until it is saved).")
    if not _same_params(params, snap["params"]):
        need(not _same_params(params, [p.detach() for p in original[0].parameters()]), "after resume_run the model "
             f"has the parameters the saved model has *now* (the check changed them after saving): {memory}")
        raise Incorrect("after resume_run the model's parameters differ from the saved ones: resume_run changed them "
                        "after loading them. resume_run only loads; the training loop takes the next steps.")
    need(optimizer.state_dict()["state"], "after resume_run the optimizer has no momentum buffers: load its "
         "state_dict too, optimizer.load_state_dict(...); without it the run restarts its momentum from zero.")
    buffers = [s["momentum_buffer"] for s in optimizer.state.values()]
    if not _same_params(buffers, snap["buffers"]):
        need(not _same_params(buffers, [s["momentum_buffer"] for s in original[1].state.values()]),
             "after resume_run the optimizer has the momentum buffers the saved optimizer has *now* (the check "
             f"changed them after saving): {memory}")
        raise Incorrect("after resume_run the optimizer's momentum buffers differ from the saved ones: load "
                        "optimizer.state_dict() as it was saved, and change nothing after loading it.")


def _check_scheduler(resumed: tuple, snap: dict, stepped: int, in_file: bool) -> None:
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


def _check_second_epoch(save_run: object, resume_run: object, folder: Path, states: tuple) -> None:
    """A second run saved after epoch 3 whose scheduler steps once per batch (6 steps): resume_run must return 3."""
    path = folder / "second" / "checkpoint.pt"
    path.parent.mkdir()
    call(save_run, path, *_restored(7, states), 3, case="Saving a second run after epoch 3")
    safe_file(path, "save_run", _RUN_SUSPECTS)
    with watched_loads() as seen:
        epoch = call(resume_run, path, *_run(0), case="Resuming the second run")
    check_loads(seen, "resume_run")
    shown = repr(epoch) if isinstance(epoch, (int, float, type(None))) else f"a {type(epoch).__name__}"
    need(epoch != 6, "a second run was saved with epoch=3 by a loop whose scheduler steps once per batch (2 batches "
                     "an epoch, 6 steps so far), and resume_run returned 6: the scheduler's count (last_epoch), not "
                     "the epoch. Save the epoch save_run is given in the checkpoint and return it.")
    need(epoch == 3, f"a second run was saved with epoch=3, and resume_run returned {shown}: save the epoch that "
                     "save_run is given in the checkpoint and return it (a number of your own fits one run only).")


@functools.cache
def _references() -> tuple[tuple, list[torch.Tensor], tuple]:
    """The check's own runs, made once: the states after 10 epochs, the parameters after 20 epochs without a break,
    and the states of a second run after 3 epochs of 2 batches, its scheduler stepped once per batch."""
    X, y = helpers.make_line_data()
    run, second = _run(42), _run(7)
    _train(run, X, y, 10)
    at_10 = tuple(copy.deepcopy(obj.state_dict()) for obj in run)
    _train(run, X, y, 10)
    for _ in range(3):
        for half in (slice(0, None, 2), slice(1, None, 2)):
            helpers.train_step(second[0], X[half], y[half], nn.L1Loss(), second[1])
            second[2].step()
    return at_10, [p.detach().clone() for p in run[0].parameters()], tuple(obj.state_dict() for obj in second)


def _restored(seed: int, states: tuple) -> tuple:
    """A run built from `seed`, then given the model's, the optimizer's and the scheduler's `states`."""
    run = _run(seed)
    for obj, state in zip(run, states):
        obj.load_state_dict(copy.deepcopy(state))
    return run


def _check_resume(save_run: object, resume_run: object) -> str:
    """10 + 10 epochs through a checkpoint equal 20 epochs, bit for bit, with momentum and a StepLR schedule."""
    need(callable(save_run) and callable(resume_run), "`save_run` and `resume_run` should be functions "
         "save_run(path, model, optimizer, scheduler, epoch) and resume_run(path, model, optimizer, scheduler).")
    at_10, straight, second = _references()
    saved = _restored(42, at_10)
    snap = _snapshot(saved)
    with no_allow_list(), temporary_folder() as folder:
        path = folder / "first" / "checkpoint.pt"
        path.parent.mkdir()
        call(save_run, path, *saved, 10, case="Saving after 10 epochs")
        checkpoint = safe_file(path, "save_run", _RUN_SUSPECTS)
        check_weights_in_file(checkpoint, snap["weights"], "save_run", "save model.state_dict() in the checkpoint.")
        need(all(holds_tensor(checkpoint, b) for b in snap["buffers"]), "the file save_run wrote holds no momentum "
             "buffers: save optimizer.state_dict() in the checkpoint too; without it the resumed run restarts its "
             "momentum from zero.")
        with torch.no_grad():  # the saved run changes on: a checkpoint must not follow it
            for p in saved[0].parameters():
                p.add_(1.0)
            for state in saved[1].state.values():
                state["momentum_buffer"].mul_(2.0)
        saved[2].step()
        resumed = _run(0)
        with watched_loads() as seen, _counted_steps(resumed[2]) as stepped:
            epoch = call(resume_run, path, *resumed, case="Resuming into objects made from another seed")
        check_loads(seen, "resume_run")
        shown = repr(epoch) if isinstance(epoch, (int, float, type(None))) else f"a {type(epoch).__name__}"
        need(epoch == 10, f"resume_run returned {shown}: return the epoch stored in the checkpoint (10 here), so "
                          "that the run knows where it stopped.")
        _check_loaded_run(resumed, snap, saved)
        _check_scheduler(resumed, snap, len(stepped), holds_items(checkpoint, snap["scheduler"]))
        _train(resumed, *helpers.make_line_data(), 10)
        need(_same_params([p.detach() for p in resumed[0].parameters()], straight),
             "the resumed run ends at other parameters than the uninterrupted one: the checkpoint must restore the "
             "model, the optimizer and the scheduler exactly as they were.")
        _check_second_epoch(save_run, resume_run, folder, second)
    return ("10 + 10 epochs with a break in the middle end bit for bit where 20 epochs without a break do, and a "
            "second run resumes at the epoch it was saved with.")


q2 = _ex.problem(
    _check_resume, names=("save_run", "resume_run"), title="A checkpoint with a learning-rate schedule",
    transfer=True,
    task="Notebook 04 lowered the learning rate during training with a scheduler (`StepLR`), and a scheduler "
         "counts epochs. Write `save_run(path, model, optimizer, scheduler, epoch)`, which saves a checkpoint "
         "dict in the one file at `path`, and `resume_run(path, model, optimizer, scheduler)`, which loads it "
         "safely into all three (loads, steps nothing) and returns the `epoch` that save_run was given. The check "
         "trains with SGD, momentum and a `StepLR` that halves the rate every 4 epochs: 10 epochs, a checkpoint, "
         "objects made from another seed resumed from it, 10 more epochs; the result must equal 20 epochs without "
         "a break, bit for bit. It also reads your file itself, changes the saved objects after saving (a "
         "checkpoint must not follow them), and resumes a second run saved with `epoch=3` whose scheduler steps "
         "once per batch (its count is 6: not the epoch).",
    starter='def save_run(path, model, optimizer, scheduler, epoch):\n'
            '    """Save what it takes to resume: the model, the optimizer, the scheduler and the epoch."""\n'
            '    ____\n'
            '\n'
            '\n'
            'def resume_run(path, model, optimizer, scheduler):\n'
            '    """Load a checkpoint made by save_run into model, optimizer and scheduler; return its epoch."""\n'
            '    checkpoint = ____\n'
            '    ____\n'
            '    return ____',
    hint="Everything that changes while training must be in the file: the parameters, the optimizer's buffers, and "
         "the scheduler's epoch count. Each of the three objects has its own state_dict, and each can load one "
         "back. resume_run only loads: the training loop takes the next steps. (The three objects reach resume_run "
         "already built, which is the order PyTorch asks for: a scheduler built after the optimizer's state is "
         "loaded can reset the learning rate it just loaded.)",
    solution='def save_run(path, model, optimizer, scheduler, epoch):\n'
             '    """Save what it takes to resume: the model, the optimizer, the scheduler and the epoch."""\n'
             '    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),\n'
             '                  "scheduler": scheduler.state_dict(), "epoch": epoch}\n'
             '    torch.save(checkpoint, path)\n'
             '\n'
             '\n'
             'def resume_run(path, model, optimizer, scheduler):\n'
             '    """Load a checkpoint made by save_run into model, optimizer and scheduler; return its epoch."""\n'
             '    checkpoint = torch.load(path, weights_only=True)\n'
             '    model.load_state_dict(checkpoint["model"])\n'
             '    optimizer.load_state_dict(checkpoint["optimizer"])\n'
             '    scheduler.load_state_dict(checkpoint["scheduler"])\n'
             '    return checkpoint["epoch"]',
)

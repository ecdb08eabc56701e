"""Exercises for notebook 06 (save and load): weights and settings in one safe file, a checkpoint with a scheduler."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import torch

import helpers

from ._core import Exercises, Incorrect
from ._files import (check_loads, check_weights_in_file, holds_items, holds_tensor, no_allow_list, safe_file,
                     temporary_folder, watched_load_state_dict, watched_loads)
from ._resume import (check_loaded_run, check_scheduler, counted_steps, make_run, move_on, references, restored,
                      same_params, snapshot, train)
from ._util import call, need

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
            with watched_loads() as seen, watched_load_state_dict(fresh) as loads:
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


_RUN_SUSPECTS = {"StepLR": "Save scheduler.state_dict(), plain numbers, not the scheduler object.",
                 "SGD": "Save optimizer.state_dict(), not the optimizer object.",
                 "LinearRegressionModel": "Save model.state_dict(), not the model object."}


def _shown(epoch: object) -> str:
    """What resume_run returned, as a message names it: a number (or None) as it is, anything else by its type."""
    return repr(epoch) if isinstance(epoch, (int, float, type(None))) else f"a {type(epoch).__name__}"


def _check_second_epoch(save_run: object, resume_run: object, folder: Path, states: tuple) -> None:
    """A second run saved after epoch 3 whose scheduler steps once per batch (6 steps): resume_run must return 3."""
    path = folder / "second" / "checkpoint.pt"
    path.parent.mkdir()
    call(save_run, path, *restored(7, states), 3, case="Saving a second run after epoch 3")
    safe_file(path, "save_run", _RUN_SUSPECTS)
    with watched_loads() as seen:
        epoch = call(resume_run, path, *make_run(0), case="Resuming the second run")
    check_loads(seen, "resume_run")
    need(epoch != 6, "a second run was saved with epoch=3 by a loop whose scheduler steps once per batch (2 batches "
                     "an epoch, 6 steps so far), and resume_run returned 6: the scheduler's count (last_epoch), not "
                     "the epoch. Save the epoch save_run is given in the checkpoint and return it.")
    need(epoch == 3, f"a second run was saved with epoch=3, and resume_run returned {_shown(epoch)}: save the epoch that "
                     "save_run is given in the checkpoint and return it (a number of your own fits one run only).")


def _check_resume(save_run: object, resume_run: object) -> str:
    """10 + 10 epochs through a checkpoint equal 20 epochs, bit for bit, with momentum and a StepLR schedule."""
    need(callable(save_run) and callable(resume_run), "`save_run` and `resume_run` should be functions "
         "save_run(path, model, optimizer, scheduler, epoch) and resume_run(path, model, optimizer, scheduler).")
    at_10, straight, second = references()
    saved = restored(42, at_10)
    snap = snapshot(saved)
    with no_allow_list(), temporary_folder() as folder:
        path = folder / "first" / "checkpoint.pt"
        path.parent.mkdir()
        call(save_run, path, *saved, 10, case="Saving after 10 epochs")
        checkpoint = safe_file(path, "save_run", _RUN_SUSPECTS)
        check_weights_in_file(checkpoint, snap["weights"], "save_run", "save model.state_dict() in the checkpoint.")
        need(all(holds_tensor(checkpoint, b) for b in snap["buffers"]), "the file save_run wrote holds no momentum "
             "buffers: save optimizer.state_dict() in the checkpoint too; without it the resumed run restarts its "
             "momentum from zero.")
        move_on(saved)
        resumed = make_run(0)
        with watched_loads() as seen, counted_steps(resumed[2]) as stepped:
            epoch = call(resume_run, path, *resumed, case="Resuming into objects made from another seed")
        check_loads(seen, "resume_run")
        need(epoch == 10, f"resume_run returned {_shown(epoch)}: return the epoch stored in the checkpoint (10 here), so "
                          "that the run knows where it stopped.")
        check_loaded_run(resumed, snap, saved)
        check_scheduler(resumed, snap, len(stepped), holds_items(checkpoint, snap["scheduler"]))
        train(resumed, *helpers.make_line_data(), 10)
        need(same_params([p.detach() for p in resumed[0].parameters()], straight),
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

"""Exercises for notebook 06 (save and load): weights and settings in one safe file, a checkpoint with a scheduler."""

from __future__ import annotations

import contextlib
import dataclasses
import pickle
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch
from torch import nn

import helpers

from ._core import Exercises, Incorrect
from ._util import call, need

_ex = Exercises("ex06")
bind = _ex.bind


@contextlib.contextmanager
def _watched_loads() -> Iterator[list]:
    """Record the weights_only argument of every torch.load call made inside the block."""
    seen, real = [], torch.load

    def load(*args: object, **kwargs: object) -> object:
        """torch.load, recording its weights_only argument."""
        seen.append(kwargs.get("weights_only", "not given"))
        return real(*args, **kwargs)

    torch.load = load
    try:
        yield seen
    finally:
        torch.load = real


@contextlib.contextmanager
def _temporary_folder() -> Iterator[Path]:
    """A temporary folder whose path never shows in a verdict (a message names it in words)."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            yield Path(folder)
        except Incorrect as err:
            raise Incorrect(str(err).replace(folder, "<a temporary folder>")) from None


def _check_loads(seen: list, what: str) -> None:
    """Every load must say weights_only=True."""
    need(seen, f"{what} never called torch.load: read the file with torch.load(path, weights_only=True).")
    need(False not in seen, f"{what} loaded with weights_only=False: unpickling a file can run any code in it. "
                            "A state_dict loads with weights_only=True.")
    need("not given" not in seen, f"{what} called torch.load without weights_only: write weights_only=True out, "
                                  "so that nobody reading your code has to know the default of their PyTorch.")


@contextlib.contextmanager
def _no_allow_list() -> Iterator[None]:
    """Check with an empty allow-list, whatever this session allowed, and put the session's own list back after
    (an answer that allows a class with add_safe_globals leaves nothing behind, and no earlier cell helps it)."""
    session = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        yield
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(session)


def _pickled_classes(path: Path) -> list[str]:
    """The globals in a torch.save file that weights_only=True refuses with no allow-list (names, sorted)."""
    allowed = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()  # an allow-list the learner's code set up must not hide a class
    try:
        return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    finally:
        torch.serialization.add_safe_globals(allowed)


def _safe_file(path: Path, what: str, suspects: dict[str, str]) -> Mapping:
    """The file must exist, pickle no class (with no allow-list) and load with weights_only=True as a dict.

    `suspects` maps a class name that may be pickled in the file to what the learner should save instead."""
    need(path.is_file(), f"{what} wrote no file at the path it was given: torch.save(obj, path).")
    try:
        pickled = _pickled_classes(path)
    except (ValueError, RuntimeError, OSError, KeyError):
        raise Incorrect(f"the file {what} wrote is not a torch.save file: write it with torch.save(obj, path).") from None
    allowed = [getattr(g, "__qualname__", str(g)) for g in torch.serialization.get_safe_globals()]
    because = (f" Your code allowed {', '.join(allowed)} with add_safe_globals: that allow-list lives only in this "
               "session, and whoever loads the file elsewhere (you tomorrow included) has none."
               if allowed else "")
    for name in pickled:
        short = name.rsplit(".", 1)[-1]
        if short in suspects:
            raise Incorrect(f"the file {what} wrote pickles a {short} object ({name}), which weights_only=True "
                            f"refuses unless someone allows that class.{because} {suspects[short]}")
    if pickled:
        raise Incorrect(f"the file {what} wrote pickles Python objects ({', '.join(pickled)}), which "
                        f"weights_only=True refuses without an allow-list.{because} Save state_dicts and plain data "
                        "(numbers, strings, lists, dicts) only.")
    try:
        state = torch.load(path, weights_only=True)
    except pickle.UnpicklingError as err:
        raise Incorrect(f"the file {what} wrote does not load with weights_only=True ({str(err).splitlines()[0]}). "
                        "Save state_dicts and plain data (numbers, strings, lists, dicts) only.") from None
    need(isinstance(state, Mapping), f"the file {what} wrote holds a {type(state).__name__}, not a dict.")
    return state


@dataclasses.dataclass
class RunSettings:
    """The settings of a training run (the check's own dataclass: no notebook has allowed it)."""

    lr: float
    epochs: int
    loss: str


def _check_bundle(save_bundle: object, load_bundle: object) -> str:
    """One file with the weights and the settings as plain data: loads with weights_only=True, predicts the same."""
    need(callable(save_bundle) and callable(load_bundle), "`save_bundle` and `load_bundle` should be functions "
         "save_bundle(path, model, config) and load_bundle(path, model).")
    X = torch.linspace(0, 1, 10).unsqueeze(1)
    settings = [RunSettings(lr=0.5, epochs=200, loss="MSE"), RunSettings(lr=0.01, epochs=100, loss="L1")]
    with _no_allow_list(), _temporary_folder() as folder:
        for Model, config in zip((helpers.LinearRegressionModel, helpers.LinearRegressionModelV2), settings):
            case = f"For a {Model.__name__} and {config}"
            path = folder / f"{Model.__name__}.pt"
            torch.manual_seed(1)
            model = Model()
            call(save_bundle, path, model, config, case=f"{case}, save_bundle")
            _safe_file(path, "save_bundle", {
                "RunSettings": "Store the settings as a plain dict, dataclasses.asdict(config): a dict of numbers "
                               "and strings needs no allow-list.",
                Model.__name__: "Save model.state_dict(), numbers only, not the model object."})
            torch.manual_seed(2)
            fresh = Model()
            with _watched_loads() as seen:
                loaded = call(load_bundle, path, fresh, case=f"{case}, load_bundle")
            _check_loads(seen, "load_bundle")
            with torch.inference_mode():
                need(torch.equal(fresh(X), model(X)), f"{case}, the model given to load_bundle predicts differently "
                     "from the saved one: copy the weights in with model.load_state_dict(...).")
            want = dataclasses.asdict(config)
            need(isinstance(loaded, dict), f"load_bundle returned {type(loaded).__name__}: return the settings as "
                                           f"a dict, here {want}.")
            need(loaded == want, f"{case}, load_bundle returned {loaded}: return the settings, {want}.")
    return ("weights and settings in one file that pickles no class of its own: it loads with weights_only=True in any "
            "session, with no allow-list, because the settings travel as a plain dict.")


q1 = _ex.problem(
    _check_bundle, names=("save_bundle", "load_bundle"), title="Weights and settings in one safe file",
    transfer=True,
    task="A model is more useful with the settings it was trained with. Write `save_bundle(path, model, config)`, "
         "which saves the model's weights and `config` (a dataclass of settings, like `TrainingConfig`) in one "
         "file that loads with `weights_only=True` **without** any allow-list, and `load_bundle(path, model)`, "
         "which loads the weights into `model` safely and returns the settings as a dict. The check uses a "
         "dataclass of its own and two kinds of model, and reads your file with an empty allow-list, whatever this "
         "session has allowed.",
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


def _check_scheduler(resumed: torch.optim.lr_scheduler.LRScheduler, saved: torch.optim.lr_scheduler.LRScheduler) -> None:
    """The resumed scheduler must be the saved one: the same epoch count, and the same state in every other entry."""
    got, want = resumed.last_epoch, saved.last_epoch
    if got > want:
        raise Incorrect(f"after resume_run the scheduler counts {got} epochs, not {want}: it was loaded and then "
                        f"stepped {got - want} more {'time' if got - want == 1 else 'times'}. resume_run only loads; the training loop calls "
                        "scheduler.step() once per epoch, and the next call would count that epoch twice.")
    need(got == want, f"after resume_run the scheduler counts {got} epochs, not {want}: without its state_dict it "
                      "halves the rate at the wrong epochs. Save and load scheduler.state_dict() as well.")
    partial = ("setting last_epoch alone leaves the rest of the fresh scheduler's state behind (and other schedulers "
               "keep more state still). Save scheduler.state_dict() whole and load it with scheduler.load_state_dict(...).")
    need(resumed.get_last_lr() == saved.get_last_lr(), f"after resume_run the scheduler counts the right epoch, but "
         f"scheduler.get_last_lr() reports {resumed.get_last_lr()}, while the run it resumes is at "
         f"{saved.get_last_lr()}: {partial}")
    ours, theirs = resumed.state_dict(), saved.state_dict()
    wrong = [key for key in theirs if ours.get(key) != theirs[key]]
    if wrong:
        raise Incorrect(f"after resume_run the scheduler counts the right epoch, but its state_dict's entry "
                        f"{wrong[0]!r} differs from the saved one's: {partial}")


def _check_resume(save_run: object, resume_run: object) -> str:
    """10 + 10 epochs through a checkpoint equal 20 epochs, bit for bit, with momentum and a StepLR schedule."""
    need(callable(save_run) and callable(resume_run), "`save_run` and `resume_run` should be functions "
         "save_run(path, model, optimizer, scheduler, epoch) and resume_run(path, model, optimizer, scheduler).")
    X, y = helpers.make_line_data()
    straight = _run(42)
    _train(straight, X, y, 20)
    saved = _run(42)
    _train(saved, X, y, 10)
    with _no_allow_list(), _temporary_folder() as folder:
        path = folder / "run.pt"
        call(save_run, path, *saved, 10, case="Saving after 10 epochs")
        _safe_file(path, "save_run", {
            "StepLR": "Save scheduler.state_dict(), plain numbers, not the scheduler object.",
            "SGD": "Save optimizer.state_dict(), not the optimizer object.",
            "LinearRegressionModel": "Save model.state_dict(), not the model object."})
        resumed = _run(0)
        with _watched_loads() as seen:
            epoch = call(resume_run, path, *resumed, case="Resuming into objects made from another seed")
        _check_loads(seen, "resume_run")
    shown = repr(epoch) if isinstance(epoch, (int, float, type(None))) else f"a {type(epoch).__name__}"
    need(epoch == 10, f"resume_run returned {shown}: return the epoch stored in the checkpoint (10 here), so that "
                      "the run knows where it stopped.")
    model, optimizer, scheduler = resumed
    built = _run(0)[0]
    need(not all(torch.equal(p, q) for p, q in zip(model.parameters(), built.parameters())),
         "after resume_run the model still has the parameters it was built with: load the model's state_dict "
         "too, model.load_state_dict(...), not only the optimizer's.")
    need(all(torch.equal(p, q) for p, q in zip(model.parameters(), saved[0].parameters())),
         "after resume_run the model's parameters differ from the saved ones: resume_run changed them after loading "
         "them. resume_run only loads; the training loop takes the next steps.")
    need(optimizer.state_dict()["state"], "after resume_run the optimizer has no momentum buffers: load its "
         "state_dict too, optimizer.load_state_dict(...); without it the run restarts its momentum from zero.")
    _check_scheduler(scheduler, saved[2])
    _train(resumed, X, y, 10)
    need(all(torch.equal(p, q) for p, q in zip(model.parameters(), straight[0].parameters())),
         "the resumed run ends at other parameters than the uninterrupted one: the checkpoint must restore the "
         "model, the optimizer and the scheduler exactly as they were.")
    return "10 + 10 epochs with a break in the middle end bit for bit where 20 epochs without a break do."


q2 = _ex.problem(
    _check_resume, names=("save_run", "resume_run"), title="A checkpoint with a learning-rate schedule",
    transfer=True,
    task="Notebook 04 lowered the learning rate during training with a scheduler (`StepLR`), and a scheduler "
         "counts epochs. Write `save_run(path, model, optimizer, scheduler, epoch)`, which saves a checkpoint "
         "dict, and `resume_run(path, model, optimizer, scheduler)`, which loads it safely into all three and "
         "returns the epoch. The check trains with SGD, momentum and a `StepLR` that halves the rate every 4 "
         "epochs: 10 epochs, a checkpoint, objects made from another seed resumed from it, 10 more epochs; the "
         "result must equal 20 epochs without a break, bit for bit.",
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

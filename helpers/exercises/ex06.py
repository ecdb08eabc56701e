"""Exercises for notebook 06 (save and load): a state_dict round trip, and a checkpoint that resumes exactly."""

from __future__ import annotations

import contextlib
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


def _weights_file(path: Path, what: str) -> Mapping:
    """The file must exist and load with weights_only=True as a dict of tensors."""
    need(path.is_file(), f"{what} wrote no file at the path it was given: torch.save(obj, path).")
    try:
        state = torch.load(path, weights_only=True)
    except pickle.UnpicklingError:
        raise Incorrect(f"the file {what} wrote does not load with weights_only=True: it pickles Python objects "
                        "(the whole model?). Save model.state_dict(), numbers only.") from None
    need(isinstance(state, Mapping), f"the file {what} wrote holds a {type(state).__name__}, not a dict.")
    return state


def _check_round_trip(save_weights: object, load_weights: object) -> str:
    """Files that load with weights_only=True and models that predict bit for bit the same."""
    need(callable(save_weights) and callable(load_weights),
         "`save_weights` and `load_weights` should be functions save_weights(model, path), load_weights(model, path).")
    X = torch.linspace(0, 1, 10).unsqueeze(1)
    with _temporary_folder() as folder:
        for Model in (helpers.LinearRegressionModel, helpers.LinearRegressionModelV2):
            case = f"For a {Model.__name__}"
            path = folder / f"{Model.__name__}.pt"
            torch.manual_seed(1)
            model = Model()
            call(save_weights, model, path, case=f"{case}, save_weights")
            state = _weights_file(path, "save_weights")
            need(sorted(state) == sorted(model.state_dict()), f"{case}, the file holds the keys {sorted(state)}, "
                 f"expected the state_dict's {sorted(model.state_dict())}.")
            torch.manual_seed(2)
            fresh = Model()
            with _watched_loads() as seen:
                loaded = call(load_weights, fresh, path, case=f"{case}, load_weights")
            _check_loads(seen, "load_weights")
            need(loaded is fresh, "load_weights should return the model it was given, with the weights loaded in.")
            with torch.inference_mode():
                need(torch.equal(fresh(X), model(X)), f"{case}, the loaded model predicts differently from the "
                     "saved one: copy the numbers in with model.load_state_dict(state_dict).")
    return ("a state_dict on disk that loads with weights_only=True, and a loaded model that predicts bit for bit "
            "the same.")


q1 = _ex.problem(
    _check_round_trip, names=("save_weights", "load_weights"), title="A safe round trip",
    task="Write `save_weights(model, path)`, which saves the model's `state_dict`, and `load_weights(model, path)`, "
         "which loads it back into `model` with `torch.load(..., weights_only=True)` and returns the model. The "
         "check saves two kinds of model into a temporary folder, opens the file with `weights_only=True` "
         "itself, loads it into a model made from another seed, and compares the predictions bit for bit.",
    starter='def save_weights(model, path):\n'
            '    """Save what the model learned (its state_dict) to path."""\n'
            '    ____\n'
            '\n'
            '\n'
            'def load_weights(model, path):\n'
            '    """Load weights saved by save_weights into model, safely, and return the model."""\n'
            '    state_dict = ____\n'
            '    model.load_state_dict(____)\n'
            '    return model',
    hint="torch.save(model.state_dict(), path) saves numbers only; torch.load(path, weights_only=True) reads them "
         "back without running any code, and model.load_state_dict(state_dict) copies them into the model.",
    solution='def save_weights(model, path):\n'
             '    """Save what the model learned (its state_dict) to path."""\n'
             '    torch.save(model.state_dict(), path)\n'
             '\n'
             '\n'
             'def load_weights(model, path):\n'
             '    """Load weights saved by save_weights into model, safely, and return the model."""\n'
             '    state_dict = torch.load(path, weights_only=True)\n'
             '    model.load_state_dict(state_dict)\n'
             '    return model',
)


def _run(seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    """A seeded LinearRegressionModel and an SGD optimizer with momentum."""
    torch.manual_seed(seed)
    model = helpers.LinearRegressionModel()
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def _check_resume(save_run: object, resume_run: object) -> str:
    """10 + 10 epochs through a checkpoint equal 20 epochs, bit for bit."""
    need(callable(save_run) and callable(resume_run), "`save_run` and `resume_run` should be functions "
         "save_run(path, model, optimizer, epoch) and resume_run(path, model, optimizer).")
    X, y = helpers.make_line_data()
    train = lambda model, optimizer, steps: [helpers.train_step(model, X, y, nn.L1Loss(), optimizer)
                                             for _ in range(steps)]
    model_a, optimizer_a = _run(42)
    train(model_a, optimizer_a, 20)
    model_b, optimizer_b = _run(42)
    train(model_b, optimizer_b, 10)
    with _temporary_folder() as folder:
        path = folder / "run.pt"
        call(save_run, path, model_b, optimizer_b, 10, case="Saving after 10 epochs")
        _weights_file(path, "save_run")
        model_c, optimizer_c = _run(0)
        with _watched_loads() as seen:
            epoch = call(resume_run, path, model_c, optimizer_c, case="Resuming into a model from another seed")
        _check_loads(seen, "resume_run")
    shown = repr(epoch) if isinstance(epoch, (int, float, type(None))) else f"a {type(epoch).__name__}"
    need(epoch == 10, f"resume_run returned {shown}: return the epoch stored in the checkpoint (10 here), so "
                      "that the run knows where it stopped.")
    train(model_c, optimizer_c, 10)
    if not all(torch.equal(p, q) for p, q in zip(model_a.parameters(), model_c.parameters())):
        raise Incorrect("the resumed run ends at other parameters than the uninterrupted one: the checkpoint must "
                        "hold the optimizer's state_dict too (its momentum), loaded with optimizer.load_state_dict.")
    return "10 + 10 epochs with a break in the middle end bit for bit where 20 epochs without a break do."


q2 = _ex.problem(
    _check_resume, names=("save_run", "resume_run"), title="A checkpoint that resumes exactly",
    task="Write `save_run(path, model, optimizer, epoch)`, which saves a checkpoint dict (the model's and the "
         "optimizer's `state_dict`s and the epoch), and `resume_run(path, model, optimizer)`, which loads it "
         "safely into both and returns the epoch. The check trains with SGD and momentum: 10 epochs, a "
         "checkpoint, a model from another seed resumed from it, 10 more epochs; the result must equal 20 "
         "epochs without a break, bit for bit.",
    starter='def save_run(path, model, optimizer, epoch):\n'
            '    """Save what it takes to resume: the model, the optimizer and the epoch."""\n'
            '    checkpoint = {"model": ____, "optimizer": ____, "epoch": epoch}\n'
            '    torch.save(checkpoint, path)\n'
            '\n'
            '\n'
            'def resume_run(path, model, optimizer):\n'
            '    """Load a checkpoint made by save_run into model and optimizer; return its epoch."""\n'
            '    checkpoint = ____\n'
            '    ____\n'
            '    ____\n'
            '    return ____',
    hint="model.state_dict() and optimizer.state_dict() are both plain tensors and numbers, so the whole dict "
         "loads with torch.load(path, weights_only=True); then model.load_state_dict(checkpoint[\"model\"]) and "
         "optimizer.load_state_dict(checkpoint[\"optimizer\"]).",
    solution='def save_run(path, model, optimizer, epoch):\n'
             '    """Save what it takes to resume: the model, the optimizer and the epoch."""\n'
             '    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}\n'
             '    torch.save(checkpoint, path)\n'
             '\n'
             '\n'
             'def resume_run(path, model, optimizer):\n'
             '    """Load a checkpoint made by save_run into model and optimizer; return its epoch."""\n'
             '    checkpoint = torch.load(path, weights_only=True)\n'
             '    model.load_state_dict(checkpoint["model"])\n'
             '    optimizer.load_state_dict(checkpoint["optimizer"])\n'
             '    return checkpoint["epoch"]',
)

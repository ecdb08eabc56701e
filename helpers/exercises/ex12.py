"""Exercises for notebook 12 (training with ignite): a process function, a stopping handler, a score for a loss.

ignite is imported inside the checks, so importing this module stays light.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn
from torch.utils.data import TensorDataset

import helpers
from helpers.datasets import make_loaders

from ._core import Exercises
from ._util import call, check_training_step, close, need, number

_ex = Exercises("ex12")
bind = _ex.bind


def _engine(process_function: object) -> object:
    """An ignite Engine whose logger stays quiet (an error in your step becomes a verdict, not a log line)."""
    from ignite.engine import Engine

    engine = Engine(process_function)
    engine.logger.disabled = True
    return engine


def _check_build_step(build_step: object) -> str:
    """The shared training-step checks, then an Engine run equal to the hand loop."""
    need(callable(build_step), "`build_step` should be a function build_step(model, optimizer, loss_fn).")

    def make(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: object) -> object:
        """The learner's process function, called as run(X, y) by the shared checks."""
        step = call(build_step, model, optimizer, loss_fn, case="Calling build_step(model, optimizer, loss_fn)")
        need(callable(step), f"build_step returned {type(step).__name__}: return the function step(engine, batch).")
        return lambda X, y: step(None, (X, y))

    check_training_step(make)
    X = torch.arange(0, 1, 0.05).unsqueeze(1)
    data = TensorDataset(X, 0.7 * X + 0.3)
    models = []
    for _ in range(2):
        torch.manual_seed(42)
        models.append(helpers.LinearRegressionModel())
    loss_fn = nn.MSELoss()
    engine_model, hand_model = models
    optimizer = torch.optim.SGD(engine_model.parameters(), lr=0.2)
    step = call(build_step, engine_model, optimizer, loss_fn, case="Calling build_step(model, optimizer, loss_fn)")
    state = call(_engine(step).run, make_loaders(data, batch_size=8, seed=0)[0], max_epochs=3,
                 case="Run by an Engine for 3 epochs")
    need(isinstance(state.output, float), "engine.state.output is not a number: the step should return loss.item().")
    hand_optimizer = torch.optim.SGD(hand_model.parameters(), lr=0.2)
    loader = make_loaders(data, batch_size=8, seed=0)[0]
    for _ in range(3):
        for X_batch, y_batch in loader:
            helpers.train_step(hand_model, X_batch, y_batch, loss_fn, hand_optimizer)
    need(all(torch.equal(p, q) for p, q in zip(engine_model.parameters(), hand_model.parameters())),
         "run by an Engine, your step ends at other parameters than the hand-written loop on the same batches.")
    return "run by an Engine, your step trains exactly like the hand-written loop (largest difference 0.0)."


q1 = _ex.problem(
    _check_build_step, names=("build_step",), title="A process function",
    task="Write `build_step(model, optimizer, loss_fn)`: it returns a process function `step(engine, batch)` "
         "that does the five training steps on one batch `(X, y)` and returns the loss as a Python number. The "
         "check calls the step directly (training mode, fresh gradients, an update) and then lets an `Engine` "
         "run it for 3 epochs: it must end exactly where the hand-written loop does.",
    starter='def build_step(model, optimizer, loss_fn):\n'
            '    """Return a process function step(engine, batch) that trains model on one batch."""\n'
            '    def step(engine, batch):\n'
            '        ____                  # training mode\n'
            '        X, y = batch\n'
            '        loss = ____           # forward pass and loss\n'
            '        ____                  # zero the gradients\n'
            '        ____                  # backpropagation\n'
            '        ____                  # update the parameters\n'
            '        return ____           # the loss, as a Python number\n'
            '    return step',
    hint="The body is notebook 04's step: model.train(); loss = loss_fn(model(X), y); optimizer.zero_grad(); "
         "loss.backward(); optimizer.step(); return loss.item(). The engine keeps what it returns in "
         "engine.state.output.",
    solution='def build_step(model, optimizer, loss_fn):\n'
             '    """Return a process function step(engine, batch) that trains model on one batch."""\n'
             '    def step(engine, batch):\n'
             '        model.train()\n'
             '        X, y = batch\n'
             '        loss = loss_fn(model(X), y)\n'
             '        optimizer.zero_grad()\n'
             '        loss.backward()\n'
             '        optimizer.step()\n'
             '        return loss.item()\n'
             '    return step',
)


def _goal_run(attach_goal_stop: object, accuracies: list[float], goal: float) -> tuple[int, int]:
    """Run a dummy trainer with the learner's handler; return (epochs run, evaluator runs)."""
    from ignite.engine import Engine, Events

    trainer, evaluator = _engine(lambda engine, batch: None), _engine(lambda engine, batch: None)
    runs = []

    @evaluator.on(Events.COMPLETED)
    def report(engine: Engine) -> None:
        """Set this epoch's accuracy on the evaluator, and count the run."""
        runs.append(trainer.state.epoch)
        engine.state.metrics["accuracy"] = accuracies[min(trainer.state.epoch, len(accuracies)) - 1]

    call(attach_goal_stop, trainer, evaluator, [0], goal, case="Attaching your handler")
    state = call(trainer.run, [0, 1, 2], max_epochs=len(accuracies), case="Running the trainer")
    return state.epoch, len(runs)


def _check_goal_stop(attach_goal_stop: object) -> str:
    """Validated once per epoch, stopped at the first epoch past the goal, else max_epochs."""
    need(callable(attach_goal_stop), "`attach_goal_stop` should be a function "
                                     "attach_goal_stop(trainer, evaluator, val_loader, goal).")
    accuracies = [0.80, 0.90, 0.95, 0.97, 0.99, 0.99]
    epochs, runs = _goal_run(attach_goal_stop, accuracies, goal=0.95)
    need(runs, "the evaluator never ran: in your handler, evaluator.run(val_loader) measures the validation set.")
    need(runs == epochs, f"the evaluator ran {runs} times in {epochs} epochs: attach the handler to "
                         "Events.EPOCH_COMPLETED (once per epoch), not to every iteration.")
    need(epochs != len(accuracies), "the trainer ran all its epochs: once the goal is passed, call engine.terminate().")
    need(epochs != 3, "the run stopped at epoch 3, where the accuracy was exactly the goal 0.95: stop once it "
                      "passes the goal (>), as notebook 09 did.")
    need(epochs == 4, f"the run stopped after epoch {epochs}; the accuracy first passed 0.95 in epoch 4.")
    epochs, _ = _goal_run(attach_goal_stop, [0.5, 0.6, 0.7], goal=0.95)
    need(epochs == 3, "with a goal that is never passed the run should go on to max_epochs, the safeguard.")
    return "validated once per epoch, stopped in the first epoch past the goal, and max_epochs as the safeguard."


q2 = _ex.problem(
    _check_goal_stop, names=("attach_goal_stop",), title="Stop at a goal, as a handler",
    task="Write `attach_goal_stop(trainer, evaluator, val_loader, goal)`: attach a handler to `trainer` that, "
         "after every epoch, runs `evaluator` over `val_loader` and stops the trainer once the validation "
         "`\"accuracy\"` passes `goal`. The check uses dummy engines whose accuracy it sets epoch by epoch.",
    starter='def attach_goal_stop(trainer, evaluator, val_loader, goal):\n'
            '    """After every epoch, validate; stop trainer once validation accuracy passes goal."""\n'
            '    @trainer.on(____)\n'
            '    def validate_and_stop(engine):\n'
            '        accuracy = ____\n'
            '        if ____:\n'
            '            ____',
    hint="Events.EPOCH_COMPLETED fires once per epoch; evaluator.run(val_loader).metrics[\"accuracy\"] is the "
         "validation accuracy; engine.terminate() ends the run after the current event's handlers.",
    solution='def attach_goal_stop(trainer, evaluator, val_loader, goal):\n'
             '    """After every epoch, validate; stop trainer once validation accuracy passes goal."""\n'
             '    @trainer.on(Events.EPOCH_COMPLETED)\n'
             '    def validate_and_stop(engine):\n'
             '        accuracy = evaluator.run(val_loader).metrics["accuracy"]\n'
             '        if accuracy > goal:\n'
             '            engine.terminate()',
)


def _check_loss_score(loss_score: object) -> str:
    """Minus the loss, and EarlyStopping stopping where it should with it."""
    from ignite.engine import Events
    from ignite.handlers import EarlyStopping

    need(callable(loss_score), "`loss_score` should be a function loss_score(engine).")
    fake = SimpleNamespace(state=SimpleNamespace(metrics={"loss": 0.3, "accuracy": 0.9}))
    score = number("loss_score(engine)", call(loss_score, fake, case="For a validation loss of 0.3"))
    fake.state.metrics["loss"] = 0.5
    worse = number("loss_score(engine)", call(loss_score, fake, case="For a validation loss of 0.5"))
    need(score != worse, "your score did not change when the validation loss did: read engine.state.metrics[\"loss\"].")
    need(score > worse, "a lower loss gave a lower score, but EarlyStopping treats a higher score as better: "
                        "return minus the loss.")
    need(close(score, -0.3), f"for a loss of 0.3 your score is {score:g}: return -engine.state.metrics[\"loss\"].")
    losses = [0.5, 0.4, 0.45, 0.42, 0.30, 0.31]
    trainer, evaluator = _engine(lambda engine, batch: None), _engine(lambda engine, batch: None)
    evaluator.add_event_handler(Events.COMPLETED,
                                lambda e: e.state.metrics.update(loss=losses[trainer.state.epoch - 1]))
    stopper = EarlyStopping(patience=2, score_function=loss_score, trainer=trainer)
    stopper.logger.disabled = True
    evaluator.add_event_handler(Events.COMPLETED, stopper)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda e: evaluator.run([0]))
    epochs = call(trainer.run, [0], max_epochs=len(losses), case="Early stopping on the losses 0.5, 0.4, ...").epoch
    need(epochs == 4, f"EarlyStopping with your score stopped after epoch {epochs}; on the losses {losses} it should "
                      "stop after epoch 4, two epochs after the lowest loss so far (0.4).")
    return (f"minus the loss: EarlyStopping with patience 2 stops after epoch {epochs}, two epochs without a new "
            "lowest loss.")


q3 = _ex.problem(
    _check_loss_score, names=("loss_score",), title="A score for a loss",
    task="Write `loss_score(engine)`, a score function for `EarlyStopping` that watches the validation loss in "
         "`engine.state.metrics[\"loss\"]` (Try it 3). The check calls it for two losses and then lets "
         "`EarlyStopping` use it.",
    starter='def loss_score(engine):\n'
            '    """The score EarlyStopping compares (higher is better), from the validation loss."""\n'
            '    return ____',
    hint="EarlyStopping (like ModelCheckpoint) keeps the highest score as the best; a loss is best when lowest.",
    solution='def loss_score(engine):\n'
             '    """The score EarlyStopping compares (higher is better), from the validation loss."""\n'
             '    return -engine.state.metrics["loss"]',
)

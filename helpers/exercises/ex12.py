"""Exercises for notebook 12 (training with ignite): an evaluator's process function, a handler that stops on a
broken loss, a handler that keeps the best weights.

ignite is imported inside the checks, so importing this module stays light.
"""

from __future__ import annotations

import math
import sys

import torch
from torch import nn

from ._core import Exercises, Incorrect
from ._util import call, close, need, number

_ex = Exercises("ex12")
bind = _ex.bind


def _engine(process_function: object) -> object:
    """An ignite Engine whose logger stays quiet (an error in your code becomes a verdict, not a log line)."""
    from ignite.engine import Engine

    engine = Engine(process_function)
    engine.logger.disabled = True
    return engine


# q1: an evaluator's process function -------------------------------------------------------------------------


def _dropout_net() -> nn.Module:
    """A small classifier of 4 features into 3 classes, with dropout: its outputs differ in training mode."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))


def _check_output(out: object, y: torch.Tensor, logits: torch.Tensor, grad_modes: list[bool],
                  case: str) -> torch.Tensor:
    """Check one (y_pred, y) the step returned against the eval-mode logits (and whether each forward pass of the
    call ran with gradient tracking on, `grad_modes`); return y_pred."""
    need(isinstance(out, (tuple, list)), f"{case}, your step returned {type(out).__name__}: return the pair "
                                         "(y_pred, y), which ignite's metrics read.")
    need(len(out) == 2, f"{case}, your step returned {len(out)} things: return the pair (y_pred, y).")
    y_pred, y_out = out
    need(isinstance(y_pred, torch.Tensor) and isinstance(y_out, torch.Tensor),
         f"{case}, your step returned ({type(y_pred).__name__}, {type(y_out).__name__}): return two tensors, "
         "(y_pred, y).")
    need(not (torch.equal(y_pred, y) and y_out.dim() == 2), f"{case}, your step returned (y, y_pred): the metrics "
                                                           "expect the predictions first, (y_pred, y).")
    need(y_pred.dim() == 2, f"{case}, your step returned predictions of shape {list(y_pred.shape)}: return the "
                            "model's outputs as they are, one row of logits per input; Accuracy takes the argmax "
                            "itself, and Loss needs the logits.")
    need(torch.equal(y_out, y), f"{case}, the second thing your step returned is not the batch's labels y.")
    need(not y_pred.requires_grad, f"{case}, your predictions track gradients (requires_grad=True): evaluation "
                                   "needs no backward pass; run the model under torch.no_grad() or "
                                   "torch.inference_mode().")
    need(not any(grad_modes), f"{case}, your step ran the model with gradient tracking on, and only then cut the "
                              "predictions loose (.detach()): autograd had already recorded the whole forward pass "
                              "for a backward pass that never comes, at a cost in time and memory. Run the forward "
                              "pass inside `with torch.no_grad():` or `with torch.inference_mode():` instead.")
    if not close(y_pred, logits) and close(y_pred, logits.softmax(dim=1)):
        raise Incorrect(f"{case}, your step returned probabilities (softmax): return the logits; CrossEntropyLoss "
                        "applies the softmax itself.")
    need(close(y_pred, logits), f"{case}, your predictions are not the model's outputs in eval mode: dropout was "
                                "active. Call model.eval() inside the step, every time: the trainer's steps switch "
                                "the model back to training mode between two evaluations.")
    return y_pred


def _check_eval_step(build_eval_step: object) -> str:
    """Eval mode at every call, no gradients, (y_pred, y) as ignite's metrics need it, nothing trained."""
    from ignite.metrics import Accuracy, Loss

    need(callable(build_eval_step), "`build_eval_step` should be a function build_eval_step(model).")
    model = _dropout_net()
    X, y = torch.randn(9, 4), torch.tensor([0, 1, 2, 0, 1, 2, 2, 1, 0])
    with torch.no_grad():
        logits = model.eval()(X)
    before = [p.detach().clone() for p in model.parameters()]
    grad_modes: list[bool] = []  # gradient tracking on or off at each forward pass (model.forward(X) too)
    model[0].register_forward_pre_hook(lambda module, inputs: grad_modes.append(torch.is_grad_enabled()))
    step = call(build_eval_step, model, case="Calling build_eval_step(model)")
    need(callable(step), f"build_eval_step returned {type(step).__name__}: return the function step(engine, batch).")
    for i in range(2):
        model.train()  # as the trainer's step leaves it between two evaluations
        grad_modes.clear()
        out = call(step, None, (X[:6], y[:6]), case=f"Call {i + 1} on a batch of 6, the model in training mode")
        need(grad_modes, f"Call {i + 1} on a batch of 6, your step never called the model: y_pred = model(X).")
        _check_output(out, y[:6], logits[:6], grad_modes, case=f"Call {i + 1} on a batch of 6")
    need(all(p.grad is None for p in model.parameters()), "your step computed gradients (backward()): evaluation "
                                                           "only measures, it never trains.")
    need(all(torch.equal(p, q) for p, q in zip(model.parameters(), before)),
         "the model's parameters changed during evaluation: an evaluation step must not train.")
    evaluator = _engine(step)
    Accuracy().attach(evaluator, "accuracy")
    Loss(nn.CrossEntropyLoss()).attach(evaluator, "loss")
    model.train()
    batches = [(X[:6], y[:6]), (X[6:], y[6:])]  # batches of 6 and 3
    metrics = call(evaluator.run, batches, case="Run by an Engine with Accuracy and Loss").metrics
    want_accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    want_loss = nn.functional.cross_entropy(logits, y).item()
    need(close(metrics["accuracy"], want_accuracy) and close(metrics["loss"], want_loss, 1e-4),
         f"run by an Engine over batches of 6 and 3, your step gave accuracy {metrics['accuracy']:.3f} and loss "
         f"{metrics['loss']:.4f}; the model in eval mode has {want_accuracy:.3f} and {want_loss:.4f}.")
    return ("eval mode at every call, no gradients, and (y_pred, y) as the metrics need: run by an Engine, "
            f"accuracy {metrics['accuracy']:.3f} and loss {metrics['loss']:.4f}, what the model in eval mode has.")


q1 = _ex.problem(
    _check_eval_step, names=("build_eval_step",), title="An evaluator's process function", transfer=True,
    task="`create_supervised_evaluator` builds an engine whose process function you never saw. Write your own: "
         "`build_eval_step(model)` returns a process function `step(engine, batch)` that, for a batch `(X, y)`, "
         "returns the pair `(y_pred, y)` that ignite's metrics (`Accuracy`, `Loss`) read, where `y_pred` is the "
         "model's output (the logits). Between two evaluations a trainer runs training steps on the same model. "
         "The check calls your step on a model with dropout, then lets an `Engine` with `Accuracy` and `Loss` "
         "run it.",
    starter='def build_eval_step(model):\n'
            '    """Return a process function step(engine, batch) -> (y_pred, y) for ignite\'s metrics."""\n'
            '    def step(engine, batch):\n'
            '        ____\n'
            '        X, y = batch\n'
            '        with ____:\n'
            '            y_pred = ____\n'
            '        return ____\n'
            '    return step',
    hint="Two switches make a measurement of a model fair and cheap (notebook 05): one for layers such as "
         "dropout, one for gradient tracking. Ask which of them the trainer's steps undo between two "
         "evaluations, and where that means it must be set.",
    solution='def build_eval_step(model):\n'
             '    """Return a process function step(engine, batch) -> (y_pred, y) for ignite\'s metrics."""\n'
             '    def step(engine, batch):\n'
             '        model.eval()                  # every call: training steps switch it back to train()\n'
             '        X, y = batch\n'
             '        with torch.inference_mode():  # or torch.no_grad(): no gradients to track\n'
             '            y_pred = model(X)\n'
             '        return y_pred, y\n'
             '    return step',
)


# q2: stop on a broken loss ------------------------------------------------------------------------------------


def _stop_run(attach_stop_on_bad_loss: object, losses: list[float], epochs: int = 5) -> tuple[int, int]:
    """Run a dummy trainer (4 iterations an epoch) whose steps return `losses`; return (iteration, epoch) at its end."""
    trainer = _engine(lambda engine, batch: losses[min(engine.state.iteration, len(losses)) - 1])
    call(attach_stop_on_bad_loss, trainer, case="Attaching your handler")
    try:
        state = call(trainer.run, [0, 1, 2, 3], max_epochs=epochs, case="Running the trainer")
    except Incorrect:
        if trainer.state.output is None:  # the handler ran where no step had returned yet
            raise Incorrect("your handler failed where engine.state.output was None: it ran before the step of its "
                            "iteration had returned a loss (an event such as ITERATION_STARTED or EPOCH_STARTED). "
                            "Attach it to the event that fires right after each step.") from None
        raise
    return state.iteration, state.epoch


# finite losses of every size: a loss that is large, or 0, is not a broken one (the largest float is finite too)
_FINE = [2.3, 1.9, 150.0, 0.8, 1e6, 0.4, 3e38, 0.3, 1e300, 0.0, sys.float_info.max, 0.2] + [1 / k for k in range(4, 12)]


def _check_stop_on_bad_loss(attach_stop_on_bad_loss: object) -> str:
    """Stopped right after the first step whose loss is nan, inf or -inf, and never while the losses are finite."""
    need(callable(attach_stop_on_bad_loss), "`attach_stop_on_bad_loss` should be a function "
                                             "attach_stop_on_bad_loss(trainer).")
    fine = _FINE
    ended, _ = _stop_run(attach_stop_on_bad_loss, fine)
    need(ended == 20, f"the run stopped at iteration {ended} of 20, where the loss was {fine[ended - 1]!r}: a finite "
                      "number (the check's losses range from 0 to the largest float). A large loss is not a broken "
                      "one, and no threshold tells them apart: stop only when the loss is nan or infinite.")
    nan = float("nan")
    ended, epoch = _stop_run(attach_stop_on_bad_loss, fine[:5] + [nan] * 15)  # nan from iteration 6, in epoch 2
    need(ended != 8, "the loss was nan from iteration 6, but the run went on to iteration 8, the end of its epoch: "
                     "check after every iteration (Events.ITERATION_COMPLETED), not once per epoch.")
    need(not (epoch == 5 and 6 < ended < 20), "the run went on after the nan at iteration 6: "
                                              "engine.terminate_epoch() ends only the current epoch, and the next "
                                              "one starts; engine.terminate() ends the run.")
    need(ended != 20, "the loss was nan from iteration 6, yet the run went on to the end: was your handler attached to "
                      "an event that fires after each step (Events.ITERATION_COMPLETED)? And does your test find a "
                      "nan? nan equals nothing, not even itself, so loss == float('nan') is always False: use "
                      "math.isnan or math.isfinite.")
    need(ended == 6, f"the loss was nan from iteration 6; the run ended at iteration {ended}, expected 6.")
    for bad, at in ((math.inf, 3), (-math.inf, 7)):
        ended, _ = _stop_run(attach_stop_on_bad_loss, fine[:at - 1] + [bad] * (21 - at))
        need(ended == at, f"the loss was {bad} from iteration {at}, and the run did not stop there: an infinite loss "
                          "is just as broken (the next step turns it into nan), whatever its sign; math.isfinite is "
                          "False for nan, inf and -inf alike.")
    return ("never stopped on finite losses (up to the largest float), and stopped right after the first nan "
            "(iteration 6), inf (iteration 3) or -inf (iteration 7).")


q2 = _ex.problem(
    _check_stop_on_bad_loss, names=("attach_stop_on_bad_loss",), title="Stop on a broken loss", transfer=True,
    task="Notebook 10's logged training loop stopped as soon as the loss turned into `nan` (once `nan`, it stays "
         "`nan`). Do the same with an engine: write `attach_stop_on_bad_loss(trainer)`: "
         "attach a handler to `trainer` (whose steps return the batch's loss as a Python number) that ends the run "
         "right after the first step whose loss is `nan` or infinite, so that no more steps are wasted. The check "
         "runs dummy trainers whose losses turn bad at different iterations, and looks at where they stop.",
    starter='import math\n\n\n'
            'def attach_stop_on_bad_loss(trainer):\n'
            '    """End the run right after a training step whose loss is nan or infinite."""\n'
            '    @trainer.on(____)\n'
            '    def stop_on_bad_loss(engine):\n'
            '        if ____:\n'
            '            ____',
    hint="Look at section 2's printout of the events: which one fires right after each step, with its output in "
         "engine.state? A nan compares unequal to everything, itself included, so test for it with a function made "
         "for that. And one method of the engine ends only an epoch, another the whole run.",
    solution='import math\n\n\n'
             'def attach_stop_on_bad_loss(trainer):\n'
             '    """End the run right after a training step whose loss is nan or infinite."""\n'
             '    @trainer.on(Events.ITERATION_COMPLETED)\n'
             '    def stop_on_bad_loss(engine):\n'
             '        if not math.isfinite(engine.state.output):\n'
             '            engine.terminate()',
)


# q3: keep the best weights in memory -------------------------------------------------------------------------


_SCORES = [0.80, 0.90, 0.95, 0.85, 0.95, 0.90]  # accuracy after each epoch: best at 3, tied at 5; 20 images each
_TRAIN_BATCHES, _VAL_BATCH = 3, 3  # 3 training steps an epoch; the evaluator reads 20 images in 7 batches


class _Scripted(nn.Linear):
    """A stand-in model with two parameters (the check's training step changes them) whose answers are right for
    as many of 20 validation images as the current epoch's score says (the images are numbered 0-19: X holds
    the numbers)."""

    def __init__(self, trainer: object) -> None:
        super().__init__(2, 1)
        self.trainer, self.labels = trainer, torch.arange(20) % 3

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits for 3 classes: the right class for the first round(score * 20) images, a wrong one for the rest."""
        right = round(_SCORES[self.trainer.state.epoch - 1] * 20)
        truth = self.labels[X]
        answer = torch.where(X < right, truth, (truth + 1) % 3)
        return nn.functional.one_hot(answer, 3).float()


def _train(trainer: object, evaluator: object) -> None:
    """Run the trainer; a handler that read the evaluator's metrics before they existed is told so."""
    try:
        trainer.run(list(range(_TRAIN_BATCHES)), max_epochs=len(_SCORES))
    except KeyError as err:
        if "accuracy" in str(err) and "accuracy" not in evaluator.state.metrics:
            raise Incorrect("your handler read engine.state.metrics[\"accuracy\"] before the evaluator had computed "
                            "it: at the first validation there was none yet (and at the next ones it would still "
                            "hold the previous validation's). The metrics are computed when the evaluator's run "
                            "ends: attach the handler to Events.COMPLETED.") from None
        raise


def _keep_best_run(attach_keep_best: object) -> tuple[dict, list[list[torch.Tensor]]]:
    """Train the scripted model with a real ignite evaluator (Accuracy) after each epoch, the learner's handler
    attached; return `best` and the weights after each epoch."""
    from ignite.engine import Events, create_supervised_evaluator
    from ignite.metrics import Accuracy

    def train(engine: object, batch: object) -> None:
        """A dummy training step: every parameter grows by 1, so each epoch's weights differ."""
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)

    trainer = _engine(train)
    model = _Scripted(trainer)
    evaluator = create_supervised_evaluator(model, metrics={"accuracy": Accuracy()})
    evaluator.logger.disabled = True
    ids = torch.arange(20)
    val_batches = [(ids[i:i + _VAL_BATCH], model.labels[i:i + _VAL_BATCH]) for i in range(0, 20, _VAL_BATCH)]
    snapshots: list[list[torch.Tensor]] = []
    trainer.add_event_handler(Events.EPOCH_COMPLETED,
                              lambda engine: snapshots.append([p.detach().clone() for p in model.parameters()]))
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda engine: evaluator.run(val_batches))
    best: dict = {}
    call(attach_keep_best, trainer, evaluator, model, best, case="Attaching your handler")
    call(_train, trainer, evaluator, case=f"Training for {len(_SCORES)} epochs")
    return best, snapshots


def _check_keep_best(attach_keep_best: object) -> str:
    """The first epoch with the highest score, its accuracy, and a copy of the weights as they were then."""
    need(callable(attach_keep_best), "`attach_keep_best` should be a function "
                                     "attach_keep_best(trainer, evaluator, model, best).")
    best, snapshots = _keep_best_run(attach_keep_best)
    need("epoch" in best and "state_dict" in best, "after the run, `best` has no \"epoch\" or \"state_dict\": your "
                                                   "handler never kept anything. Is the comparison the right way "
                                                   "round (a higher accuracy is better)?")
    need(best.get("accuracy") != float("-inf"), "best[\"accuracy\"] is still -inf after the run: your handler "
                                                "stored weights without raising the best accuracy so far, so every "
                                                "validation beat it. Store the new best accuracy too.")
    epoch, val_iterations = best["epoch"], -(-20 // _VAL_BATCH)
    need(epoch != 3 * _TRAIN_BATCHES, f"best[\"epoch\"] is {epoch}: that is trainer.state.iteration, the number of "
                                      f"training steps so far ({_TRAIN_BATCHES} an epoch), not the epoch. Take "
                                      "trainer.state.epoch.")
    need(epoch != 1, "best[\"epoch\"] is 1 whatever the scores: that is the evaluator's own epoch count (each "
                     "validation run is one epoch for it). Take the training epoch, trainer.state.epoch.")
    need(epoch != val_iterations, f"best[\"epoch\"] is {epoch}, the evaluator's iteration count (its batches in one "
                                  "validation run). Take the training epoch, trainer.state.epoch.")
    need(epoch != 4, "best[\"epoch\"] is 4, one epoch after the best (epoch 3): your handler read the accuracy "
                     "before the evaluator had computed the new one, and so kept each score one validation late. "
                     "Attach it to Events.COMPLETED, which fires after the metrics are computed.")
    need(epoch != 5, "best[\"epoch\"] is 5, whose accuracy 0.95 only ties epoch 3's: a tie is not a new best (as for "
                     "ModelCheckpoint and EarlyStopping), so keep the first, with a strict >.")
    need(epoch != 6, "best[\"epoch\"] is 6, the last epoch (accuracy 0.90, below epoch 3's 0.95): keep the weights "
                     "only when the accuracy beats the best so far.")
    need(epoch == 3, f"the accuracies were {_SCORES}; best[\"epoch\"] is {epoch!r}, expected 3, the first with 0.95.")
    need(close(number("best[\"accuracy\"]", best.get("accuracy")), 0.95),
         f"best[\"accuracy\"] is {best.get('accuracy')!r}, expected 0.95, epoch 3's.")
    kept = best["state_dict"]
    need(isinstance(kept, dict) and set(kept) == {"weight", "bias"},
         f"best[\"state_dict\"] is {type(kept).__name__}: keep the model's state_dict(), a dict of its tensors.")
    values = [kept["weight"], kept["bias"]]
    need(not all(torch.equal(v, s) for v, s in zip(values, snapshots[-1])),
         "best[\"state_dict\"] holds the last epoch's weights, not epoch 3's: state_dict() returns the model's own "
         "tensors, which the next training steps keep changing in place. Keep a copy (clone each tensor).")
    need(all(torch.equal(v, s) for v, s in zip(values, snapshots[2])),
         "best[\"state_dict\"] does not hold the weights the model had after epoch 3.")
    return ("epoch 3 kept (the tie at epoch 5 is not a new best), read when the evaluator's run had computed its "
            "accuracy, with a copy of the weights as they were after it.")


q3 = _ex.problem(
    _check_keep_best, names=("attach_keep_best",), title="Keep the best weights in memory", transfer=True,
    task="`ModelCheckpoint` keeps the best model in a file. Write `attach_keep_best(trainer, evaluator, model, best)`, "
         "which keeps it in memory instead: after each validation run of `evaluator` (whose metrics hold "
         "`\"accuracy\"`), when the accuracy beats the best so far, store in the dict `best` the accuracy, the "
         "training epoch it came from, and the model's `state_dict()` as it is at that moment. The check trains a "
         "dummy model whose weights change every epoch, with scores it sets itself.",
    starter='def attach_keep_best(trainer, evaluator, model, best):\n'
            '    """After each validation run, keep model\'s weights in `best` when the accuracy is a new best."""\n'
            '    best["accuracy"] = float("-inf")\n\n'
            '    @evaluator.on(____)\n'
            '    def keep_if_best(engine):\n'
            '        accuracy = ____\n'
            '        if ____:\n'
            '            best["accuracy"] = accuracy\n'
            '            best["epoch"] = ____          # the training epoch\n'
            '            best["state_dict"] = ____     # the weights as they are now',
    hint="The evaluator fires an event when a validation run ends. Each engine counts its own epochs. A tie is "
         "not a new best for ModelCheckpoint. And the tensors of model.state_dict() are the model's own, which "
         "later training steps change in place.",
    solution='def attach_keep_best(trainer, evaluator, model, best):\n'
             '    """After each validation run, keep model\'s weights in `best` when the accuracy is a new best."""\n'
             '    best["accuracy"] = float("-inf")\n\n'
             '    @evaluator.on(Events.COMPLETED)\n'
             '    def keep_if_best(engine):\n'
             '        accuracy = engine.state.metrics["accuracy"]\n'
             '        if accuracy > best["accuracy"]:\n'
             '            best["accuracy"] = accuracy\n'
             '            best["epoch"] = trainer.state.epoch\n'
             '            best["state_dict"] = {name: t.clone() for name, t in model.state_dict().items()}',
)

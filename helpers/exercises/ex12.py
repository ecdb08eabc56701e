"""Exercises for notebook 12 (training with ignite): an evaluator's process function, a handler that stops on a
broken loss, a handler that keeps the best weights.

ignite is imported inside the checks, so importing this module stays light.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ._core import Exercises, Incorrect
from ._ignite_fakes import F32_MAX, KeepBestRun, ModeLog, check_kept, eval_net, metric_pair, quiet_engine, stop_run
from ._util import call, close, need, number

_ex = Exercises("ex12")
bind = _ex.bind


# q1: an evaluator's process function -------------------------------------------------------------------------


def _check_output(y_pred: torch.Tensor, logits: torch.Tensor, log: ModeLog, case: str) -> None:
    """Check the y_pred of one call against the eval-mode logits, and what the call's forward passes did."""
    need(not y_pred.requires_grad, f"{case}, your predictions track gradients (requires_grad=True): evaluation "
                                   "needs no backward pass; run the model under torch.no_grad() or "
                                   "torch.inference_mode().")
    need(not any(log.grad_modes), f"{case}, your step ran the model with gradient tracking on, and only then cut "
                                  "the predictions loose (.detach() or .data): autograd had already recorded the "
                                  "whole forward pass for a backward pass that never comes, at a cost in time and "
                                  "memory. Run the forward pass inside `with torch.no_grad():` or "
                                  "`with torch.inference_mode():` instead.")
    if close(y_pred, logits):
        return
    need(not log.training, f"{case}, your step ran the model with its {' and '.join(sorted(log.training))} layers "
                           "in training mode (dropout drops units, batch norm uses the batch's own statistics), so "
                           "its predictions are not the model's outputs in eval mode. model.eval() switches every "
                           "layer, however deeply nested, before the forward pass; call it inside the step, every "
                           "time: the trainer's steps switch the model back to training mode between two "
                           "evaluations.")
    need(not close(y_pred, logits.softmax(dim=1)), f"{case}, your step returned probabilities (softmax): return the "
                                                   "logits; CrossEntropyLoss applies the softmax itself.")
    need(not close(y_pred, logits.log_softmax(dim=1)),
         f"{case}, your step returned log-probabilities (log_softmax of the logits): return the model's outputs as "
         "they are, y_pred = model(X). (Accuracy and CrossEntropyLoss happen to give the same numbers, but other "
         "metrics, and anyone reading the evaluator's output, expect the logits.)")
    raise Incorrect(f"{case}, your predictions are not the model's outputs: every layer was in eval mode, yet "
                    "model(X) gives other values for this batch, so your step changed them after the model "
                    "returned them. Return y_pred = model(X) as it is, the logits.")


def _call_step(step: Callable, model: nn.Module, batch: tuple, log: ModeLog, case: str) -> object:
    """Call the step once on `batch`, the model in training mode as a trainer leaves it; refuse a step that left
    gradient tracking off, or the model frozen, for whatever runs after it."""
    model.train()  # as the trainer's step leaves it between two evaluations
    log.clear()
    out = call(step, None, batch, case=case)
    left_off = not torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    need(not left_off, f"{case}, your step left gradient tracking switched off after it returned "
                       "(torch.set_grad_enabled(False)): the trainer's next step could not compute a gradient. Use "
                       "`with torch.no_grad():` around the forward pass, which switches it back on at its end.")
    need(all(p.requires_grad for p in model.parameters()),
         f"{case}, your step froze the model's parameters (requires_grad_(False)): that lasts beyond the "
         "evaluation, and the trainer's next steps would compute no gradient for them, so the model stops "
         "learning. Switch gradient tracking off only around the forward pass: `with torch.no_grad():`.")
    need(log.grad_modes, f"{case}, your step never called the model: y_pred = model(X).")
    return out


def _check_eval_step(build_eval_step: object) -> str:
    """Eval mode at every call, no gradients, (y_pred, y) as ignite's metrics need it, nothing trained."""
    from ignite.metrics import Accuracy, Loss

    need(callable(build_eval_step), "`build_eval_step` should be a function build_eval_step(model).")
    model = eval_net()
    X, y = torch.randn(9, 4), torch.tensor([0, 1, 2, 0, 1, 2, 2, 1, 0])
    with torch.no_grad():
        logits = model.eval()(X)
    before = [t.detach().clone() for t in model.state_dict().values()]
    log = ModeLog(model)
    step = call(build_eval_step, model, case="Calling build_eval_step(model)")
    need(callable(step), f"build_eval_step returned {type(step).__name__}: return the function step(engine, batch).")
    for i, rows in enumerate((slice(0, 6), slice(0, 6), slice(8, 9))):  # twice a batch of 6, then a batch of one
        n = rows.stop - rows.start
        case = f"Call {i + 1} on a batch of {n}" if n > 1 else f"Call {i + 1} on a batch of one"
        out = _call_step(step, model, (X[rows], y[rows]), log, case=f"{case}, the model in training mode")
        _check_output(metric_pair(out, y[rows], case), logits[rows], log, case)
    need(all(p.grad is None for p in model.parameters()), "your step computed gradients (backward()): evaluation "
                                                           "only measures, it never trains.")
    need(all(torch.equal(t, b) for t, b in zip(model.state_dict().values(), before)),
         "the model's parameters or batch-norm statistics changed during evaluation: an evaluation step must not "
         "train.")
    evaluator = quiet_engine(step)
    Accuracy().attach(evaluator, "accuracy")
    Loss(nn.CrossEntropyLoss()).attach(evaluator, "loss")
    model.train()
    batches = [(X[:6], y[:6]), (X[6:8], y[6:8]), (X[8:], y[8:])]  # batches of 6, 2 and 1
    metrics = call(evaluator.run, batches, case="Run by an Engine with Accuracy and Loss").metrics
    want_accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    want_loss = nn.functional.cross_entropy(logits, y).item()
    need(close(metrics["accuracy"], want_accuracy) and close(metrics["loss"], want_loss, 1e-4),
         f"run by an Engine over batches of 6, 2 and 1, your step gave accuracy {metrics['accuracy']:.3f} and loss "
         f"{metrics['loss']:.4f}; the model in eval mode has {want_accuracy:.3f} and {want_loss:.4f}.")
    return ("eval mode at every call, no gradients, and (y_pred, y) as the metrics need: run by an Engine, "
            f"accuracy {metrics['accuracy']:.3f} and loss {metrics['loss']:.4f}, what the model in eval mode has.")


q1 = _ex.problem(
    _check_eval_step, names=("build_eval_step",), title="An evaluator's process function", transfer=True,
    task="`create_supervised_evaluator` builds an engine whose process function you never saw. Write your own: "
         "`build_eval_step(model)` returns a process function `step(engine, batch)` that, for a batch `(X, y)`, "
         "returns the pair `(y_pred, y)` that ignite's metrics (`Accuracy`, `Loss`) read, where `y_pred` is the "
         "model's output (the logits). Between two evaluations a trainer runs training steps on the same model. "
         "The check calls your step on a model with dropout and batch norm, then lets an `Engine` with `Accuracy` "
         "and `Loss` run it.",
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


# finite losses of every size that a float32 model can return (loss.item()): a loss that is large, or 0, is not a
# broken one (the largest float32 is finite too)
_FINE = [2.3, 1.9, 150.0, 0.8, 1e6, 0.4, 3e38, 0.3, F32_MAX, 0.0, 1e-30, 0.2] + [1 / k for k in range(4, 12)]


def _check_fine(ended: int) -> None:
    """The run over finite losses must reach its end, iteration 20."""
    if ended == 20:
        return
    loss = _FINE[ended - 1]
    why = ("a large loss is not a broken one, and no threshold tells them apart." if loss > 100 else
           "is your test the right way round? And a large loss is not a broken one: no threshold tells them apart.")
    raise Incorrect(f"the run stopped at iteration {ended} of 20, where the loss was {loss!r}: a finite number (the "
                    f"check's losses range from 0 to the largest float32). Stop only when the loss is nan or "
                    f"infinite: {why}")


def _check_bad_run(result: tuple[int, int, int], bad: float, at: int) -> None:
    """A run whose loss is `bad` from iteration `at` on must end right after that step, iteration `at`."""
    ended, epoch, max_epochs = result
    if ended == at:
        return
    seen = f"the loss was {bad} from iteration {at}"
    need(ended > at, f"the run stopped at iteration {ended}, where the loss was {_FINE[ended - 1]!r}, before it "
                     f"turned {bad} at iteration {at}, though the same handler let the check's first run of finite "
                     "losses go to its end: your handler keeps something from an earlier run (a list or flag "
                     "outside attach_stop_on_bad_loss?). Decide from this step's loss, engine.state.output, alone: "
                     "each trainer starts fresh.")
    need(max_epochs == 5, f"{seen}, and your handler set engine.state.max_epochs to {max_epochs}: the run still "
                          f"finished its epoch, up to iteration {ended}. engine.terminate() ends the run right after "
                          "this step.")
    need(ended != -(-at // 4) * 4, f"{seen}, but the run went on to iteration {ended}, the end of its epoch: check "
                                   "after every iteration (Events.ITERATION_COMPLETED), not once per epoch.")
    need(not (epoch == 5 and at < ended < 20), f"the run went on after the {bad} at iteration {at}: "
                                                "engine.terminate_epoch() ends only the current epoch, and the next "
                                                "one starts; engine.terminate() ends the run.")
    if ended == 20 and math.isnan(bad):
        raise Incorrect(f"{seen}, yet the run went on to the end: was your handler attached to an event that fires "
                        "after each step (Events.ITERATION_COMPLETED)? And does your test find a nan? nan equals "
                        "nothing, not even itself, so loss == float('nan') is always False: use math.isnan or "
                        "math.isfinite.")
    need(ended != 20, f"{seen}, and the run did not stop there: an infinite loss is just as broken (the next step "
                      "turns it into nan), whatever its sign; math.isfinite is False for nan, inf and -inf alike.")
    need(at != 1, f"{seen}, the very first step, but the run went on to iteration {ended}: your handler let the "
                  "first step pass (a test of the iteration number, or of a previous loss?). Check every step, the "
                  "first included: its loss is in engine.state.output.")
    raise Incorrect(f"{seen}; the run ended at iteration {ended}, {ended - at} step(s) late: end it right after the "
                    f"first bad step, iteration {at}.")


def _check_stop_on_bad_loss(attach_stop_on_bad_loss: object) -> str:
    """Stopped right after the first step whose loss is nan, inf or -inf, and never while the losses are finite."""
    need(callable(attach_stop_on_bad_loss), "`attach_stop_on_bad_loss` should be a function "
                                             "attach_stop_on_bad_loss(trainer).")
    _check_fine(stop_run(attach_stop_on_bad_loss, _FINE)[0])
    nan = float("nan")
    for bad, at in ((nan, 6), (nan, 1), (math.inf, 3), (-math.inf, 7)):  # nan at 6 is in epoch 2, not at its end
        _check_bad_run(stop_run(attach_stop_on_bad_loss, _FINE[:at - 1] + [bad] * (21 - at)), bad, at)
    return ("never stopped on finite losses (up to the largest float32), and stopped right after the first nan "
            "(iteration 6, and iteration 1), inf (iteration 3) or -inf (iteration 7).")


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


# accuracy after each training epoch (20 validation images): validated after every epoch, best at 3 and tied at 5;
# validated after epochs 2, 4 and 6 only, best at 4; all zero, where the first validation is still a new best
_SCORES = [0.80, 0.90, 0.95, 0.85, 0.95, 0.90]
_EVERY_2 = [0.90, 0.60, 0.95, 0.75, 0.90, 0.70]
_ZEROS = [0.0, 0.0]
_FRESH = {"COMPLETED", "EPOCH_COMPLETED"}  # the evaluator's events that fire after its metrics are computed


def _on_trainer(run: KeepBestRun) -> str:
    """A message for a handler attached to the trainer rather than the evaluator ("" if it is on the evaluator)."""
    if not run.trainer_events or run.evaluator_events:
        return ""
    return (f"your handler is attached to the trainer ({', '.join(sorted(run.trainer_events))}), not to the "
            "evaluator: it reads the evaluator's metrics whenever the trainer's event fires, whether or not a "
            "validation has just run, and before or after that epoch's validation depending on which handler was "
            "attached first (in the check's second training the validation runs only after epochs 2, 4 and 6, "
            "attached after your handler). Attach it to the evaluator's Events.COMPLETED, which fires right after "
            "each validation's metrics are computed.")


def _stale(run: KeepBestRun) -> str:
    """Why a handler read the accuracy before the evaluator had computed it, and what to do."""
    return _on_trainer(run) or ("At the first validation there was none yet (and at the next ones it would still "
                                "hold the previous validation's). The metrics are computed when the evaluator's run "
                                "ends: attach the handler to Events.COMPLETED.")


def _check_every_epoch(run: KeepBestRun) -> None:
    """Validated after every epoch: epoch 3 kept (0.95; the tie at 5 is not a new best), with its weights."""
    best = run.best
    need("epoch" in best and "state_dict" in best, "after the run, `best` has no \"epoch\" or \"state_dict\": your "
                                                   "handler never kept anything. Is the comparison the right way "
                                                   "round (a higher accuracy is better)?")
    need(best.get("accuracy") != float("-inf"), "best[\"accuracy\"] is still -inf after the run: your handler "
                                                "stored weights without raising the best accuracy so far, so every "
                                                "validation beat it. Store the new best accuracy too.")
    epoch = best["epoch"]
    need(epoch != 9, "best[\"epoch\"] is 9: that is trainer.state.iteration, the number of training steps so far "
                     "(3 an epoch), not the epoch. Take trainer.state.epoch.")
    need(epoch != 1, "best[\"epoch\"] is 1 whatever the scores: that is the evaluator's own count (each "
                     "validation run is one epoch for it, and here one iteration, a single batch). Take the "
                     "training epoch, trainer.state.epoch.")
    if epoch == 4:
        need(not _on_trainer(run), _on_trainer(run))
        need(not run.evaluator_events <= _FRESH,
             "best[\"epoch\"] is 4, one more than epoch 3, whose validation scored best: when the evaluator's run "
             "completes, trainer.state.epoch is already the epoch just trained and validated. Store it as it is, "
             "without + 1.")
        raise Incorrect("best[\"epoch\"] is 4, one epoch after the best (epoch 3): your handler read the accuracy "
                        "before the evaluator had computed the new one, and so kept each score one validation late. "
                        "Attach it to Events.COMPLETED, which fires after the metrics are computed.")
    need(epoch != 2, "best[\"epoch\"] is 2, one less than epoch 3, whose validation scored best: trainer.state.epoch "
                     "counts from 1 and is already the epoch just validated. Store it as it is, without - 1.")
    need(epoch != 5, "best[\"epoch\"] is 5, whose accuracy 0.95 only ties epoch 3's: a tie is not a new best (as for "
                     "ModelCheckpoint and EarlyStopping), so keep the first, with a strict >.")
    need(epoch != 6, "best[\"epoch\"] is 6, the last epoch (accuracy 0.90, below epoch 3's 0.95): keep the weights "
                     "only when the accuracy beats the best so far.")
    need(epoch == 3, f"the accuracies were {_SCORES}; best[\"epoch\"] is {epoch!r}, expected 3, the first with 0.95.")
    need(close(number("best[\"accuracy\"]", best.get("accuracy")), 0.95),
         f"best[\"accuracy\"] is {best.get('accuracy')!r}, expected 0.95, epoch 3's.")
    check_kept(run, 3)


def _check_every_2(run: KeepBestRun) -> None:
    """Validated after epochs 2, 4 and 6 only, the learner's handler attached first: epoch 4 kept."""
    best, want, seen = run.best, run.want(), f"in the check's second training (accuracies {run.epochs_text()})"
    need("epoch" in best, f"{seen}, with a fresh model, evaluator and dict `best`, your handler kept nothing, though "
                          "it did in the first: it compares with a best accuracy kept outside `best` (a variable "
                          "that outlives the call, still 0.95 from the first training?). Keep the best so far in "
                          "`best`, which each training starts afresh.")
    epoch = best["epoch"]
    need(epoch == want or not _on_trainer(run), _on_trainer(run))
    need(epoch != run.validated.index(want) + 1,
         f"{seen}, best[\"epoch\"] is {epoch}: the number of validation runs so far, not the training epoch "
         f"{want}. Take trainer.state.epoch.")
    need(epoch == want, f"{seen}, best[\"epoch\"] is {epoch!r}, expected {want}.")
    need(close(number("best[\"accuracy\"]", best.get("accuracy")), run.scores[want - 1]),
         f"{seen}, best[\"accuracy\"] is {best.get('accuracy')!r}, expected {run.scores[want - 1]}.")
    check_kept(run, want)


def _check_zeros(run: KeepBestRun) -> None:
    """Every validation scored 0: the first is still a new best (epoch 1)."""
    best = run.best
    if "epoch" not in best:
        need(best.get("accuracy") != 0, "in the check's third training every validation scored 0.0, and your "
                                        "handler kept nothing: best[\"accuracy\"] started at 0, which no accuracy "
                                        "beats. The first validation is always a new best: start from "
                                        "float(\"-inf\").")
        raise Incorrect("in the check's third training every validation scored 0.0, and your handler kept nothing: "
                        "the first validation is always a new best.")
    need(best["epoch"] == 1, f"in the check's third training every validation scored 0.0; best[\"epoch\"] is "
                             f"{best['epoch']!r}, expected 1, the first.")
    check_kept(run, 1)


def _check_keep_best(attach_keep_best: object) -> str:
    """The first epoch with the highest score, its accuracy, and a copy of the weights as they were then."""
    need(callable(attach_keep_best), "`attach_keep_best` should be a function "
                                     "attach_keep_best(trainer, evaluator, model, best).")
    for scores, every, check in ((_SCORES, 1, _check_every_epoch), (_EVERY_2, 2, _check_every_2),
                                 (_ZEROS, 1, _check_zeros)):
        run = KeepBestRun(attach_keep_best, scores, every, learner_first=every == 2)
        run.run(_stale(run))
        check(run)
    return ("epoch 3 kept (the tie at epoch 5 is not a new best), read when the evaluator's run had computed its "
            "accuracy, with a copy of all the weights and buffers as they were after it; epoch 4 when validating "
            "every 2 epochs; and the first epoch when every accuracy is 0.")


q3 = _ex.problem(
    _check_keep_best, names=("attach_keep_best",), title="Keep the best weights in memory", transfer=True,
    task="`ModelCheckpoint` keeps the best model in a file. Write `attach_keep_best(trainer, evaluator, model, best)`, "
         "which keeps it in memory instead: after each validation run of `evaluator` (whose metrics hold "
         "`\"accuracy\"`), when the accuracy beats the best so far, store in the dict `best` the accuracy, the "
         "training epoch it came from, and the model's `state_dict()` as it is at that moment. The check trains "
         "dummy models whose weights and buffers change every epoch, with scores it sets itself, validating after "
         "every epoch or only every few.",
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

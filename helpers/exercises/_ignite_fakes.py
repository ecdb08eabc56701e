"""Stand-ins that ex12's checks run the learner's ignite code against: quiet engines, small models whose outputs
tell eval mode from training mode, dummy trainers with scripted losses, and a scripted validation; and two checks
of forms other code reads: the (y_pred, y) of ignite's metrics, a copy of a state_dict().

ignite is imported inside the functions, so importing this module stays light.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping

import torch
from torch import nn

from ._core import Incorrect
from ._util import call, need

# the largest float32: a finite loss a float32 model can return (loss.item()); float32 turns anything above into inf
F32_MAX = float(torch.finfo(torch.float32).max)


def quiet_engine(process_function: Callable) -> object:
    """An ignite Engine whose logger stays quiet (an error in your code becomes a verdict, not a log line)."""
    from ignite.engine import Engine

    engine = Engine(process_function)
    engine.logger.disabled = True
    return engine


def handler_counts(engine: object) -> dict[str, int]:
    """How many handlers each event of `engine` has (to see where the learner attached one)."""
    return {getattr(event, "name", str(event)): len(handlers)
            for event, handlers in engine._event_handlers.items() if handlers}  # noqa: SLF001 - read only


def gained(before: dict[str, int], after: dict[str, int]) -> set[str]:
    """The events whose handler count grew between two `handler_counts`."""
    return {event for event, n in after.items() if n > before.get(event, 0)}


# q1 ----------------------------------------------------------------------------------------------------------


def eval_net() -> nn.Module:
    """4 features into 3 classes with batch norm, and dropout nested in a block (as DigitCNN's sits inside its
    `classifier`): the outputs differ unless every layer is in eval mode."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(),
                        nn.Sequential(nn.Dropout(0.5), nn.Linear(8, 3)))
    with torch.no_grad():  # running statistics far from a batch's own, as after some training
        net[1].running_mean.uniform_(-1.0, 1.0)
        net[1].running_var.uniform_(0.3, 3.0)
    return net


class ModeLog:
    """Record, at each forward pass of `model`, whether gradient tracking was on and which of its dropout and
    batch-norm layers ran in training mode."""

    def __init__(self, model: nn.Module) -> None:
        self.grad_modes: list[bool] = []
        self.training: set[str] = set()  # class names of the layers that ran in training mode
        first = next(m for m in model.modules() if isinstance(m, nn.Linear))
        first.register_forward_pre_hook(lambda module, inputs: self.grad_modes.append(torch.is_grad_enabled()))
        for m in model.modules():
            if isinstance(m, (nn.Dropout, nn.BatchNorm1d)):
                m.register_forward_pre_hook(self._mode)

    def _mode(self, module: nn.Module, inputs: object) -> None:
        """A layer ran: note its class name if it was in training mode."""
        if module.training:
            self.training.add(type(module).__name__)

    def clear(self) -> None:
        """Forget the previous call."""
        self.grad_modes.clear()
        self.training.clear()


def metric_pair(out: object, y: torch.Tensor, case: str) -> torch.Tensor:
    """The y_pred of the (y_pred, y) the step returned, once its form is right (as ignite's metrics read it)."""
    if isinstance(out, Mapping):
        need({"y_pred", "y", "criterion_kwargs"} <= set(out),
             f"{case}, your step returned a dict with keys {sorted(map(str, out))}: Accuracy can read \"y_pred\" "
             "and \"y\" from a dict, but Loss cannot (from a dict it also wants \"criterion_kwargs\"). Return the "
             "pair (y_pred, y), which every metric reads.")
        out = (out["y_pred"], out["y"])
    need(isinstance(out, (tuple, list)), f"{case}, your step returned {type(out).__name__}: return the pair "
                                         "(y_pred, y), which ignite's metrics read.")
    need(len(out) == 2, f"{case}, your step returned {len(out)} things: return the pair (y_pred, y).")
    y_pred, y_out = out
    need(isinstance(y_pred, torch.Tensor) and isinstance(y_out, torch.Tensor),
         f"{case}, your step returned ({type(y_pred).__name__}, {type(y_out).__name__}): return two tensors, "
         "(y_pred, y).")
    need(not (torch.equal(y_pred, y) and y_out.dim() == 2), f"{case}, your step returned (y, y_pred): the metrics "
                                                           "expect the predictions first, (y_pred, y).")
    need(not (y_pred.shape == (3,) and len(y) == 1), f"{case}, your step returned predictions of shape [3] for a "
                                                     "batch of one image: .squeeze() (or [0]) dropped the batch "
                                                     "dimension, so Accuracy and Loss no longer see one row per "
                                                     "input. Return model(X) as it is, shape [N, 3].")
    need(y_pred.dim() == 2, f"{case}, your step returned predictions of shape {list(y_pred.shape)}: return the "
                            "model's outputs as they are, one row of logits per input; Accuracy takes the argmax "
                            "itself, and Loss needs the logits.")
    need(torch.equal(y_out, y), f"{case}, the second thing your step returned is not the batch's labels y.")
    need(y_out.dtype == y.dtype, f"{case}, your step returned the labels as {y_out.dtype}, but the batch's y is "
                                 f"{y.dtype}: return y as it is (CrossEntropyLoss wants integer class labels).")
    return y_pred


# q2 ----------------------------------------------------------------------------------------------------------


def stop_run(attach: Callable, losses: list[float], epochs: int = 5) -> tuple[int, int, int]:
    """Run a dummy trainer (4 iterations an epoch) whose steps return `losses`, with the learner's handler
    attached; return (iteration, epoch, max_epochs) at its end."""
    trainer = quiet_engine(lambda engine, batch: losses[min(engine.state.iteration, len(losses)) - 1])
    call(attach, trainer, case="Attaching your handler")
    level = logging.root.manager.disable
    logging.disable(logging.WARNING)  # ignite's TerminateOnNan logs each stop: the check's runs stay quiet
    try:
        state = call(trainer.run, [0, 1, 2, 3], max_epochs=epochs, case="Running the trainer")
    except Incorrect as err:
        loss = trainer.state.output
        if loss is None:  # the handler ran where no step had returned yet
            raise Incorrect("your handler failed where engine.state.output was None: it ran before the step of its "
                            "iteration had returned a loss (an event such as ITERATION_STARTED or EPOCH_STARTED). "
                            "Attach it to the event that fires right after each step.") from None
        need(not isinstance(loss, float) or math.isfinite(loss),
             f"{err} (at iteration {trainer.state.iteration}, where the loss was {loss}): an error stops the run as a "
             "crash, which ends the cell and whatever was to run after it; engine.terminate() ends the run cleanly.")
        raise
    finally:
        logging.disable(level)
    return state.iteration, state.epoch, state.max_epochs


# q3 ----------------------------------------------------------------------------------------------------------


class Scripted(nn.Module):
    """A stand-in model with parameters and batch-norm buffers (the dummy training step changes them all) whose
    answers are right for as many of 20 validation images as the current epoch's score says (the images are
    numbered 0-19: X holds the numbers). Plain attributes only, so copy.deepcopy works on it."""

    def __init__(self, scores: list[float], epoch: Callable[[], int]) -> None:
        super().__init__()
        self.linear, self.norm = nn.Linear(2, 1), nn.BatchNorm1d(1)
        self.scores, self.epoch, self.labels = scores, epoch, torch.arange(20) % 3

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits for 3 classes: the right class for the first round(score * 20) images, a wrong one for the rest."""
        right = round(self.scores[self.epoch() - 1] * 20)
        truth = self.labels[X]
        answer = torch.where(X < right, truth, (truth + 1) % 3)
        return nn.functional.one_hot(answer, 3).float()


class KeepBestRun:
    """One scripted training: a trainer whose epochs change every weight and buffer, validated by a real ignite
    evaluator (Accuracy) every `every` epochs; the learner's handler attached before or after the validation."""

    def __init__(self, attach: Callable, scores: list[float], every: int = 1, learner_first: bool = False) -> None:
        from ignite.engine import Events, create_supervised_evaluator
        from ignite.metrics import Accuracy

        self.trainer = quiet_engine(self._train_step)
        self.model = Scripted(scores, lambda: self.trainer.state.epoch)
        self.evaluator = create_supervised_evaluator(self.model, metrics={"accuracy": Accuracy()})
        self.evaluator.logger.disabled = True
        self.scores, self.every, self.best = scores, every, {}
        self.snapshots: list[dict[str, torch.Tensor]] = []  # the state_dict after each epoch
        batches = [(torch.arange(20), self.model.labels)]  # one batch: the evaluator's iteration is 1 too
        self._tensors = list(self.model.state_dict().values())
        if learner_first:
            self._attach(attach)
        self.trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda engine: self.snapshots.append(
            {k: v.clone() for k, v in self.model.state_dict().items()}))
        self.trainer.add_event_handler(Events.EPOCH_COMPLETED(every=every), lambda e: self.evaluator.run(batches))
        if not learner_first:
            self._attach(attach)

    def _attach(self, attach: Callable) -> None:
        """Call the learner's attach_keep_best on this run's engines, model and (empty) dict; note the events it
        attached handlers to (trainer_events, evaluator_events)."""
        before = handler_counts(self.trainer), handler_counts(self.evaluator)
        call(attach, self.trainer, self.evaluator, self.model, self.best, case="Attaching your handler")
        self.trainer_events = gained(before[0], handler_counts(self.trainer))
        self.evaluator_events = gained(before[1], handler_counts(self.evaluator))

    def _train_step(self, engine: object, batch: object) -> None:
        """A dummy training step: every parameter and buffer grows by 1, so each epoch's state_dict differs."""
        with torch.no_grad():
            for t in self._tensors:
                t.add_(1)

    @property
    def validated(self) -> list[int]:
        """The training epochs after which the evaluator ran."""
        return [e for e in range(1, len(self.scores) + 1) if e % self.every == 0]

    def want(self) -> int:
        """The training epoch that a right handler keeps: the first with the highest validation accuracy."""
        return max(self.validated, key=lambda e: (self.scores[e - 1], -e))

    def run(self, stale: str) -> None:
        """Train; a handler that read the evaluator's metrics before they existed is told so (`stale` says why)."""
        try:
            call(self.trainer.run, list(range(3)), max_epochs=len(self.scores),
                 case=f"Training for {len(self.scores)} epochs")
        except Incorrect as err:
            if "KeyError" in str(err) and "accuracy" in str(err) and "accuracy" not in self.evaluator.state.metrics:
                raise Incorrect(f"your handler read the metrics' \"accuracy\" before the evaluator had computed it: "
                                f"at that moment no validation had run yet. {stale[0].upper()}{stale[1:]}") from None
            raise

    def epochs_text(self) -> str:
        """The validated epochs and their accuracies, for a message."""
        return ", ".join(f"{self.scores[e - 1]:.2f} after epoch {e}" for e in self.validated)


def check_kept(run: KeepBestRun, epoch: int) -> None:
    """best["state_dict"] must be a copy of the model's whole state_dict() as it was after `epoch`."""
    kept, own = run.best["state_dict"], run.model.state_dict()
    need(not isinstance(kept, nn.Module), "best[\"state_dict\"] is the model itself, whose weights the next "
                                          "training steps keep changing: keep a copy of its state_dict(), a dict of "
                                          "its tensors.")
    need(isinstance(kept, Mapping),
         f"best[\"state_dict\"] is {type(kept).__name__}: keep the model's state_dict(), a dict of its tensors.")
    keys = set(kept)
    need(keys != {name for name, _ in run.model.named_parameters()},
         "best[\"state_dict\"] holds the parameters only: the model's buffers (batch norm's running_mean, "
         "running_var and num_batches_tracked) belong to its state_dict() too, and load_state_dict() expects them. "
         "Copy model.state_dict().")
    need(keys == set(own), f"best[\"state_dict\"] has the keys {_some(keys)}, but the model's state_dict() has "
                           f"{_some(own)}: it holds another model's weights. Copy those of `model`, the model "
                           "attach_keep_best was given.")
    for name, tensor in own.items():
        value = kept[name]
        shares = " (and a NumPy array from .numpy() shares the tensor's memory)" if type(value).__module__ == \
            "numpy" else ""
        need(isinstance(value, torch.Tensor), f"best[\"state_dict\"][\"{name}\"] is {type(value).__name__}: keep "
                                              f"tensors, as state_dict() has them{shares}; load_state_dict() takes "
                                              "tensors. Clone each one.")
        need(value.untyped_storage().data_ptr() != tensor.untyped_storage().data_ptr(),
             f"best[\"state_dict\"][\"{name}\"] shares its memory with the model's own tensor, so it holds the "
             f"last epoch's values, not epoch {epoch}'s: the next training steps keep changing it in place. Keep a "
             "copy of each tensor (clone(); .detach(), .data, .float(), .cpu() and views share the memory).")
    need(all(torch.equal(kept[k], v) for k, v in run.snapshots[epoch - 1].items()),
         f"best[\"state_dict\"] does not hold the weights the model had after epoch {epoch}.")


def _some(keys: Iterable) -> str:
    """A few of a state_dict's keys, for a message."""
    names = sorted(map(str, keys))
    return ", ".join(names[:3]) + (f", ... ({len(names)} in all)" if len(names) > 3 else "")
